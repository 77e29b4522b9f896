//! `--report DIR`: `DIR/index.html`, one page for every run (inline CSS, no scripts, no
//! network), and per run the timeline as `DIR/<lab>-<scenario>-<engine>.svg`. The page
//! inlines each SVG (so mark tooltips work and the page stands alone) and links the file.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::report::fmt::{escape, run_name, secs, slug, utc};
use crate::report::junit::outage_line;
use crate::report::svg::timeline_svg;
use crate::report::timeline;
use crate::scenario::result::{Outcome, ScenarioResult, StepResult};

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1240px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2.5em;border-bottom:1px solid #ddd;padding-bottom:.3em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05em .5em;border-radius:3px;color:#fff;font-weight:600;font-size:.85em}
.pass{background:#2ca02c}.fail{background:#d62728}.skip{background:#999}.error{background:#8b0000}
tr.failed td{background:#fff3f3}tr.detail td{background:#fff8f8;border-top:none}
pre{margin:.3em 0;white-space:pre-wrap;font-size:.9em}
.meta{color:#666}.box{border:1px solid #d62728;background:#fff3f3;padding:.6em;border-radius:3px}
figure{margin:1em 0;overflow-x:auto}svg{max-width:100%;height:auto}
";

/// Writes `dir/index.html` and one SVG per run; returns the HTML's path.
pub fn write_report(dir: &Path, results: &[ScenarioResult]) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut used = HashSet::new();
    let mut sections = String::new();
    for (i, r) in results.iter().enumerate() {
        let file = svg_file_name(r, &mut used);
        let svg = timeline_svg(r);
        std::fs::write(dir.join(&file), &svg)?;
        section(&mut sections, i, r, &file, &svg);
    }
    let html = page(results, &sections);
    let index = dir.join("index.html");
    std::fs::write(&index, html)?;
    Ok(index)
}

/// `<lab>-<scenario>-<engine>.svg`, made safe for a file name, numbered if a name repeats.
pub fn svg_file_name(r: &ScenarioResult, used: &mut HashSet<String>) -> String {
    let base = slug(&[&r.lab, &r.scenario, &r.engine]);
    let mut name = format!("{base}.svg");
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}.svg");
        n += 1;
    }
    name
}

fn badge(passed: bool, error: bool) -> &'static str {
    match (passed, error) {
        (_, true) => "<span class=\"badge error\">ERROR</span>",
        (true, false) => "<span class=\"badge pass\">PASS</span>",
        (false, false) => "<span class=\"badge fail\">FAIL</span>",
    }
}

fn page(results: &[ScenarioResult], sections: &str) -> String {
    let failed = results.iter().filter(|r| !r.passed).count();
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>halab report</title>\
         <style>{CSS}</style></head><body>\n<h1>halab report: {} runs, {} passed, {failed} failed</h1>\n",
        results.len(),
        results.len() - failed
    );
    h.push_str("<table><tr><th>run</th><th>result</th><th>started (UTC)</th><th>duration</th><th>steps failed</th><th>requests failed</th><th>violations</th></tr>\n");
    for (i, r) in results.iter().enumerate() {
        let (requests, failed_requests) = timeline::probe_totals(&r.samples);
        let steps_failed = r
            .steps
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Failed { .. }))
            .count();
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#run-{i}\">{}</a></td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{steps_failed} of {}</td><td class=\"num\">{failed_requests} of {requests}</td><td class=\"num\">{}</td></tr>",
            escape(&run_name(&r.lab, &r.scenario, &r.engine)),
            badge(r.passed, r.error.is_some()),
            utc(r.started_unix_ms),
            secs(r.duration_ms),
            r.steps.len(),
            r.violations.len()
        );
    }
    h.push_str("</table>\n");
    h.push_str(sections);
    h.push_str("</body></html>\n");
    h
}

fn section(h: &mut String, i: usize, r: &ScenarioResult, file: &str, svg: &str) {
    let _ = writeln!(
        h,
        "<section id=\"run-{i}\"><h2>{} {}</h2>",
        badge(r.passed, r.error.is_some()),
        escape(&run_name(&r.lab, &r.scenario, &r.engine))
    );
    if let Some(d) = &r.description {
        let _ = writeln!(h, "<p>{}</p>", escape(d));
    }
    let _ = writeln!(
        h,
        "<p class=\"meta\">started {}, took {}</p>",
        utc(r.started_unix_ms),
        secs(r.duration_ms)
    );
    if let Some(e) = &r.error {
        let _ = writeln!(
            h,
            "<p class=\"box\">the run could not complete: {}</p>",
            escape(e)
        );
    }
    steps_table(h, &r.steps);
    h.push_str("<h3>Invariant violations</h3>\n");
    if r.violations.is_empty() {
        h.push_str("<p class=\"meta\">none: one VIP holder at a time, the client's ARP on the holder.</p>\n");
    } else {
        h.push_str("<table><tr><th>from</th><th>to</th><th>what</th></tr>\n");
        for v in &r.violations {
            let _ = writeln!(
                h,
                "<tr class=\"failed\"><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                secs(v.start_ms),
                secs(v.end_ms),
                escape(&v.what)
            );
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<h3>Timeline</h3>\n<figure>{}<figcaption class=\"meta\"><a href=\"{}\">{}</a></figcaption></figure>\n</section>",
        strip_prolog(svg),
        escape(file),
        escape(file)
    );
}

/// An `<?xml ...?>` line is not allowed inside HTML; plotters writes none today.
fn strip_prolog(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(at) => &svg[at..],
        None => svg,
    }
}

fn steps_table(h: &mut String, steps: &[StepResult]) {
    h.push_str(
        "<table><tr><th>#</th><th>step</th><th>description</th><th>result</th><th>at</th><th>took</th>\
         <th>failed requests</th><th>longest gap</th><th>detail</th></tr>\n",
    );
    for s in steps {
        let (badge, class) = match s.outcome {
            Outcome::Passed { .. } => ("<span class=\"badge pass\">PASS</span>", ""),
            Outcome::Failed { .. } => (
                "<span class=\"badge fail\">FAIL</span>",
                " class=\"failed\"",
            ),
            Outcome::Skipped => ("<span class=\"badge skip\">SKIP</span>", ""),
        };
        let (failed, gap) = match &s.outage {
            Some(o) => (
                format!("{} of {}", o.failed, o.requests),
                secs(o.longest_gap_ms),
            ),
            None => (String::new(), String::new()),
        };
        let detail = match &s.outcome {
            Outcome::Passed { detail: Some(d) } => escape(d),
            _ => String::new(),
        };
        let kind = if s.assertion {
            escape(&s.kind)
        } else {
            format!("<i>{}</i>", escape(&s.kind))
        };
        let _ = writeln!(
            h,
            "<tr{class}><td class=\"num\">{}</td><td>{kind}</td><td>{}</td><td>{badge}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{failed}</td><td class=\"num\">{gap}</td><td>{detail}</td></tr>",
            s.index + 1,
            escape(&s.description),
            secs(s.start_ms),
            secs(s.end_ms.saturating_sub(s.start_ms)),
        );
        if let Outcome::Failed {
            expected,
            seen,
            last_samples,
        } = &s.outcome
        {
            let mut text = format!("expected: {expected}\n    seen: {seen}\n");
            if let Some(o) = &s.outage {
                let _ = writeln!(text, "{}", outage_line(o));
            }
            if !last_samples.is_empty() {
                text.push_str("last samples:\n");
                for l in last_samples {
                    let _ = writeln!(text, "  {l}");
                }
            }
            let _ = writeln!(
                h,
                "<tr class=\"detail\"><td></td><td colspan=\"8\"><pre>{}</pre></td></tr>",
                escape(&text)
            );
        }
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn html_embeds_and_links_each_timeline() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let a = fixture::failover();
        let mut b = a.clone();
        b.engine = "halabd".into();
        // The same run twice must not overwrite its own picture.
        let index = write_report(dir.path(), &[a.clone(), b, a]).expect("report written");
        assert_eq!(index, dir.path().join("index.html"));
        let html = std::fs::read_to_string(&index).expect("index.html");
        for file in [
            "loadbalancing-failover-keepalived.svg",
            "loadbalancing-failover-halabd.svg",
            "loadbalancing-failover-keepalived-2.svg",
        ] {
            assert!(
                html.contains(&format!("href=\"{file}\"")),
                "index.html links {file}"
            );
            let svg = std::fs::read_to_string(dir.path().join(file)).expect("the SVG file");
            roxmltree::Document::parse(&svg).expect("the SVG parses");
        }
        assert_eq!(html.matches("<svg").count(), 3, "each timeline is inlined");
        assert!(html.contains("expected: 0 failed requests"));
        assert!(html.contains("client ARP for 10.0.0.100 pointed at lb2"));
        assert!(!html.contains("<?xml"));
    }
}
