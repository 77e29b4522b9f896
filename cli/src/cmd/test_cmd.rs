//! `halab test [LAB...] [SCENARIO...]`: run scenarios against labs, report, exit code.
//!
//! One lab with one engine runs as it always did (on the running lab if it is up). More labs
//! or engines make a suite ([`crate::scenario::suite`]): each (lab, engine) in a lab instance
//! of its own, `--jobs` of them at once, one combined report.

use std::path::{Path, PathBuf};

use crate::apply::UpOptions;
use crate::exit_codes;
use crate::scenario::result::{Event, ScenarioResult};
use crate::scenario::session::{self, EngineChoice};
use crate::scenario::suite;

pub struct TestArgs {
    /// A lab file or directory, then scenario names; or only scenario names (lab: ./lab.yaml).
    pub args: Vec<String>,
    pub engine: Option<String>,
    pub json: bool,
    pub junit: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub keep: bool,
    /// How many (lab, engine) units run at once; default [`suite::default_jobs`].
    pub jobs: Option<usize>,
    /// Validate the scenarios against the lab and stop: nothing runs.
    pub check: bool,
}

/// A scenario file given first (`scenarios/x.yaml`) brings its lab: the directory above
/// `scenarios/`.
fn lab_of_scenario(first: &str) -> Option<PathBuf> {
    Path::new(first)
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "scenarios"))
        .and_then(Path::parent)
        .map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d.to_path_buf()
            }
        })
}

/// Lab files named by an argument: a lab file, a lab's directory (its lab.yaml), or a
/// directory of labs (every subdirectory holding lab.yaml and scenarios/, sorted).
fn lab_files(arg: &Path) -> Vec<PathBuf> {
    if arg.is_dir() && !arg.join("lab.yaml").exists() {
        let mut out: Vec<PathBuf> = std::fs::read_dir(arg)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.join("lab.yaml").is_file() && p.join("scenarios").is_dir())
                    .map(|p| p.join("lab.yaml"))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        return out;
    }
    vec![crate::lab::resolve(Some(arg))]
}

/// A YAML file with top-level `steps:` (a lab file never has one: it would be an unknown
/// field).
fn is_scenario_file(p: &Path) -> bool {
    p.is_file()
        && std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.starts_with("steps:")))
}

/// The labs and the scenario names (or paths) of `halab test`'s arguments, and how many
/// leading arguments named labs. A file in a `scenarios/` dir given first brings its lab
/// (the dir above); otherwise leading arguments that exist are labs (a lab file, its dir, or
/// a dir of labs) and the rest are scenario names; no lab argument: ./lab.yaml.
fn split_args(args: &[String]) -> (Vec<PathBuf>, Vec<String>, usize) {
    if let Some(first) = args.first()
        && session::is_scenario_path(first)
        && let Some(lab) = lab_of_scenario(first)
    {
        return (vec![crate::lab::resolve(Some(&lab))], args.to_vec(), 0);
    }
    // After the first, a file that is a scenario (`halab test LAB /tmp/x-shrunk.yaml`, as
    // `halab chaos` writes them) starts the names, like a name that is no file.
    let split = args
        .iter()
        .enumerate()
        .position(|(i, x)| !Path::new(x).exists() || (i > 0 && is_scenario_file(Path::new(x))))
        .unwrap_or(args.len());
    let files: Vec<PathBuf> = if split == 0 {
        vec![crate::lab::resolve(None)]
    } else {
        args[..split]
            .iter()
            .flat_map(|x| lab_files(Path::new(x)))
            .collect()
    };
    (files, args[split..].to_vec(), split)
}

pub fn test(a: TestArgs) -> i32 {
    let (lab_files, names, split) = split_args(&a.args);
    let mut choices = Vec::new();
    for e in a.engine.as_deref().unwrap_or("lab").split(',') {
        match EngineChoice::parse(e.trim()) {
            Some(c) => choices.push(c),
            None => {
                eprintln!(
                    "error: unknown engine `{e}` in --engine\n  hint: keepalived, halabd, mixed, or several: --engine keepalived,halabd"
                );
                return exit_codes::BAD_INPUT;
            }
        }
    }
    if lab_files.is_empty() {
        eprintln!(
            "error: no lab with scenarios in {}\n  hint: a lab file, its directory, or a directory of lab directories",
            a.args[..split].join(" ")
        );
        return exit_codes::BAD_INPUT;
    }
    if a.jobs == Some(0) {
        eprintln!("error: --jobs 0 runs nothing\n  hint: --jobs 1 or more");
        return exit_codes::BAD_INPUT;
    }
    match (lab_files.as_slice(), choices.as_slice()) {
        ([one], [choice]) => test_one(&a, one, *choice, &names),
        _ => test_suite(&a, &lab_files, &choices, &names),
    }
}

/// One lab, one engine: on the running lab if it is up, `--keep` honoured.
fn test_one(a: &TestArgs, lab_file: &Path, choice: EngineChoice, names: &[String]) -> i32 {
    let lab_file = lab_file.to_path_buf();
    let mut lab = match crate::lab::load(&lab_file) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{e}");
            return exit_codes::BAD_INPUT;
        }
    };
    // A running lab is tested with the engines it runs (`--engine ... --keep` earlier).
    if choice == EngineChoice::Lab && crate::provider::is_up(&lab, &crate::state::state_root()) {
        lab = crate::provider::as_running(&lab, &crate::state::state_root());
    }
    let engine = choice.apply(&mut lab);
    if is_standard(&lab_file, names) {
        return test_standard(a, &lab, &engine);
    }
    let files = match session::find(&lab_file, names) {
        Ok(f) if f.is_empty() => {
            eprintln!("error: no scenario files beside {}", lab_file.display());
            return exit_codes::BAD_INPUT;
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return exit_codes::BAD_INPUT;
        }
    };
    let (loaded, broken) = session::load_each(&files, &lab);
    for e in &broken {
        eprint!("{e}");
        if !e.ends_with('\n') {
            eprintln!();
        }
    }
    if a.check {
        for (f, _) in &loaded {
            println!("ok {}", f.display());
        }
        return if broken.is_empty() {
            exit_codes::OK
        } else {
            exit_codes::BAD_INPUT
        };
    }
    if loaded.is_empty() {
        return exit_codes::BAD_INPUT;
    }
    if !broken.is_empty() {
        eprintln!(
            "{} scenario file(s) refused; running the {} valid one(s)",
            broken.len(),
            loaded.len()
        );
    }
    let scenarios: Vec<_> = loaded.into_iter().map(|(_, s)| s).collect();
    let mut opts = match UpOptions::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_codes::LAB_ERROR;
        }
    };
    // A lab running under this name with other engines would not be what was asked for.
    if choice != EngineChoice::Lab && crate::provider::is_up(&lab, &opts.state_root) {
        eprintln!(
            "error: lab {} is already up; --engine needs a fresh lab\n  hint: `halab down {}` first, or run without --engine",
            lab.name,
            lab_file.display()
        );
        return exit_codes::LAB_ERROR;
    }
    let json = a.json;
    let mut term = crate::report::TerminalReporter::stdout();
    let mut on_event = |e: &Event| {
        if !json {
            term.event(e);
        }
    };
    let s = session::run_all(&lab, &scenarios, &engine, &mut opts, a.keep, &mut on_event);
    if json {
        print!("{}", crate::report::to_json(&s.results));
    } else {
        // Violations and run errors are in the results, not the live events.
        for r in &s.results {
            term.result(r);
        }
        term.finish();
    }
    let errors: Vec<String> = s.lab_error.into_iter().collect();
    write_reports(a, &s.results, &errors, !broken.is_empty())
}

/// `halab test LAB standard`, unless the lab has a scenario file of that name.
fn is_standard(lab_file: &Path, names: &[String]) -> bool {
    names.len() == 1
        && names[0] == crate::standard::NAME
        && !lab_file
            .parent()
            .unwrap_or(Path::new("."))
            .join("scenarios/standard.yaml")
            .exists()
}

/// The standard suite derived from the lab, then what the configuration does in words.
fn test_standard(a: &TestArgs, lab: &crate::lab::Lab, engine: &str) -> i32 {
    let plan = crate::standard::plan(lab);
    if a.check {
        for p in &plan.planned {
            println!(
                "ok {}: {}",
                p.scenario.name,
                p.scenario.description.as_deref().unwrap_or("")
            );
        }
        for s in &plan.skipped {
            println!("not tested: {s}");
        }
        return exit_codes::OK;
    }
    let scenarios: Vec<_> = plan.planned.iter().map(|p| p.scenario.clone()).collect();
    let mut opts = match UpOptions::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_codes::LAB_ERROR;
        }
    };
    let json = a.json;
    let mut term = crate::report::TerminalReporter::stdout();
    let mut on_event = |e: &Event| {
        if !json {
            term.event(e);
        }
    };
    let s = session::run_all(lab, &scenarios, engine, &mut opts, a.keep, &mut on_event);
    if json {
        print!("{}", crate::report::to_json(&s.results));
    } else {
        for r in &s.results {
            term.result(r);
        }
        term.finish();
        print!("{}", crate::standard::report::summary(&plan, &s.results));
    }
    let errors: Vec<String> = s.lab_error.into_iter().collect();
    write_reports(a, &s.results, &errors, false)
}

/// JUnit and HTML reports if asked, lab errors, and the exit code.
fn write_reports(
    a: &TestArgs,
    results: &[ScenarioResult],
    lab_errors: &[String],
    broken: bool,
) -> i32 {
    if let Some(p) = &a.junit
        && let Err(e) = std::fs::write(p, crate::report::to_junit(results))
    {
        eprintln!("error: failed to write {}: {e}", p.display());
    }
    if let Some(d) = &a.report {
        match crate::report::write_report(d, results) {
            Ok(p) => eprintln!("report: {}", p.display()),
            Err(e) => eprintln!("error: failed to write the report in {}: {e}", d.display()),
        }
    }
    for e in lab_errors {
        eprintln!("error: {e}");
    }
    if !lab_errors.is_empty() {
        return exit_codes::LAB_ERROR;
    }
    if broken {
        exit_codes::BAD_INPUT
    } else if results.iter().all(|r| r.passed) {
        exit_codes::OK
    } else {
        exit_codes::SCENARIO_FAILED
    }
}

/// Several labs or engines: a suite, `--jobs` units at once, each in its own lab instance.
fn test_suite(
    a: &TestArgs,
    lab_files: &[PathBuf],
    choices: &[EngineChoice],
    names: &[String],
) -> i32 {
    if a.keep {
        eprintln!(
            "error: --keep keeps one lab: it cannot with several labs or engines\n  hint: one lab and one --engine, or no --keep"
        );
        return exit_codes::BAD_INPUT;
    }
    let mut labs = Vec::new();
    for f in lab_files {
        match crate::lab::load(f) {
            Ok(l) => labs.push((f.clone(), l)),
            Err(e) => {
                eprint!("{e}");
                return exit_codes::BAD_INPUT;
            }
        }
    }
    // Scenario names pick from every lab; a name no lab has is an error.
    let mut seen = std::collections::BTreeSet::new();
    let load = |file: &PathBuf, lab: &crate::lab::Lab| {
        // `halab test A B standard --jobs N`: each lab's standard suite is its unit.
        if is_standard(file, names) {
            return Ok(crate::standard::plan(lab)
                .planned
                .into_iter()
                .map(|p| p.scenario)
                .collect());
        }
        let files: Vec<PathBuf> = session::find(file, &[])?
            .into_iter()
            .filter(|p| {
                names.is_empty()
                    || p.file_stem()
                        .is_some_and(|s| names.iter().any(|n| s.to_string_lossy() == n.as_str()))
            })
            .collect();
        session::load_all(&files, lab)
    };
    let units = match suite::plan(&labs, choices, &load) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: failed to {e}");
            return exit_codes::BAD_INPUT;
        }
    };
    for u in &units {
        seen.extend(u.scenarios.iter().map(|s| s.name.clone()));
    }
    let standard = labs.iter().any(|(f, _)| is_standard(f, names));
    if let Some(missing) = names.iter().find(|n| !standard && !seen.contains(*n)) {
        eprintln!(
            "error: no scenario `{missing}` in any of the labs\n  hint: scenario names are file names in each lab's scenarios/ (without .yaml)"
        );
        return exit_codes::BAD_INPUT;
    }
    if a.check {
        // Every scenario of every lab validated (plan loads them all): nothing runs.
        let ok: std::collections::BTreeSet<(String, String)> = units
            .iter()
            .flat_map(|u| {
                u.scenarios
                    .iter()
                    .map(|s| (u.lab_file.display().to_string(), s.name.clone()))
            })
            .collect();
        for (lab, scenario) in ok {
            println!("ok {lab} {scenario}");
        }
        return exit_codes::OK;
    }
    let jobs = a.jobs.unwrap_or_else(suite::default_jobs);
    let options = || {
        UpOptions::from_env()
            .map(|mut o| {
                // Each unit's `up` progress would interleave; the view shows the units.
                o.progress = Box::new(|_| {});
                o
            })
            .map_err(|e| e.to_string())
    };
    let started = std::time::Instant::now();
    let outcomes = if a.json {
        suite::run(&units, jobs, &options, &suite::NoWatch)
    } else {
        let view = crate::report::suite_view::SuiteView::new();
        view.println(&format!(
            "     Running {} scenarios in {} lab instances, {jobs} at once",
            units.iter().map(|u| u.scenarios.len()).sum::<usize>(),
            units.len()
        ));
        suite::run(&units, jobs, &options, &view)
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (u, o) in units.iter().zip(outcomes) {
        results.extend(o.results);
        errors.extend(
            o.lab_error
                .map(|e| format!("{} [{}]: {e}", u.lab_name, u.engine)),
        );
    }
    if a.json {
        print!("{}", crate::report::to_json(&results));
    } else {
        let mut term = crate::report::TerminalReporter::stdout();
        for r in &results {
            term.result(r);
            term.count(r.passed);
        }
        term.finish();
        for u in units.iter().filter(|u| is_standard(&u.lab_file, names)) {
            let mine: Vec<ScenarioResult> = results
                .iter()
                .filter(|r| r.lab == u.lab_name && r.engine == u.engine)
                .cloned()
                .collect();
            print!(
                "{} [{}]:{}",
                u.lab_name,
                u.engine,
                crate::standard::report::summary(&crate::standard::plan(&u.lab), &mine)
            );
        }
        println!(
            "        Wall [{:>8.3}s] {} lab instances, --jobs {jobs}",
            started.elapsed().as_secs_f64(),
            units.len()
        );
    }
    write_reports(a, &results, &errors, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a lab file then a scenario name; a scenario file alone.
    // Output: the lab file is the lab (even if it is not named lab.yaml); the scenario file
    // brings the lab above its `scenarios/` dir; a scenario file after a lab is a scenario.
    #[test]
    fn a_lab_file_first_is_the_lab_and_a_scenario_file_brings_its_lab() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000");
        let lab = root.join("ssh.yaml").to_string_lossy().to_string();
        let (l, names, _) = split_args(&[lab.clone(), "failover".into()]);
        assert_eq!(
            (l, names),
            (vec![PathBuf::from(&lab)], vec!["failover".to_string()])
        );
        let sc = root
            .join("scenarios/failover.yaml")
            .to_string_lossy()
            .to_string();
        let (l, names, _) = split_args(std::slice::from_ref(&sc));
        assert_eq!((l, names), (vec![root.join("lab.yaml")], vec![sc.clone()]));
        // A lab, then a scenario file anywhere (not in a `scenarios/` dir beside a lab).
        let dir = tempfile::tempdir().expect("tmp");
        let loose = dir.path().join("chaos-shrunk.yaml");
        std::fs::copy(&sc, &loose).expect("copy");
        let loose = loose.to_string_lossy().to_string();
        let (l, names, split) = split_args(&[lab.clone(), loose.clone()]);
        assert_eq!(
            (l, names, split),
            (vec![PathBuf::from(&lab)], vec![loose], 1)
        );
    }
}
