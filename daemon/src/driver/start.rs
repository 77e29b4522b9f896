//! Starting one instance: resolve its interface and primary address, open its socket (both in
//! [`Daemon::open_runner`]), then start the core and clear VIPs a crashed predecessor left
//! behind ([`Daemon::start_core`]). An install opens every instance before starting any, so
//! each first Master_Down_Timer counts from a moment its socket was already listening.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use halab_vrrp::{Family, Input, Instance, State, Vip};

use super::Daemon;
use super::runner::Setup;

/// What starting an instance's core needs from opening it.
pub(super) struct Opened {
    pub(super) index: usize,
    /// The host's addresses when it was opened (for VIPs a predecessor left behind).
    addresses: Arc<Vec<crate::net::Address>>,
    /// Where its VIPs go (the VMAC, or the interface).
    vip_ifindex: u32,
}

impl Daemon {
    /// Resolves the interface and address, opens the socket, starts the core.
    pub(super) async fn start_runner(&mut self, index: usize) {
        if let Some(opened) = self.open_runner(index).await {
            self.start_core(opened).await;
        }
    }

    /// Resolves the interface and address, opens (or joins) the socket, builds the core; not
    /// started yet. None, with the runner's problem set, when it cannot run now.
    pub(super) async fn open_runner(&mut self, index: usize) -> Option<Opened> {
        let all_vips: Vec<IpAddr> = self
            .config
            .instances
            .iter()
            .flat_map(|i| i.all_vips().map(|v| v.vip.address))
            .collect();
        // While installing, one address dump serves every instance (a dump per instance made
        // a 1000-instance start take seconds, which let the two LBs' timers drift apart).
        let addresses = match self.address_cache.clone() {
            Some(cached) => cached,
            None => match self.netlink.addresses().await {
                Ok(a) => Arc::new(a),
                Err(e) => {
                    self.runners[index].problem = Some(format!("failed to {e}"));
                    return None;
                }
            },
        };
        let runner = &mut self.runners[index];
        let name = runner.conf.name.clone();
        let Some(link) = self
            .links
            .values()
            .find(|l| l.name == runner.conf.interface)
            .cloned()
        else {
            let problem = format!("interface {} does not exist", runner.conf.interface);
            if runner.problem.as_deref() != Some(problem.as_str()) {
                tracing::warn!("({name}) {problem}; waiting for it (FAULT)");
            }
            runner.problem = Some(problem);
            return None;
        };
        let family = runner.conf.family();
        // RFC 5798 5.1.2.1: an IPv6 advert's source is the interface's link-local address
        // (one that finished duplicate address detection: a tentative one cannot send).
        let primary = runner.conf.unicast_src_ip.or_else(|| {
            addresses
                .iter()
                .find(|a| {
                    a.index == link.index
                        && !a.secondary
                        && !a.tentative
                        && Family::of(a.address) == family
                        && (family == Family::Ipv4 || is_link_local(a.address))
                        && !all_vips.contains(&a.address)
                })
                .map(|a| a.address)
        });
        let Some(primary) = primary else {
            let problem = match family {
                Family::Ipv4 => format!("interface {} has no IPv4 address", link.name),
                Family::Ipv6 => format!(
                    "interface {} has no usable IPv6 link-local address",
                    link.name
                ),
            };
            if runner.problem.as_deref() != Some(problem.as_str()) {
                tracing::warn!("({name}) {problem}; waiting for one (FAULT)");
            }
            runner.problem = Some(problem);
            return None;
        };
        let multicast = runner.conf.unicast_peers.is_empty();
        let xmit_base = runner.conf.wire.vmac_xmit_base;
        // keepalived use_vmac: VIPs and ARPs on the VMAC; adverts too unless vmac_xmit_base
        // (then they leave from the base interface with its MAC, as keepalived sends them).
        let vip_link = match self.vmac_for(index, &link).await {
            Ok(vmac) => vmac.unwrap_or_else(|| link.clone()),
            Err(problem) => {
                let runner = &mut self.runners[index];
                if runner.problem.as_deref() != Some(problem.as_str()) {
                    tracing::error!("({name}) {problem} (FAULT)");
                }
                runner.problem = Some(problem);
                return None;
            }
        };
        let socket_link = if xmit_base { &link } else { &vip_link };
        let socket = match self.socket_on(socket_link, multicast, family) {
            Ok(s) => s,
            Err(e) => {
                let runner = &mut self.runners[index];
                tracing::error!(
                    "({name}) failed to open the VRRP socket on {}: {e}",
                    link.name
                );
                runner.problem = Some(format!("cannot open the VRRP socket: {e}"));
                return None;
            }
        };
        let runner = &mut self.runners[index];
        let mut core_config = runner.conf.core_config(primary);
        core_config.sync_group = self
            .config
            .sync_groups
            .iter()
            .any(|g| g.instances.contains(&name));
        let core = match Instance::new(core_config) {
            Ok(core) => core,
            Err(e) => {
                tracing::error!("({name}) {e}");
                runner.problem = Some(e.to_string());
                return None;
            }
        };
        for warning in core.warnings() {
            tracing::warn!("({name}) {warning}");
        }
        let vrid = runner.conf.vrid;
        // On the VMAC when there is one: its MAC is ours there (with a VMAC every router
        // announces the same MAC, so ARP caches never need healing).
        let heal = match self.arp_listener_on(&vip_link) {
            Ok(target) => Some(target),
            Err(e) => {
                tracing::warn!(
                    "({name}) no ARP listener on {}, split-brain heal limited: {e}",
                    vip_link.name
                );
                None
            }
        };
        let runner = &mut self.runners[index];
        runner.problem = None;
        runner.link_up = link.up;
        runner.fed = Default::default();
        runner.setup = Some(Setup {
            ifindex: vip_link.index,
            primary,
            socket,
            socket_key: (socket_link.index, multicast, family),
            heal,
            core,
        });
        self.routes.invalidate();
        tracing::info!(
            "({name}) starting on {} (primary {primary}, vrid {vrid}, priority {})",
            link.name,
            runner.conf.priority
        );
        Some(Opened {
            index,
            addresses,
            vip_ifindex: vip_link.index,
        })
    }

    /// Starts an opened instance's core: its tracking, then Startup (after keepalived's
    /// `vrrp_startup_delay`, when one runs), then clears VIPs a crashed predecessor left.
    pub(super) async fn start_core(&mut self, opened: Opened) {
        let Opened {
            index,
            addresses,
            vip_ifindex,
        } = opened;
        let name = self.runners[index].conf.name.clone();
        // Every instance of one install starts at the same moment, so their timers fall due
        // together and one wake-up (one burst of adverts) serves them all.
        let now = self
            .install_started
            .unwrap_or_else(|| self.now_ts(Instant::now()));
        let mut actions = Vec::new();
        let runner = &mut self.runners[index];
        let own = runner.track_status();
        // keepalived dont_track_primary: the instance's own interface going down is no fault.
        let dont_track = runner.conf.tracking.dont_track_primary;
        let link_up = runner.link_up;
        if dont_track {
            runner.link_up = true;
        }
        if let Some(setup) = runner.setup.as_mut() {
            if !link_up && !dont_track {
                actions.extend(setup.core.handle(now, Input::InterfaceDown));
            }
            runner.fed = own;
            actions.extend(
                setup
                    .core
                    .handle(now, Input::TrackingChanged { tracking: own }),
            );
            if let Some(until) = self.startup_delay_until.filter(|until| *until > now) {
                actions.extend(setup.core.handle(now, Input::StartupDelay { until }));
            }
            actions.extend(setup.core.handle(now, Input::Startup));
        }
        self.apply(index, &mut actions).await;
        // RFC 5798 6.4.2: a backup must not hold the VIPs. A crashed predecessor (SIGKILL)
        // may have left them on the interface: take them off unless we are master already.
        let runner = &self.runners[index];
        if runner.state() != State::Master {
            let leftovers: Vec<Vip> = runner
                .conf
                .all_vips()
                .filter(|v| {
                    let dev = self.vip_dev_index(vip_ifindex, v.dev.as_deref());
                    addresses
                        .iter()
                        .any(|a| a.index == dev && a.address == v.vip.address)
                })
                .map(|v| v.vip)
                .collect();
            if !leftovers.is_empty() {
                tracing::info!(
                    "({name}) removing leftover VIPs: {}",
                    leftovers
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                self.change_vips(index, &leftovers, false).await;
                // halab split-brain heal: clients may still send to us (our predecessor was
                // their master); hand each VIP to whoever holds it now, if anyone answers.
                for vip in leftovers {
                    self.announce_at(index, &[vip], vip.address);
                }
            }
        }
    }
}

/// fe80::/10.
fn is_link_local(address: IpAddr) -> bool {
    matches!(address, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}
