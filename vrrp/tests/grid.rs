//! halabd's advert grid (`Improvements::aligned_adverts`): a master's Adver_Timer runs on
//! multiples of its advert interval from the epoch (offset by a tenth of an interval per VRID
//! modulo 10), whenever it became master and whatever it answered, so instances with one
//! interval wake together, in ten groups; no interval between two adverts is ever longer than
//! the configured one.

mod common;

use common::*;
use halab_vrrp::{Action, Improvements, Input, Instance, InstanceConfig, State, Timer, Timestamp};

/// VRID `vrid`, priority 100, advert interval `interval_cs`, on the grid (halabd's default).
fn on_grid(vrid: u8, interval_cs: u16) -> InstanceConfig {
    let mut config = InstanceConfig::new(vrid, US);
    config.priority = 100;
    config.vips = vec![vip()];
    config.advert_interval_cs = interval_cs;
    config.version = halab_vrrp::Version::V3;
    assert!(config.improvements.aligned_adverts, "on by default");
    config
}

/// Starts `config` at `start` and lets its Master_Down_Timer make it master; returns the
/// instance, when it took over and the actions of the takeover.
fn master_from(config: InstanceConfig, start: Timestamp) -> (Instance, Timestamp, Vec<Action>) {
    let mut instance = instance(config);
    instance.handle(start, Input::Startup);
    let (_, due) = instance.armed_timer().expect("master down armed");
    let actions = instance.handle(
        due,
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(instance.state(), State::Master);
    (instance, due, actions)
}

fn fire(instance: &mut Instance, now: Timestamp) -> Vec<Action> {
    instance.handle(
        now,
        Input::TimerFired {
            timer: Timer::Advert,
        },
    )
}

fn sends(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::SendAdvert { .. }))
        .count()
}

/// Instance `vrid`'s offset on the grid of `step` µs.
fn offset(vrid: u8, step: u64) -> u64 {
    u64::from(vrid) % 10 * (step / 10)
}

#[test]
fn the_first_advert_goes_at_once_and_the_next_on_the_grid() {
    for vrid in [10, 13, 255] {
        for interval_cs in [1, 10, 20, 100, 300] {
            for start_us in [0, 1, 4_321, 99_999, 1_234_567, 7_000_000] {
                takeover_then_ten_adverts(vrid, interval_cs, start_us);
            }
        }
    }
}

fn takeover_then_ten_adverts(vrid: u8, interval_cs: u16, start_us: u64) {
    let step = u64::from(interval_cs) * 10_000;
    let case = format!("VRID {vrid}, {interval_cs} cs from {start_us} us");
    let (mut instance, took_over, actions) =
        master_from(on_grid(vrid, interval_cs), at_us(start_us));
    assert_eq!(sends(&actions), 1, "the takeover's advert goes at once");
    let next = armed(&actions, Timer::Advert).expect("advert timer");
    assert_eq!(next.as_micros() % step, offset(vrid, step), "{case}");
    assert!(
        next > took_over && next.micros_since(took_over) <= step,
        "{case}"
    );
    // Ten more adverts, each fired up to 90% of an interval late: every deadline on the grid,
    // one interval after the one before.
    let mut due = next;
    for k in 0..10u64 {
        let late = step * k / 11;
        let actions = fire(&mut instance, due.plus_micros(late));
        assert_eq!(sends(&actions), 1);
        let again = armed(&actions, Timer::Advert).expect("re-armed");
        assert_eq!(again.micros_since(due), step, "{case}, late {late} us");
        due = again;
    }
}

#[test]
fn answering_a_lower_priority_keeps_the_grid() {
    let (mut instance, _, actions) = master_from(on_grid(10, 100), at_us(123_456));
    let due = armed(&actions, Timer::Advert).expect("advert timer");
    let now = due.plus_micros(300_000);
    let actions = fire(&mut instance, due);
    let next = armed(&actions, Timer::Advert).expect("re-armed");
    let actions = instance.handle(now, received(HIGHER, advert_v3(50, 100)));
    assert_eq!(
        sends(&actions),
        1,
        "keepalived answers a lower priority at once"
    );
    assert_eq!(
        armed(&actions, Timer::Advert),
        Some(next),
        "the answer does not move the grid"
    );
}

#[test]
fn keepalived_timing_counts_from_the_answer() {
    let mut config = on_grid(10, 100);
    config.improvements = Improvements::none();
    let (mut instance, took_over, actions) = master_from(config, at_us(123_456));
    assert_eq!(
        armed(&actions, Timer::Advert),
        Some(took_over.plus_micros(1_000_000))
    );
    let now = took_over.plus_micros(300_000);
    let actions = instance.handle(now, received(HIGHER, advert_v3(50, 100)));
    assert_eq!(
        armed(&actions, Timer::Advert),
        Some(now.plus_micros(1_000_000))
    );
}

#[test]
fn a_timer_late_by_intervals_skips_to_the_next_grid_point() {
    let (mut instance, _, actions) = master_from(on_grid(10, 10), at_us(55_555));
    let due = armed(&actions, Timer::Advert).expect("advert timer");
    let now = due.plus_micros(250_000);
    let actions = fire(&mut instance, now);
    assert_eq!(sends(&actions), 1, "no burst of the adverts missed");
    assert_eq!(
        armed(&actions, Timer::Advert),
        Some(now.next_on_grid(100_000, 0))
    );
}

#[test]
fn instances_that_took_over_apart_advertise_together() {
    // 200 instances taking over spread over two seconds (a start race), at 0.1 s: after their
    // first advert, they advertise at ten moments per interval (VRID modulo 10), not 200.
    let mut phases = std::collections::BTreeMap::new();
    for vrid in 1..=200u8 {
        let start = at_us(u64::from(vrid) * 9_973);
        let (mut instance, _, actions) = master_from(on_grid(vrid, 10), start);
        let due = armed(&actions, Timer::Advert).expect("advert timer");
        let actions = fire(&mut instance, due);
        let next = armed(&actions, Timer::Advert).expect("re-armed");
        *phases.entry(next.as_micros() % 100_000).or_insert(0) += 1;
    }
    let expected: std::collections::BTreeMap<u64, i32> =
        (0..10).map(|slot| (slot * 10_000, 20)).collect();
    assert_eq!(
        phases, expected,
        "phase (us into the interval) -> instances"
    );
}

#[test]
fn the_garp_master_delay_round_goes_with_an_advert() {
    let grid = instance(on_grid(10, 20));
    for due_us in [5_000_000, 5_000_001, 5_199_999, 12_345_678] {
        let due = at_us(due_us);
        let at = grid.garp_round_at(due);
        assert_eq!(at.as_micros() % 200_000, 0);
        assert!(
            at >= due && at.micros_since(due) < 200_000,
            "{due_us}: {at:?}"
        );
    }
    let mut config = on_grid(10, 20);
    config.improvements = Improvements::none();
    let plain = instance(config);
    assert_eq!(plain.garp_round_at(at_us(5_000_001)), at_us(5_000_001));
}
