//! A chaos run on a running lab: episodes drawn from the seed, each run as a scenario of its
//! own through the scenario runner (probe, invariant monitor, assertions, starvation canary),
//! judged, the lab restored between episodes. On a real finding the run stops (unless told
//! to keep going), writes the schedule so far as a scenario file, shrinks it by replaying
//! smaller schedules, and writes the smallest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::ChaosError;
use super::differential::{self, Difference};
use super::invariants::{self, Finding, Invariant};
use super::schedule::{Episode, Generator};
use super::shrink::{self, Candidate};
use super::target::{LabTarget, Target};
use super::write;
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::scenario::result::{Event, ScenarioResult};

/// How long a run lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// This many episodes.
    Faults(usize),
    /// Episodes are started until this much time has passed.
    Duration(Duration),
}

pub struct Options {
    pub seed: u64,
    pub limit: Limit,
    /// Record findings and go on (a campaign), each failing episode shrunk alone.
    pub keep_going: bool,
    /// Replays the shrink of one finding may run.
    pub shrink_budget: usize,
    /// Where the scenario files go.
    pub out_dir: PathBuf,
    /// The command line that gives this run again, for the files' headers.
    pub replay_command: String,
    /// The halabd binary (for restarts).
    pub halabd: String,
    pub engine: String,
    /// Compare each episode with halab-sim's prediction (`differential`).
    pub differential: bool,
}

/// One episode as it ran.
#[derive(Debug, Clone, Serialize)]
pub struct EpisodeRecord {
    pub number: usize,
    pub episode: Episode,
    /// `crash`, `crash+backend_down`.
    pub kind: String,
    pub duration_ms: u64,
    /// The longest time the client went unserved while the faults were in force.
    pub outage_during_ms: Option<u64>,
    /// ... and after their repair.
    pub outage_after_ms: Option<u64>,
    pub findings: Vec<Finding>,
    /// A scenario file replaying this episode alone (written when it found something).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_file: Option<PathBuf>,
    /// With `--keep-going`: this episode's finding shrunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrink: Option<ShrinkReport>,
    /// With `--differential`: where the simulator's VIP holders differ from the lab's
    /// (None: not compared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differences: Option<Vec<Difference>>,
}

/// The longest outage seen for one fault kind.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Longest {
    pub ms: u64,
    pub episode: usize,
    pub episodes: usize,
}

/// What shrinking gave.
#[derive(Debug, Clone, Serialize)]
pub struct ShrinkReport {
    pub invariant: Invariant,
    pub replay_file: PathBuf,
    pub shrunk_file: PathBuf,
    pub replays: usize,
    pub reproduced: bool,
    /// The run's numbers of the episodes kept.
    pub episodes: Vec<usize>,
    pub faults: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    pub lab: String,
    pub engine: String,
    pub seed: u64,
    pub limit: Limit,
    pub elapsed_ms: u64,
    pub faults: usize,
    pub faults_per_minute: f64,
    pub episodes: Vec<EpisodeRecord>,
    /// Per fault kind (single faults, and `a+b` overlaps): the longest outage seen.
    pub longest_outage: BTreeMap<String, Longest>,
    /// Findings that overlapped a CPU stall (not taken as findings).
    pub starved: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrink: Option<ShrinkReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab_error: Option<String>,
    /// Every episode's scenario result (for the HTML report and `--json`).
    #[serde(skip)]
    pub results: Vec<ScenarioResult>,
}

impl ChaosReport {
    /// Episodes compared with the simulator, and those that differed.
    pub fn differential(&self) -> (usize, usize) {
        let compared: Vec<&Vec<Difference>> = self
            .episodes
            .iter()
            .filter_map(|e| e.differences.as_ref())
            .collect();
        (
            compared.len(),
            compared.iter().filter(|d| !d.is_empty()).count(),
        )
    }

    /// Real findings of the run.
    pub fn findings(&self) -> Vec<(usize, &Finding)> {
        self.episodes
            .iter()
            .flat_map(|e| {
                invariants::real(&e.findings)
                    .into_iter()
                    .map(move |f| (e.number, f))
            })
            .collect()
    }
}

/// Live progress: the line a terminal shows.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub done: usize,
    pub total: Option<usize>,
    pub elapsed: Duration,
    pub limit: Option<Duration>,
    pub current: String,
    pub step: String,
    pub longest_ms: u64,
    pub findings: usize,
    pub starved: usize,
}

impl Progress {
    pub fn line(&self) -> String {
        let of = match (self.total, self.limit) {
            (Some(t), _) => format!("{}/{t} faults", self.done),
            (None, Some(l)) => format!(
                "{} faults, {}/{} s",
                self.done,
                self.elapsed.as_secs(),
                l.as_secs()
            ),
            _ => format!("{} faults", self.done),
        };
        format!(
            "chaos: {of} | {} | {} | longest outage {:.1}s | findings {} | starved {}",
            self.current,
            self.step,
            self.longest_ms as f64 / 1000.0,
            self.findings,
            self.starved
        )
    }
}

fn episode_name(seed: u64, number: usize, e: &Episode) -> String {
    format!("chaos-s{seed}-{number}-{}", e.kind_label())
}

/// How many times the lab is restored before it counts as broken (each waits up to the
/// lab's settle timeout): keepalived's stale ARP entry after a heal can last a minute.
pub const RESTORE_TRIES: usize = 6;

/// Restores the lab after an episode or a replay. When the first try fails after an episode
/// whose own checks passed, the client lost a VIP after them (keepalived's loser's stale ARP
/// entry, say): a "client served" finding of that episode, added to `findings`. The lab is
/// then tried again; one that stays broken is a lab error (the reason returned).
fn restore_after(target: &mut dyn Target, findings: &mut Vec<Finding>) -> Result<(), String> {
    let Err(first) = target.restore() else {
        return Ok(());
    };
    if invariants::real(findings).is_empty() {
        findings.push(invariants::restore_failed(&first));
    }
    let mut last = first;
    for _ in 1..RESTORE_TRIES {
        match target.restore() {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The first two `outage` steps' longest gaps: during the faults, after the repair.
fn outages(r: &ScenarioResult) -> (Option<u64>, Option<u64>) {
    let mut o = r
        .steps
        .iter()
        .filter(|s| s.kind == "outage")
        .map(|s| s.outage.map(|o| o.longest_gap_ms));
    (o.next().flatten(), o.next().flatten())
}

fn write_file(path: &Path, text: &str) -> Result<(), ChaosError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| ChaosError::Write {
            path: d.to_path_buf(),
            source: e,
        })?;
    }
    std::fs::write(path, text).map_err(|e| ChaosError::Write {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Runs the chaos on a running lab (its fleet open).
pub fn run(
    lab: &Lab,
    fleet: &Arc<dyn Fleet>,
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ChaosReport, ChaosError> {
    let mut target = LabTarget {
        lab,
        fleet,
        engine: &opts.engine,
        halabd: &opts.halabd,
    };
    campaign(lab, &mut target, opts, progress)
}

/// Runs the chaos on `target`, a lab described by `lab`.
pub fn campaign(
    lab: &Lab,
    target: &mut dyn Target,
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ChaosReport, ChaosError> {
    let mut generator = Generator::new(lab, opts.seed);
    if generator.is_empty() {
        return Err(ChaosError::NothingToBreak(lab.name.clone()));
    }
    let t0 = Instant::now();
    let mut report = ChaosReport {
        lab: lab.name.clone(),
        engine: opts.engine.clone(),
        seed: opts.seed,
        limit: opts.limit,
        elapsed_ms: 0,
        faults: 0,
        faults_per_minute: 0.0,
        episodes: Vec::new(),
        longest_outage: BTreeMap::new(),
        starved: 0,
        shrink: None,
        lab_error: None,
        results: Vec::new(),
    };
    let mut p = Progress {
        total: match opts.limit {
            Limit::Faults(n) => Some(n),
            Limit::Duration(_) => None,
        },
        limit: match opts.limit {
            Limit::Duration(d) => Some(d),
            Limit::Faults(_) => None,
        },
        ..Progress::default()
    };
    let mut stop_at: Option<usize> = None;
    for number in 0.. {
        let more = match opts.limit {
            Limit::Faults(n) => number < n,
            Limit::Duration(d) => t0.elapsed() < d,
        };
        if !more {
            break;
        }
        let e = generator.next_episode();
        let name = episode_name(opts.seed, number, &e);
        let one = Candidate {
            episodes: vec![e.clone()],
            numbers: vec![number],
        };
        p.current = format!("fault {number}: {}", e.describe());
        p.step = "starting".into();
        progress(&p);
        let started = Instant::now();
        let (r, mut findings) = {
            let mut on_event = |ev: &Event| {
                if let Event::StepStarted { index, description } = ev {
                    p.step = format!("step {}: {description}", index + 1);
                    p.elapsed = t0.elapsed();
                    progress(&p);
                }
            };
            target.episodes(&name, &one, &mut on_event)?
        };
        let (during, after) = outages(&r);
        let kind = e.kind_label();
        if let Some(ms) = during.into_iter().chain(after).max() {
            let l = report
                .longest_outage
                .entry(kind.clone())
                .or_insert(Longest {
                    ms,
                    episode: number,
                    episodes: 0,
                });
            if ms > l.ms {
                l.ms = ms;
                l.episode = number;
            }
            p.longest_ms = p.longest_ms.max(ms);
        }
        if let Some(l) = report.longest_outage.get_mut(&kind) {
            l.episodes += 1;
        }
        let differences = if opts.differential && findings.is_empty() {
            let settled = target.settled_holders();
            differential::compare(lab, &e, &r, &settled)
        } else {
            None
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        p.done = number + 1;
        p.elapsed = t0.elapsed();
        p.step = "restoring the lab".into();
        progress(&p);
        let restored = restore_after(target, &mut findings);
        let real = !invariants::real(&findings).is_empty();
        report.starved += findings.iter().filter(|f| f.starved.is_some()).count();
        p.starved = report.starved;
        let replay_file = if real {
            p.findings += 1;
            let path = opts.out_dir.join(format!("{name}.yaml"));
            let header = format!(
                "halab chaos: fault {number} of {} alone, which broke an invariant\n{}",
                opts.replay_command,
                findings
                    .iter()
                    .map(|f| format!("{}: {}", f.invariant.name(), f.detail))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            write_file(
                &path,
                &write::scenario_text(lab, &header, std::slice::from_ref(&e), &[number]),
            )?;
            Some(path)
        } else {
            None
        };
        report.episodes.push(EpisodeRecord {
            number,
            episode: e,
            kind,
            duration_ms,
            outage_during_ms: during,
            outage_after_ms: after,
            findings,
            replay_file: replay_file.clone(),
            shrink: None,
            differences,
        });
        report.results.push(r);
        if let Err(e) = restored {
            report.lab_error = Some(format!(
                "failed to restore lab {} after fault {number}: {e}",
                lab.name
            ));
            break;
        }
        if let (true, Some(replay_file)) = (opts.keep_going, replay_file) {
            // Each failing episode alone: the lab was restored before it.
            let s = shrink_finding(
                lab,
                target,
                opts,
                &report.episodes[number],
                one,
                replay_file,
                opts.out_dir.join(format!("{name}-shrunk.yaml")),
                progress,
            );
            match s {
                Ok(s) => report.episodes[number].shrink = Some(s),
                Err(e) => {
                    report.lab_error = Some(format!(
                        "failed to shrink fault {number} of lab {}: {e}",
                        lab.name
                    ));
                    break;
                }
            }
        } else if real {
            stop_at = Some(number);
            break;
        }
    }
    report.elapsed_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.faults = report.episodes.iter().map(|e| e.episode.faults.len()).sum();
    report.faults_per_minute = report.faults as f64 * 60_000.0 / report.elapsed_ms.max(1) as f64;
    if let Some(k) = stop_at {
        // The schedule up to the failing episode: earlier ones may have set it up.
        let start = Candidate {
            episodes: report.episodes[..=k]
                .iter()
                .map(|e| e.episode.clone())
                .collect(),
            numbers: (0..=k).collect(),
        };
        let base = format!("chaos-{}-s{}", lab.name, opts.seed);
        let replay_file = opts.out_dir.join(format!("{base}-replay.yaml"));
        let failing = &report.episodes[k];
        let header = format!(
            "halab chaos: the schedule up to fault {k}, which broke `{}`\nrun again: {}\n{}",
            first_invariant(failing).name(),
            opts.replay_command,
            invariants::real(&failing.findings)
                .iter()
                .map(|f| f.detail.clone())
                .collect::<Vec<_>>()
                .join("\n")
        );
        write_file(
            &replay_file,
            &write::scenario_text(lab, &header, &start.episodes, &start.numbers),
        )?;
        report.shrink = Some(shrink_finding(
            lab,
            target,
            opts,
            failing,
            start,
            replay_file,
            opts.out_dir.join(format!("{base}-shrunk.yaml")),
            progress,
        )?);
    }
    Ok(report)
}

fn first_invariant(failing: &EpisodeRecord) -> Invariant {
    invariants::real(&failing.findings)
        .first()
        .map_or(Invariant::DaemonAlive, |f| f.invariant)
}

/// Shrinks `start` (ending with the `failing` episode, written to `replay_file`) while its
/// invariant still breaks, and writes the smallest schedule to `shrunk_file`.
#[expect(clippy::too_many_arguments, reason = "one call per mode, each naming its files")]
fn shrink_finding(
    lab: &Lab,
    target: &mut dyn Target,
    opts: &Options,
    failing: &EpisodeRecord,
    start: Candidate,
    replay_file: PathBuf,
    shrunk_file: PathBuf,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ShrinkReport, ChaosError> {
    let invariant = first_invariant(failing);
    let stem = shrunk_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut p = Progress {
        done: failing.number + 1,
        current: format!("shrinking fault {} ({})", failing.number, invariant.name()),
        ..Progress::default()
    };
    let mut n = 0usize;
    let mut error: Option<ChaosError> = None;
    let mut replay = |c: &Candidate| -> Vec<Finding> {
        // A lab that could not be restored runs nothing more.
        if error.is_some() {
            return Vec::new();
        }
        n += 1;
        let name = format!("{stem}{n}");
        p.step = format!("replay {n}: faults {:?}", c.numbers);
        progress(&p);
        let mut out = match target.episodes(&name, c, &mut |_| {}) {
            Ok((_, f)) => f,
            Err(e) => {
                error.get_or_insert(e);
                Vec::new()
            }
        };
        if let Err(e) = restore_after(target, &mut out) {
            error.get_or_insert(ChaosError::Restore(e));
        }
        out
    };
    let s = shrink::shrink(start, invariant, opts.shrink_budget, &mut replay);
    if let Some(e) = error {
        return Err(e);
    }
    let header = format!(
        "halab chaos: the smallest schedule found ({} replays) that still breaks `{}`{}\nfrom: {}\nrun it: halab test {} {}",
        s.replays,
        invariant.name(),
        if s.reproduced {
            ""
        } else {
            " (NOT reproduced on replay: this is the whole schedule)"
        },
        opts.replay_command,
        lab.file.display(),
        shrunk_file.display()
    );
    write_file(
        &shrunk_file,
        &write::scenario_text(lab, &header, &s.smallest.episodes, &s.smallest.numbers),
    )?;
    Ok(ShrinkReport {
        invariant,
        replay_file,
        shrunk_file,
        replays: s.replays,
        reproduced: s.reproduced,
        faults: s.smallest.episodes.iter().map(|e| e.faults.len()).sum(),
        episodes: s.smallest.numbers,
    })
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
