//! The wire directives as keepalived 2.2.7 completes them (`vrrp_complete_instance`): global
//! defaults, what `vrrp_strict` implies, accept mode's default, unicast peer TTLs, VIP options.

use std::path::Path;

use halab_kaconf::{Parsed, parse_str};
use halab_vrrp::InitialState;

fn parse(text: &str) -> Parsed {
    parse_str(Path::new("/test/keepalived.conf"), text)
        .unwrap_or_else(|e| panic!("refused:\n{e}\n{text}"))
}

fn refused(text: &str) -> String {
    match parse_str(Path::new("/test/keepalived.conf"), text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn conf(global: &str, instance: &str) -> String {
    format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {{\n        10.0.0.100/24\n    }}\n{instance}\n}}\n"
    )
}

#[test]
fn defaults_are_keepalived_s() {
    // Input: no wire directives. Output: accept on, garp timings 5 s / 5, refresh repeat 1,
    // lower-priority garps 5 after 5 s, no strict, no source check.
    let parsed = parse(&conf("", ""));
    let i = &parsed.config.instances[0];
    assert_eq!(i.wire.accept, Some(true));
    assert!(!i.wire.strict_mode);
    assert_eq!((i.garp_master_delay_s, i.garp_master_repeat), (5, 5));
    assert_eq!(i.wire.garp_master_refresh_repeat, 1);
    assert_eq!(i.wire.garp_lower_prio_repeat, Some(5));
    assert_eq!(i.wire.garp_lower_prio_delay_s, Some(5));
    let core = i.core_config(std::net::Ipv4Addr::new(10, 0, 0, 1));
    assert!(core.garp_lower_prio && !core.lower_prio_no_advert);
    assert_eq!(core.unicast_sources, None);
}

#[test]
fn vrrp_strict_implies_what_keepalived_implies() {
    // Input: vrrp_strict with settings strict mode forbids. Output: accepted with a notice for
    // each reset; no accept mode (VRRPv2 non-owner), no lower-priority advert or garps, no
    // authentication, no preempt delay, state BACKUP.
    let parsed = parse(&conf(
        "    vrrp_strict",
        "    state MASTER\n    preempt_delay 5\n    higher_prio_send_advert\n    garp_lower_prio_repeat 3\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n    accept",
    ));
    let i = &parsed.config.instances[0];
    assert!(i.wire.strict_mode);
    assert_eq!(i.wire.accept, Some(false));
    assert_eq!(i.initial_state, InitialState::Backup);
    assert_eq!(i.auth, None);
    assert_eq!(i.preempt_delay_ms, 0);
    assert!(!i.wire.higher_prio_send_advert);
    assert_eq!(i.wire.garp_lower_prio_repeat, Some(0));
    let core = i.core_config(std::net::Ipv4Addr::new(10, 0, 0, 1));
    assert!(core.lower_prio_no_advert && !core.garp_lower_prio && !core.higher_prio_send_advert);
    let notices: Vec<String> = parsed.notices.iter().map(ToString::to_string).collect();
    for what in [
        "state MASTER",
        "authentication",
        "preempt_delay",
        "higher_prio_send_advert",
        "garp_lower_prio_repeat",
        "accept mode",
    ] {
        assert!(
            notices.iter().any(|n| n.contains(what)),
            "no notice about {what}: {notices:#?}"
        );
    }
}

#[test]
fn strict_mode_keeps_accept_for_an_owner_and_for_vrrpv3() {
    // Input: strict, priority 255. Output: accept on (the address owner).
    let owner = parse(&conf(
        "    vrrp_strict",
        "    priority 255\n    state MASTER",
    ));
    assert_eq!(owner.config.instances[0].wire.accept, Some(true));
    // Input: strict, VRRPv3, no accept keyword. Output: off (strict's default), and `accept`
    // turns it on (RFC 5798 allows it).
    let v3 = parse(&conf("    vrrp_strict", "    version 3"));
    assert_eq!(v3.config.instances[0].wire.accept, Some(false));
    let v3_accept = parse(&conf("    vrrp_strict", "    version 3\n    accept"));
    assert_eq!(v3_accept.config.instances[0].wire.accept, Some(true));
}

#[test]
fn strict_mode_refuses_unicast_and_instances_without_vips() {
    // Input: strict with unicast peers. Output: refused with the reason and a hint.
    let e = refused(&conf(
        "    vrrp_strict",
        "    unicast_peer {\n        10.0.0.2\n    }",
    ));
    assert!(
        e.contains("unicast peers are not supported in strict mode"),
        "{e}"
    );
    assert!(e.contains("/test/keepalived.conf:"), "{e}");
    // Input: strict_mode on the instance, no VIP. Output: refused.
    let e = refused(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    strict_mode\n}\n",
    );
    assert!(e.contains("at least one virtual_ipaddress"), "{e}");
}

#[test]
fn global_garp_settings_are_the_instances_defaults() {
    // Input: global garp settings, one instance overriding the repeat. Output: the instance
    // takes the global delay and refresh, its own repeat; lower-priority garps follow the
    // global master settings unless set.
    let parsed = parse(&conf(
        "    vrrp_garp_master_delay 2\n    vrrp_garp_master_repeat 3\n    vrrp_garp_master_refresh 60\n    vrrp_garp_master_refresh_repeat 2\n    vrrp_garp_lower_prio_repeat 1\n    vrrp_garp_interval 0.01",
        "    garp_master_repeat 7",
    ));
    let i = &parsed.config.instances[0];
    assert_eq!(i.garp_master_delay_s, 2);
    assert_eq!(i.garp_master_repeat, 7);
    assert_eq!(i.garp_master_refresh_s, 60);
    assert_eq!(i.wire.garp_master_refresh_repeat, 2);
    assert_eq!(i.wire.garp_lower_prio_repeat, Some(1));
    assert_eq!(i.wire.garp_lower_prio_delay_s, Some(2));
    assert_eq!(parsed.config.global.garp_interval_ms, Some(10));
}

#[test]
fn unicast_peer_ttls_turn_the_source_check_on() {
    // Input: a peer with min_ttl/max_ttl. Output: the core checks sources with that range,
    // and the other peer with any TTL.
    let parsed = parse(&conf(
        "",
        "    unicast_src_ip 10.0.0.1\n    unicast_peer {\n        10.0.0.2 min_ttl 250 max_ttl 255\n        10.0.0.3\n    }",
    ));
    let i = &parsed.config.instances[0];
    assert!(i.wire.check_unicast_src);
    let core = i.core_config(std::net::Ipv4Addr::new(10, 0, 0, 1));
    let sources = core.unicast_sources.expect("source check on");
    assert_eq!(sources.len(), 2);
    assert_eq!((sources[0].min_ttl, sources[0].max_ttl), (250, 255));
    assert_eq!((sources[1].min_ttl, sources[1].max_ttl), (0, 255));
    // Input: an unknown peer option. Output: refused, naming it.
    let e = refused(&conf(
        "",
        "    unicast_peer {\n        10.0.0.2 ttl 3\n    }",
    ));
    assert!(e.contains("unknown unicast_peer option `ttl`"), "{e}");
}

#[test]
fn vmac_skip_check_and_mcast_src_ip_are_read() {
    let parsed = parse(&conf(
        "    vrrp_skip_check_adv_addr",
        "    use_vmac\n    vmac_xmit_base\n    mcast_src_ip 10.0.0.1\n    no_accept",
    ));
    let i = &parsed.config.instances[0];
    assert_eq!(i.wire.vmac_name(51).as_deref(), Some("vrrp.51"));
    assert!(i.wire.vmac_xmit_base);
    assert!(i.wire.skip_check_adv_addr);
    assert_eq!(
        i.unicast_src_ip,
        Some(std::net::Ipv4Addr::new(10, 0, 0, 1).into())
    );
    assert_eq!(i.wire.accept, Some(false));
    let named = parse(&conf("", "    use_vmac vmac51"));
    assert_eq!(
        named.config.instances[0].wire.vmac_name(51).as_deref(),
        Some("vmac51")
    );
}

#[test]
fn vip_options_brd_scope_no_track() {
    let parsed = parse(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.100/24 brd 10.0.0.255 scope link dev eth0 label eth0:vip no_track\n        10.0.0.101/24 brd + scope 200\n    }\n}\n",
    );
    let vips = &parsed.config.instances[0].vips;
    assert_eq!(vips[0].brd.as_deref(), Some("10.0.0.255"));
    assert_eq!(vips[0].scope.as_deref(), Some("link"));
    assert_eq!(vips[0].label.as_deref(), Some("eth0:vip"));
    assert!(vips[0].no_track);
    assert_eq!(vips[1].brd.as_deref(), Some("+"));
    assert!(!vips[1].no_track);
    // Input: a bad scope. Output: refused with the accepted values.
    let e = refused(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.100/24 scope planet\n    }\n}\n",
    );
    assert!(
        e.contains("scope must be global, site, link, host, nowhere"),
        "{e}"
    );
}
