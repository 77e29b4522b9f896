//! A test session: the lab up (or the running one), each scenario run on it in turn, the lab
//! restored between scenarios, and torn down at the end if the session brought it up.

use std::path::{Path, PathBuf};

use super::faults;
use super::file::{self, Scenario};
use super::result::{Event, ScenarioResult};
use super::run;
use crate::apply::{self, UpOptions};
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::lab::model::{Engine, Role};
use crate::services::{self, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// As the lab file says.
    Lab,
    Keepalived,
    Halabd,
    /// Alternating keepalived / halabd over the LB nodes in file order.
    Mixed,
}

impl EngineChoice {
    pub fn parse(s: &str) -> Option<EngineChoice> {
        match s {
            "keepalived" => Some(EngineChoice::Keepalived),
            "halabd" => Some(EngineChoice::Halabd),
            "mixed" => Some(EngineChoice::Mixed),
            "lab" => Some(EngineChoice::Lab),
            _ => None,
        }
    }

    /// Applies the choice to the lab's LB nodes; returns the label reports use.
    pub fn apply(self, lab: &mut Lab) -> String {
        let mut k = 0;
        for n in lab.nodes.iter_mut().filter(|n| n.role == Role::Lb) {
            n.engine = Some(match self {
                EngineChoice::Lab => n.engine.unwrap_or(Engine::Keepalived),
                EngineChoice::Keepalived => Engine::Keepalived,
                EngineChoice::Halabd => Engine::Halabd,
                EngineChoice::Mixed => {
                    k += 1;
                    if k % 2 == 1 {
                        Engine::Keepalived
                    } else {
                        Engine::Halabd
                    }
                }
            });
        }
        engine_label(lab)
    }
}

/// The label reports use: the one engine every LB runs, or which LB runs which
/// ("mixed: lb1 keepalived, lb2 halabd"), so a lab file's own assignment and `--engine mixed`
/// are told apart.
pub fn engine_label(lab: &Lab) -> String {
    let name = |e: Engine| format!("{e:?}").to_lowercase();
    let engines: std::collections::BTreeSet<Engine> = lab.lbs().filter_map(|n| n.engine).collect();
    match engines.len() {
        0 => "none".to_string(),
        1 => engines.iter().next().map_or_else(String::new, |e| name(*e)),
        _ => format!(
            "mixed: {}",
            lab.lbs()
                .filter_map(|n| n.engine.map(|e| format!("{} {}", n.name, name(e))))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The scenario files beside the lab (`<lab dir>/scenarios/*.yaml`), filtered by name; a
/// name that is a path to a file is that file.
pub fn find(lab_file: &Path, names: &[String]) -> Result<Vec<PathBuf>, String> {
    if !names.is_empty() && names.iter().all(|n| is_scenario_path(n)) {
        return Ok(names.iter().map(PathBuf::from).collect());
    }
    let dir = lab_file
        .parent()
        .unwrap_or(Path::new("."))
        .join("scenarios");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("failed to read {}: {e}\n  hint: scenarios live in a `scenarios/` directory beside the lab file", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    all.sort();
    if names.is_empty() {
        return Ok(all);
    }
    let stems: Vec<String> = all
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().to_string()))
        .collect();
    names
        .iter()
        .map(|n| {
            if is_scenario_path(n) {
                return Ok(PathBuf::from(n));
            }
            all.iter()
                .find(|p| {
                    p.file_stem()
                        .is_some_and(|s| s.to_string_lossy() == n.as_str())
                })
                .cloned()
                .ok_or_else(|| {
                    let refs: Vec<&str> = stems.iter().map(String::as_str).collect();
                    format!(
                        "error: no scenario `{n}` in {}\n  hint: {}",
                        dir.display(),
                        crate::diag::did_you_mean(n, &refs)
                    )
                })
        })
        .collect()
}

/// A scenario named by its path (`scenarios/x.yaml`, `./x.yaml`) rather than its name.
pub fn is_scenario_path(arg: &str) -> bool {
    let p = Path::new(arg);
    (arg.contains('/') || p.extension().is_some_and(|x| x == "yaml" || x == "yml")) && p.is_file()
}

/// Every scenario file validated against the lab before anything runs: the valid ones, and
/// each broken file's located errors (one broken file does not block the others).
pub fn load_each(files: &[PathBuf], lab: &Lab) -> (Vec<(PathBuf, Scenario)>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match file::load(f, lab) {
            Ok(s) => out.push((f.clone(), s)),
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

/// Every scenario file, or every file's errors when one is broken (tests and benches, which
/// want all or nothing).
pub fn load_all(files: &[PathBuf], lab: &Lab) -> Result<Vec<Scenario>, String> {
    let (ok, errors) = load_each(files, lab);
    if errors.is_empty() {
        Ok(ok.into_iter().map(|(_, s)| s).collect())
    } else {
        Err(errors.join("\n"))
    }
}

/// Puts a running lab back to its steady state: no partition or loss, every cable in, every
/// daemon running and thawed, the VIP held and served; without preemption, held by the top
/// priority, as after `up` (a scenario that failed half-way may have left it on another
/// member, and each later scenario of the session would then fail at its first step).
pub fn restore(lab: &Lab, fleet: &dyn Fleet, halabd: &str) -> Result<(), String> {
    faults::heal(fleet, lab)?;
    faults::all_links_up(fleet, lab)?;
    // Every daemon thawed first: a frozen engine cannot hand its VIPs over (below).
    for n in lab
        .nodes
        .iter()
        .filter(|n| !Service::for_node(n).is_empty())
    {
        let m = fleet.machine(&n.name)?;
        for s in Service::for_node(n) {
            let _ = services::freeze(m.as_ref(), s, false);
        }
    }
    // As `up` does: the VRRP engines of the held-back nodes start once each top holds.
    let held = apply::held_back(lab);
    let is_vrrp = |s: Service| matches!(s, Service::Keepalived | Service::Halabd);
    start_each(lab, fleet, halabd, &|n, s| {
        !(held.contains(n) && is_vrrp(s))
    })?;
    if held.is_empty() {
        return apply::wait_ready(lab, fleet).map_err(|e| e.to_string());
    }
    apply::hand_to_tops(lab, fleet, &held).map_err(|e| e.to_string())?;
    start_each(lab, fleet, halabd, &|n, s| held.contains(n) && is_vrrp(s))?;
    apply::wait_ready(lab, fleet).map_err(|e| e.to_string())
}

/// Starts (unless it runs) each service of each node that `which` picks.
fn start_each(
    lab: &Lab,
    fleet: &dyn Fleet,
    halabd: &str,
    which: &dyn Fn(&str, Service) -> bool,
) -> Result<(), String> {
    for n in &lab.nodes {
        let services: Vec<Service> = Service::for_node(n)
            .into_iter()
            .filter(|s| which(&n.name, *s))
            .collect();
        // A node without services (a client that is no host of an ssh lab) has no machine.
        if services.is_empty() {
            continue;
        }
        let m = fleet.machine(&n.name)?;
        for s in services {
            services::start(m.as_ref(), s, halabd).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

pub struct Session {
    pub results: Vec<ScenarioResult>,
    /// The lab could not be brought up or restored.
    pub lab_error: Option<String>,
}

/// Runs the scenarios on the lab: the running one if its name is up, else a fresh one torn
/// down afterwards (unless `keep`).
pub fn run_all(
    lab: &Lab,
    scenarios: &[Scenario],
    engine: &str,
    opts: &mut UpOptions,
    keep: bool,
    on_event: &mut dyn FnMut(&Event),
) -> Session {
    let was_up = crate::provider::is_up(lab, &opts.state_root);
    if !was_up && let Err(e) = crate::provider::up(lab, opts) {
        return Session {
            results: vec![],
            lab_error: Some(format!("failed to bring lab {} up: {e}", lab.name)),
        };
    }
    let halabd = opts.halabd.to_string_lossy().to_string();
    let mut session = Session {
        results: vec![],
        lab_error: None,
    };
    match crate::provider::open_fleet(lab, &opts.state_root) {
        Ok(fleet) => {
            for (i, s) in scenarios.iter().enumerate() {
                if (i > 0 || was_up)
                    && let Err(e) = restore(lab, fleet.as_ref(), &halabd)
                {
                    session.lab_error = Some(format!(
                        "failed to restore lab {} before scenario {}: {e}",
                        lab.name, s.name
                    ));
                    break;
                }
                session
                    .results
                    .push(run::run(lab, &fleet, s, engine, &halabd, on_event));
            }
            if was_up || keep {
                let _ = restore(lab, fleet.as_ref(), &halabd);
            }
        }
        Err(e) => session.lab_error = Some(e),
    }
    if !was_up
        && !keep
        && let Err(e) = crate::provider::down(&opts.state_root, &lab.name, false)
    {
        session
            .lab_error
            .get_or_insert(format!("failed to tear lab {} down: {e}", lab.name));
    }
    session
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: labs/minimal with `--engine mixed`, and with the lab file giving lb1 halabd.
    // Output: two labels that name which LB ran which engine, not both "mixed".
    #[test]
    fn labels_say_which_lb_runs_which_engine() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/minimal/lab.yaml");
        let lab = crate::lab::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let mut mixed = lab.clone();
        assert_eq!(
            EngineChoice::Mixed.apply(&mut mixed),
            "mixed: lb1 keepalived, lb2 halabd"
        );
        let mut per_node = lab.clone();
        if let Some(lb1) = per_node.nodes.iter_mut().find(|n| n.name == "lb1") {
            lb1.engine = Some(Engine::Halabd);
        }
        assert_eq!(
            EngineChoice::Lab.apply(&mut per_node),
            "mixed: lb1 halabd, lb2 keepalived"
        );
        let mut one = lab;
        assert_eq!(EngineChoice::Halabd.apply(&mut one), "halabd");
    }
}
