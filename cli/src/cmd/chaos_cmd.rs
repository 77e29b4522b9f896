//! `halab chaos LAB`: random faults on a lab, invariants checked, findings shrunk to a
//! scenario file (docs/chaos.md). Brings the lab up as an instance of its own (netns) unless
//! it is already running, and down again afterwards.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::apply::UpOptions;
use crate::chaos::run::{self, ChaosReport, Limit, Options, Progress};
use crate::exit_codes;
use crate::lab::raw::Provider;
use crate::scenario::file::parse_duration;
use crate::scenario::session::EngineChoice;

pub struct ChaosArgs {
    pub lab: Option<PathBuf>,
    pub engine: Option<String>,
    pub duration: Option<String>,
    pub faults: Option<usize>,
    pub seed: Option<u64>,
    pub json: bool,
    pub report: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub keep_going: bool,
    pub shrink_budget: usize,
    pub differential: bool,
}

fn bad(msg: &str, hint: &str) -> i32 {
    eprintln!("error: {msg}\n  hint: {hint}");
    exit_codes::BAD_INPUT
}

pub fn chaos(a: ChaosArgs) -> i32 {
    let lab_file = crate::lab::resolve(a.lab.as_deref());
    let mut lab = match crate::lab::load(&lab_file) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{e}");
            return exit_codes::BAD_INPUT;
        }
    };
    let Some(choice) = EngineChoice::parse(a.engine.as_deref().unwrap_or("lab")) else {
        return bad(
            &format!(
                "unknown engine `{}` in --engine",
                a.engine.unwrap_or_default()
            ),
            "keepalived, halabd or mixed",
        );
    };
    let limit = match (&a.duration, a.faults) {
        (Some(_), Some(_)) => {
            return bad(
                "--duration and --faults both given",
                "one of them: --duration 10m or --faults 20",
            );
        }
        (Some(d), None) => match parse_duration(d) {
            Some(d) if !d.is_zero() => Limit::Duration(d),
            _ => return bad(&format!("`{d}` is not a duration"), "write 90s, 10m, 1.5m"),
        },
        (None, Some(0)) => return bad("--faults 0 runs nothing", "--faults 1 or more"),
        (None, Some(n)) => Limit::Faults(n),
        (None, None) => Limit::Duration(Duration::from_secs(600)),
    };
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() % 100_000)
    });
    let mut opts = match UpOptions::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_codes::LAB_ERROR;
        }
    };
    let was_up = crate::provider::is_up(&lab, &opts.state_root);
    if was_up {
        if choice != EngineChoice::Lab {
            eprintln!(
                "error: lab {} is already up; --engine needs a fresh lab\n  hint: `halab down {}` first, or run without --engine",
                lab.name,
                lab_file.display()
            );
            return exit_codes::LAB_ERROR;
        }
        lab = crate::provider::as_running(&lab, &opts.state_root);
    } else if lab.provider == Provider::Netns {
        // An instance of its own: two campaigns (or a campaign and `halab test`) never share
        // namespaces or state.
        lab.name = format!("{}-{}c", lab.name, std::process::id());
    }
    let engine = choice.apply(&mut lab);
    let out_dir = a.out.clone().unwrap_or_else(|| PathBuf::from("chaos"));
    let engine_flag = match choice {
        EngineChoice::Lab => String::new(),
        _ => format!(" --engine {}", a.engine.clone().unwrap_or_default()),
    };
    let halabd = opts.halabd.to_string_lossy().to_string();
    if !was_up {
        eprintln!("chaos: bringing lab {} up [{engine}]", lab.name);
        if let Err(e) = crate::provider::up(&lab, &mut opts) {
            eprintln!("error: failed to bring lab {} up: {e}", lab.name);
            let _ = crate::provider::down(&opts.state_root, &lab.name, false);
            return exit_codes::LAB_ERROR;
        }
    }
    let fleet = match crate::provider::open_fleet(&lab, &opts.state_root) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            if !was_up {
                let _ = crate::provider::down(&opts.state_root, &lab.name, false);
            }
            return exit_codes::LAB_ERROR;
        }
    };
    let tty = std::io::stderr().is_terminal();
    let mut last_done = usize::MAX;
    let mut progress = |p: &Progress| {
        if tty {
            eprint!("\r\x1b[K{}", crate::report::fmt::truncate(&p.line(), 160));
        } else if p.done != last_done {
            last_done = p.done;
            eprintln!("{}", p.line());
        }
    };
    let mut options = Options {
        seed,
        limit,
        keep_going: a.keep_going,
        shrink_budget: a.shrink_budget,
        out_dir,
        replay_command: String::new(),
        halabd,
        engine,
        differential: a.differential,
    };
    let limit_flag = match limit {
        Limit::Faults(n) => format!("--faults {n}"),
        Limit::Duration(d) => format!("--duration {}s", d.as_secs()),
    };
    options.replay_command = format!(
        "halab chaos {}{engine_flag} --seed {seed} {limit_flag}{}",
        lab_file.display(),
        if a.differential {
            " --differential"
        } else {
            ""
        }
    );
    let result = run::run(&lab, &fleet, &options, &mut progress);
    if tty {
        eprintln!();
    }
    if !was_up && let Err(e) = crate::provider::down(&opts.state_root, &lab.name, false) {
        eprintln!("error: failed to tear lab {} down: {e}", lab.name);
    }
    let mut report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_codes::LAB_ERROR;
        }
    };
    // Reports name the lab, not its instance.
    if let Ok(base) = crate::lab::load(&lab_file) {
        report.lab = base.name.clone();
        for r in report.results.iter_mut() {
            r.lab = base.name.clone();
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", summary(&report, &options.replay_command));
    }
    if let Some(d) = &a.report {
        write_report(d, &report);
    }
    if let Some(e) = &report.lab_error {
        eprintln!("error: {e}");
        return exit_codes::LAB_ERROR;
    }
    if report.findings().is_empty() {
        exit_codes::OK
    } else {
        exit_codes::SCENARIO_FAILED
    }
}

fn write_report(dir: &Path, report: &ChaosReport) {
    match crate::report::write_report(dir, &report.results) {
        Ok(p) => eprintln!("report: {}", p.display()),
        Err(e) => eprintln!(
            "error: failed to write the report in {}: {e}",
            dir.display()
        ),
    }
    let path = dir.join("chaos.json");
    if let Err(e) = std::fs::write(
        &path,
        serde_json::to_string_pretty(report).unwrap_or_default(),
    ) {
        eprintln!("error: failed to write {}: {e}", path.display());
    }
}

/// The terminal summary: figures, the longest outage per fault kind, findings, files.
pub fn summary(r: &ChaosReport, replay: &str) -> String {
    let mut s = String::new();
    let findings = r.findings();
    let _ = writeln!(
        s,
        "chaos {} [{}] seed {}: {} faults in {} episodes, {:.0} s ({:.1} faults/min), {} finding(s), {} starved",
        r.lab,
        r.engine,
        r.seed,
        r.faults,
        r.episodes.len(),
        r.elapsed_ms as f64 / 1000.0,
        r.faults_per_minute,
        findings.len(),
        r.starved
    );
    if !r.longest_outage.is_empty() {
        let _ = writeln!(s, "longest outage per fault kind:");
        for (kind, l) in &r.longest_outage {
            let _ = writeln!(
                s,
                "  {kind:<28} {:>6.2} s  (fault {}, {} episode(s))",
                l.ms as f64 / 1000.0,
                l.episode,
                l.episodes
            );
        }
    }
    for (n, f) in &findings {
        let desc = r
            .episodes
            .iter()
            .find(|e| e.number == *n)
            .map(|e| e.episode.describe())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "FINDING fault {n} ({desc}): {}: {}",
            f.invariant.name(),
            f.detail
        );
    }
    for e in r.episodes.iter().filter(|e| e.replay_file.is_some()) {
        if let Some(p) = &e.replay_file {
            let _ = writeln!(s, "fault {} alone: {}", e.number, p.display());
        }
        if let Some(sh) = &e.shrink {
            let _ = writeln!(
                s,
                "  shrunk ({} replays{}): {} fault(s): {}",
                sh.replays,
                if sh.reproduced {
                    ""
                } else {
                    ", not reproduced"
                },
                sh.faults,
                sh.shrunk_file.display()
            );
        }
    }
    if let Some(sh) = &r.shrink {
        let _ = writeln!(s, "schedule replay: {}", sh.replay_file.display());
        let _ = writeln!(
            s,
            "shrunk ({} replays{}): {} fault(s), faults {:?}: {}",
            sh.replays,
            if sh.reproduced {
                ""
            } else {
                ", not reproduced"
            },
            sh.faults,
            sh.episodes,
            sh.shrunk_file.display()
        );
    }
    let (compared, differing) = r.differential();
    if compared > 0 {
        let _ = writeln!(
            s,
            "differential: {compared} episode(s) compared with halab-sim, {differing} differ"
        );
        for e in &r.episodes {
            for d in e.differences.iter().flatten() {
                let _ = writeln!(
                    s,
                    "  DIFFERENCE fault {} ({}): {} {}: sim {:?}, lab {:?}",
                    e.number,
                    e.episode.describe(),
                    d.instance,
                    d.when,
                    d.sim,
                    d.real
                );
            }
        }
    }
    let _ = writeln!(s, "run again: {replay}");
    s
}
