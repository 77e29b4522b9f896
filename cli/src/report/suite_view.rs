//! The live view of `halab test --jobs N`: one status line per running unit (on stderr, a
//! terminal only: its scenario and current step), and each scenario's block of step lines
//! (the [`TerminalReporter`]'s) printed whole on stdout when it finishes, so blocks of
//! concurrent scenarios never interleave.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::TerminalReporter;
use crate::report::fmt::run_name;
use crate::scenario::result::Event;
use crate::scenario::suite::Watch;

pub struct SuiteView {
    inner: Mutex<Inner>,
}

struct Inner {
    multi: MultiProgress,
    color: bool,
    /// Per unit: its status line and its reporter writing into a buffer.
    units: HashMap<usize, Unit>,
}

struct Unit {
    bar: ProgressBar,
    term: TerminalReporter<Vec<u8>>,
    name: String,
    steps: usize,
}

impl SuiteView {
    /// Status lines when stderr is a terminal; colour when stdout is one and `NO_COLOR` is
    /// unset.
    pub fn new() -> SuiteView {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        SuiteView {
            inner: Mutex::new(Inner {
                multi: MultiProgress::with_draw_target(target),
                color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
                units: HashMap::new(),
            }),
        }
    }

    /// An event of `unit`, from its worker thread.
    pub fn event(&self, unit: usize, e: &Event) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let Inner {
            multi,
            color,
            units,
        } = &mut *inner;
        let u = units.entry(unit).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(250));
            Unit {
                bar,
                term: TerminalReporter::new(Vec::new(), *color),
                name: String::new(),
                steps: 0,
            }
        });
        u.term.event(e);
        match e {
            Event::ScenarioStarted {
                lab,
                scenario,
                engine,
                steps,
            } => {
                u.name = run_name(lab, scenario, engine);
                u.steps = *steps;
                u.bar.reset_elapsed();
                u.bar.set_prefix(u.name.clone());
                u.bar.set_message("starting");
            }
            Event::StepStarted { index, description } => {
                u.bar
                    .set_message(format!("{}/{} {description}", index + 1, u.steps));
            }
            Event::StepFinished(_) => {}
            Event::ScenarioFinished { passed, .. } => {
                let block = u.term.take();
                print_block(multi, &block);
                u.bar.set_message(if *passed { "passed" } else { "FAILED" });
            }
        }
    }

    /// A unit is done: its status line goes.
    pub fn unit_done(&self, unit: usize) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(u) = inner.units.remove(&unit)
        {
            u.bar.finish_and_clear();
            inner.multi.remove(&u.bar);
        }
    }

    /// Text printed between the status lines and the blocks (a lab error, say).
    pub fn println(&self, text: &str) {
        if let Ok(inner) = self.inner.lock() {
            print_block(&inner.multi, format!("{text}\n").as_bytes());
        }
    }
}

impl Watch for SuiteView {
    fn event(&self, unit: usize, e: &Event) {
        SuiteView::event(self, unit, e);
    }

    fn unit_done(&self, unit: usize) {
        SuiteView::unit_done(self, unit);
    }
}

impl Default for SuiteView {
    fn default() -> Self {
        SuiteView::new()
    }
}

/// Prints a block whole on stdout, with the status lines (on the same terminal) out of the
/// way meanwhile. Write errors are ignored: a closed stdout must not stop a run.
fn print_block(multi: &MultiProgress, block: &[u8]) {
    let write = || {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(block);
        let _ = out.flush();
    };
    if multi.is_hidden() {
        write();
    } else {
        multi.suspend(write);
    }
}
