//! Configuration: installing a configuration (at startup and on reload, keeping unchanged
//! instances and scripts), SIGHUP reload, and shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use halab_vrrp::Input;

use super::Daemon;
use super::process::{self, RunAs};
use super::runner::Runner;
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
        // Scripts: keep those whose configuration is unchanged, restart the others.
        let tracked: Vec<&ScriptConf> = config
            .scripts
            .iter()
            .filter(|s| {
                config
                    .instances
                    .iter()
                    .any(|i| i.track_scripts.iter().any(|(n, _)| n == &s.name))
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
        self.config = config;
        self.address_cache = self.netlink.addresses().await.ok().map(Arc::new);
        self.install_started = Some(self.now_ts(Instant::now()));
        let instances = self.config.instances.clone();
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
            let runner = Runner::new(self.next_id, conf, &self.config.scripts, |name| {
                links.values().any(|l| l.name == name && l.up)
            });
            self.runners.push(runner);
            let index = self.runners.len() - 1;
            self.start_runner(index).await;
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
        if let Some(setup) = runner.setup.as_mut() {
            let now = Instant::now();
            let actions = setup.core.handle(self.now_ts(now), Input::Shutdown);
            self.runners.push(runner);
            let index = self.runners.len() - 1;
            self.apply(index, actions).await;
            self.runners.pop();
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
        self.publish();
    }
}
