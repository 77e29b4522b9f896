//! `halab test [LAB] [SCENARIO...]`: run scenarios against the lab, report, exit code.

use std::path::{Path, PathBuf};

use crate::apply::UpOptions;
use crate::exit_codes;
use crate::scenario::result::Event;
use crate::scenario::session::{self, EngineChoice};

pub struct TestArgs {
    /// A lab file or directory, then scenario names; or only scenario names (lab: ./lab.yaml).
    pub args: Vec<String>,
    pub engine: Option<String>,
    pub json: bool,
    pub junit: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub keep: bool,
    /// Validate the scenarios against the lab and stop: nothing runs.
    pub check: bool,
}

/// The lab (a file or directory, or none: ./lab.yaml) and the scenarios (names or paths).
/// A scenario file given first (`scenarios/x.yaml`) brings its lab: the directory above
/// `scenarios/`.
fn split_args(args: &[String]) -> (Option<PathBuf>, Vec<String>) {
    match args.first() {
        Some(first) if session::is_scenario_path(first) && !is_lab_file(first) => {
            let lab = Path::new(first)
                .parent()
                .filter(|d| d.file_name().is_some_and(|n| n == "scenarios"))
                .and_then(Path::parent)
                .map(|d| {
                    if d.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        d.to_path_buf()
                    }
                });
            (lab, args.to_vec())
        }
        Some(first) if Path::new(first).exists() => {
            (Some(PathBuf::from(first)), args[1..].to_vec())
        }
        _ => (None, args.to_vec()),
    }
}

/// A lab file (`ssh.yaml`, `lab.yaml`) has top-level `nodes:`; a scenario file has none.
fn is_lab_file(path: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l.starts_with("nodes:")))
}

pub fn test(a: TestArgs) -> i32 {
    let (lab_arg, names) = split_args(&a.args);
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
            eprintln!(
                "error: unknown engine `{}`\n  hint: keepalived, halabd or mixed",
                a.engine.unwrap_or_default()
            );
            return exit_codes::BAD_INPUT;
        }
    };
    // A running lab is tested with the engines it runs (`--engine ... --keep` earlier).
    if choice == EngineChoice::Lab && crate::provider::is_up(&lab, &crate::state::state_root()) {
        lab = crate::provider::as_running(&lab, &crate::state::state_root());
    }
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
    if let Some(p) = &a.junit
        && let Err(e) = std::fs::write(p, crate::report::to_junit(&s.results))
    {
        eprintln!("error: failed to write {}: {e}", p.display());
    }
    if let Some(d) = &a.report {
        match crate::report::write_report(d, &s.results) {
            Ok(p) => eprintln!("report: {}", p.display()),
            Err(e) => eprintln!("error: failed to write the report in {}: {e}", d.display()),
        }
    }
    if let Some(e) = &s.lab_error {
        eprintln!("error: {e}");
        return exit_codes::LAB_ERROR;
    }
    if !broken.is_empty() {
        exit_codes::BAD_INPUT
    } else if s.results.iter().all(|r| r.passed) {
        exit_codes::OK
    } else {
        exit_codes::SCENARIO_FAILED
    }
}
