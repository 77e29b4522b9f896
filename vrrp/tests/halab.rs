//! halabd's two improvements over keepalived: split-brain heal and fast hand-off, in both heal
//! orders and with the switch off. The two-router simulation (tests/common/sim.rs) carries
//! real encoded packets and keeps a client's ARP entry for the VIP.

mod common;

use common::sim::Net;
use common::*;
use halab_vrrp::{
    Action, Improvements, Input, InstanceConfig, Reason, State, Timer, Timestamp, TrackStatus,
};

const WINNER: usize = 0;
const LOSER: usize = 1;

fn router(primary: std::net::Ipv4Addr, priority: u8, style: Style) -> InstanceConfig {
    let mut config = InstanceConfig::new(10, primary);
    config.priority = priority;
    config.vips = vec![vip()];
    match style {
        Style::Halab => config,
        Style::Keepalived => {
            config.improvements = Improvements::none();
            config
        }
        Style::Rfc => config.rfc_strict(),
    }
}

#[derive(Clone, Copy, Debug)]
enum Style {
    /// halabd defaults.
    Halab,
    /// keepalived 2.2.7 defaults.
    Keepalived,
    /// RFC 5798 only.
    Rfc,
}

/// Two masters after a partition, the client following the loser (it took over last); the
/// link heals just before `first`'s next advert, so `first` is heard first.
fn split_brain(style: Style, first: usize) -> Net {
    let mut net = Net::new(vec![router(LOWER, 150, style), router(HIGHER, 100, style)]);
    net.input(WINNER, Input::Startup);
    net.input(LOSER, Input::Startup);
    net.run_until(at_ms(10_000));
    assert_eq!(
        (net.state(WINNER), net.state(LOSER)),
        (State::Master, State::Backup)
    );
    net.isolated = vec![LOSER];
    net.run_until(at_ms(20_000));
    assert_eq!(
        (net.state(WINNER), net.state(LOSER)),
        (State::Master, State::Master)
    );
    assert_eq!(
        net.client_arp,
        Some(LOSER),
        "the loser took over last, clients follow it"
    );
    let other = 1 - first;
    // Let the other router's advert go by (lost), then heal just before `first` advertises.
    while net.next_advert(other) < net.next_advert(first) {
        let after = net.next_advert(other).plus_micros(net.latency_us + 1);
        net.run_until(after);
    }
    let heal = Timestamp::from_micros(net.next_advert(first).as_micros() - 1);
    net.run_until(heal);
    net.isolated.clear();
    net
}

/// After the heal: how long the client could not reach the VIP within 10 s, and whether it can
/// at the end.
fn outage_after_heal(style: Style, first: usize) -> (u64, bool) {
    let mut net = split_brain(style, first);
    let end = net.now.plus_micros(10_000_000);
    let outage = net.outage(end);
    assert_eq!(
        (net.state(WINNER), net.state(LOSER)),
        (State::Master, State::Backup),
        "{style:?}"
    );
    outage
}

#[test]
fn split_brain_heals_within_one_interval_when_the_loser_hears_first() {
    // Input: partition heals, the winner's advert reaches the loser first.
    // Output: the loser resigns with priority 0, the winner sends gratuitous ARPs, the client
    // is back within one advert interval.
    let (outage, ok) = outage_after_heal(Style::Halab, WINNER);
    // One link latency: the loser drops the VIP, its resignation reaches the winner.
    assert!(ok && outage <= 200, "outage {outage} us");
}

#[test]
fn split_brain_heals_within_one_interval_when_the_winner_hears_first() {
    // Input: partition heals, the loser's advert reaches the winner first.
    // Output: the winner answers with an advert and gratuitous ARPs, the client is back
    // within one advert interval.
    let (outage, ok) = outage_after_heal(Style::Halab, LOSER);
    // The winner re-claims the VIP before the loser even drops it.
    assert!(ok && outage == 0, "outage {outage} us");
}

#[test]
fn keepalived_blacks_out_when_the_loser_hears_first() {
    // Input: same heal, keepalived behaviour. Output: the winner never learns of the
    // contention, no gratuitous ARP: clients stay on the loser (until their ARP entries age
    // out, beyond these 10 s).
    let (outage, ok) = outage_after_heal(Style::Keepalived, WINNER);
    assert!(!ok && outage > 9_000_000, "outage {outage} us");
    // The other order works in keepalived thanks to garp_lower_prio_repeat.
    let (outage, ok) = outage_after_heal(Style::Keepalived, LOSER);
    assert!(ok && outage < 1_000_000, "outage {outage} us");
}

#[test]
fn rfc_behaviour_blacks_out_in_both_orders() {
    // Input: same heals, RFC 5798 only. Output: no gratuitous ARP after the heal in either
    // order.
    assert!(!outage_after_heal(Style::Rfc, WINNER).1);
    assert!(!outage_after_heal(Style::Rfc, LOSER).1);
}

#[test]
fn stepping_down_sends_a_last_advert() {
    // Input: a master hears a better advert. Output: Adver_Timer cancelled, one last advert at
    // our priority (the winner sees a lower-priority master: contention), VIPs removed, Backup.
    let (mut instance, since) = master(config(100));
    let actions = instance.handle(since, received(HIGHER, advert_v2(150)));
    assert_eq!(
        actions[1],
        Action::SendAdvert {
            advert: advert_v2(100)
        }
    );
    assert_eq!(sent(&actions), vec![100]);
    assert_eq!(
        transition(&actions),
        Some((
            State::Master,
            State::Backup,
            Reason::HigherPriority {
                src: HIGHER.into(),
                priority: 150
            }
        ))
    );
    // Input: the same with the improvement off. Output: no advert (keepalived, RFC 6.4.3).
    let (mut instance, since) = master(config(100).rfc_strict());
    assert!(sent(&instance.handle(since, received(HIGHER, advert_v2(150)))).is_empty());
}

#[test]
fn keepalived_winner_heals_with_a_halab_loser() {
    // Input: winner keepalived, loser halabd, the loser hears the winner first.
    // Output: the loser's last advert makes keepalived's winner ARP (garp_lower_prio_repeat).
    let mut net = Net::new(vec![
        router(LOWER, 150, Style::Keepalived),
        router(HIGHER, 100, Style::Halab),
    ]);
    heal_loser_first(&mut net);
    let (outage, ok) = net.outage(net.now.plus_micros(10_000_000));
    assert!(ok && outage <= 200, "outage {outage} us");
}

#[test]
fn third_router_does_not_take_over_during_a_heal() {
    // Input: winner 150 and a third router 120 on one side, loser 100 cut off; the loser hears
    // the winner first. Output: the third router stays backup throughout, the client is back.
    for third in [Style::Halab, Style::Keepalived, Style::Rfc] {
        let mut net = Net::new(vec![
            router(LOWER, 150, Style::Halab),
            router(HIGHER, 100, Style::Halab),
            router(std::net::Ipv4Addr::new(192, 168, 0, 13), 120, third),
        ]);
        heal_loser_first(&mut net);
        let end = net.now.plus_micros(10_000_000);
        while net.step(end) {
            assert_eq!(net.state(2), State::Backup, "{third:?} at {:?}", net.now);
        }
        assert!(net.client_ok(), "{third:?}");
    }
}

/// Starts `net` (router 0 wins, router 1 loses), cuts the loser off until it is master too,
/// then heals just before the winner's next advert.
fn heal_loser_first(net: &mut Net) {
    for r in 0..net.routers.len() {
        net.input(r, Input::Startup);
    }
    net.run_until(at_ms(10_000));
    net.isolated = vec![LOSER];
    net.run_until(at_ms(20_000));
    assert_eq!(
        (net.state(WINNER), net.state(LOSER)),
        (State::Master, State::Master)
    );
    let heal = Timestamp::from_micros(net.next_advert(WINNER).as_micros() - 1);
    net.run_until(heal);
    net.isolated.clear();
}

#[test]
fn contention_garps_are_rate_limited() {
    // Input: priority 0 at once after becoming master, then again 1 s later, with keepalived's
    // own lower-priority ARPs off. Output: the first within the interval of the takeover ARP
    // sends none, the second sends one; lower priority adverts likewise.
    let mut config = config(100);
    config.garp_lower_prio = false;
    let (mut instance, since) = master(config);
    let actions = instance.handle(since.plus_micros(500_000), received(HIGHER, advert_v2(0)));
    assert_eq!((sent(&actions), garps(&actions)), (vec![100], 0));
    let actions = instance.handle(since.plus_micros(1_000_000), received(HIGHER, advert_v2(0)));
    assert_eq!((sent(&actions), garps(&actions)), (vec![100], 1));
    let actions = instance.handle(
        since.plus_micros(1_500_000),
        received(HIGHER, advert_v2(50)),
    );
    assert_eq!(garps(&actions), 0);
    let actions = instance.handle(
        since.plus_micros(2_000_000),
        received(HIGHER, advert_v2(50)),
    );
    assert_eq!(garps(&actions), 1);
}

/// A master (priority 100) and a backup (priority 90); the master's tracked script fails
/// (weight -20) at 10.3 s. Returns when the backup became master, and whether the client
/// was then reaching it.
fn handoff(style: Style) -> (u64, bool) {
    let mut net = Net::new(vec![router(HIGHER, 100, style), router(LOWER, 90, style)]);
    net.input(0, Input::Startup);
    net.input(1, Input::Startup);
    net.run_until(at_ms(10_300));
    assert_eq!((net.state(0), net.state(1)), (State::Master, State::Backup));
    let failed = net.now;
    net.input(
        0,
        Input::TrackingChanged {
            tracking: TrackStatus {
                weight: -20,
                ..TrackStatus::default()
            },
        },
    );
    while net.state(1) != State::Master {
        assert!(net.step(at_ms(20_000)), "{style:?}: no hand-off");
    }
    let took_over = net.now.micros_since(failed);
    net.run_until(net.now.plus_micros(10_000));
    assert_eq!(net.state(0), State::Backup, "{style:?}");
    (took_over, net.client_ok())
}

#[test]
fn tracked_failure_hands_off_within_skew_time() {
    // Input: the master's priority drops below the backup's. Output: the backup is master
    // within its Skew_Time (648 ms at priority 90), and the clients follow it.
    let (took_over, client_ok) = handoff(Style::Halab);
    assert!(took_over <= 648_437 + 1_000, "took {took_over} us");
    assert!(client_ok);
}

#[test]
fn keepalived_hands_off_after_master_down_interval() {
    // Input: same, keepalived behaviour. Output: the backup discards the lower adverts and
    // waits for Master_Down_Interval (3.65 s at priority 90) after the last advert it
    // accepted, which came at most one interval before the drop: over 2.6 s.
    let (took_over, client_ok) = handoff(Style::Keepalived);
    assert!(took_over > 3_648_437 - 1_000_000, "took {took_over} us");
    assert!(client_ok);
}

#[test]
fn master_keeps_the_vips_when_nobody_takes_over() {
    // Input: a lone master's priority drops to 1. Output: it stays master and keeps
    // advertising for a minute.
    let mut net = Net::new(vec![router(HIGHER, 100, Style::Halab)]);
    net.input(0, Input::Startup);
    net.run_until(at_ms(5_000));
    net.input(
        0,
        Input::TrackingChanged {
            tracking: TrackStatus {
                weight: -200,
                ..TrackStatus::default()
            },
        },
    );
    net.run_until(at_ms(65_000));
    assert_eq!(net.state(0), State::Master);
    assert!(net.routers[0].holds_vip);
    let adverts = net.routers[0]
        .actions
        .iter()
        .filter(|(_, a)| matches!(a, Action::SendAdvert { .. }))
        .count();
    assert!(adverts > 60, "{adverts} adverts");
}

#[test]
fn fast_handoff_listens_only_to_the_followed_master() {
    // Input: a backup (100) following a master (150) hears it advertise 80. Output: discarded,
    // Master_Down_Timer at Skew_Time; Master when it fires, preempting.
    let mut instance = backup(config(100));
    instance.handle(at_ms(1_000), received(HIGHER, advert_v2(150)));
    let actions = instance.handle(at_ms(2_000), received(HIGHER, advert_v2(80)));
    assert_eq!(
        actions,
        vec![
            Action::Discarded {
                src: Some(HIGHER.into()),
                reason: halab_vrrp::DiscardReason::LowerPriority {
                    priority: 80,
                    ours: 100
                }
            },
            Action::ArmTimer {
                timer: Timer::MasterDown,
                at: at_us(2_609_375)
            },
        ]
    );
    let actions = instance.handle(
        at_us(2_609_375),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(
        transition(&actions),
        Some((State::Backup, State::Master, Reason::Preempted))
    );
    // Input: the same from a router we do not follow. Output: discarded only.
    let mut instance = backup(config(100));
    instance.handle(at_ms(1_000), received(HIGHER, advert_v2(150)));
    let actions = instance.handle(at_ms(2_000), received(LOWER, advert_v2(80)));
    assert_eq!(armed(&actions, Timer::MasterDown), None);
}
