//! `halab test [LAB] [SCENARIO...]`: run scenarios against the lab, report, exit code.

use std::path::{Path, PathBuf};

use crate::exit_codes;
use crate::scenario::result::Event;
use crate::scenario::session::{self, EngineChoice};
use crate::up::UpOptions;

pub struct TestArgs {
    /// A lab file or directory, then scenario names; or only scenario names (lab: ./lab.yaml).
    pub args: Vec<String>,
    pub engine: Option<String>,
    pub json: bool,
    pub junit: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub keep: bool,
}

pub fn test(a: TestArgs) -> i32 {
    let (lab_arg, names): (Option<PathBuf>, Vec<String>) = match a.args.first() {
        Some(first) if Path::new(first).exists() => (Some(PathBuf::from(first)), a.args[1..].to_vec()),
        _ => (None, a.args.clone()),
    };
    let lab_file = crate::lab::resolve(lab_arg.as_deref());
    let mut lab = match crate::lab::load(&lab_file) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{e}");
            return exit_codes::BAD_INPUT;
        }
    };
    let choice = match a.engine.as_deref().map(EngineChoice::parse) {
        None => EngineChoice::Lab,
        Some(Some(c)) => c,
        Some(None) => {
            eprintln!("error: unknown engine `{}`\n  hint: keepalived, halabd or mixed", a.engine.unwrap_or_default());
            return exit_codes::BAD_INPUT;
        }
    };
    let engine = choice.apply(&mut lab);
    let files = match session::find(&lab_file, &names) {
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
    let scenarios = match session::load_all(&files, &lab) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            return exit_codes::BAD_INPUT;
        }
    };
    let mut opts = match UpOptions::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_codes::LAB_ERROR;
        }
    };
    // A lab running under this name with other engines would not be what was asked for.
    if choice != EngineChoice::Lab && crate::netns::LabState::path(&crate::provider::netns::state_dir(&opts.state_root, &lab.name)).exists() {
        eprintln!("error: lab {} is already up; --engine needs a fresh lab\n  hint: `halab down {}` first, or run without --engine", lab.name, lab_file.display());
        return exit_codes::LAB_ERROR;
    }
    let json = a.json;
    let mut on_event = |e: &Event| {
        if !json {
            print_event(e);
        }
    };
    let s = session::run_all(&lab, &scenarios, &engine, &mut opts, a.keep, &mut on_event);
    if json {
        println!("{}", serde_json::to_string_pretty(&s.results).unwrap_or_default());
    }
    let _ = (&a.junit, &a.report);
    if let Some(e) = &s.lab_error {
        eprintln!("error: {e}");
        return exit_codes::LAB_ERROR;
    }
    if s.results.iter().all(|r| r.passed) { exit_codes::OK } else { exit_codes::SCENARIO_FAILED }
}

fn print_event(e: &Event) {
    match e {
        Event::ScenarioStarted { lab, scenario, engine, steps } => println!("scenario {lab}/{scenario} [{engine}] ({steps} steps)"),
        Event::StepStarted { .. } => {}
        Event::StepFinished(r) => {
            let status = match &r.outcome {
                crate::scenario::result::Outcome::Passed { .. } => "PASS",
                crate::scenario::result::Outcome::Failed { .. } => "FAIL",
                crate::scenario::result::Outcome::Skipped => "SKIP",
            };
            println!("  {status} {:>7.2}s  {}  {:?}", (r.end_ms - r.start_ms) as f64 / 1000.0, r.description, r.outcome);
        }
        Event::ScenarioFinished { passed, duration_ms } => println!("  {} in {:.1}s", if *passed { "passed" } else { "FAILED" }, *duration_ms as f64 / 1000.0),
    }
}
