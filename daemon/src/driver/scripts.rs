//! Tracking: `vrrp_script` tasks, their results, and feeding each instance its tracking
//! status (with its sync group's fault folded in).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use halab_vrrp::{Input, ScriptOutcome};
use tokio::task::AbortHandle;

use super::{Daemon, Event, process};
use crate::conf::ScriptConf;

/// A running `vrrp_script`.
pub(super) struct ScriptTask {
    pub(super) conf: ScriptConf,
    pub(super) generation: u64,
    pub(super) task: AbortHandle,
    pub(super) stats: halab_api::ScriptStatus,
}

impl Drop for ScriptTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Daemon {
    pub(super) fn start_script(&mut self, conf: ScriptConf) {
        self.next_id += 1;
        let generation = self.next_id;
        if let Some(reason) = conf.argv.first().and_then(|p| self.run_as.insecure(p)) {
            tracing::error!("Disabling vrrp_script {}: {reason}", conf.name);
        }
        let insecure = conf
            .argv
            .first()
            .and_then(|p| self.run_as.insecure(p))
            .is_some();
        let tx = self.tx.clone();
        let run_as = self.run_as.clone();
        let task_conf = conf.clone();
        let task = tokio::spawn(async move {
            let interval = Duration::from_millis(task_conf.interval_ms);
            let timeout = Duration::from_millis(task_conf.effective_timeout_ms());
            loop {
                let started = tokio::time::Instant::now();
                let (outcome, code) = if insecure {
                    (ScriptOutcome::Failure, None)
                } else {
                    process::run_check(&task_conf.argv, task_conf.shell, timeout, &run_as).await
                };
                let event = Event::Script {
                    name: task_conf.name.clone(),
                    generation,
                    outcome,
                    code,
                };
                if tx.send(event).await.is_err() {
                    return;
                }
                tokio::time::sleep_until(started + interval).await;
            }
        });
        let stats = halab_api::ScriptStatus {
            name: conf.name.clone(),
            command: conf.command.clone(),
            state: "init".into(),
            ..halab_api::ScriptStatus::default()
        };
        self.scripts.insert(
            conf.name.clone(),
            ScriptTask {
                conf,
                generation,
                task: task.abort_handle(),
                stats,
            },
        );
    }

    pub(super) async fn script_result(
        &mut self,
        name: &str,
        generation: u64,
        outcome: ScriptOutcome,
        code: Option<i32>,
    ) {
        let Some(task) = self.scripts.get_mut(name) else {
            return;
        };
        if task.generation != generation {
            return;
        }
        task.stats.runs += 1;
        if outcome != ScriptOutcome::Success {
            task.stats.failures += 1;
        }
        task.stats.last_exit_code = code;
        task.stats.last_outcome = Some(
            match outcome {
                ScriptOutcome::Success => "success",
                ScriptOutcome::Failure => "failure",
                ScriptOutcome::TimedOut => "timed_out",
            }
            .into(),
        );
        if outcome == ScriptOutcome::TimedOut {
            tracing::warn!("Script {name} timed out, killed it");
        }
        let mut changed = false;
        let mut first_state = None;
        for runner in &mut self.runners {
            let before = (runner.script_state(name), runner.track_status());
            let known = runner.tracker.script_result(name, outcome).is_ok();
            if known | runner.extra.script_result(name, outcome) {
                let after = (runner.script_state(name), runner.track_status());
                changed |= before != after;
                first_state = first_state.or(after.0);
            }
        }
        if let (Some(state), Some(task)) = (first_state, self.scripts.get_mut(name)) {
            let word = format!("{state:?}").to_lowercase();
            if task.stats.state != word {
                let verb = match state {
                    halab_vrrp::track::ScriptState::Ok => "succeeded",
                    halab_vrrp::track::ScriptState::Failed => "failed",
                    halab_vrrp::track::ScriptState::Init => "init",
                };
                tracing::info!("Script `{name}` now returning {verb}");
                task.stats.state = word;
            }
        }
        if changed {
            self.refresh_tracking().await;
        }
    }

    /// Feeds each instance its tracking status, with its sync group's fault folded in
    /// (keepalived: one member in FAULT puts the whole group in FAULT).
    pub(super) async fn refresh_tracking(&mut self) {
        // Each instance's group, looked up once (hundreds of members: no scan per instance).
        let group_of: HashMap<&str, usize> = self
            .config
            .sync_groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.instances.iter().map(move |i| (i.as_str(), g)))
            .collect();
        let mut group_fault = vec![false; self.config.sync_groups.len()];
        for runner in &self.runners {
            if let Some(&g) = group_of.get(runner.conf.name.as_str()) {
                group_fault[g] |= runner.own_fault();
            }
        }
        let in_group: Vec<Option<usize>> = self
            .runners
            .iter()
            .map(|r| group_of.get(r.conf.name.as_str()).copied())
            .collect();
        let now = self.now_ts(Instant::now());
        for (index, group) in in_group.into_iter().enumerate() {
            let runner = &mut self.runners[index];
            let mut status = runner.track_status();
            if let Some(g) = group
                && group_fault[g]
                && !status.fault
                && runner.link_up
                && runner.setup.is_some()
            {
                tracing::info!(
                    "({}) sync group {} is in FAULT",
                    runner.conf.name,
                    self.config.sync_groups[g].name
                );
                status.fault = true;
            }
            if status == runner.fed {
                continue;
            }
            runner.fed = status;
            if let Some(setup) = runner.setup.as_mut() {
                let mut actions = setup
                    .core
                    .handle(now, Input::TrackingChanged { tracking: status });
                self.apply(index, &mut actions).await;
            }
        }
        self.group_notify();
    }
}
