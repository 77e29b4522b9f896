//! A test suite run with `--jobs N`: independent units, each a (lab, engine) and its
//! scenarios, run on N worker threads, each unit in a lab instance of its own (its own
//! namespaces and state dir under a unique instance name; the addresses stay the lab's, since
//! every instance is isolated).
//!
//! A unit runs like `halab test` on one lab: up once, the scenarios in file order with the
//! lab restored between them, down. So the unit, not N, decides which scenario follows which
//! on a lab: the results do not depend on N. Reports get the lab's own name back, never the
//! instance's.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::file::Scenario;
use super::result::{Event, ScenarioResult};
use super::session::{self, EngineChoice};
use crate::apply::UpOptions;
use crate::lab::Lab;

/// One lab with one engine choice, and the scenarios to run on it.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The lab as its file names it (what reports show).
    pub lab_name: String,
    pub lab_file: PathBuf,
    /// The engine label reports use (keepalived, halabd, mixed).
    pub engine: String,
    /// The lab with the engine applied, renamed to its instance name.
    pub lab: Lab,
    pub scenarios: Vec<Scenario>,
}

/// What a unit produced, in its scenarios' order.
#[derive(Debug, Clone)]
pub struct UnitOutcome {
    pub results: Vec<ScenarioResult>,
    /// The lab instance could not be brought up, restored or torn down.
    pub lab_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("load the scenarios of {lab}: {reason}")]
    Scenarios { lab: String, reason: String },
    #[error("prepare a lab instance: {0}")]
    Options(String),
}

/// Who watches a suite run: every unit's events as they happen (from the unit's thread),
/// and the end of each unit.
pub trait Watch: Sync {
    fn event(&self, unit: usize, e: &Event);
    fn unit_done(&self, unit: usize);
}

/// Nobody watches (JSON output, tests).
pub struct NoWatch;

impl Watch for NoWatch {
    fn event(&self, _: usize, _: &Event) {}
    fn unit_done(&self, _: usize) {}
}

/// `--jobs` by default: what this machine can take. A unit mostly waits on VRRP timers and
/// the probe: measured on 2 cores, two units of seed002 took 21 s of CPU (halab, the nodes'
/// daemons and tools) in 79 s, about 0.13 core per unit; the seed matrix (10 units) passed at
/// `--jobs 8` under a load average of 26 from other work (docs/scenarios.md). Four per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .saturating_mul(4)
        .max(2)
}

/// The instance name of unit `k` of this process: the lab's name, this PID and `k`. Two
/// `halab test` processes, or two units of one, never share namespaces or state dirs.
pub fn instance_name(lab: &str, k: usize) -> String {
    format!("{lab}-{}j{k}", std::process::id())
}

/// Loads and validates a lab's scenarios against it (with its engine applied).
pub type LoadScenarios<'a> = dyn Fn(&PathBuf, &Lab) -> Result<Vec<Scenario>, String> + 'a;

/// Units for every (lab, engine) pair, in the order given: labs outer, engines inner.
/// `scenarios` loads and validates a lab's scenario files against it (all of them before
/// anything runs).
pub fn plan(
    labs: &[(PathBuf, Lab)],
    engines: &[EngineChoice],
    scenarios: &LoadScenarios<'_>,
) -> Result<Vec<Unit>, SuiteError> {
    let mut units = Vec::new();
    for (file, lab) in labs {
        for choice in engines {
            let mut l = lab.clone();
            let engine = choice.apply(&mut l);
            let s = scenarios(file, &l).map_err(|reason| SuiteError::Scenarios {
                lab: lab.name.clone(),
                reason,
            })?;
            if s.is_empty() {
                continue;
            }
            l.name = instance_name(&lab.name, units.len());
            units.push(Unit {
                lab_name: lab.name.clone(),
                lab_file: file.clone(),
                engine,
                lab: l,
                scenarios: s,
            });
        }
    }
    Ok(units)
}

/// The order workers take units in: longest first (most scenarios), so the last unit to
/// start is a short one and the wall time is close to the longest unit's. Ties keep the
/// plan's order.
fn schedule(units: &[Unit]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(units[i].scenarios.len()));
    order
}

/// Runs every unit on at most `jobs` threads at once. `options` makes a unit's lab options
/// (each unit its own). Outcomes come back in the units' order, whatever finished first.
///
/// Then every failed scenario whose failure overlapped CPU starvation (see
/// [`super::starvation`]) runs again, alone, in a fresh instance: its second result replaces
/// the first and says so (`rerun_after`). A second starved failure stays failed and says it
/// was starved.
pub fn run(
    units: &[Unit],
    jobs: usize,
    options: &(dyn Fn() -> Result<UpOptions, String> + Sync),
    watch: &dyn Watch,
) -> Vec<UnitOutcome> {
    let order = schedule(units);
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<HashMap<usize, UnitOutcome>> = Mutex::new(HashMap::new());
    let workers = jobs.clamp(1, units.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(&k) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let outcome = run_unit(&units[k], options, &mut |e| watch.event(k, e));
                    watch.unit_done(k);
                    if let Ok(mut o) = outcomes.lock() {
                        o.insert(k, outcome);
                    }
                }
            });
        }
    });
    let mut outcomes = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut outcomes: Vec<UnitOutcome> = (0..units.len())
        .map(|k| {
            outcomes.remove(&k).unwrap_or(UnitOutcome {
                results: Vec::new(),
                lab_error: Some(format!("unit {k} did not run")),
            })
        })
        .collect();
    rerun_starved(units, &mut outcomes, options, watch);
    outcomes
}

/// Runs each starved failure again, one at a time (nothing else of this suite runs then).
fn rerun_starved(
    units: &[Unit],
    outcomes: &mut [UnitOutcome],
    options: &(dyn Fn() -> Result<UpOptions, String> + Sync),
    watch: &dyn Watch,
) {
    let mut extra = units.len();
    for (k, outcome) in outcomes.iter_mut().enumerate() {
        for r in outcome.results.iter_mut() {
            let Some(why) = r.starved.clone() else {
                continue;
            };
            let Some(scenario) = units[k].scenarios.iter().find(|s| s.name == r.scenario) else {
                continue;
            };
            let mut lab = units[k].lab.clone();
            lab.name = instance_name(&units[k].lab_name, extra);
            let unit = Unit {
                lab,
                scenarios: vec![scenario.clone()],
                ..units[k].clone()
            };
            let again = run_unit(&unit, options, &mut |e| watch.event(extra, e));
            watch.unit_done(extra);
            extra += 1;
            if let Some(mut second) = again.results.into_iter().next() {
                second.rerun_after = Some(why);
                *r = second;
            }
        }
    }
}

/// One unit: its instance up, its scenarios in order, down (see [`session::run_all`]).
fn run_unit(
    unit: &Unit,
    options: &(dyn Fn() -> Result<UpOptions, String> + Sync),
    on_event: &mut dyn FnMut(&Event),
) -> UnitOutcome {
    let mut opts = match options() {
        Ok(o) => o,
        Err(e) => {
            return UnitOutcome {
                results: Vec::new(),
                lab_error: Some(SuiteError::Options(e).to_string()),
            };
        }
    };
    let mut rename = |e: &Event| match e {
        Event::ScenarioStarted {
            scenario,
            engine,
            steps,
            ..
        } => on_event(&Event::ScenarioStarted {
            lab: unit.lab_name.clone(),
            scenario: scenario.clone(),
            engine: engine.clone(),
            steps: *steps,
        }),
        other => on_event(other),
    };
    let s = session::run_all(
        &unit.lab,
        &unit.scenarios,
        &unit.engine,
        &mut opts,
        false,
        &mut rename,
    );
    let results = s
        .results
        .into_iter()
        .map(|mut r| {
            r.lab = unit.lab_name.clone();
            r
        })
        .collect();
    UnitOutcome {
        results,
        lab_error: s
            .lab_error
            .map(|e| e.replace(&unit.lab.name, &unit.lab_name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, n: usize) -> Unit {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/minimal/lab.yaml");
        let lab = crate::lab::load_with_env(&file, &HashMap::<String, String>::new())
            .expect("labs/minimal validates");
        let s: Scenario = crate::scenario::file::parse(
            std::path::Path::new("s.yaml"),
            "steps:\n  - wait: 1s\n",
            &lab,
        )
        .expect("scenario");
        Unit {
            lab_name: name.into(),
            lab_file: "x.yaml".into(),
            engine: "keepalived".into(),
            lab,
            scenarios: vec![s; n],
        }
    }

    #[test]
    fn longest_units_start_first_and_ties_keep_the_plan_order() {
        let units = [unit("a", 2), unit("b", 5), unit("c", 2), unit("d", 5)];
        assert_eq!(schedule(&units), [1, 3, 0, 2]);
    }

    #[test]
    fn instance_names_are_unique_per_unit_and_process() {
        let a = instance_name("seed000", 0);
        assert_ne!(a, instance_name("seed000", 1));
        assert!(a.starts_with("seed000-"), "{a}");
        assert!(a.contains(&std::process::id().to_string()), "{a}");
    }
}
