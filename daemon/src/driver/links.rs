//! Netlink events: links up, down, recreated or removed; addresses added or removed.

use halab_vrrp::{Input, State};
use std::time::Instant;

use super::Daemon;
use crate::net::{Link, NetEvent};

impl Daemon {
    pub(super) async fn net_event(&mut self, event: NetEvent) {
        if matches!(
            event,
            NetEvent::LinkChanged(_) | NetEvent::LinkRemoved { .. } | NetEvent::Resync
        ) {
            // A MAC or an index may have changed.
            self.link_targets.clear();
        }
        match event {
            NetEvent::LinkChanged(link) => {
                let previous = self.links.insert(link.index, link.clone());
                let changed = previous
                    .as_ref()
                    .is_none_or(|p| p.up != link.up || p.name != link.name);
                if changed {
                    tracing::info!(
                        "Netlink reports {} {}",
                        link.name,
                        if link.up { "UP" } else { "DOWN" }
                    );
                    self.link_state(&link.name, link.index, link.up).await;
                }
            }
            NetEvent::LinkRemoved { index, name } => {
                let name = self.links.remove(&index).map(|l| l.name).or(name);
                if let Some(name) = name {
                    tracing::info!("Netlink reports {name} removed");
                    self.link_state(&name, index, false).await;
                }
            }
            NetEvent::AddressRemoved(address) => self.address_removed(address).await,
            NetEvent::AddressAdded(address) => {
                // An instance waiting for an address may start now.
                let waiting: Vec<usize> = (0..self.runners.len())
                    .filter(|&i| {
                        let r = &self.runners[i];
                        r.setup.is_none()
                            && self
                                .links
                                .get(&address.index)
                                .is_some_and(|l| l.name == r.conf.interface)
                    })
                    .collect();
                // Only then: a master adding its N VIPs hears N of these.
                if !waiting.is_empty() {
                    for index in waiting {
                        self.start_runner(index).await;
                    }
                    self.refresh_tracking().await;
                }
            }
            NetEvent::Resync => {
                tracing::warn!("Netlink event socket overran or failed; re-reading links");
                let before = self.links.clone();
                self.read_links().await;
                let links: Vec<Link> = self.links.values().cloned().collect();
                for link in links {
                    if before.get(&link.index) != Some(&link) {
                        self.link_state(&link.name, link.index, link.up).await;
                    }
                }
            }
        }
    }

    pub(super) async fn read_links(&mut self) {
        match self.netlink.links().await {
            Ok(links) => self.links = links.into_iter().map(|l| (l.index, l)).collect(),
            Err(e) => tracing::error!("Failed to {e}"),
        }
    }

    /// A link went up or down, appeared or vanished.
    pub(super) async fn link_state(&mut self, name: &str, index: u32, up: bool) {
        let now = self.now_ts(Instant::now());
        for i in 0..self.runners.len() {
            let runner = &mut self.runners[i];
            // Tracked interfaces: refresh_tracking() below feeds the change.
            let _ = runner.tracker.interface_changed(name, up);
            runner.extra.interface_changed(name, up);
            if runner.conf.interface != name {
                continue;
            }
            if runner.setup.as_ref().is_some_and(|s| s.ifindex != index) && up {
                // The interface was deleted and created again: the socket is bound to a dead
                // device. Start over on the new one.
                tracing::info!(
                    "({}) {name} was recreated, restarting on it",
                    runner.conf.name
                );
                runner.setup = None;
                self.routes.invalidate();
                runner.deadline = None;
                runner.vips_held = false;
            }
            let runner = &mut self.runners[i];
            if runner.setup.is_none() {
                if up || self.links.contains_key(&index) {
                    self.start_runner(i).await;
                }
                continue;
            }
            // keepalived dont_track_primary: its own interface's state is ignored.
            let up = up || runner.conf.tracking.dont_track_primary;
            if runner.link_up != up {
                runner.link_up = up;
                if let Some(setup) = runner.setup.as_mut() {
                    let input = if up {
                        Input::InterfaceUp
                    } else {
                        Input::InterfaceDown
                    };
                    if !up {
                        tracing::warn!("({}) Interface {name} is down", runner.conf.name);
                    }
                    let mut actions = setup.core.handle(now, input);
                    self.apply(i, &mut actions).await;
                }
            }
        }
        self.prune_sockets();
        self.refresh_tracking().await;
    }

    /// Someone removed an address: if it is a VIP of a master, put it back.
    pub(super) async fn address_removed(&mut self, address: crate::net::Address) {
        for i in 0..self.runners.len() {
            let runner = &self.runners[i];
            if runner.state() != State::Master || !runner.vips_held {
                continue;
            }
            let Some(setup) = runner.setup.as_ref() else {
                continue;
            };
            let Some(vip) = runner
                .conf
                .vips
                .iter()
                .find(|v| v.vip.address == address.address)
                .cloned()
            else {
                continue;
            };
            let dev_index = self.vip_dev_index(setup.ifindex, vip.dev.as_deref());
            // keepalived no_track: nobody watches this VIP.
            if dev_index != address.index || vip.no_track {
                continue;
            }
            tracing::warn!(
                "({}) VIP {} was removed from the interface while MASTER, restoring it",
                runner.conf.name,
                vip.vip
            );
            let result = self
                .netlink
                .add_vip(
                    dev_index,
                    vip.vip.address,
                    vip.vip.prefix_len,
                    &super::vips::vip_options(&vip),
                )
                .await;
            let runner = &mut self.runners[i];
            match result {
                Ok(()) => runner.counters.vips_restored += 1,
                Err(e) => {
                    runner.counters.io_errors += 1;
                    tracing::error!("({}) failed to {e}", runner.conf.name);
                }
            }
            let garps = runner.conf.garp_master_repeat;
            self.send_garps(i, garps);
        }
    }
}
