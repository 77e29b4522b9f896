//! keepalived.conf parsing: configs that must parse to exact values, and configs that must fail
//! with a given message at a given line.

use std::net::Ipv4Addr;
use std::path::Path;

use halab_vrrp::{InitialState, Password, Version};

use super::*;

fn parse(text: &str) -> Parsed {
    match parse_str(Path::new("/etc/keepalived/keepalived.conf"), text) {
        Ok(parsed) => parsed,
        Err(e) => panic!("expected to parse, got:\n{e}"),
    }
}

/// The errors, as `LINE: message`.
fn errors(text: &str) -> Vec<String> {
    match parse_str(Path::new("k.conf"), text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(ConfErrors(errors)) => errors
            .iter()
            .map(|d| format!("{}: {}", d.line, d.message))
            .collect(),
    }
}

fn assert_error(text: &str, line: usize, needle: &str) {
    let errors = errors(text);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{line}: ")) && e.contains(needle)),
        "expected an error at line {line} containing `{needle}`, got {errors:#?}"
    );
}

const FULL: &str = r#"
! Configuration File for keepalived
global_defs {
   notification_email {
     acassen@firewall.loc
   }
   notification_email_from Alexandre.Cassen@firewall.loc
   smtp_server 192.168.200.1
   smtp_connect_timeout 30
   router_id LVS_DEVEL   # trailing comment
   vrrp_version 3
   script_user root
   enable_script_security
}

vrrp_script chk_haproxy {
    script "/usr/bin/killall -0 haproxy"
    interval 2
    timeout 3
    weight -20
    rise 2
    fall 3
}

vrrp_script chk_file {
    script /bin/test -f /run/ok
    interval 0.5
    init_fail
}

vrrp_sync_group VG_1 {
    group {
        VI_1
        VI_2
    }
    notify_master "/usr/local/bin/group.sh master"
    notify /usr/local/bin/group.sh
}

vrrp_instance VI_1
{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    nopreempt
    virtual_ipaddress {
        192.168.200.16/24 dev eth0 label eth0:vip
        192.168.200.17
    }
    track_script {
        chk_haproxy
        chk_file weight 10
    }
    track_interface {
        eth1 weight -5
        eth2
    }
    garp_master_delay 1
    garp_master_repeat 3
    garp_master_refresh 60
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
        10.0.0.3
    }
    notify_master "/etc/keepalived/notify.sh MASTER"
    notify_backup /etc/keepalived/notify.sh root daemon
    notify_fault "/etc/keepalived/notify.sh FAULT"
    notify "/etc/keepalived/notify.sh"
    virtual_routes {
        src 192.168.200.16 to 10.20.0.0/16 via 192.168.200.1 dev eth0 metric 10
        10.30.0.0/16 dev eth1
        blackhole 10.40.0.0/16
    }
}

vrrp_instance VI_2 { # brace on the line
    interface eth1
    virtual_router_id 52
    version 2
    advert_int 1
    preempt_delay 5.5
    authentication {
        auth_type PASS
        auth_pass secret-too-long
    }
    virtual_ipaddress { 10.1.0.1/32 }
}
"#;

#[test]
fn a_full_configuration_parses_to_exact_values() {
    let parsed = parse(FULL);
    let c = &parsed.config;
    assert_eq!(c.router_id.as_deref(), Some("LVS_DEVEL"));
    assert_eq!(c.script_user, Some(("root".into(), None)));
    assert!(c.enable_script_security);

    assert_eq!(c.scripts.len(), 2);
    let s = &c.scripts[0];
    assert_eq!(s.argv, ["/usr/bin/killall", "-0", "haproxy"]);
    assert_eq!(
        (s.interval_ms, s.timeout_ms, s.weight, s.rise, s.fall),
        (2_000, Some(3_000), -20, 2, 3)
    );
    let f = &c.scripts[1];
    // keepalived 2.2.7 runs the first word of an unquoted script line only (checked by running
    // it: `script /tmp/argv.sh 2 x y` gets no arguments).
    assert_eq!(f.argv, ["/bin/test"]);
    assert_eq!(
        (f.interval_ms, f.effective_timeout_ms(), f.init_fail),
        (500, 500, true)
    );

    assert_eq!(c.sync_groups.len(), 1);
    assert_eq!(c.sync_groups[0].instances, ["VI_1", "VI_2"]);
    assert_eq!(
        c.sync_groups[0]
            .notify
            .master
            .as_ref()
            .map(|c| c.command.as_str()),
        Some("/usr/local/bin/group.sh master")
    );

    let v = &c.instances[0];
    assert_eq!(v.name, "VI_1");
    assert_eq!(v.initial_state, InitialState::Master);
    assert_eq!(
        (v.interface.as_str(), v.vrid, v.priority),
        ("eth0", 51, 150)
    );
    // vrrp_version 3 from global_defs, 0.1 s.
    assert_eq!((v.version, v.advert_interval_cs), (Version::V3, 10));
    assert!(!v.preempt);
    assert_eq!(v.vips.len(), 2);
    assert_eq!(v.vips[0].vip.to_string(), "192.168.200.16/24");
    assert_eq!(v.vips[0].dev.as_deref(), Some("eth0"));
    assert_eq!(v.vips[0].label.as_deref(), Some("eth0:vip"));
    assert_eq!(v.vips[1].vip.to_string(), "192.168.200.17/32");
    assert_eq!(
        v.track_scripts,
        [("chk_haproxy".into(), None), ("chk_file".into(), Some(10))]
    );
    assert_eq!(
        v.track_interfaces,
        [("eth1".into(), -5), ("eth2".into(), 0)]
    );
    assert_eq!(
        (
            v.garp_master_delay_s,
            v.garp_master_repeat,
            v.garp_master_refresh_s
        ),
        (1, 3, 60)
    );
    assert_eq!(v.unicast_src_ip, Some(Ipv4Addr::new(10, 0, 0, 1).into()));
    assert_eq!(
        v.unicast_peers,
        [
            std::net::IpAddr::from(Ipv4Addr::new(10, 0, 0, 2)),
            Ipv4Addr::new(10, 0, 0, 3).into()
        ]
    );
    // keepalived: the words after an unquoted command are its user and group.
    assert_eq!(
        v.notify.backup.as_deref(),
        Some(&Command {
            command: "/etc/keepalived/notify.sh".into(),
            user: Some("root".into()),
            group: Some("daemon".into()),
        })
    );
    assert_eq!(
        v.notify.any.as_ref().map(|c| c.command.as_str()),
        Some("/etc/keepalived/notify.sh")
    );
    assert_eq!(v.virtual_routes.len(), 3);
    assert_eq!(
        v.virtual_routes[0].to_string(),
        "10.20.0.0/16 via 192.168.200.1 dev eth0 src 192.168.200.16 metric 10"
    );
    assert_eq!(v.virtual_routes[1].to_string(), "10.30.0.0/16 dev eth1");
    assert!(v.virtual_routes[2].blackhole);
    assert!(
        !v.core_config(Ipv4Addr::new(10, 0, 0, 1)).check_ttl,
        "no ttl check with unicast"
    );

    let w = &c.instances[1];
    assert_eq!(
        (w.version, w.advert_interval_cs, w.preempt_delay_ms),
        (Version::V2, 100, 5_500)
    );
    assert_eq!(w.auth, Password::from_text("secret-t").ok());
    assert_eq!(w.vips[0].vip.to_string(), "10.1.0.1/32");
    assert_eq!((w.priority, w.initial_state), (100, InitialState::Backup));

    let notices: Vec<String> = parsed.notices.iter().map(ToString::to_string).collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains(":4: `notification_email` skipped: halabd sends no e-mail")),
        "{notices:#?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("truncated")),
        "{notices:#?}"
    );
}

#[test]
fn minimal_instance_gets_keepalived_defaults() {
    let c = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n").config;
    let v = &c.instances[0];
    assert_eq!(
        (v.priority, v.advert_interval_cs, v.version),
        (100, 100, Version::V2)
    );
    assert!(v.preempt);
    assert_eq!(
        (
            v.garp_master_delay_s,
            v.garp_master_repeat,
            v.garp_master_refresh_s
        ),
        (5, 5, 0)
    );
    assert!(v.core_config(Ipv4Addr::LOCALHOST).check_ttl);
}

#[test]
fn unknown_keywords_are_errors_with_their_line() {
    let base = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n";
    assert_error(
        &format!("{base} prioriy 5\n}}\n"),
        4,
        "unknown keyword `prioriy` in vrrp_instance V (did you mean `priority`?)",
    );
    assert_error(&format!("{base} use_vmac a b c\n}}\n"), 4, "use_vmac takes");
    assert_error(
        &format!("{base} native_ipv6\n}}\n"),
        4,
        "native_ipv6` in vrrp_instance V: native_ipv6 (IPv6 VRRP for an IPv4 instance) is not implemented",
    );
    assert_error("net_namespace blue\n", 1, "ip netns exec");
    assert_error(
        "vrrp_script s {\n script x\n usr nobody\n}\n",
        3,
        "keyword `usr` in vrrp_script s (did you mean `user`?)",
    );
}

#[test]
fn bad_values_are_errors_with_their_line() {
    let wrap = |body: &str| {
        format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n{body}\n}}\n")
    };
    assert_error(&wrap(" priority 0"), 4, "out of range 1..=255");
    assert_error(&wrap(" priority 256"), 4, "out of range");
    assert_error(&wrap(" priority high"), 4, "not a whole number");
    assert_error(&wrap(" state SLAVE"), 4, "MASTER or BACKUP");
    assert_error(&wrap(" advert_int 0.5"), 4, "version 2");
    assert_error(&wrap(" version 3\n advert_int 0.005"), 5, "resolution");
    assert_error(&wrap(" version 4"), 4, "2 or 3");
    assert_error(
        &wrap(" virtual_ipaddress {\n 10.0.0.300\n }"),
        5,
        "invalid virtual address",
    );
    assert_error(
        &wrap(" virtual_ipaddress {\n 10.0.0.3/33\n }"),
        5,
        "invalid virtual address",
    );
    assert_error(
        &wrap(" virtual_ipaddress {\n 10.0.0.3 home\n }"),
        5,
        "`home` is not supported",
    );
    assert_error(
        &wrap(" virtual_ipaddress {\n 10.0.0.3 scope planet\n }"),
        5,
        "scope must be",
    );
    assert_error(
        &wrap(" authentication {\n auth_type AH\n auth_pass x\n }"),
        5,
        "AH",
    );
    assert_error(
        &wrap(" version 3\n authentication {\n auth_type PASS\n auth_pass x\n }"),
        1,
        "vrrpv3 has no authentication",
    );
    assert_error(
        &wrap(" unicast_src_ip 10.0.0"),
        4,
        "not an IPv4 or IPv6 address",
    );
    assert_error(
        &wrap(" track_script {\n nope\n }"),
        1,
        "no vrrp_script defines",
    );
    assert_error(&wrap(" nopreempt yes"), 4, "takes no value");
    assert_error(
        &wrap(" virtual_routes {\n 10.0.0.0/8\n }"),
        5,
        "needs `via`",
    );
    assert_error(
        "vrrp_instance V {\n virtual_router_id 1\n}\n",
        1,
        "has no `interface`",
    );
    assert_error(
        "vrrp_instance V {\n interface eth0\n}\n",
        1,
        "has no `virtual_router_id`",
    );
}

#[test]
fn structure_errors() {
    assert_error("vrrp_instance V {\n interface eth0\n", 1, "never closed");
    assert_error("}\n", 1, "unexpected `}`");
    assert_error("vrrp_script s {\n interval 1\n}\n", 1, "no `script` line");
    assert_error("vrrp_script s {\n script \"x\n}\n", 2, "unterminated");
    assert_error("vrrp_instance\n", 1, "needs exactly one name");
    assert_error("global_defs\n", 1, "needs a `{ ... }` block");
    let two = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n}\nvrrp_instance W {\n interface eth0\n virtual_router_id 1\n}\n";
    assert_error(two, 5, "uses virtual_router_id 1 on eth0 like V");
    // Each clash names the last instance before it with the interface, VRID and family; an
    // IPv6 instance with the VRID does not clash, nor one on another interface.
    let instance = |name: &str, iface: &str, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n interface {iface}\n virtual_router_id 7\n version 3\n virtual_ipaddress {{\n {vip}\n }}\n}}\n"
        )
    };
    let many = [
        instance("A", "eth0", "10.0.0.1"),
        instance("B", "eth0", "fe80::1"),
        instance("C", "eth1", "10.0.0.2"),
        instance("D", "eth0", "10.0.0.3"),
        instance("E", "eth0", "10.0.0.4"),
        instance("F", "eth0", "fe80::2"),
    ]
    .concat();
    let clashes: Vec<_> = errors(&many)
        .into_iter()
        .filter(|e| e.contains("virtual_router_id"))
        .collect();
    assert_eq!(
        clashes,
        [
            "25: vrrp_instance D uses virtual_router_id 7 on eth0 like A",
            "33: vrrp_instance E uses virtual_router_id 7 on eth0 like D",
            "41: vrrp_instance F uses virtual_router_id 7 on eth0 like B",
        ]
    );
    assert_error(
        "vrrp_sync_group G {\n group {\n X\n }\n}\n",
        1,
        "no vrrp_instance defines",
    );
    let deep = "a {\n".repeat(100);
    assert!(!errors(&deep).is_empty());
}

#[test]
fn every_error_is_reported_at_once() {
    let text = "global_defs {\n bogus 1\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 300\n priority x\n}\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn includes_expand_globs_relative_to_the_including_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = dir.path().join("keepalived.conf");
    std::fs::create_dir(dir.path().join("conf.d")).expect("mkdir");
    std::fs::write(
        &main,
        "global_defs {\n router_id r1\n}\ninclude conf.d/*.conf\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("conf.d/b.conf"),
        "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("conf.d/a.conf"),
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\n",
    )
    .expect("write");
    let parsed = load(&main).expect("parses");
    let names: Vec<_> = parsed
        .config
        .instances
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["A", "B"]);

    // An error inside an included file names that file and line.
    std::fs::write(
        dir.path().join("conf.d/c.conf"),
        "\nvrrp_instance C {\n bogus\n}\n",
    )
    .expect("write");
    let err = load(&main).expect_err("fails").to_string();
    assert!(
        err.contains("conf.d/c.conf:3: unknown keyword `bogus`"),
        "{err}"
    );

    std::fs::write(&main, "include missing/*.conf\n").expect("write");
    let err = load(&main).expect_err("fails").to_string();
    assert!(
        err.contains("keepalived.conf:1: include `missing/*.conf` matches no file"),
        "{err}"
    );

    // An include loop stops.
    std::fs::write(&main, "include keepalived.conf\n").expect("write");
    let err = load(&main).expect_err("fails").to_string();
    assert!(err.contains("nested more than"), "{err}");
}

#[test]
fn a_missing_file_is_an_error() {
    let err = load(Path::new("/nonexistent/keepalived.conf")).expect_err("fails");
    assert!(
        err.to_string().contains("cannot read configuration file"),
        "{err}"
    );
}

proptest::proptest! {
    /// Input: arbitrary text, and arbitrary sequences of keepalived-ish words. Output: a result
    /// (parsed or errors), never a panic.
    #[test]
    fn parsing_never_panics(text in ".{0,400}") {
        let _ = parse_str(Path::new("fuzz.conf"), &text);
    }

    #[test]
    fn parsing_keyword_soup_never_panics(words in proptest::collection::vec(
        proptest::sample::select(vec![
            "vrrp_instance", "VI_1", "{", "}", "\n", "interface", "eth0", "virtual_router_id",
            "51", "priority", "0", "300", "advert_int", "0.1", "version", "3", "\"", "!",
            "virtual_ipaddress", "10.0.0.1/24", "dev", "label", "track_script", "weight", "-5",
            "vrrp_script", "script", "include", "*", "global_defs", "vrrp_sync_group", "group",
            "virtual_routes", "via", "blackhole", "authentication", "auth_type", "PASS",
            "auth_pass", "unicast_peer", "1.2.3.4", "notify", "x'y", "999999999999999999999",
        ]),
        0..120,
    )) {
        let _ = parse_str(Path::new("/nonexistent/dir/fuzz.conf"), &words.join(" "));
    }
}

#[test]
fn ipv6_instance_with_excluded_addresses_of_both_families() {
    // Input: an instance whose first VIP is IPv6 (so IPv6, VRRPv3 though version 2 is the
    // default), an IPv4 VIP in virtual_ipaddress, both families in virtual_ipaddress_excluded,
    // an IPv4 instance with the same VRID. Output: keepalived 2.2.7's reading (notices for the
    // ignored IPv4 VIP and the version), the excluded addresses kept, no duplicate-VRID error.
    let parsed = parse(
        "vrrp_instance V6 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        fd00:10::10/64
        10.0.0.5/24
        fd00:10::11
    }
    virtual_ipaddress_excluded {
        10.0.0.6/24
        fd00:10::12/64
    }
}
vrrp_instance V4 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.10/24
    }
}
",
    );
    let v = &parsed.config.instances[0];
    assert_eq!(v.family(), halab_vrrp::Family::Ipv6);
    assert_eq!(v.version, halab_vrrp::Version::V3);
    let vips: Vec<String> = v.vips.iter().map(|x| x.vip.to_string()).collect();
    assert_eq!(vips, ["fd00:10::10/64", "fd00:10::11/128"]);
    let excluded: Vec<String> = v.excluded_vips.iter().map(|x| x.vip.to_string()).collect();
    assert_eq!(excluded, ["10.0.0.6/24", "fd00:10::12/64"]);
    assert_eq!(v.all_vips().count(), 4);
    let notices: Vec<String> = parsed.notices.iter().map(|n| n.message.clone()).collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("address family must match VRRP instance [10.0.0.5/24]")),
        "{notices:#?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("setting version 3")),
        "{notices:#?}"
    );
    let core = v.core_config("fe80::1".parse::<std::net::IpAddr>().expect("v6"));
    assert_eq!(core.vips.len(), 2);
    assert_eq!(
        parsed.config.instances[1].family(),
        halab_vrrp::Family::Ipv4
    );
}

#[test]
fn unicast_of_the_other_family_is_an_error() {
    assert_error(
        "vrrp_instance V6 {
    interface eth0
    virtual_router_id 51
    unicast_src_ip 10.0.0.1
    unicast_peer {
        fe80::2
    }
    virtual_ipaddress {
        fd00:10::10/64
    }
}
",
        1,
        "unicast address 10.0.0.1 is not of the instance's family",
    );
}
