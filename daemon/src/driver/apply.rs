//! Carrying out the core's actions, and moving a sync group after one member's actions.

use std::time::{Duration, Instant};

use halab_vrrp::sync_group;
use halab_vrrp::{Action, Input, State, Timestamp};

use super::runner::{discard_key, log_discard};
use super::{Daemon, GARP_LOWER_PRIO_REPEAT};

impl Daemon {
    /// Carries out the core's actions for runner `index`, in order, then moves the rest of its
    /// sync group if it asked to or changed state by itself. Leaves `actions` empty (a vector
    /// the caller keeps).
    pub(super) async fn apply(&mut self, index: usize, actions: &mut Vec<Action>) {
        let forced = self.sync_group_inputs(index, actions);
        let mut state_changed = self.carry_out(index, actions).await;
        if !forced.is_empty() {
            let now = self.now_ts(Instant::now());
            // Forced transitions are carried out without looking at the group again: they
            // cannot re-trigger it.
            for (member, input) in forced {
                let Some(setup) = self.runners[member].setup.as_mut() else {
                    continue;
                };
                let mut actions = setup.core.handle(now, input);
                state_changed |= self.carry_out(member, &mut actions).await;
            }
        }
        if state_changed {
            self.group_notify();
        }
    }

    /// keepalived `vrrp_sync.c` (the policy is [`sync_group::moves`]): what runner `index`'s
    /// actions mean for the other members of its sync group, as `SyncTo` inputs in the order
    /// to feed them.
    pub(super) fn sync_group_inputs(
        &self,
        index: usize,
        actions: &[Action],
    ) -> Vec<(usize, Input)> {
        // The policy only moves a group on these; everything else (a backup re-arming its
        // timer per advert, a master's advert) costs no look at the group.
        if !actions
            .iter()
            .any(|a| matches!(a, Action::WantMaster { .. } | Action::StateChanged { .. }))
        {
            return Vec::new();
        }
        let name = &self.runners[index].conf.name;
        let Some(group) = self
            .config
            .sync_groups
            .iter()
            .find(|g| g.instances.contains(name))
        else {
            return Vec::new();
        };
        // The running members, the mover among them.
        let runners: Vec<usize> = (0..self.runners.len())
            .filter(|&i| {
                i == index
                    || group.instances.contains(&self.runners[i].conf.name)
                        && self.runners[i].setup.is_some()
            })
            .collect();
        let members: Vec<sync_group::Member> = runners
            .iter()
            .map(|&i| sync_group::Member {
                state: self.runners[i].state(),
                wants_master: self.runners[i].wants_master(),
            })
            .collect();
        let mover = runners.iter().position(|&i| i == index).unwrap_or(0);
        let moves = sync_group::moves(mover, &members, actions);
        if !moves.held_back_by.is_empty() {
            let waiting: Vec<&str> = moves
                .held_back_by
                .iter()
                .map(|&m| self.runners[runners[m]].name())
                .collect();
            tracing::info!(
                "({name}) Receive advertisement timeout; sync group {} stays BACKUP while {} does not want MASTER",
                group.name,
                waiting.join(", ")
            );
        }
        moves
            .inputs
            .into_iter()
            .map(|(m, input)| (runners[m], input))
            .collect()
    }

    /// Carries out the core's actions for runner `index`, in order; whether the state changed.
    /// Leaves `actions` empty.
    pub(super) async fn carry_out(&mut self, index: usize, actions: &mut Vec<Action>) -> bool {
        let becomes_master = actions.iter().any(|a| {
            matches!(
                a,
                Action::StateChanged {
                    to: State::Master,
                    ..
                }
            )
        });
        let mut state_changed = false;
        // The core reports a priority change before any state change it causes.
        let state_before = actions
            .iter()
            .find_map(|a| match a {
                Action::StateChanged { from, .. } => Some(*from),
                _ => None,
            })
            .unwrap_or_else(|| self.runners[index].state());
        // keepalived logs the new state before the work it entails (VIPs, ARPs).
        for action in actions.iter() {
            if let Action::StateChanged { to, reason, .. } = action {
                self.log_transition(index, *to, *reason);
            }
        }
        for action in actions.drain(..) {
            let runner = &mut self.runners[index];
            let Some(setup) = runner.setup.as_ref() else {
                return state_changed;
            };
            match action {
                Action::SendAdvert { advert } => {
                    let name = &runner.conf.name;
                    let group = [setup.socket.multicast_group()];
                    let destinations = if runner.conf.unicast_peers.is_empty() {
                        &group[..]
                    } else {
                        &runner.conf.unicast_peers[..]
                    };
                    // keepalived unicast_ttl: the TTL of unicast adverts (255 by default).
                    let ttl = if runner.conf.unicast_peers.is_empty() {
                        halab_vrrp::ip::VRRP_TTL
                    } else {
                        runner
                            .conf
                            .wire
                            .unicast_ttl
                            .unwrap_or(halab_vrrp::ip::VRRP_TTL)
                    };
                    for &dst in destinations {
                        if self.outbox.hold(
                            index,
                            &setup.socket,
                            &advert,
                            (setup.primary, dst),
                            ttl,
                        ) {
                            continue;
                        }
                        match setup.socket.send_ttl(&advert, setup.primary, dst, ttl) {
                            Ok(()) => {
                                runner.counters.adverts_sent += 1;
                                if advert.priority() == 0 {
                                    runner.counters.priority_zero_sent += 1;
                                }
                            }
                            Err(e) => {
                                runner.counters.io_errors += 1;
                                tracing::warn!("({name}) failed to send advert to {dst}: {e}");
                            }
                        }
                    }
                    if advert.priority() == 0 {
                        tracing::info!("({name}) sent 0 priority");
                    }
                }
                Action::SendGratuitousArp { .. } => {
                    // keepalived garp_lower_prio_repeat (0 in strict mode: the ARPs are then
                    // halab's split-brain heal's, at its own count) and garp_lower_prio_delay.
                    let lower = runner.conf.wire.garp_lower_prio_repeat.unwrap_or(0);
                    let repeat = if becomes_master {
                        runner.conf.garp_master_repeat
                    } else if lower > 0 {
                        let delay = runner.conf.wire.garp_lower_prio_delay_s.unwrap_or(0);
                        if delay > 0 {
                            runner.lower_prio_burst_at =
                                Some(Instant::now() + Duration::from_secs(delay));
                        }
                        lower
                    } else {
                        GARP_LOWER_PRIO_REPEAT
                    };
                    if becomes_master {
                        let now = Instant::now();
                        if runner.conf.garp_master_delay_s > 0 {
                            // With the advert due then (see `garp_round_at`).
                            let delay = Duration::from_secs(runner.conf.garp_master_delay_s);
                            let due = Timestamp::from_duration(
                                now.saturating_duration_since(self.epoch) + delay,
                            );
                            let at = setup.core.garp_round_at(due);
                            runner.garp_burst_at = Some(self.epoch + at.to_duration());
                        }
                        if runner.conf.garp_master_refresh_s > 0 {
                            runner.refresh_at =
                                Some(now + Duration::from_secs(runner.conf.garp_master_refresh_s));
                        }
                    }
                    self.send_garps(index, repeat);
                }
                Action::AddVips { vips } => {
                    tracing::info!("({}) setting VIPs.", runner.conf.name);
                    let vips = with_excluded(vips, &runner.conf);
                    self.change_vips(index, &vips, true).await;
                }
                Action::RemoveVips { vips } => {
                    tracing::info!("({}) removing VIPs.", runner.conf.name);
                    let vips = with_excluded(vips, &runner.conf);
                    self.change_vips(index, &vips, false).await;
                }
                Action::ArmTimer { timer, at } => {
                    runner.deadline = Some((timer, self.epoch + at.to_duration()));
                }
                Action::CancelTimer { timer } => {
                    if runner.deadline.is_some_and(|(t, _)| t == timer) {
                        runner.deadline = None;
                    }
                }
                Action::StateChanged { from, to, reason } => {
                    state_changed = true;
                    self.state_changed(index, from, to, reason);
                }
                Action::PriorityChanged { from, to } => {
                    tracing::info!(
                        "({}) Changing effective priority from {from} to {to}",
                        runner.conf.name
                    );
                    self.priority_notify(index, state_before, to);
                }
                Action::Discarded { src, reason } => {
                    *runner
                        .counters
                        .discarded
                        .entry(discard_key(&reason))
                        .or_default() += 1;
                    log_discard(&runner.conf.name, src, &reason);
                }
                // Handled by sync_group_inputs before these actions were carried out.
                Action::WantMaster { .. } => {}
                Action::AnnounceVipsAt { vips, holder } => self.announce_at(index, &vips, holder),
                Action::Ignored { reason } => {
                    tracing::debug!("({}) {reason}", runner.conf.name)
                }
            }
        }
        self.schedule(index);
        state_changed
    }
}

/// The VIPs the core moves, and the instance's `virtual_ipaddress_excluded`, which move with
/// them but are not advertised (either family).
fn with_excluded(
    vips: Vec<halab_vrrp::Vip>,
    conf: &crate::conf::InstanceConf,
) -> Vec<halab_vrrp::Vip> {
    vips.into_iter()
        .chain(conf.excluded_vips.iter().map(|v| v.vip))
        .collect()
}
