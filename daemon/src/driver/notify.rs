//! State changes: logging them keepalived-style, counters, notify scripts (per instance and
//! per sync group).

use std::time::Instant;

use halab_vrrp::{Reason, State};

use super::runner::state_word;
use super::{Daemon, fifo, process, status};
use crate::conf::{self, NotifyConf};

impl Daemon {
    pub(super) fn log_transition(&self, index: usize, to: State, reason: Reason) {
        let runner = &self.runners[index];
        let name = &runner.conf.name;
        match reason {
            Reason::MasterDown if to == State::Master => {
                tracing::info!("({name}) Receive advertisement timeout")
            }
            Reason::MasterResigned => {
                tracing::info!("({name}) Master sent priority 0, taking over")
            }
            Reason::Preempted => tracing::info!("({name}) Preempting a lower priority master"),
            Reason::HigherPriority { src, priority } => {
                let ours = runner.setup.as_ref().map_or(0, |s| s.core.priority());
                tracing::info!(
                    "({name}) received higher priority advert from {src} (priority {priority}, ours {ours})"
                );
            }
            Reason::InterfaceDown => {
                tracing::info!("({name}) Interface {} is down", runner.conf.interface)
            }
            Reason::TrackingFault => tracing::info!("({name}) tracked script or interface failed"),
            Reason::SyncGroup => tracing::info!("({name}) following its sync group"),
            _ => {}
        }
        let word = state_word(to, reason);
        if word == "STOP" {
            tracing::info!("({name}) Stopped");
        } else {
            tracing::info!("({name}) Entering {word} STATE");
        }
    }

    pub(super) fn state_changed(&mut self, index: usize, from: State, to: State, reason: Reason) {
        let runner = &mut self.runners[index];
        let name = runner.conf.name.clone();
        runner.counters.transitions += 1;
        runner.since = Instant::now();
        if to == State::Master {
            runner.counters.became_master += 1;
        }
        if from == State::Master {
            runner.garp_burst_at = None;
            runner.refresh_at = None;
        }
        let word = state_word(to, reason);
        let priority = runner
            .setup
            .as_ref()
            .map_or(runner.conf.priority, |s| s.core.priority());
        let notify = runner.conf.notify.clone();
        self.notify(&notify, "INSTANCE", &name, word, priority);
    }

    /// Runs the notify scripts for a state: the specific one, then `notify` with
    /// `TYPE NAME STATE PRIORITY` (keepalived's arguments).
    pub(super) fn notify(
        &mut self,
        notify: &NotifyConf,
        kind: &str,
        name: &str,
        word: &str,
        priority: u8,
    ) {
        let specific = match word {
            "MASTER" => notify.master.as_ref(),
            "BACKUP" => notify.backup.as_ref(),
            "FAULT" => notify.fault.as_ref(),
            "STOP" => notify.stop.as_ref(),
            _ => None,
        };
        if let Some(command) = specific
            && let Ok(argv) = conf::split_command(&command.command)
            && let Some(run_as) = self.notify_run_as(command)
        {
            process::spawn_notify(argv, &run_as);
        }
        if word == "INIT" {
            return;
        }
        let line = fifo::line(kind, name, word, priority);
        for fifo in &mut self.fifos {
            fifo.write(&line);
        }
        if let Some(command) = &notify.any
            && let Ok(mut argv) = conf::split_command(&command.command)
            && let Some(run_as) = self.notify_run_as(command)
        {
            argv.extend([
                kind.to_owned(),
                name.to_owned(),
                word.to_owned(),
                priority.to_string(),
            ]);
            process::spawn_notify(argv, &run_as);
        }
    }

    /// keepalived `notify_priority_changes`: a new effective priority goes to the notify FIFOs
    /// as `INSTANCE "NAME" MASTER_PRIORITY|BACKUP_PRIORITY PRIO` (BACKUP_PRIORITY in any state
    /// but MASTER), nothing else runs (keepalived 2.2.7 `send_instance_priority_notifies`).
    pub(super) fn priority_notify(&mut self, index: usize, state: State, priority: u8) {
        let conf = &self.runners[index].conf;
        if self.fifos.is_empty() || !self.config.notify_priority_changes(conf) {
            return;
        }
        let word = if state == State::Master {
            "MASTER_PRIORITY"
        } else {
            "BACKUP_PRIORITY"
        };
        let line = fifo::line("INSTANCE", &conf.name, word, priority);
        for fifo in &mut self.fifos {
            fifo.write(&line);
        }
    }

    /// Opens the notify FIFOs the configuration names, keeping the open ones (and their
    /// scripts) when unchanged.
    pub(super) fn open_fifos(&mut self) {
        let wanted = fifo::wanted(&self.config);
        if self.fifos.iter().map(|f| f.conf()).eq(wanted.iter()) {
            return;
        }
        self.fifos.clear();
        for conf in wanted {
            match fifo::NotifyFifo::open(&conf, &self.run_as) {
                Ok(f) => self.fifos.push(f),
                Err(e) => tracing::error!("Cannot open notify FIFO {}: {e}", conf.path),
            }
        }
    }

    /// `fifo_write_vrrp_states_on_reload`: after a reload, the groups' then the instances'
    /// current states to the FIFOs (instances starting afresh write theirs as they move).
    pub(super) fn write_states_to_fifos(&mut self) {
        let mut lines = Vec::new();
        for group in &self.config.sync_groups {
            if let Some(state) = self.group_states.get(&group.name)
                && *state != halab_api::VrrpState::Init
            {
                lines.push(fifo::line("GROUP", &group.name, state.as_str(), 0));
            }
        }
        for runner in &self.runners {
            let state = runner.state();
            if runner.setup.is_some() && state != State::Initialize {
                let priority = runner
                    .setup
                    .as_ref()
                    .map_or(runner.conf.priority, |s| s.core.priority());
                let word = state_word(state, Reason::Startup);
                lines.push(fifo::line("INSTANCE", &runner.conf.name, word, priority));
            }
        }
        for fifo in &mut self.fifos {
            for line in &lines {
                fifo.write(line);
            }
        }
    }

    /// Who runs a notify script: `notify_master CMD USER [GROUP]`'s user, else script_user
    /// (keepalived's notify_script_init). None, with a warning, for an unknown user.
    fn notify_run_as(&self, command: &conf::Command) -> Option<process::RunAs> {
        let Some(user) = &command.user else {
            return Some(self.run_as.clone());
        };
        let who = (user.clone(), command.group.clone());
        match process::RunAs::resolve(Some(&who), self.run_as.secure) {
            Ok(run_as) => Some(run_as),
            Err(e) => {
                tracing::warn!("Not running notify script {}: {e}", command.command);
                None
            }
        }
    }

    /// Group notify scripts when a sync group's state changes.
    pub(super) fn group_notify(&mut self) {
        let groups = self.config.sync_groups.clone();
        for group in groups {
            let state = status::group_state(&group, &self.runners);
            let previous = self.group_states.insert(group.name.clone(), state);
            if previous.is_some_and(|p| p != state)
                || (previous.is_none() && state != halab_api::VrrpState::Init)
            {
                let word = state.as_str();
                if word != "INIT" {
                    tracing::info!(
                        "VRRP_Group({}) Syncing instances to {word} state",
                        group.name
                    );
                    self.notify(&group.notify, "GROUP", &group.name, word, 0);
                }
            }
        }
    }
}
