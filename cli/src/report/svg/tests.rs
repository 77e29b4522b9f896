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

/// Input: the fixture's report (a failed, a passed and a crowded run). Output: index.html
/// and one timeline per run, each well-formed, the page naming every run and linking its
/// timeline. `HALAB_REPORT_OUT=DIR cargo test -p halab report::` leaves them in DIR to look at
/// (e.g. `rsvg-convert DIR/*.svg -o x.png`); otherwise a temp dir.
#[test]
fn fixture_report_is_written_with_one_timeline_per_run() {
    let r = fixture::failover();
    let mut passed = r.clone();
    passed.engine = "halabd".into();
    passed.passed = true;
    passed.violations.clear();
    for s in &mut passed.steps {
        s.outcome = crate::scenario::result::Outcome::Passed { detail: None };
    }
    let runs = [r, passed, fixture::busy()];
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var_os("HALAB_REPORT_OUT")
        .map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);
    let index = crate::report::write_report(&dir, &runs).expect("report written");
    let html = std::fs::read_to_string(&index).expect("index.html");
    let mut svgs: Vec<_> = std::fs::read_dir(&dir)
        .expect("report dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    svgs.sort();
    assert_eq!(svgs.len(), runs.len(), "{svgs:?}");
    for svg in &svgs {
        let text = std::fs::read_to_string(svg).expect("svg");
        roxmltree::Document::parse(&text).expect("each timeline is well-formed XML");
        let name = svg.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(html.contains(name), "index.html does not show {name}");
    }
    for run in &runs {
        assert!(
            html.contains(&run.engine),
            "no {} in index.html",
            run.engine
        );
    }
    assert!(
        html.contains("badge pass") && html.contains("badge fail"),
        "{html}"
    );
}

/// Input: a run that probed two VIPs (active/active), one answered by web1, the other
/// failing. Output: each request lane is named with its VIP.
#[test]
fn request_lanes_name_their_vip_when_several_were_probed() {
    let mut r: ScenarioResult = fixture::failover();
    let a: std::net::IpAddr = "10.10.0.10".parse().expect("ip");
    let b: std::net::IpAddr = "10.10.0.20".parse().expect("ip");
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
