//! The directive table: every keyword keepalived's VRRP side takes is read into its typed
//! value, skipped with a notice, or refused with its reason; docs/halabd.md lists them all.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::directives::{Block, TABLE, Verdict};
use super::*;

const BASE: &str = "vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  10.0.0.9/24\n }\n";

fn typed(text: &str) -> Parsed {
    match parse_str_accepting_pending(Path::new("k.conf"), text) {
        Ok(parsed) => parsed,
        Err(e) => panic!("expected to parse, got:\n{e}\n{text}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse_str(Path::new("k.conf"), text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(ConfErrors(errors)) => errors
            .iter()
            .map(|d| format!("{}: {}", d.line, d.message))
            .collect(),
    }
}

/// Input: every global and instance directive of the wire and timing side, written once.
/// Output: each typed value, and the instances' defaults taken from global_defs.
#[test]
fn wire_and_timing_directives_are_read_into_typed_values() {
    let text = "global_defs {
 vrrp_garp_master_delay 2
 vrrp_garp_master_repeat 4
 vrrp_garp_master_refresh 30
 vrrp_garp_master_refresh_repeat 2
 vrrp_garp_lower_prio_delay 3
 vrrp_garp_lower_prio_repeat 6
 vrrp_garp_interval 0.005
 vrrp_gna_interval 0.01
 vrrp_min_garp true
 vrrp_lower_prio_no_advert
 vrrp_higher_prio_send_advert on
 vrrp_mcast_group4 224.0.0.19
 vrrp_mcast_group6 ff02::13
 vrrp_check_unicast_src
 vrrp_skip_check_adv_addr
 vrrp_strict
 vrrp_notify_priority_changes no
 notify_fifo /run/k.fifo
 notify_fifo_script \"/usr/local/bin/fifo.sh x\" nobody
 vrrp_notify_fifo /run/v.fifo root root
 fifo_write_vrrp_states_on_reload
}
vrrp_instance A {
 interface eth0
 virtual_router_id 1
 virtual_ipaddress {
  10.0.0.1/24 brd 10.0.0.255 scope global no_track dev eth0 label eth0:a
 }
 virtual_ipaddress_excluded {
  10.0.1.1/24
 }
 use_vmac vrrp.1
 vmac_xmit_base
 mcast_src_ip 10.0.0.5
 no_accept
 strict_mode off
 skip_check_adv_addr false
 native_ipv6
 unicast_ttl 3
 unicast_fault_no_peer
 unicast_peer {
  10.0.0.2 min_ttl 250 max_ttl 255
  10.0.0.3
 }
 garp_master_refresh_repeat 3
 garp_lower_prio_delay 7
 garp_lower_prio_repeat 8
 lower_prio_no_advert off
 higher_prio_send_advert
 preempt
}
vrrp_instance B {
 interface eth1
 virtual_router_id 2
 use_vmac
 accept
 virtual_ipaddress {
  10.0.2.1/24
 }
}
";
    let parsed = typed(text);
    let c = &parsed.config;
    let g = &c.global;
    assert_eq!(g.mcast_group4, Some(Ipv4Addr::new(224, 0, 0, 19)));
    assert_eq!(
        g.mcast_group6,
        Some("ff02::13".parse::<Ipv6Addr>().expect("v6"))
    );
    assert_eq!((g.garp_interval_ms, g.gna_interval_ms), (Some(5), Some(10)));
    assert!(g.min_garp && g.check_unicast_src && g.skip_check_adv_addr && g.strict);
    assert!(!g.notify_priority_changes && g.fifo_write_states_on_reload);
    assert_eq!(
        g.notify_fifo,
        Some(FifoConf {
            path: "/run/k.fifo".into(),
            owner: None,
            script: Some(Command {
                command: "/usr/local/bin/fifo.sh x".into(),
                user: Some("nobody".into()),
                group: None,
            }),
        })
    );
    assert_eq!(
        g.vrrp_notify_fifo
            .as_ref()
            .map(|f| (f.path.as_str(), f.owner.clone())),
        Some(("/run/v.fifo", Some(("root".into(), Some("root".into())))))
    );

    let a = &c.instances[0];
    assert_eq!(
        (
            a.garp_master_delay_s,
            a.garp_master_repeat,
            a.garp_master_refresh_s
        ),
        (2, 4, 30)
    );
    let vip = &a.vips[0];
    assert_eq!(
        (vip.brd.as_deref(), vip.scope.as_deref(), vip.no_track),
        (Some("10.0.0.255"), Some("global"), true)
    );
    assert_eq!(
        (vip.dev.as_deref(), vip.label.as_deref()),
        (Some("eth0"), Some("eth0:a"))
    );
    assert_eq!(a.excluded_vips[0].vip.to_string(), "10.0.1.1/24");
    let w = &a.wire;
    assert_eq!(w.use_vmac, Some(Some("vrrp.1".into())));
    assert!(w.vmac_xmit_base && w.native_ipv6 && w.unicast_fault_no_peer);
    assert_eq!(w.mcast_src_ip, Some(Ipv4Addr::new(10, 0, 0, 5).into()));
    assert_eq!(w.accept, Some(false));
    // The instance's own settings win over global_defs'.
    assert!(!w.strict_mode && !w.skip_check_adv_addr && w.check_unicast_src);
    assert_eq!(w.unicast_ttl, Some(3));
    assert_eq!(
        a.unicast_peers,
        [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)]
    );
    assert_eq!(
        w.peer_ttls,
        [PeerTtl {
            peer: Ipv4Addr::new(10, 0, 0, 2).into(),
            min_ttl: Some(250),
            max_ttl: Some(255)
        }]
    );
    assert_eq!(
        (
            w.garp_master_refresh_repeat,
            w.garp_lower_prio_delay_s,
            w.garp_lower_prio_repeat
        ),
        (3, Some(7), Some(8))
    );
    assert!(!w.lower_prio_no_advert && w.higher_prio_send_advert);
    assert!(a.preempt);

    // B takes global_defs' defaults, then what strict mode implies (wire.rs, keepalived's
    // vrrp_complete_instance): no accept mode for a VRRPv2 non-owner, no lower-priority garps.
    let b = &c.instances[1];
    assert_eq!(b.wire.use_vmac, Some(None));
    assert_eq!(b.wire.accept, Some(false));
    assert!(b.wire.strict_mode && b.wire.skip_check_adv_addr && b.wire.lower_prio_no_advert);
    assert!(!b.wire.higher_prio_send_advert);
    assert_eq!(
        (
            b.wire.garp_master_refresh_repeat,
            b.wire.garp_lower_prio_delay_s
        ),
        (2, Some(0))
    );
    assert_eq!(b.garp_master_delay_s, 2);
}

/// Input: trackers (files, processes), reversed weights, sync-group tracking, script users.
/// Output: their typed values.
#[test]
fn trackers_and_group_tracking_are_read_into_typed_values() {
    let text = format!(
        "track_file tf {{
 file /run/tf
 weight -20 reverse
 init_file 5 overwrite
}}
vrrp_track_file old {{
 file /run/old
}}
vrrp_track_process haproxy {{
 process haproxy -f /etc/haproxy/haproxy.cfg
 param_match initial
 weight 10 reverse
 quorum 2
 quorum_max 4
 delay 1.5
 terminate_delay 0.5
 fork_delay 2
 full_command
}}
vrrp_script s {{
 script /bin/true
 weight 5 reverse
 user nobody nogroup
}}
{BASE} track_file {{
  tf
  old weight 3 reverse
 }}
 track_process {{
  haproxy weight 7
 }}
 track_script {{
  s weight 4 reverse
 }}
 track_interface {{
  eth1 weight 9 reverse
 }}
 dont_track_primary
 notify_deleted
 notify_master_rx_lower_pri /bin/rx.sh
 notify_priority_changes
}}
vrrp_sync_group G {{
 group {{
  V
 }}
 track_interface {{
  eth2
 }}
 track_script {{
  s weight -2
 }}
 track_file {{
  tf
 }}
 track_process {{
  haproxy
 }}
 global_tracking
 sync_group_tracking_weight
 notify_priority_changes true
}}
"
    );
    let parsed = typed(&text);
    let c = &parsed.config;
    assert_eq!(
        c.track_files[0],
        TrackFileConf {
            name: "tf".into(),
            file: "/run/tf".into(),
            weight: -20,
            reverse: true,
            init: Some((5, true)),
        }
    );
    assert_eq!(
        (c.track_files[1].name.as_str(), c.track_files[1].weight),
        ("old", 1)
    );
    let p = &c.track_processes[0];
    assert_eq!(
        (p.process.as_str(), p.args.as_slice()),
        (
            "haproxy",
            ["-f".to_string(), "/etc/haproxy/haproxy.cfg".into()].as_slice()
        )
    );
    assert_eq!(p.param_match, ParamMatch::Initial);
    assert_eq!(
        (p.weight, p.reverse, p.quorum, p.quorum_max),
        (10, true, 2, Some(4))
    );
    assert_eq!(
        (
            p.delay_ms,
            p.terminate_delay_ms,
            p.fork_delay_ms,
            p.full_command
        ),
        (1_500, Some(500), Some(2_000), true)
    );
    let s = &c.scripts[0];
    assert_eq!((s.weight, s.reverse), (5, true));
    assert_eq!(s.user, Some(("nobody".into(), Some("nogroup".into()))));

    let v = &c.instances[0];
    let t = &v.tracking;
    assert_eq!(
        t.files,
        [
            TrackRef {
                name: "tf".into(),
                weight: None,
                reverse: false
            },
            TrackRef {
                name: "old".into(),
                weight: Some(3),
                reverse: true
            }
        ]
    );
    assert_eq!(t.processes[0].weight, Some(7));
    assert_eq!(v.track_scripts, [("s".into(), Some(4))]);
    assert_eq!(t.reverse_scripts, ["s"]);
    assert_eq!(v.track_interfaces, [("eth1".into(), 9)]);
    assert_eq!(t.reverse_interfaces, ["eth1"]);
    assert!(t.dont_track_primary && t.notify_priority_changes == Some(true));
    assert_eq!(t.notify_deleted, Some(None));
    assert_eq!(t.notify_master_rx_lower_pri.as_deref(), Some("/bin/rx.sh"));

    let g = &c.sync_groups[0].tracking;
    assert_eq!(g.interfaces[0].name, "eth2");
    assert_eq!(g.scripts[0].weight, Some(-2));
    assert_eq!(
        (g.files[0].name.as_str(), g.processes[0].name.as_str()),
        ("tf", "haproxy")
    );
    assert!(g.global_tracking && g.tracking_weight && g.notify_priority_changes == Some(true));
}

/// Input: a directive whose behaviour halabd lacks so far. Output: refused (not silently
/// ignored), naming it and its line.
#[test]
fn pending_directives_are_refused_until_implemented() {
    let text = format!("{BASE} unicast_fault_no_peer\n}}\n");
    assert_eq!(
        errors(&text),
        [
            "7: `unicast_fault_no_peer` in vrrp_instance V: unicast_fault_no_peer is not implemented in halabd yet"
        ]
    );
    let text = format!("{BASE} notify_master_rx_lower_pri /bin/true\n}}\n");
    let errs = errors(&text);
    assert!(
        errs[0].contains("notify_master_rx_lower_pri is not implemented"),
        "{errs:?}"
    );
}

/// Input: trackers and reversed weights, now implemented, and references to trackers no block
/// defines. Output: the first accepted by `parse_str` itself (not only with pending ones
/// accepted); each dangling reference refused naming it, as keepalived -t refuses "track file
/// X not found".
#[test]
fn trackers_are_accepted_and_dangling_references_refused() {
    let text = format!(
        "vrrp_script s {{\n script /bin/true\n weight 5 reverse\n}}\n\
         track_file f {{\n file /run/x\n}}\n\
         vrrp_track_process p {{\n process sshd\n}}\n\
         {BASE} dont_track_primary\n track_script {{\n  s weight 3 reverse\n }}\n\
         track_interface {{\n  eth1 weight 4 reverse\n }}\n\
         track_file {{\n  f weight -2 reverse\n }}\n track_process {{\n  p\n }}\n}}\n\
         vrrp_sync_group G {{\n group {{\n  V\n }}\n track_script {{\n  s\n }}\n\
         track_file {{\n  f\n }}\n track_process {{\n  p\n }}\n global_tracking\n}}\n"
    );
    let parsed = parse_str(Path::new("k.conf"), &text).expect("accepted");
    let group = &parsed.config.sync_groups[0];
    assert!(group.tracking.global_tracking);
    assert_eq!(group.tracking.processes[0].name, "p");
    assert!(parsed.config.instances[0].tracking.dont_track_primary);
    let text = format!(
        "{BASE} track_file {{\n  nofile\n }}\n track_process {{\n  noproc\n }}\n}}\n\
         vrrp_sync_group G {{\n group {{\n  V\n }}\n track_script {{\n  noscript\n }}\n}}\n"
    );
    assert_eq!(
        errors(&text),
        [
            "1: vrrp_instance V tracks file `nofile`, which no track_file defines",
            "1: vrrp_instance V tracks process `noproc`, which no vrrp_track_process defines",
            "14: vrrp_sync_group G tracks script `noscript`, which no vrrp_script defines",
        ]
    );
}

/// Input: vrrp_track_process blocks written the ways keepalived's parser distinguishes.
/// Output: keepalived's matching rules: a bare name matches the process name; arguments or
/// `param_match` match the command line, exactly unless said otherwise.
#[test]
fn track_process_matching_follows_keepalived() {
    let text = format!(
        "vrrp_track_process a {{\n process sshd\n}}\n\
         vrrp_track_process b {{\n process /usr/sbin/sshd -D\n}}\n\
         vrrp_track_process c {{\n process nginx\n param_match\n}}\n\
         vrrp_track_process d {{\n param_match partial\n process x a b\n}}\n{BASE}}}\n"
    );
    let parsed = typed(&text);
    let p = &parsed.config.track_processes;
    let how: Vec<_> = p.iter().map(|p| (p.param_match, p.full_command)).collect();
    assert_eq!(
        how,
        [
            (ParamMatch::Any, false),
            (ParamMatch::Exact, true),
            (ParamMatch::Exact, true),
            (ParamMatch::Partial, true),
        ]
    );
    assert_eq!(p[1].args, ["-D"]);
}

/// Input: blocks of keepalived's other processes and settings that do not concern VRRP.
/// Output: accepted, each with ONE notice (as `keepalived -P` skips them), nothing refused.
#[test]
fn other_processes_blocks_are_skipped_with_one_notice_each() {
    let text = format!(
        "global_defs {{
 notification_email {{
  root@localhost
 }}
 smtp_server 127.0.0.1
 lvs_flush
 enable_snmp_vrrp
}}
virtual_server_group VSG {{
 10.0.0.1 80
}}
virtual_server 10.0.0.1 80 {{
 delay_loop 6
 real_server 10.0.0.2 80 {{
  TCP_CHECK {{
   connect_timeout 3
  }}
 }}
}}
bfd_instance b {{
 neighbor_ip 10.0.0.3
}}
{BASE} smtp_alert
}}
"
    );
    let parsed = parse_str(Path::new("k.conf"), &text).expect("accepted");
    let notices: Vec<_> = parsed
        .notices
        .iter()
        .filter(|n| n.message.contains("skipped"))
        .map(|n| n.line)
        .collect();
    assert_eq!(notices, [2, 5, 6, 7, 9, 12, 20, 29], "{:?}", parsed.notices);
    assert!(
        parsed.notices[5]
            .message
            .contains("`virtual_server` skipped: belongs to keepalived's checker"),
        "{:?}",
        parsed.notices
    );
}

/// Input: refused directives and misplaced ones. Output: an error with the reason, or with
/// the block the keyword belongs to.
#[test]
fn refused_and_misplaced_keywords_say_why() {
    let errs = errors(&format!("net_namespace blue\n{BASE}}}\n"));
    assert!(errs[0].starts_with("1: `net_namespace` in the top level is not supported by halabd: halabd does not switch network namespace itself; start it inside one: `ip netns exec NS halabd"), "{errs:?}");
    let errs = errors(&format!("{BASE} vrrp_strict\n}}\n"));
    assert_eq!(
        errs,
        ["7: unknown keyword `vrrp_strict` in vrrp_instance V (it belongs in global_defs)"]
    );
    let errs = errors(&format!("{BASE} promote_secondaries\n}}\n"));
    assert!(
        errs[0].contains("not supported by halabd: not implemented in halabd"),
        "{errs:?}"
    );
}

/// Input: notify lines as keepalived reads them. Output: the command, user and group; more
/// words than that is an error that says to quote.
#[test]
fn notify_lines_are_command_user_group() {
    let text = format!(
        "{BASE} notify_master /path/x.sh root root\n notify_fault \"/path/y.sh a b\"\n}}\n"
    );
    let parsed = typed(&text);
    let n = &parsed.config.instances[0].notify;
    assert_eq!(
        n.master.as_deref(),
        Some(&Command {
            command: "/path/x.sh".into(),
            user: Some("root".into()),
            group: Some("root".into()),
        })
    );
    assert_eq!(
        n.fault.as_deref(),
        Some(&Command {
            command: "/path/y.sh a b".into(),
            user: None,
            group: None,
        })
    );
    let errs = errors(&format!("{BASE} notify_master /path/x.sh a b c\n}}\n"));
    assert!(
        errs[0].contains("quote a command with arguments"),
        "{errs:?}"
    );
}

/// The directive table as docs/halabd.md shows it.
fn docs_table() -> String {
    let mut out = String::from("| block | keyword | halabd | why |\n|---|---|---|---|\n");
    for (block, keyword, verdict) in TABLE {
        let (word, why) = match verdict {
            Verdict::Supported => ("supported", ""),
            Verdict::Pending(why) => ("refused (pending)", *why),
            Verdict::Skipped(why) => ("skipped", *why),
            Verdict::Refused(why) => ("refused", *why),
        };
        let why = why.replace('|', "\\|");
        out.push_str(&format!(
            "| {} | `{keyword}` | {word} | {why} |\n",
            block.name()
        ));
    }
    out
}

/// docs/halabd.md shows exactly [`TABLE`] between its markers (HALAB_BLESS=1 rewrites it).
#[test]
fn docs_list_every_directive_with_its_verdict() {
    const BEGIN: &str =
        "<!-- directive-table:begin (generated: HALAB_BLESS=1 cargo test -p halab-kaconf) -->\n";
    const END: &str = "<!-- directive-table:end -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/halabd.md");
    let docs = std::fs::read_to_string(&path).expect("docs/halabd.md");
    let (Some(begin), Some(end)) = (docs.find(BEGIN), docs.find(END)) else {
        panic!("docs/halabd.md has no directive-table markers");
    };
    let shown = &docs[begin + BEGIN.len()..end];
    let expected = docs_table();
    if shown != expected {
        if std::env::var_os("HALAB_BLESS").is_some_and(|v| v == "1") {
            let new = format!("{}{expected}{}", &docs[..begin + BEGIN.len()], &docs[end..]);
            std::fs::write(&path, new).expect("write docs/halabd.md");
        } else {
            panic!(
                "docs/halabd.md's directive table is stale: HALAB_BLESS=1 cargo test -p halab-kaconf"
            );
        }
    }
    // No keyword twice in one block.
    let mut seen = std::collections::HashSet::new();
    for (block, keyword, _) in TABLE {
        assert!(
            seen.insert((*block, *keyword)),
            "{keyword} twice in {block:?}"
        );
    }
    assert!(TABLE.iter().any(|(b, _, _)| *b == Block::Top));
}

/// Input: `script` lines as keepalived 2.2.7 reads them (checked by running it). Output: the
/// first word only is the command (the rest ignored, with a notice); a quoted line is split
/// into argv; `</FILE` runs in the shell.
#[test]
fn script_lines_are_read_as_keepalived_reads_them() {
    let text = "vrrp_script a {\n script /bin/check x y\n}\nvrrp_script b {\n script \"/bin/check 'p q' r\"\n}\nvrrp_script c {\n script \"</dev/tcp/127.0.0.1/80\"\n}\n";
    let parsed = typed(text);
    let s = &parsed.config.scripts;
    assert_eq!(
        (s[0].argv.as_slice(), s[0].shell),
        (["/bin/check".to_string()].as_slice(), false)
    );
    assert_eq!(s[1].argv, ["/bin/check", "p q", "r"]);
    assert!(s[2].shell && !s[1].shell);
    assert!(
        parsed
            .notices
            .iter()
            .any(|n| n.line == 2 && n.message.contains("only `/bin/check` is run")),
        "{:?}",
        parsed.notices
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
        // KACONF_SOUP_CASES=N for a long run (docs/halabd.md says how long it was run).
        std::env::var("KACONF_SOUP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000),
    ))]
    /// Input: soups of every keyword in the directive table, values, braces, quotes and line
    /// breaks (a deterministic stand-in for coverage-guided fuzzing). Output: a result, never a
    /// panic, and every error has a line inside the text.
    #[test]
    fn every_keyword_soup_parses_or_fails_cleanly(picks in proptest::collection::vec(
        (0..TABLE.len() + 24, 0..4usize),
        0..160,
    )) {
        const EXTRA: [&str; 24] = [
            "{", "}", "{", "}", "\n", "\n", "\n", "VI_1", "eth0", "1", "0", "255", "-254",
            "0.5", "10.0.0.1/24", "ff02::12", "\"/bin/true x\"", "reverse", "weight", "on",
            "root", "'", "\"", "999999999999999999999",
        ];
        let mut text = String::new();
        for (pick, sep) in &picks {
            let word = TABLE.get(*pick).map_or_else(|| EXTRA[*pick - TABLE.len()], |(_, k, _)| *k);
            text.push_str(word);
            text.push_str(if *sep == 0 { "\n" } else { " " });
        }
        let lines = text.lines().count();
        if let Err(ConfErrors(errors)) = parse_str(Path::new("/nonexistent/dir/fuzz.conf"), &text) {
            for e in errors {
                proptest::prop_assert!(e.line <= lines + 1, "{e} beyond {lines} lines");
            }
        }
    }
}

/// Input: `vrrp_startup_delay` as keepalived 2.2.7 reads it (seconds, up to 6 decimals, 0.001
/// to 4294.967295). Output: microseconds; anything keepalived -t refuses is an error with the
/// line and the accepted range.
#[test]
fn startup_delay_is_read_in_microseconds_within_keepalived_range() {
    for (text, us) in [
        ("5", 5_000_000),
        ("0.5", 500_000),
        (".25", 250_000),
        ("0.001", 1_000),
        ("1.000001", 1_000_001),
        ("4294.967295", 4_294_967_295),
    ] {
        let parsed = typed(&format!(
            "global_defs {{\n vrrp_startup_delay {text}\n}}\n{BASE}}}\n"
        ));
        assert_eq!(parsed.config.global.startup_delay_us, Some(us), "{text}");
    }
    let parsed = typed(&format!("{BASE}}}\n"));
    assert_eq!(parsed.config.global.startup_delay_us, None);
    for (text, why) in [
        ("0", "is out of range"),
        ("0.0005", "is out of range"),
        ("4294.967296", "is out of range"),
        ("99999999999999999999", "is out of range"),
        ("-1", "is not a number"),
        ("abc", "is not a number"),
        ("1.1234567", "has more than 6 decimals"),
    ] {
        let errs = errors(&format!(
            "global_defs {{\n vrrp_startup_delay {text}\n}}\n{BASE}}}\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with(&format!("2: vrrp_startup_delay `{text}` {why}"))
                && errs[0].contains("0.001 to 4294.967295"),
            "{text}: {errs:?}"
        );
    }
    let errs = errors(&format!(
        "global_defs {{\n vrrp_startup_delay\n}}\n{BASE}}}\n"
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
}

/// Input: `notify_priority_changes` in global_defs, a sync group and instances. Output: an
/// instance's own setting wins, then its group's, then the global one (keepalived 2.2.7
/// `vrrp_complete_instance`).
#[test]
fn notify_priority_changes_instance_then_group_then_global() {
    let instance = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n virtual_ipaddress {{\n  10.0.0.{vrid}/24\n }}\n{extra}}}\n"
        )
    };
    let text = format!(
        "global_defs {{\n vrrp_notify_priority_changes\n}}\nvrrp_sync_group G {{\n group {{\n  A\n  B\n }}\n notify_priority_changes false\n}}\n{}{}{}{}",
        instance("A", 1, ""),
        instance("B", 2, " notify_priority_changes\n"),
        instance("C", 3, ""),
        instance("D", 4, " notify_priority_changes off\n"),
    );
    let parsed = typed(&text);
    let c = &parsed.config;
    let of = |name: &str| {
        let i = c.instances.iter().find(|i| i.name == name).expect(name);
        c.notify_priority_changes(i)
    };
    assert_eq!(
        [of("A"), of("B"), of("C"), of("D")],
        [false, true, true, false]
    );
    let parsed = typed(&format!("{BASE}}}\n"));
    assert!(
        !parsed
            .config
            .notify_priority_changes(&parsed.config.instances[0])
    );
}
