//! The live view for a person at a terminal, in cargo-nextest's shape:
//!
//! ```text
//!     Starting loadbalancing/failover [keepalived]: 8 steps
//!         PASS [   0.900s] at   1.500s   3/8 outage: at most 25 failed requests
//!                                            requests: 20 of 90 failed (22.2%), longest gap 0.210s in a 0.900s window
//!         FAIL [   1.000s] at   3.500s   7/8 outage: no failed request while lb1 preempts
//!                                            expected: 0 failed requests
//!                                                seen: 4 failed requests, longest gap 0.050s
//!                                            last samples: ...
//!         SKIP             at   4.500s   8/8 vip: 10.0.0.100 on lb1
//!      Summary [   6.000s] loadbalancing/failover [keepalived] FAILED: 6 passed, 1 failed, 1 skipped
//!    VIOLATION 3.600s..3.650s client ARP for 10.0.0.100 pointed at lb2, which did not hold it
//! ```
//!
//! Colour only when asked (a tty); write errors are ignored, since a closed stdout must not
//! stop a run that is changing machines.

use std::io::{IsTerminal as _, Stdout, Write};

use crate::report::fmt::{run_name, secs};
use crate::report::junit::outage_line;
use crate::scenario::result::{Event, Outcome, ScenarioResult, StepResult};

/// Where the detail lines under a step start: under the step's kind.
const INDENT: &str = "                                           ";

pub struct TerminalReporter<W: Write = Stdout> {
    out: W,
    color: bool,
    /// Show a transient "RUNNING" line while a step runs (a tty only: it needs `\r`).
    live: bool,
    running: bool,
    run: Option<Run>,
    scenarios: (usize, usize),
}

/// The scenario in progress: its name and tallies, since `ScenarioFinished` carries neither.
struct Run {
    name: String,
    steps: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl TerminalReporter<Vec<u8>> {
    /// What was written since the last take: one scenario's block, for a view that prints
    /// each scenario whole (`halab test --jobs`).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

impl TerminalReporter<Stdout> {
    /// Colour and the live line when stdout is a terminal and `NO_COLOR` is unset.
    pub fn stdout() -> Self {
        let out = std::io::stdout();
        let tty = out.is_terminal();
        let mut r = TerminalReporter::new(out, tty && std::env::var_os("NO_COLOR").is_none());
        r.live = tty;
        r
    }
}

impl<W: Write> TerminalReporter<W> {
    /// Plain lines into `out`; `color` adds ANSI colour.
    pub fn new(out: W, color: bool) -> Self {
        TerminalReporter {
            out,
            color,
            live: false,
            running: false,
            run: None,
            scenarios: (0, 0),
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Counts a scenario seen only as a result (run elsewhere), for [`Self::finish`].
    pub fn count(&mut self, passed: bool) {
        if passed {
            self.scenarios.0 += 1
        } else {
            self.scenarios.1 += 1
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn clear_running(&mut self) {
        if self.running {
            let _ = write!(self.out, "\r\x1b[2K");
            self.running = false;
        }
    }

    pub fn event(&mut self, e: &Event) {
        self.clear_running();
        match e {
            Event::ScenarioStarted {
                lab,
                scenario,
                engine,
                steps,
            } => {
                let name = run_name(lab, scenario, engine);
                let head = self.paint("1;36", "    Starting");
                let _ = writeln!(self.out, "{head} {name}: {steps} steps");
                self.run = Some(Run {
                    name,
                    steps: *steps,
                    passed: 0,
                    failed: 0,
                    skipped: 0,
                });
            }
            Event::StepStarted { index, description } => {
                if self.live {
                    let head = self.paint("1;34", "     RUNNING");
                    let _ = write!(
                        self.out,
                        "{head} {:>25}{}: {description}",
                        "",
                        self.step_no(*index)
                    );
                    let _ = self.out.flush();
                    self.running = true;
                }
            }
            Event::StepFinished(s) => self.step(s),
            Event::ScenarioFinished {
                passed,
                duration_ms,
            } => {
                let run = self.run.take().unwrap_or(Run {
                    name: "scenario".into(),
                    steps: 0,
                    passed: 0,
                    failed: 0,
                    skipped: 0,
                });
                let verdict = if *passed {
                    self.paint("1;32", "passed")
                } else {
                    self.paint("1;31", "FAILED")
                };
                let head = if *passed {
                    self.paint("1;32", "     Summary")
                } else {
                    self.paint("1;31", "     Summary")
                };
                let why = if !passed && run.failed == 0 {
                    " (see the violations below)"
                } else {
                    ""
                };
                let _ = writeln!(
                    self.out,
                    "{head} [{:>9}] {} {verdict}: {} passed, {} failed, {} skipped{why}",
                    secs(*duration_ms),
                    run.name,
                    run.passed,
                    run.failed,
                    run.skipped
                );
                if *passed {
                    self.scenarios.0 += 1
                } else {
                    self.scenarios.1 += 1
                }
            }
        }
        let _ = self.out.flush();
    }

    fn step_no(&self, index: usize) -> String {
        let total = self.run.as_ref().map_or(0, |r| r.steps);
        format!("{:>2}/{total}", index + 1)
    }

    fn step(&mut self, s: &StepResult) {
        if let Some(run) = &mut self.run {
            match s.outcome {
                Outcome::Passed { .. } => run.passed += 1,
                Outcome::Failed { .. } => run.failed += 1,
                Outcome::Skipped => run.skipped += 1,
            }
        }
        let no = self.step_no(s.index);
        let took = secs(s.end_ms.saturating_sub(s.start_ms));
        let line = format!(
            "at {:>8}  {no} {}: {}",
            secs(s.start_ms),
            s.kind,
            s.description
        );
        let _ = match &s.outcome {
            Outcome::Passed { .. } => writeln!(
                self.out,
                "{} [{took:>9}] {line}",
                self.paint("1;32", "        PASS")
            ),
            Outcome::Failed { .. } => writeln!(
                self.out,
                "{} [{took:>9}] {line}",
                self.paint("1;31", "        FAIL")
            ),
            Outcome::Skipped => writeln!(
                self.out,
                "{} {:>11} {line}",
                self.paint("1;33", "        SKIP"),
                ""
            ),
        };
        let outage = s.outage.as_ref().map(|o| {
            let text = outage_line(o);
            if o.failed > 0 {
                self.paint("33", &text)
            } else {
                text
            }
        });
        match &s.outcome {
            Outcome::Passed { detail } => {
                if let Some(d) = detail {
                    let _ = writeln!(self.out, "{INDENT}{}", self.paint("2", d));
                }
                if let Some(o) = outage {
                    let _ = writeln!(self.out, "{INDENT}{o}");
                }
            }
            // Expected, seen, what the probe saw, then the evidence.
            Outcome::Failed {
                expected,
                seen,
                last_samples,
            } => {
                let _ = writeln!(
                    self.out,
                    "{INDENT}{} {expected}",
                    self.paint("1", "expected:")
                );
                let _ = writeln!(self.out, "{INDENT}{} {seen}", self.paint("1", "    seen:"));
                if let Some(o) = outage {
                    let _ = writeln!(self.out, "{INDENT}{o}");
                }
                if !last_samples.is_empty() {
                    let _ = writeln!(self.out, "{INDENT}{}", self.paint("1", "last samples:"));
                    for l in last_samples {
                        let _ = writeln!(self.out, "{INDENT}  {l}");
                    }
                }
            }
            Outcome::Skipped => {}
        }
    }

    /// What the events do not carry: the invariant violations and a run error. Call it with
    /// the runner's result after `ScenarioFinished`.
    pub fn result(&mut self, r: &ScenarioResult) {
        self.clear_running();
        for v in &r.violations {
            let head = self.paint("1;31", "   VIOLATION");
            let _ = writeln!(
                self.out,
                "{head} {}..{} {}",
                secs(v.start_ms),
                secs(v.end_ms),
                v.what
            );
        }
        if let Some(s) = &r.starved {
            let head = self.paint("1;33", "     STARVED");
            let _ = writeln!(
                self.out,
                "{head} {}: {s}",
                run_name(&r.lab, &r.scenario, &r.engine)
            );
        }
        if let Some(s) = &r.rerun_after {
            let head = self.paint("1;33", "       RERUN");
            let _ = writeln!(
                self.out,
                "{head} {}: run again alone, the first run's failure had {s}",
                run_name(&r.lab, &r.scenario, &r.engine)
            );
        }
        if let Some(e) = &r.error {
            let head = self.paint("1;31", "       ERROR");
            let _ = writeln!(
                self.out,
                "{head} {}: {e}",
                run_name(&r.lab, &r.scenario, &r.engine)
            );
        }
        let _ = self.out.flush();
    }

    /// The closing line over every scenario seen, when there was more than one.
    pub fn finish(&mut self) {
        self.clear_running();
        let (passed, failed) = self.scenarios;
        if passed + failed > 1 {
            let head = if failed == 0 {
                self.paint("1;32", "     Summary")
            } else {
                self.paint("1;31", "     Summary")
            };
            let _ = writeln!(
                self.out,
                "{head} {} scenarios: {passed} passed, {failed} failed",
                passed + failed
            );
        }
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn replay(color: bool) -> String {
        let r = fixture::failover();
        let mut t = TerminalReporter::new(Vec::new(), color);
        t.event(&Event::ScenarioStarted {
            lab: r.lab.clone(),
            scenario: r.scenario.clone(),
            engine: r.engine.clone(),
            steps: r.steps.len(),
        });
        for s in &r.steps {
            t.event(&Event::StepStarted {
                index: s.index,
                description: s.description.clone(),
            });
            t.event(&Event::StepFinished(s.clone()));
        }
        t.event(&Event::ScenarioFinished {
            passed: r.passed,
            duration_ms: r.duration_ms,
        });
        t.result(&r);
        t.finish();
        String::from_utf8(t.into_inner()).unwrap_or_default()
    }

    #[test]
    fn terminal_explains_the_failed_assertion() {
        let out = replay(false);
        assert!(
            out.contains("    Starting loadbalancing/failover [keepalived]: 8 steps\n"),
            "{out}"
        );
        let fail = out
            .lines()
            .position(|l| l.contains("FAIL"))
            .expect("a FAIL line");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[fail].contains("7/8 outage: no failed request while lb1 preempts"),
            "{out}"
        );
        assert_eq!(lines[fail + 1].trim(), "expected: 0 failed requests");
        assert_eq!(
            lines[fail + 2].trim(),
            "seen: 4 failed requests, longest gap 0.050s"
        );
        assert_eq!(
            lines[fail + 3].trim(),
            "requests: 4 of 100 failed (4.0%), longest gap 0.050s in a 1.000s window"
        );
        assert_eq!(lines[fail + 4].trim(), "last samples:");
        assert_eq!(lines[fail + 5].trim(), "3.610s error: connection refused");
        assert!(out.contains("SKIP"), "{out}");
        assert!(out.contains("Summary [   6.000s] loadbalancing/failover [keepalived] FAILED: 6 passed, 1 failed, 1 skipped"), "{out}");
        assert!(out.contains("VIOLATION 3.600s..3.650s client ARP"), "{out}");
        assert!(!out.contains('\x1b'), "no colour unless asked");
    }

    #[test]
    fn terminal_colours_only_when_asked() {
        assert!(replay(true).contains("\x1b[1;31m        FAIL\x1b[0m"));
    }

    #[test]
    fn terminal_says_when_a_failure_was_starved_and_a_result_is_a_rerun() {
        let mut r = fixture::failover();
        r.starved = Some("CPU starvation: woke 400 ms late".into());
        r.rerun_after = Some("CPU starvation: woke 300 ms late".into());
        let mut t = TerminalReporter::new(Vec::new(), false);
        t.result(&r);
        let out = String::from_utf8(t.into_inner()).expect("utf-8");
        assert!(
            out.contains(
                "STARVED loadbalancing/failover [keepalived]: CPU starvation: woke 400 ms late"
            ),
            "{out}"
        );
        assert!(
            out.contains("RERUN loadbalancing/failover [keepalived]: run again alone"),
            "{out}"
        );
    }
}
