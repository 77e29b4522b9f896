//! The timeline must parse, and carry exactly one mark per fault/repair and per VIP move.

use super::timeline_svg;
use crate::report::fixture;
use crate::scenario::result::{FaultMark, Sample, ScenarioResult};

fn marks<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| {
            n.has_tag_name("g")
                && n.attribute("class")
                    .is_some_and(|c| c.split_whitespace().any(|w| w == class))
        })
        .collect()
}

fn t_ms(nodes: &[roxmltree::Node<'_, '_>]) -> Vec<u64> {
    let mut v: Vec<u64> = nodes
        .iter()
        .filter_map(|n| n.attribute("data-t-ms")?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn svg_parses_and_has_one_mark_per_fault_and_per_vip_move() {
    let r = fixture::failover();
    let svg = timeline_svg(&r);
    let doc = roxmltree::Document::parse(&svg).expect("the timeline is well-formed XML");
    assert!(
        doc.root_element()
            .has_tag_name(("http://www.w3.org/2000/svg", "svg"))
    );

    let faults = marks(&doc, "fault-mark");
    assert_eq!(faults.len(), r.faults.len());
    assert_eq!(t_ms(&faults), [1500, 2500, 3500]);
    assert_eq!(marks(&doc, "fault").len(), 2);
    assert_eq!(marks(&doc, "repair").len(), 1);

    // The fixture's holder set changes twice: lb1 -> lb2 at 1.65 s, lb2 -> lb1 at 3.6 s.
    let moves = marks(&doc, "vip-move");
    assert_eq!(t_ms(&moves), [1650, 3600]);
    assert_eq!(moves[0].attribute("data-from"), Some("lb1"));
    assert_eq!(moves[0].attribute("data-to"), Some("lb2"));

    assert_eq!(marks(&doc, "violation").len(), r.violations.len());
}

#[test]
fn svg_names_the_run_the_verdict_and_every_lane() {
    let svg = timeline_svg(&fixture::failover());
    let doc = roxmltree::Document::parse(&svg).expect("the timeline is well-formed XML");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_string())
        .collect();
    for want in [
        "loadbalancing/failover/keepalived",
        "FAILED",
        "lb1",
        "lb2",
        "web1",
        "web2",
        "failed",
        "assertions",
        "kill nginx on web1",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "no text {want:?} in {texts:?}"
        );
    }
}

#[test]
fn svg_of_a_crowded_run_keeps_one_mark_each() {
    let r = fixture::busy();
    let svg = timeline_svg(&r);
    let doc = roxmltree::Document::parse(&svg).expect("the timeline is well-formed XML");
    assert_eq!(marks(&doc, "fault-mark").len(), r.faults.len());
    // Per VIP: lb1 -> none, none -> lb2, lb2 -> lb1+lb2, lb1+lb2 -> lb2.
    let moves = marks(&doc, "vip-move");
    assert_eq!(moves.len(), 8);
    assert_eq!(
        moves
            .iter()
            .filter(|m| m.attribute("data-to") == Some("lb1 lb2"))
            .count(),
        2
    );
    assert_eq!(marks(&doc, "violation").len(), 2);
}

#[test]
fn svg_of_an_empty_run_with_odd_names_still_parses() {
    let mut r: ScenarioResult = fixture::failover();
    r.samples.clear();
    r.vip_timeline.clear();
    r.steps.clear();
    r.violations.clear();
    r.duration_ms = 0;
    r.faults = vec![FaultMark {
        t_ms: 0,
        description: "partition <lb1> & \"lb2\"\u{7}".into(),
        fault: true,
    }];
    r.samples = vec![Sample {
        t_ms: 0,
        took_ms: 1,
        backend: Some("web<1>\u{1b}[31m".into()),
        error: None,
        vip: None,
    }];
    let svg = timeline_svg(&r);
    let doc = roxmltree::Document::parse(&svg).expect("the timeline is well-formed XML");
    assert_eq!(marks(&doc, "fault-mark").len(), 1);
    assert!(marks(&doc, "vip-move").is_empty());
}

/// Not a check: `HALAB_REPORT_OUT=DIR cargo test -p halab report::` writes the fixture's
/// report there, to look at it (e.g. `rsvg-convert DIR/*.svg -o x.png`).
#[test]
fn fixture_report_can_be_written_for_a_look() {
    if let Some(dir) = std::env::var_os("HALAB_REPORT_OUT") {
        let r = fixture::failover();
        let mut passed = r.clone();
        passed.engine = "halabd".into();
        passed.passed = true;
        passed.violations.clear();
        for s in &mut passed.steps {
            s.outcome = crate::scenario::result::Outcome::Passed { detail: None };
        }
        crate::report::write_report(std::path::Path::new(&dir), &[r, passed, fixture::busy()])
            .expect("report written");
    }
}

/// Input: a run that probed two VIPs (active/active), one answered by web1, the other
/// failing. Output: each request lane is named with its VIP.
#[test]
fn request_lanes_name_their_vip_when_several_were_probed() {
    let mut r: ScenarioResult = fixture::failover();
    let a: std::net::Ipv4Addr = "10.10.0.10".parse().expect("ip");
    let b: std::net::Ipv4Addr = "10.10.0.20".parse().expect("ip");
    r.samples = (0..20)
        .map(|i| Sample {
            t_ms: i * 10,
            took_ms: 1,
            backend: (i % 2 == 0).then(|| "web1".to_string()),
            error: (i % 2 == 1).then(|| "timed out".to_string()),
            vip: Some(if i % 2 == 0 { a } else { b }),
        })
        .collect();
    let svg = timeline_svg(&r);
    roxmltree::Document::parse(&svg).expect("the timeline is well-formed XML");
    for label in ["10.10.0.10 web1", "10.10.0.10 failed", "10.10.0.20 failed"] {
        assert!(svg.contains(label), "no lane {label}");
    }
    assert!(
        !svg.contains("10.10.0.20 web1"),
        "web1 never answered via B"
    );
}
