//! Configuration: installing a configuration (at startup and on reload, keeping unchanged
//! instances and scripts), SIGHUP reload, and shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use halab_vrrp::Input;

use super::Daemon;
use super::process::{self, RunAs};
use super::runner::Runner;
use super::tracked::Plan;
use super::watch::{self, Values};
use crate::conf::{self, Config, ScriptConf};

impl Daemon {
    /// Starts scripts and instances for `config` (at startup, and on reload keeping what did
    /// not change).
    pub(super) async fn install(&mut self, mut config: Config) {
        if let Some(id) = &config.router_id {
            tracing::info!("Using router_id {id}");
        }
        // keepalived: a script that cannot be found is disabled, not failed (no FAULT).
        for message in super::missing_scripts(&config) {
            tracing::warn!("{message}");
        }
        config
            .scripts
            .retain(|s| !process::missing(&s.argv, s.shell));
        // What each instance tracks, its sync group's trackers included.
        let mut plans: HashMap<String, Plan> = HashMap::new();
        for instance in &config.instances {
            let (plan, notes) = Plan::resolve(&config, instance);
            for note in notes {
                tracing::warn!("{note}");
            }
            plans.insert(instance.name.clone(), plan);
        }
        // Scripts: keep those whose configuration is unchanged, restart the others.
        let tracked: Vec<&ScriptConf> = config
            .scripts
            .iter()
            .filter(|s| {
                plans
                    .values()
                    .any(|p| p.scripts.iter().any(|t| t.name == s.name))
            })
            .collect();
        for s in &config.scripts {
            if !tracked.iter().any(|t| t.name == s.name) {
                tracing::warn!(
                    "vrrp_script {} is not tracked by any instance, not running it",
                    s.name
                );
            }
        }
        self.scripts
            .retain(|name, task| tracked.iter().any(|s| &s.name == name && **s == task.conf));
        for script in tracked {
            if !self.scripts.contains_key(&script.name) {
                self.start_script(script.clone());
            }
        }
        // Instances: keep unchanged ones (same settings, same scripts) with their state.
        let old: Vec<Runner> = std::mem::take(&mut self.runners);
        let mut kept: HashMap<String, Runner> = HashMap::new();
        for runner in old {
            // The core knows whether it is in a sync group: joining or leaving one restarts it.
            let grouped = |c: &Config| {
                c.sync_groups
                    .iter()
                    .any(|g| g.instances.contains(&runner.conf.name))
            };
            let same = grouped(&self.config) == grouped(&config)
                && plans.get(&runner.conf.name) == Some(&runner.plan)
                && config.instances.iter().any(|new| {
                    *new == runner.conf
                        && new.track_scripts.iter().all(|(n, _)| {
                            config.scripts.iter().find(|s| &s.name == n)
                                == runner.scripts.iter().find(|s| &s.name == n)
                        })
                });
            if same {
                kept.insert(runner.conf.name.clone(), runner);
            } else {
                self.stop_runner(runner).await;
            }
        }
        let first = self.runners.is_empty() && kept.is_empty() && self.reloads == 0;
        let values = self.watch_trackers(&config, &plans, first);
        self.config = config;
        self.open_fifos();
        self.address_cache = self.netlink.addresses().await.ok().map(Arc::new);
        // The runners keep the instances' configuration; a second copy here would double
        // the largest part of the daemon's memory at 1000 instances.
        let instances = std::mem::take(&mut self.config.instances);
        // One runner each, in one allocation: no vector doubled and left behind in the heap.
        self.runners.reserve_exact(instances.len());
        let mut opened = Vec::new();
        for conf in instances {
            if let Some(runner) = kept.remove(&conf.name) {
                tracing::info!(
                    "({}) configuration unchanged, keeping state {:?}",
                    conf.name,
                    runner.state()
                );
                self.runners.push(runner);
                continue;
            }
            self.next_id += 1;
            let links = &self.links;
            let plan = plans.remove(&conf.name).unwrap_or_default();
            let runner = Runner::new(
                self.next_id,
                conf,
                plan,
                &self.config.scripts,
                &values,
                |name| links.values().any(|l| l.name == name && l.up),
            );
            self.runners.push(runner);
            let index = self.runners.len() - 1;
            opened.extend(self.open_runner(index).await);
        }
        // RFC 5798 6.4.1: the Startup event, for every new instance at one moment (their
        // timers fall due together: one wake-up, one burst of adverts), taken once all their
        // sockets listen, so the first Master_Down_Interval is all spent listening.
        let now = self.now_ts(Instant::now());
        self.install_started = Some(now);
        // keepalived vrrp_startup_delay: from the daemon's start, never on reload (keepalived
        // vrrp_daemon.c `if (!reload && global_data->vrrp_startup_delay)`); a reload within
        // it still honours what is left of it, as keepalived's global deadline does.
        if first && let Some(us) = self.config.global.startup_delay_us {
            tracing::info!("Delaying startup for {} seconds", us as f64 / 1e6);
            self.startup_delay_until = Some(now.plus_micros(us));
        }
        for opened in opened {
            self.start_core(opened).await;
        }
        // Kept instances learn the values just read (the new watcher reports from these on).
        for runner in &mut self.runners {
            for (name, value) in &values.files {
                runner.extra.file_changed(name, *value);
            }
            for (name, up) in &values.processes {
                runner.extra.process_changed(name, *up);
            }
        }
        self.address_cache = None;
        self.install_started = None;
        self.prune_sockets();
        self.rebuild_timers();
        self.refresh_tracking().await;
    }

    /// Shuts an instance down for good (reload removed or changed it).
    pub(super) async fn stop_runner(&mut self, mut runner: Runner) {
        tracing::info!("({}) stopping", runner.name());
        let vmac = runner.vmac.take();
        if let Some(setup) = runner.setup.as_mut() {
            let now = Instant::now();
            let mut actions = setup.core.handle(self.now_ts(now), Input::Shutdown);
            self.runners.push(runner);
            let index = self.runners.len() - 1;
            self.apply(index, &mut actions).await;
            self.runners.pop();
        }
        if let Some(vmac) = vmac {
            // Its socket goes first (prune_sockets), or the kernel keeps the link busy.
            self.prune_sockets();
            self.remove_vmac(vmac).await;
        }
    }

    pub(super) async fn reload(&mut self) {
        tracing::info!(
            "Reloading configuration from {}",
            self.options.config_file.display()
        );
        match conf::load(&self.options.config_file) {
            Ok(parsed) => {
                for notice in &parsed.notices {
                    tracing::warn!("{notice}");
                }
                match RunAs::resolve(
                    parsed.config.script_user.as_ref(),
                    parsed.config.enable_script_security,
                ) {
                    Ok(run_as) => {
                        if run_as != self.run_as {
                            // Every script runs as someone else now: restart them all.
                            self.scripts.clear();
                            self.run_as = run_as;
                        }
                    }
                    Err(e) => {
                        tracing::error!("Reload refused: {e}");
                        self.failed_reloads += 1;
                        return;
                    }
                }
                self.install(parsed.config).await;
                if self.config.global.fifo_write_states_on_reload {
                    self.write_states_to_fifos();
                }
                self.reloads += 1;
                tracing::info!("Configuration reloaded");
            }
            Err(errors) => {
                self.failed_reloads += 1;
                for e in &errors.0 {
                    tracing::error!("{e}");
                }
                tracing::error!(
                    "Reload refused: the configuration has errors; keeping the running one"
                );
            }
        }
    }

    pub(super) async fn shutdown(&mut self) {
        tracing::info!("Stopping");
        let runners = std::mem::take(&mut self.runners);
        for runner in runners {
            self.stop_runner(runner).await;
        }
        self.scripts.clear();
        self.prune_sockets();
        if let Err(e) = self.firewall.remove().await {
            tracing::warn!(
                "Failed to remove nftables table ip {}: {e}",
                self.firewall.table()
            );
        }
        self.publish();
    }

    /// Tracked files and processes: `init_file` at start, their values now, and the task
    /// polling them from here on (replacing the previous one).
    fn watch_trackers(
        &mut self,
        config: &Config,
        plans: &HashMap<String, Plan>,
        first: bool,
    ) -> Values {
        let files: Vec<_> = config
            .track_files
            .iter()
            .filter(|f| {
                plans
                    .values()
                    .any(|p| p.files.iter().any(|t| t.name == f.name))
            })
            .cloned()
            .collect();
        let processes: Vec<_> = config
            .track_processes
            .iter()
            .filter(|c| {
                plans
                    .values()
                    .any(|p| p.processes.iter().any(|t| t.name == c.name))
            })
            .cloned()
            .collect();
        // keepalived: `init_file` writes at start, never on reload.
        if first {
            for f in &files {
                if let Err(e) = watch::init_file(f) {
                    tracing::error!("{e}");
                }
            }
        }
        let values = watch::read_now(&files, &processes);
        for f in &files {
            tracing::info!(
                "Tracked file {} ({}) has value {}",
                f.name,
                f.file,
                values.files.get(&f.name).copied().unwrap_or(0)
            );
        }
        for p in &processes {
            let up = values.processes.get(&p.name).copied().unwrap_or(false);
            tracing::info!(
                "Tracked process {} quorum {}",
                p.name,
                if up { "present" } else { "absent" }
            );
        }
        self.watcher = None;
        if !files.is_empty() || !processes.is_empty() {
            self.next_id += 1;
            let generation = self.next_id;
            let watcher = watch::Watcher::spawn(
                files,
                processes,
                values.clone(),
                generation,
                self.tx.clone(),
            );
            self.watcher = Some((generation, watcher));
        }
        values
    }

    /// A tracked file's value or a process's quorum changed: every instance tracking it.
    pub(super) async fn tracked_change(&mut self, generation: u64, change: watch::Change) {
        if self.watcher.as_ref().map(|(g, _)| *g) != Some(generation) {
            return;
        }
        match &change {
            watch::Change::File { name, value } => {
                tracing::info!("Tracked file {name} now has value {value}");
                for runner in &mut self.runners {
                    runner.extra.file_changed(name, *value);
                }
            }
            watch::Change::Process { name, up } => {
                tracing::info!(
                    "Quorum {} for tracked process {name}",
                    if *up { "gained" } else { "lost" }
                );
                for runner in &mut self.runners {
                    runner.extra.process_changed(name, *up);
                }
            }
        }
        self.refresh_tracking().await;
    }
}
