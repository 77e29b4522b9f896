//! keepalived directives that change what the core does with an advert:
//! `higher_prio_send_advert`, `skip_check_adv_addr`, `check_unicast_src` with a peer's
//! `min_ttl`/`max_ttl`, and `vrrp_strict`'s settings (keepalived 2.2.7 vrrp.c).

mod common;

use common::*;
use halab_vrrp::{Action, Advert, Auth, DiscardReason, Input, Timer, UnicastSource};

fn no_heal(mut config: halab_vrrp::InstanceConfig) -> halab_vrrp::InstanceConfig {
    config.improvements = halab_vrrp::Improvements::none();
    config
}

#[test]
fn higher_prio_send_advert_answers_a_better_advert_before_stepping_down() {
    // Input: a master at 100 (halab improvements off) hears 150. Output: without the
    // directive it steps down silently; with it, it sends one advert at 100 first.
    let (mut plain, due) = master(no_heal(config(100)));
    let actions = plain.handle(due.plus_micros(10), received(HIGHER, advert_v2(150)));
    assert_eq!(sent(&actions), Vec::<u8>::new());
    let mut with = no_heal(config(100));
    with.higher_prio_send_advert = true;
    let (mut answering, due) = master(with);
    let actions = answering.handle(due.plus_micros(10), received(HIGHER, advert_v2(150)));
    assert_eq!(sent(&actions), vec![100]);
    assert!(matches!(actions.first(), Some(Action::SendAdvert { .. })));
    // Input: the same with the split-brain heal on. Output: still exactly one advert (the
    // heal's last advert is that advert).
    let mut both = config(100);
    both.higher_prio_send_advert = true;
    let (mut healing, due) = master(both);
    let actions = healing.handle(due.plus_micros(10), received(HIGHER, advert_v2(150)));
    assert_eq!(sent(&actions), vec![100]);
}

#[test]
fn rfc_strict_clears_higher_prio_send_advert() {
    // Input: vrrp_strict's settings over a config asking for the advert. Output: cleared, as
    // keepalived resets it ("strict mode requires higher_prio_send_advert to be clear").
    let mut c = config(100);
    c.higher_prio_send_advert = true;
    let strict = c.rfc_strict();
    assert!(!strict.higher_prio_send_advert);
    assert!(strict.lower_prio_no_advert);
    assert!(!strict.garp_lower_prio);
}

fn other_vips(priority: u8) -> Advert {
    let other = std::net::Ipv4Addr::new(192, 168, 0, 140);
    Advert::v2(10, priority, 1, Auth::None, vec![other]).expect("valid")
}

#[test]
fn skip_check_adv_addr_skips_only_the_followed_master() {
    // Input: a backup follows HIGHER; HIGHER then advertises other addresses. Output: without
    // the directive, discarded; with it, accepted (timer re-armed).
    let mut checking = backup(config(100));
    checking.handle(at_ms(100), received(HIGHER, advert_v2(150)));
    let actions = checking.handle(at_ms(200), received(HIGHER, other_vips(150)));
    assert!(matches!(
        discarded(&actions),
        Some(DiscardReason::AddressMissing { .. })
    ));
    let mut c = config(100);
    c.skip_check_adv_addr = true;
    let mut skipping = backup(c);
    skipping.handle(at_ms(100), received(HIGHER, advert_v2(150)));
    let actions = skipping.handle(at_ms(200), received(HIGHER, other_vips(150)));
    assert_eq!(discarded(&actions), None);
    assert!(armed(&actions, Timer::MasterDown).is_some());
    // Input: a new sender (LOWER, priority above ours) with other addresses. Output: checked,
    // so discarded: the skip is for the master already followed.
    let actions = skipping.handle(at_ms(300), received(LOWER, other_vips(200)));
    assert!(matches!(
        discarded(&actions),
        Some(DiscardReason::AddressMissing { .. })
    ));
}

#[test]
fn skip_check_adv_addr_does_not_apply_to_a_master() {
    // Input: a master with the directive hears other addresses from HIGHER. Output: discarded
    // (keepalived's master always checks).
    let mut c = config(100);
    c.skip_check_adv_addr = true;
    let (mut m, due) = master(c);
    let actions = m.handle(due.plus_micros(10), received(HIGHER, other_vips(150)));
    assert!(matches!(
        discarded(&actions),
        Some(DiscardReason::AddressMissing { .. })
    ));
}

fn unicast_received(src: std::net::Ipv4Addr, ttl: u8) -> Input {
    Input::AdvertReceived {
        src: src.into(),
        ttl,
        advert: advert_v2(150),
    }
}

#[test]
fn check_unicast_src_takes_only_configured_peers() {
    // Input: sources limited to HIGHER; an advert from LOWER. Output: discarded as not a peer.
    let mut c = config(100);
    c.check_ttl = false;
    c.unicast_sources = Some(vec![UnicastSource::any_ttl(HIGHER.into())]);
    let mut b = backup(c);
    let actions = b.handle(at_ms(100), unicast_received(LOWER, 255));
    assert_eq!(
        actions,
        vec![Action::Discarded {
            src: Some(LOWER.into()),
            reason: DiscardReason::NotAUnicastPeer { src: LOWER.into() },
        }]
    );
    // Input: the same advert from HIGHER at TTL 3 (routed). Output: accepted.
    let actions = b.handle(at_ms(200), unicast_received(HIGHER, 3));
    assert_eq!(discarded(&actions), None);
}

#[test]
fn a_peers_ttl_range_is_enforced() {
    // Input: HIGHER with min_ttl 250, max_ttl 254. Output: 255 and 249 discarded with the
    // range, 252 accepted.
    let mut c = config(100);
    c.check_ttl = false;
    c.unicast_sources = Some(vec![UnicastSource {
        address: HIGHER.into(),
        min_ttl: 250,
        max_ttl: 254,
    }]);
    let mut b = backup(c);
    for ttl in [255, 249] {
        let actions = b.handle(at_ms(100), unicast_received(HIGHER, ttl));
        assert_eq!(
            discarded(&actions),
            Some(&DiscardReason::TtlOutOfRange {
                ttl,
                min: 250,
                max: 254
            })
        );
    }
    let actions = b.handle(at_ms(200), unicast_received(HIGHER, 252));
    assert_eq!(discarded(&actions), None);
}
