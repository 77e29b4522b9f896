//! Virtual addresses and routes on the interfaces, and gratuitous ARPs (IPv4) or unsolicited
//! neighbour advertisements (IPv6) for them.

use std::net::IpAddr;

use halab_vrrp::Vip;

use super::Daemon;
use crate::conf::VipConf;
use crate::net::{ArpSender, LinkTarget, VipOptions, broadcast, gratuitous_arp, unsolicited_na};

impl Daemon {
    pub(super) fn vip_dev_index(&self, default: u32, dev: Option<&str>) -> u32 {
        dev.and_then(|d| self.links.values().find(|l| l.name == d).map(|l| l.index))
            .unwrap_or(default)
    }

    pub(super) async fn change_vips(&mut self, index: usize, vips: &[Vip], add: bool) {
        let runner = &self.runners[index];
        let Some(setup) = runner.setup.as_ref() else {
            return;
        };
        let name = runner.conf.name.clone();
        let mut work = Vec::new();
        for vip in vips {
            let conf = runner.conf.all_vips().find(|v| v.vip == *vip);
            let dev = conf.and_then(|c| c.dev.as_deref());
            let options = conf.map(vip_options).unwrap_or_default();
            work.push((self.vip_dev_index(setup.ifindex, dev), *vip, options));
        }
        let routes: Vec<_> = runner
            .conf
            .virtual_routes
            .iter()
            .map(|r| {
                (
                    r.clone(),
                    r.dev
                        .as_deref()
                        .map(|d| self.vip_dev_index(setup.ifindex, Some(d))),
                )
            })
            .collect();
        // keepalived's `ip keepalived` table holds the IPv4 VIPs.
        let addresses: Vec<std::net::Ipv4Addr> = vips
            .iter()
            .filter_map(|v| match v.address {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
            .collect();
        if add {
            self.accept_mode(index, &addresses, true).await;
        }
        let mut errors = 0;
        if !add {
            for (route, dev) in &routes {
                if let Err(e) = self.netlink.del_route(route, *dev).await {
                    errors += 1;
                    tracing::error!("({name}) failed to {e}");
                }
            }
        }
        for (dev, vip, options) in &work {
            let result = if add {
                self.netlink
                    .add_vip(*dev, vip.address, vip.prefix_len, options)
                    .await
            } else {
                self.netlink
                    .del_address(*dev, vip.address, vip.prefix_len)
                    .await
            };
            if let Err(e) = result {
                errors += 1;
                tracing::error!("({name}) failed to {e}");
            }
        }
        if add {
            for (route, dev) in &routes {
                if let Err(e) = self.netlink.add_route(route, *dev).await {
                    errors += 1;
                    tracing::error!("({name}) failed to {e}");
                }
            }
        }
        if !add {
            self.accept_mode(index, &addresses, false).await;
        }
        let runner = &mut self.runners[index];
        runner.counters.io_errors += errors;
        runner.vips_held = add;
    }

    /// Interface `name`'s link address for sending ARP, looked up once (`getifaddrs` dumps
    /// every address of the host: once per VIP it made a master of N instances cost N²)
    /// and forgotten on any link event.
    pub(super) fn link_target(&mut self, name: &str) -> std::io::Result<LinkTarget> {
        if let Some(target) = self.link_targets.get(name) {
            return Ok(*target);
        }
        let target = ArpSender::target(name)?;
        self.link_targets.insert(name.to_owned(), target);
        Ok(target)
    }

    /// `repeat` gratuitous ARPs for each IPv4 VIP and unsolicited neighbour advertisements for
    /// each IPv6 one (keepalived: `garp_master_repeat` counts both), excluded ones included, on
    /// the VIP's interface.
    pub(super) fn send_garps(&mut self, index: usize, repeat: u32) {
        let runner = &self.runners[index];
        let Some(setup) = runner.setup.as_ref() else {
            return;
        };
        let name = runner.conf.name.clone();
        let garp_interval = self
            .config
            .global
            .garp_interval_ms
            .filter(|ms| *ms > 0)
            .map(std::time::Duration::from_millis);
        let mut sent = 0;
        let mut errors = 0;
        let mut by_dev: Vec<(String, Vec<IpAddr>)> = Vec::new();
        for vip in runner.conf.all_vips() {
            let dev = vip.dev.clone().unwrap_or_else(|| {
                self.links
                    .get(&setup.ifindex)
                    .map_or(runner.conf.interface.clone(), |l| l.name.clone())
            });
            match by_dev.iter_mut().find(|(d, _)| *d == dev) {
                Some((_, list)) => list.push(vip.vip.address),
                None => by_dev.push((dev, vec![vip.vip.address])),
            }
        }
        for (dev, addresses) in by_dev {
            let target = match self.link_target(&dev) {
                Ok(t) => t,
                Err(e) => {
                    errors += 1;
                    tracing::warn!("({name}) cannot send gratuitous ARP on {dev}: {e}");
                    continue;
                }
            };
            let list = |v6: bool| {
                addresses
                    .iter()
                    .filter(|a| a.is_ipv6() == v6)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (v4, v6) = (list(false), list(true));
            if !v4.is_empty() {
                tracing::info!("({name}) Sending/queueing gratuitous ARPs on {dev} for {v4}");
            }
            if !v6.is_empty() {
                tracing::info!(
                    "({name}) Sending/queueing Unsolicited Neighbour Adverts on {dev} for {v6}"
                );
            }
            let frames: Vec<Vec<u8>> = addresses
                .iter()
                .map(|&address| match address {
                    IpAddr::V4(v4) => gratuitous_arp(target.mac, v4),
                    IpAddr::V6(v6) => unsolicited_na(target.mac, v6),
                })
                .collect();
            if let Some(interval) = garp_interval {
                // keepalived vrrp_garp_interval: one frame, then the rest apart, in its order
                // (each round sends every VIP once).
                let queue: Vec<Vec<u8>> = (0..repeat).flat_map(|_| frames.clone()).collect();
                sent += u64::try_from(queue.len()).unwrap_or(0);
                spaced_garps(name.clone(), dev.clone(), target, queue, interval);
            } else {
                for frame in &frames {
                    for _ in 0..repeat {
                        match self.arp.send(&target, frame) {
                            Ok(()) => sent += 1,
                            Err(e) => {
                                errors += 1;
                                tracing::warn!("({name}) gratuitous ARP on {dev} failed: {e}");
                            }
                        }
                    }
                }
            }
            for address in addresses {
                if address.is_ipv6() {
                    tracing::info!("Sending unsolicited Neighbour Advert on {dev} for {address}");
                } else {
                    tracing::info!("Sending gratuitous ARP on {dev} for {address}");
                }
            }
        }
        let runner = &mut self.runners[index];
        runner.counters.garps_sent += sent;
        runner.counters.io_errors += errors;
    }
}

/// keepalived's `label`, `brd` and `scope` of a VIP, for the kernel.
pub(super) fn vip_options(conf: &VipConf) -> VipOptions {
    VipOptions {
        label: conf.label.clone(),
        broadcast: match (conf.brd.as_deref(), conf.vip.address) {
            (Some(b), IpAddr::V4(address)) => broadcast(address, conf.vip.prefix_len, b),
            _ => None,
        },
        scope: conf.scope_number(),
    }
}

/// keepalived `vrrp_garp_interval`: sends `frames` on `target`, `interval` apart, from a task
/// of its own (its own AF_PACKET socket) so the loop never waits.
fn spaced_garps(
    name: String,
    dev: String,
    target: LinkTarget,
    frames: Vec<Vec<u8>>,
    interval: std::time::Duration,
) {
    tokio::spawn(async move {
        let sender = match ArpSender::open() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("({name}) gratuitous ARP on {dev} failed: {e}");
                return;
            }
        };
        for (i, frame) in frames.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(interval).await;
            }
            if let Err(e) = sender.send(&target, frame) {
                tracing::warn!("({name}) gratuitous ARP on {dev} failed: {e}");
            }
        }
    });
}
