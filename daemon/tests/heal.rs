//! The split-brain heal in namespaces (root): two load balancers, a client pinging the VIP
//! every 10 ms, VRRP cut both ways until both are master, then healed unevenly, the other way
//! round, or with loss (`heal_lab`). Each test runs halabd and keepalived 2.2.7 in the same run
//! and prints both; it asserts halabd's promise: the client is back within about one advert
//! interval of the heal, its ARP entry points at the winner, and the winner alone holds the
//! VIP. keepalived's figure is the comparison, not asserted.

mod heal_lab;
mod support;

use std::time::Duration;

use heal_lab::{Engine, Order, Outcome, WINNER, split_and_heal};

/// One advert interval (1 s) plus the ping's own 10 ms and a loaded machine's slack.
const BOUND: Duration = Duration::from_millis(1_300);

fn check(what: &str, outcome: &Outcome) {
    assert!(
        outcome.gap <= BOUND,
        "{what}: client gap {:?} after the heal\n{}",
        outcome.gap,
        outcome.logs
    );
    assert!(
        outcome.client_on_winner,
        "{what}: client ARP entry not on {WINNER}\n{}",
        outcome.logs
    );
    assert_eq!(outcome.holders, [WINNER], "{what}\n{}", outcome.logs);
}

/// halabd on both sides and on the given sides, keepalived on both for comparison.
fn compare(order: Order, version: u8, mixed: &[(Engine, Engine)]) {
    let keepalived = std::thread::spawn(move || {
        split_and_heal(Engine::Keepalived, Engine::Keepalived, version, order)
    });
    let mut runs = vec![(
        (Engine::Halabd, Engine::Halabd),
        split_and_heal(Engine::Halabd, Engine::Halabd, version, order),
    )];
    for pair in mixed {
        runs.push((*pair, split_and_heal(pair.0, pair.1, version, order)));
    }
    let keepalived = keepalived.join().expect("keepalived run");
    for ((winner, loser), outcome) in &runs {
        eprintln!(
            "{} (VRRPv{version}): winner {winner:?}, loser {loser:?}: longest client gap {:.3} s; keepalived pair: {:.3} s (client on winner: {})",
            order.label(),
            outcome.gap.as_secs_f64(),
            keepalived.gap.as_secs_f64(),
            keepalived.client_on_winner,
        );
    }
    for ((winner, loser), outcome) in &runs {
        check(
            &format!(
                "{} v{version}, {winner:?} winner, {loser:?} loser",
                order.label()
            ),
            outcome,
        );
    }
}

/// Input: the loser hears the winner 1.5 s before the winner hears the loser (the issue's
/// uneven heal), halabd on both, and halabd opposite keepalived either way round.
/// Output: the loser announces the VIP at the winner's MAC as it steps down (or, with a
/// keepalived loser, the winner already took the client back when the loser announced
/// itself): gap under one interval, client on the winner.
#[test]
fn uneven_heal_loser_hears_first() {
    compare(
        Order::LoserHearsFirst,
        2,
        &[
            (Engine::Halabd, Engine::Keepalived),
            (Engine::Keepalived, Engine::Halabd),
        ],
    );
}

/// Input: the winner hears the loser 1.5 s before the loser hears the winner.
/// Output: the winner re-claims the VIP at the loser's first advert; gap under one interval.
#[test]
fn uneven_heal_winner_hears_first() {
    compare(
        Order::WinnerHearsFirst,
        2,
        &[
            (Engine::Halabd, Engine::Keepalived),
            (Engine::Keepalived, Engine::Halabd),
        ],
    );
}

/// Input: both directions heal at once with 20% VRRP loss each way, VRRPv3.
/// Output: the same promise.
#[test]
fn heal_with_vrrp_loss() {
    compare(Order::TogetherWithLoss, 3, &[]);
}

/// Input: the uneven heal with VRRPv3. Output: the same promise.
#[test]
fn uneven_heal_vrrp_v3() {
    compare(Order::LoserHearsFirst, 3, &[]);
}
