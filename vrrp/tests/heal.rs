//! The split-brain heal in every order: VRRP between a winner (150) and a loser (100) is cut
//! both ways until both are master, then each direction heals at its own time, with and
//! without 20% VRRP loss, VRRPv2 and v3, halabd on both sides or opposite keepalived's
//! behaviour (`Improvements::none()`). ARP gets through the cut (it is not VRRP), and both
//! drivers send their `garp_master_delay` round 5 s after becoming master, so the client may
//! be on the loser when the cut heals.
//!
//! Input: every (heal offset, which direction first, gap between the directions, loss seed).
//! Output: from the first VRRP packet delivered after the heal, the client's ARP entry points
//! at a router without the VIP for at most one advert interval (plus ARP resolution); once
//! both directions are back, the winner alone holds the VIP, the client points at it and no
//! longer moves.

mod common;

use common::sim::Net;
use common::*;
use halab_vrrp::{
    Action, IgnoreReason, Improvements, Input, InstanceConfig, State, Timer, Timestamp, Version,
};

const WINNER: usize = 0;
const LOSER: usize = 1;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Engine {
    Halab,
    Keepalived,
}

fn router(
    primary: std::net::Ipv4Addr,
    priority: u8,
    engine: Engine,
    timing: Timing,
) -> InstanceConfig {
    let mut config = InstanceConfig::new(10, primary);
    config.priority = priority;
    config.vips = vec![vip()];
    config.version = timing.version;
    config.advert_interval_cs = timing.interval_cs;
    if engine == Engine::Keepalived {
        config.improvements = Improvements::none();
    }
    config
}

#[derive(Clone, Copy, Debug)]
struct Timing {
    version: Version,
    interval_cs: u16,
}

const TIMINGS: [Timing; 3] = [
    Timing {
        version: Version::V2,
        interval_cs: 100,
    },
    Timing {
        version: Version::V3,
        interval_cs: 100,
    },
    Timing {
        version: Version::V3,
        interval_cs: 20,
    },
];

/// One heal: the winner's adverts reach the loser again at `w_to_l`, the loser's reach the
/// winner at `l_to_w` (both after the loser took over).
#[derive(Clone, Copy, Debug)]
struct Heal {
    w_to_l: Timestamp,
    l_to_w: Timestamp,
    loss_percent: u64,
    seed: u64,
}

#[derive(Debug)]
struct Outcome {
    /// Time without service from the first packet heard after the heal, µs.
    outage_us: u64,
    /// Times the loser became master again after the first packet heard (VRRP loss during the
    /// heal can hide three adverts in a row: an election, not the heal).
    retakes: usize,
}

/// Runs one split brain and heal; panics with the case on a broken property.
fn run(winner: Engine, loser: Engine, timing: Timing, heal: Heal) -> Outcome {
    let case = format!("{winner:?} winner, {loser:?} loser, {timing:?}, {heal:?}");
    let mut net = Net::new(vec![
        router(LOWER, 150, winner, timing),
        router(HIGHER, 100, loser, timing),
    ]);
    net.arp_between_routers = true;
    net.garp_delay_us = Some(5_000_000);
    net.seed(heal.seed);
    net.input(WINNER, Input::Startup);
    net.input(LOSER, Input::Startup);
    net.run_until(at_ms(10_000));
    assert_eq!(net.state(WINNER), State::Master, "{case}");
    net.blocked = vec![(WINNER, LOSER), (LOSER, WINNER)];
    net.loss_percent = heal.loss_percent;
    let cut = net.now;
    let first = heal.w_to_l.min(heal.l_to_w);
    let last = heal.w_to_l.max(heal.l_to_w);
    net.run_until(first);
    assert_eq!(net.state(LOSER), State::Master, "{case}: no split brain");
    assert!(cut < first);
    let first_direction = if heal.w_to_l == first {
        (WINNER, LOSER)
    } else {
        (LOSER, WINNER)
    };
    net.blocked.retain(|d| *d != first_direction);
    if first == last {
        net.blocked.clear();
    }
    // Until the first packet gets through (loss may delay it past the second heal).
    let interval_us = u64::from(timing.interval_cs) * 10_000;
    let give_up = last.plus_micros(20 * interval_us);
    while !net.delivered.iter().any(|(at, _, _)| *at >= first) {
        let until = if net.blocked.is_empty() {
            give_up
        } else {
            last
        };
        if !net.step(until) {
            assert!(
                net.blocked.is_empty() || net.now < give_up,
                "{case}: nothing heard"
            );
            net.blocked.clear();
        }
        assert!(net.now < give_up, "{case}: nothing heard");
    }
    let moves_before = net.client_log.len();
    let heard = net.now;
    let mut outage_us = 0;
    if !net.blocked.is_empty() {
        outage_us += net.outage(last).0;
        net.blocked.clear();
    }
    // Both directions back: the loser steps down at the winner's next advert that is not lost.
    let settle = net.now.max(last).plus_micros(10 * interval_us);
    let (more, ok) = net.outage(settle);
    outage_us += more;
    assert!(ok, "{case}: client not served at the end");
    assert_eq!(
        (net.state(WINNER), net.state(LOSER)),
        (State::Master, State::Backup),
        "{case}"
    );
    let retakes = net.routers[LOSER]
        .actions
        .iter()
        .filter(|(at, a)| {
            *at > heard
                && matches!(
                    a,
                    halab_vrrp::Action::StateChanged {
                        to: State::Master,
                        ..
                    }
                )
        })
        .count();
    // No flapping: after the first packet heard, the client goes to the loser only on the
    // loser's own gratuitous ARPs while it is still master (its garp_master_delay round, or a
    // re-election under loss), and the winner takes it back within one advert interval.
    let log = &net.client_log[moves_before..];
    for (i, (at, mac)) in log.iter().enumerate() {
        if *mac == LOSER {
            let back = log.get(i + 1);
            assert!(
                back.is_some_and(
                    |(t, m)| *m == WINNER && t.micros_since(*at) <= interval_us + 1_000
                ),
                "{case}: client flapped: {log:?}"
            );
        }
    }
    // The loss was during the heal. Three adverts lost in a row just before it stopped may
    // still make the loser take over once (an election, not the heal): that plays out within
    // a Master_Down_Interval. From then on: one holder, the winner, and the client stays on it.
    net.loss_percent = 0;
    let quiet = net.now.plus_micros(4 * interval_us);
    let (_, ok) = net.outage(quiet);
    assert!(ok, "{case}: client not served after the loss stopped");
    let end = quiet.plus_micros(20_000_000);
    let tail_from = net.client_log.len();
    while net.step(end) {
        assert!(
            net.routers[WINNER].holds_vip && !net.routers[LOSER].holds_vip,
            "{case}: two holders or none at {:?}",
            net.now
        );
    }
    assert_eq!(net.client_arp, Some(WINNER), "{case}");
    assert_eq!(
        net.client_log.len(),
        tail_from,
        "{case}: the client moved after the heal"
    );
    Outcome { outage_us, retakes }
}

/// Every heal: base offsets after the loser's takeover spread over an advert interval and
/// around its `garp_master_delay` round, each direction first, gaps between directions from
/// 0 to 4 s, with and without loss.
fn cases(timing: Timing) -> Vec<Heal> {
    let interval_us = u64::from(timing.interval_cs) * 10_000;
    // The loser takes over Master_Down_Interval (3 intervals + skew) after its last advert
    // from the winner, which arrives before the cut at 10 s.
    let takeover = 10_000_000 + 3 * interval_us + interval_us * 156 / 256;
    let mut heals = Vec::new();
    let bases = [1_300_000, 4_950_000, 5_050_000, 5_400_000, 7_700_000];
    for base in bases {
        for phase in 0..5 {
            let at = takeover + base + phase * interval_us / 5;
            for gap in [0, 300_000, 1_500_000, 4_000_000] {
                for winner_first in [true, false] {
                    for (loss_percent, seeds) in [(0, 1), (20, 3)] {
                        for seed in 0..seeds {
                            let (w_to_l, l_to_w) = if winner_first {
                                (at, at + gap)
                            } else {
                                (at + gap, at)
                            };
                            heals.push(Heal {
                                w_to_l: Timestamp::from_micros(w_to_l),
                                l_to_w: Timestamp::from_micros(l_to_w),
                                loss_percent,
                                seed: seed + base + phase,
                            });
                        }
                    }
                }
            }
        }
    }
    heals
}

/// Runs the matrix for one pair of engines; returns the worst outage per step-down (the
/// loser's, and again after each re-election) over all cases.
fn matrix(winner: Engine, loser: Engine) -> u64 {
    let mut worst = 0;
    for timing in TIMINGS {
        let interval_us = u64::from(timing.interval_cs) * 10_000;
        for heal in cases(timing) {
            let outcome = run(winner, loser, timing, heal);
            // One advert interval, plus an ARP round trip to resolve the winner's MAC.
            assert!(
                outcome.outage_us <= interval_us + 1_000,
                "{winner:?} winner, {loser:?} loser, {timing:?}, {heal:?}: {outcome:?}"
            );
            let per_step_down = outcome.outage_us / (1 + outcome.retakes as u64);
            worst = worst.max(per_step_down);
        }
    }
    worst
}

#[test]
fn halabd_pair_heals_in_every_order() {
    let outage = matrix(Engine::Halab, Engine::Halab);
    // The loser announces the winner's MAC as it steps down: one ARP round trip at most.
    assert!(outage <= 400, "worst outage {outage} us");
}

#[test]
fn halabd_winner_heals_a_keepalived_loser_in_every_order() {
    // keepalived's loser steps down silently: the winner re-claimed the VIP when it saw the
    // loser's gratuitous ARPs (within an interval), so the client is rarely on the loser.
    let outage = matrix(Engine::Halab, Engine::Keepalived);
    assert!(outage <= 1_000_000, "worst outage {outage} us");
}

#[test]
fn halabd_loser_heals_with_a_keepalived_winner_in_every_order() {
    let outage = matrix(Engine::Keepalived, Engine::Halab);
    assert!(outage <= 400, "worst outage {outage} us");
}

#[test]
fn keepalived_pair_blacks_out_when_the_loser_hears_first() {
    // The reference: keepalived's behaviour on both sides, the loser hearing first with the
    // client on it (heal just after the loser's garp_master_delay round): no gratuitous ARP
    // from anyone, the client stays on a router without the VIP.
    let timing = TIMINGS[0];
    let takeover = 10_000_000 + 3_000_000 + 609_375;
    let at = Timestamp::from_micros(takeover + 5_050_000);
    let mut net = Net::new(vec![
        router(LOWER, 150, Engine::Keepalived, timing),
        router(HIGHER, 100, Engine::Keepalived, timing),
    ]);
    net.arp_between_routers = true;
    net.garp_delay_us = Some(5_000_000);
    net.input(WINNER, Input::Startup);
    net.input(LOSER, Input::Startup);
    net.run_until(at_ms(10_000));
    net.blocked = vec![(WINNER, LOSER), (LOSER, WINNER)];
    net.run_until(at);
    assert_eq!(net.client_arp, Some(LOSER));
    net.blocked = vec![(LOSER, WINNER)];
    let (outage, ok) = net.outage(at.plus_micros(1_500_000));
    assert!(!ok && outage > 400_000, "outage {outage} us");
}

fn claimed() -> Input {
    Input::VipClaimed {
        address: VIP.into(),
    }
}

fn ignored(actions: &[Action]) -> Option<IgnoreReason> {
    match actions {
        [Action::Ignored { reason }] => Some(*reason),
        _ => None,
    }
}

#[test]
fn a_master_that_never_followed_anyone_reclaims_its_vip() {
    // Input: a master since start-up (it heard nobody) sees its VIP claimed at another MAC, at
    // once and again half an interval later. Output: gratuitous ARPs for the first; the second
    // (within an interval of them) waits for the next advert, which carries them.
    let (mut instance, since) = master(config(100));
    let actions = instance.handle(since.plus_micros(1_500_000), claimed());
    assert_eq!(garps(&actions), 1, "{actions:?}");
    let actions = instance.handle(since.plus_micros(1_700_000), claimed());
    assert!(actions.is_empty(), "{actions:?}");
    let (_, due) = instance.armed_timer().expect("advert timer");
    let actions = instance.handle(
        due,
        Input::TimerFired {
            timer: Timer::Advert,
        },
    );
    assert_eq!((sent(&actions), garps(&actions)), (vec![100], 1));
    // Answered once: the advert after that carries no ARP.
    let (_, due) = instance.armed_timer().expect("advert timer");
    let actions = instance.handle(
        due,
        Input::TimerFired {
            timer: Timer::Advert,
        },
    );
    assert_eq!(garps(&actions), 0);
}

#[test]
fn a_master_that_took_over_from_its_master_defers_to_its_claims() {
    // Input: a backup follows a master at 150, its adverts stop, it takes over; then its VIP
    // is claimed elsewhere (the old master, behind a VRRP cut). Output: ignored (deferred), so
    // two halabd masters never fight over the clients.
    let mut instance = backup(config(100));
    instance.handle(at_ms(1_000), received(HIGHER, advert_v2(150)));
    let (_, due) = instance.armed_timer().expect("master down");
    instance.handle(
        due,
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(instance.state(), State::Master);
    let actions = instance.handle(due.plus_micros(2_000_000), claimed());
    assert_eq!(ignored(&actions), Some(IgnoreReason::Deferred));
}

#[test]
fn claims_are_ignored_by_backups_for_other_addresses_and_without_the_heal() {
    let mut instance = backup(config(100));
    assert_eq!(
        ignored(&instance.handle(at_ms(100), claimed())),
        Some(IgnoreReason::NotHolding {
            state: State::Backup
        })
    );
    let (mut instance, since) = master(config(100));
    let other = std::net::Ipv4Addr::new(192, 168, 0, 131);
    assert_eq!(
        ignored(&instance.handle(
            since,
            Input::VipClaimed {
                address: other.into()
            }
        )),
        Some(IgnoreReason::NotOurVip {
            address: other.into()
        })
    );
    let mut off = config(100);
    off.improvements = Improvements::none();
    let (mut instance, since) = master(off);
    assert_eq!(
        ignored(&instance.handle(since, claimed())),
        Some(IgnoreReason::HealOff)
    );
}

#[test]
fn stepping_down_announces_the_vip_at_the_winner_on_our_link_only() {
    // Input: a master hears a better advert with TTL 255. Output: after removing its VIP, it
    // announces the VIP at whoever holds it (the winner).
    let (mut instance, since) = master(config(100));
    let actions = instance.handle(since, received(HIGHER, advert_v2(150)));
    assert_eq!(
        actions.last(),
        Some(&Action::AnnounceVipsAt {
            vips: vec![vip()],
            holder: VIP.into()
        })
    );
    // Input: the same from a unicast peer behind a router (TTL 254; unicast skips the TTL
    // check). Output: no announcement, the winner's MAC is not on our link.
    let mut unicast = config(100);
    unicast.check_ttl = false;
    let (mut instance, since) = master(unicast);
    let actions = instance.handle(
        since,
        Input::AdvertReceived {
            src: HIGHER.into(),
            ttl: 254,
            advert: advert_v2(150),
        },
    );
    assert_eq!(instance.state(), State::Backup);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::AnnounceVipsAt { .. })),
        "{actions:?}"
    );
}

#[test]
fn during_the_cut_the_client_stays_with_the_winner() {
    // Input: two halabd, VRRP cut both ways for 30 s, ARP not cut. Output: the loser takes
    // over and announces itself (takeover and garp_master_delay rounds); each time the winner
    // takes the client back at once, and the loser never answers the winner's claims (no ARP
    // war): the client moves exactly twice per round of the loser.
    let timing = TIMINGS[0];
    let mut net = Net::new(vec![
        router(LOWER, 150, Engine::Halab, timing),
        router(HIGHER, 100, Engine::Halab, timing),
    ]);
    net.arp_between_routers = true;
    net.garp_delay_us = Some(5_000_000);
    net.input(WINNER, Input::Startup);
    net.input(LOSER, Input::Startup);
    net.run_until(at_ms(10_000));
    let before = net.client_log.len();
    net.blocked = vec![(WINNER, LOSER), (LOSER, WINNER)];
    net.run_until(at_ms(40_000));
    assert_eq!(net.state(LOSER), State::Master);
    let log: Vec<usize> = net.client_log[before..].iter().map(|(_, m)| *m).collect();
    assert_eq!(log, vec![LOSER, WINNER, LOSER, WINNER]);
    assert_eq!(net.client_arp, Some(WINNER));
}
