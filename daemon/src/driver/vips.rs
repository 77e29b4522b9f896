//! Virtual addresses and routes on the interfaces, and gratuitous ARPs (IPv4) or unsolicited
//! neighbour advertisements (IPv6) for them.

use std::net::IpAddr;

use halab_vrrp::Vip;

use super::Daemon;
use crate::net::{ArpSender, LinkTarget, gratuitous_arp, unsolicited_na};

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
            let label = conf.and_then(|c| c.label.clone());
            work.push((self.vip_dev_index(setup.ifindex, dev), *vip, label));
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
        let mut errors = 0;
        if !add {
            for (route, dev) in &routes {
                if let Err(e) = self.netlink.del_route(route, *dev).await {
                    errors += 1;
                    tracing::error!("({name}) failed to {e}");
                }
            }
        }
        for (dev, vip, label) in &work {
            let result = if add {
                self.netlink
                    .add_address(*dev, vip.address, vip.prefix_len, label.as_deref())
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
            for address in addresses {
                let frame = match address {
                    IpAddr::V4(v4) => gratuitous_arp(target.mac, v4),
                    IpAddr::V6(v6) => unsolicited_na(target.mac, v6),
                };
                for _ in 0..repeat {
                    match self.arp.send(&target, &frame) {
                        Ok(()) => sent += 1,
                        Err(e) => {
                            errors += 1;
                            tracing::warn!("({name}) gratuitous ARP on {dev} failed: {e}");
                        }
                    }
                }
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
