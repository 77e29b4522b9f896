//! JUnit XML for CI systems: one `<testsuite>` per run, named `lab/scenario [engine]`.
//!
//! Test cases: one per assertion step (failed, passed or skipped), one for the invariant
//! monitor (`invariants`, failing with the violations), and one `<error>` case for a failed
//! action or a run that could not complete. Passing actions are not test cases (a CI system
//! would count "stop keepalived" as a test); they are in the suite's system-out step log, so
//! the log still reads as the whole story.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite, XmlString,
};

use crate::report::fmt::{escape, run_name, secs, utc};
use crate::scenario::result::{Outcome, ScenarioResult, StepResult};

/// The name of the test case that stands for the invariant monitor.
pub const INVARIANTS: &str = "invariants: one VIP holder, client ARP on the holder";

/// All results as one JUnit XML document.
pub fn to_junit(results: &[ScenarioResult]) -> String {
    let mut report = Report::new("halab");
    report.set_time(Duration::from_millis(
        results.iter().map(|r| r.duration_ms).sum(),
    ));
    for r in results {
        report.add_test_suite(suite(r));
    }
    match report.to_string() {
        Ok(s) => s,
        // Writing to a String only fails on a quick-junit bug; keep the file valid XML.
        Err(e) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"halab\" tests=\"0\" failures=\"0\" errors=\"1\">\
             <!-- failed to write JUnit XML: {} --></testsuites>\n",
            escape(&e.to_string()).replace("--", "- -")
        ),
    }
}

fn suite(r: &ScenarioResult) -> TestSuite {
    let name = run_name(&r.lab, &r.scenario, &r.engine);
    let mut suite = TestSuite::new(name.as_str());
    suite.set_time(Duration::from_millis(r.duration_ms));
    // quick-junit's timestamp wants chrono; RFC 3339 written here is what it would write.
    suite.extra.insert(
        XmlString::new("timestamp"),
        XmlString::new(utc(r.started_unix_ms)),
    );
    suite.add_property(Property::new("lab", r.lab.as_str()));
    suite.add_property(Property::new("scenario", r.scenario.as_str()));
    suite.add_property(Property::new("engine", r.engine.as_str()));
    if let Some(d) = &r.description {
        suite.add_property(Property::new("description", d.as_str()));
    }
    // CPU starvation (see scenario::starvation): why a failure's timing is not trusted, and
    // that a result comes from a second run.
    if let Some(s) = &r.starved {
        suite.add_property(Property::new("starved", s.as_str()));
    }
    if let Some(s) = &r.rerun_after {
        suite.add_property(Property::new("rerun_after", s.as_str()));
    }
    if let Some(e) = &r.error {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(format!("the run could not complete: {e}"))
            .set_type("lab");
        suite.add_test_case(case(
            &name,
            "lab",
            status,
            Some(Duration::from_millis(r.duration_ms)),
        ));
    }
    let mut log = String::new();
    for s in &r.steps {
        let _ = writeln!(log, "{}", step_line(s));
        if s.assertion {
            suite.add_test_case(step_case(&name, s));
        } else if let Outcome::Failed { .. } = s.outcome {
            let mut c = step_case(&name, s);
            // An action that did not happen is the lab's failure, not the system under test's.
            if let TestCaseStatus::NonSuccess { kind, .. } = &mut c.status {
                *kind = NonSuccessKind::Error;
            }
            suite.add_test_case(c);
        }
    }
    suite.add_test_case(invariants(&name, r));
    suite.set_system_out(log);
    suite
}

fn case(class: &str, name: &str, status: TestCaseStatus, time: Option<Duration>) -> TestCase {
    let mut c = TestCase::new(name, status);
    c.set_classname(class);
    c.time = time;
    c
}

/// `03 vip: 10.0.0.100 on lb2`: numbered, so names stay unique and in order in CI views.
pub fn case_name(s: &StepResult) -> String {
    format!("{:02} {}: {}", s.index + 1, s.kind, s.description)
}

fn step_case(class: &str, s: &StepResult) -> TestCase {
    let status = match &s.outcome {
        Outcome::Passed { .. } => TestCaseStatus::success(),
        Outcome::Skipped => {
            let mut st = TestCaseStatus::skipped();
            st.set_message("not run: an earlier step failed");
            st
        }
        Outcome::Failed {
            expected,
            seen,
            last_samples,
        } => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let mut text = format!("expected: {expected}\n    seen: {seen}\n");
            if !last_samples.is_empty() {
                text.push_str("last samples:\n");
                for l in last_samples {
                    let _ = writeln!(text, "  {l}");
                }
            }
            st.set_message(format!("expected {expected}, seen {seen}"))
                .set_type(s.kind.as_str())
                .set_description(text);
            st
        }
    };
    let mut c = case(
        class,
        &case_name(s),
        status,
        Some(Duration::from_millis(s.end_ms.saturating_sub(s.start_ms))),
    );
    let mut out = String::new();
    if let Outcome::Passed { detail: Some(d) } = &s.outcome {
        let _ = writeln!(out, "{d}");
    }
    if let Some(o) = &s.outage {
        let _ = writeln!(out, "{}", outage_line(o));
    }
    if !out.is_empty() {
        c.set_system_out(out);
    }
    c
}

fn invariants(class: &str, r: &ScenarioResult) -> TestCase {
    let status = if r.violations.is_empty() {
        TestCaseStatus::success()
    } else {
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let mut text = String::new();
        for v in &r.violations {
            let _ = writeln!(text, "{}..{}: {}", secs(v.start_ms), secs(v.end_ms), v.what);
        }
        st.set_message(format!(
            "{} invariant violation(s), first: {}",
            r.violations.len(),
            r.violations[0].what
        ))
        .set_type("invariant")
        .set_description(text);
        st
    };
    // No time: the monitor watched the whole run, and CI's "slowest tests" should not say so.
    case(class, INVARIANTS, status, None)
}

/// `requests: 20 of 90 failed (22.2%), longest gap 0.210s`
pub fn outage_line(o: &crate::scenario::result::Outage) -> String {
    let pct = if o.requests == 0 {
        0.0
    } else {
        o.failed as f64 * 100.0 / o.requests as f64
    };
    format!(
        "requests{}: {} of {} failed ({pct:.1}%), longest gap {} in a {} window",
        o.vip.map(|v| format!(" via {v}")).unwrap_or_default(),
        o.failed,
        o.requests,
        secs(o.longest_gap_ms),
        secs(o.window_ms)
    )
}

fn step_line(s: &StepResult) -> String {
    let verdict = match s.outcome {
        Outcome::Passed { .. } => "PASS",
        Outcome::Failed { .. } => "FAIL",
        Outcome::Skipped => "SKIP",
    };
    format!(
        "{verdict} at {} took {}: {}",
        secs(s.start_ms),
        secs(s.end_ms.saturating_sub(s.start_ms)),
        case_name(s)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn junit_parses_and_counts_assertions_failures_and_skips() {
        let xml = to_junit(&[fixture::failover()]);
        let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
        let suites: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect();
        assert_eq!(suites.len(), 1);
        let s = suites[0];
        assert_eq!(
            s.attribute("name"),
            Some("loadbalancing/failover [keepalived]")
        );
        // 5 assertion steps + the invariant monitor; the three passing actions are in the log.
        assert_eq!(s.attribute("tests"), Some("6"));
        assert_eq!(
            s.attribute("failures"),
            Some("2"),
            "the preempt outage and the violation"
        );
        assert_eq!(s.attribute("skipped"), Some("1"));
        assert_eq!(s.attribute("errors"), Some("0"));
        assert_eq!(s.attribute("time"), Some("6.000"));
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .expect("a failure element");
        assert_eq!(
            failure.attribute("message"),
            Some("expected 0 failed requests, seen 4 failed requests, longest gap 0.050s")
        );
        assert!(
            failure
                .text()
                .unwrap_or_default()
                .contains("3.630s error: connection refused")
        );
        assert!(
            xml.contains("stop keepalived, haproxy on lb1"),
            "actions are in the step log"
        );
    }

    #[test]
    fn failed_action_is_an_error_case() {
        let mut r = fixture::failover();
        r.steps[0].outcome = Outcome::Failed {
            expected: "stop to succeed".into(),
            seen: "no such node \u{7}\u{1b}[31m".into(),
            last_samples: vec![],
        };
        let doc_text = to_junit(&[r]);
        let doc = roxmltree::Document::parse(&doc_text).expect("JUnit XML parses");
        let errors = doc
            .descendants()
            .filter(|n| n.has_tag_name("error"))
            .count();
        assert_eq!(errors, 1);
    }

    #[test]
    fn a_starved_failure_and_a_rerun_say_so_in_properties() {
        let mut r = fixture::failover();
        r.starved = Some("CPU starvation: woke 400 ms late".into());
        r.rerun_after = Some("CPU starvation: woke 300 ms late".into());
        let xml = to_junit(&[r]);
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let prop = |name: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(name))
                .and_then(|n| n.attribute("value").map(str::to_owned))
        };
        assert_eq!(
            prop("starved").as_deref(),
            Some("CPU starvation: woke 400 ms late")
        );
        assert_eq!(
            prop("rerun_after").as_deref(),
            Some("CPU starvation: woke 300 ms late")
        );
        assert_eq!(
            to_junit(&[fixture::failover()]).matches("starved").count(),
            0
        );
    }
}
