//! What one instance tracks, resolved from keepalived.conf the way keepalived 2.2.7 does it
//! (vrrp_track.c, track_file.c, vrrp.c `vrrp_complete_instance` / `sync_group_tracking_init`),
//! and the trackers the protocol core's [`halab_vrrp::Tracker`] does not know: `weight N
//! reverse` on scripts and interfaces, `track_file`, `vrrp_track_process`.
//!
//! Weights as keepalived applies them (multiplier m = -1 with `reverse`, else 1):
//! - a script, an interface or a process (up = OK / link up / quorum): weight 0 puts the
//!   instance in FAULT while `up == reverse`; weight > 0 adds `weight * m` while up; weight < 0
//!   adds `weight * m` while down;
//! - a file holding the number v: weight 0 means FAULT while `(v != 0) != reverse`; otherwise
//!   `v * weight * m`, clamped to -254..=253, is added, and -254 means FAULT.

use halab_vrrp::TrackStatus;
use halab_vrrp::track::{Script, ScriptConfig, ScriptState};

use crate::conf::{Config, InstanceConf, TrackRef};

/// One tracked object of an instance, with the weight and direction in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// Everything one instance tracks: its own trackers and its sync group's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub scripts: Vec<Tracked>,
    pub interfaces: Vec<Tracked>,
    pub files: Vec<Tracked>,
    pub processes: Vec<Tracked>,
}

impl Plan {
    /// Resolves `instance`'s trackers in `config`: defaults from the tracker blocks, its sync
    /// group's trackers added, and (keepalived) a sync group member's own weights ignored
    /// unless the group has `sync_group_tracking_weight` (or the older `global_tracking`):
    /// weighted scripts dropped, interfaces at weight 0, files at the default weight 1 made
    /// weight 0 and other weighted files dropped. Scripts `config` does not define (disabled
    /// because missing) are left out.
    pub fn resolve(config: &Config, instance: &InstanceConf) -> (Self, Vec<String>) {
        let mut plan = Self::default();
        let mut notes = Vec::new();
        let reverse_script = |n: &str| instance.tracking.reverse_scripts.iter().any(|r| r == n);
        for (name, weight) in &instance.track_scripts {
            if let Some(script) = config.scripts.iter().find(|s| &s.name == name) {
                plan.scripts.push(Tracked {
                    name: name.clone(),
                    weight: weight.unwrap_or(script.weight),
                    reverse: reverse_script(name) || script.reverse,
                });
            }
        }
        for (name, weight) in &instance.track_interfaces {
            plan.interfaces.push(Tracked {
                name: name.clone(),
                weight: *weight,
                reverse: instance.tracking.reverse_interfaces.contains(name),
            });
        }
        plan.files = refs_to_files(config, &instance.tracking.files);
        plan.processes = refs_to_processes(config, &instance.tracking.processes);
        let Some(group) = config
            .sync_groups
            .iter()
            .find(|g| g.instances.contains(&instance.name))
        else {
            return (plan, notes);
        };
        let tracking = &group.tracking;
        if !(tracking.tracking_weight || tracking.global_tracking) {
            let why = format!("due to SYNC group {}", group.name);
            plan.scripts.retain(|s| {
                if s.weight != 0 {
                    notes.push(format!(
                        "({}) ignoring tracked script {} with weights {why}",
                        instance.name, s.name
                    ));
                }
                s.weight == 0
            });
            for i in plan.interfaces.iter_mut().filter(|i| i.weight != 0) {
                notes.push(format!(
                    "({}) ignoring {} tracked interface weight {why}",
                    instance.name, i.name
                ));
                i.weight = 0;
            }
            plan.files.retain_mut(|f| match f.weight {
                0 => true,
                1 => {
                    f.weight = 0;
                    true
                }
                w => {
                    notes.push(format!(
                        "({}) ignoring tracked file {} with weight {w} {why}",
                        instance.name, f.name
                    ));
                    false
                }
            });
        }
        for s in &tracking.scripts {
            if let Some(script) = config.scripts.iter().find(|c| c.name == s.name) {
                push_new(
                    &mut plan.scripts,
                    Tracked {
                        name: s.name.clone(),
                        weight: s.weight.unwrap_or(script.weight),
                        reverse: s.reverse || script.reverse,
                    },
                );
            }
        }
        for i in &tracking.interfaces {
            push_new(
                &mut plan.interfaces,
                Tracked {
                    name: i.name.clone(),
                    weight: i.weight.unwrap_or(0),
                    reverse: i.reverse,
                },
            );
        }
        for f in refs_to_files(config, &tracking.files) {
            push_new(&mut plan.files, f);
        }
        for p in refs_to_processes(config, &tracking.processes) {
            push_new(&mut plan.processes, p);
        }
        (plan, notes)
    }
}

fn push_new(list: &mut Vec<Tracked>, tracked: Tracked) {
    if !list.iter().any(|t| t.name == tracked.name) {
        list.push(tracked);
    }
}

fn refs_to_files(config: &Config, refs: &[TrackRef]) -> Vec<Tracked> {
    refs.iter()
        .filter_map(|r| {
            let file = config.track_files.iter().find(|f| f.name == r.name)?;
            Some(Tracked {
                name: r.name.clone(),
                weight: r.weight.unwrap_or(file.weight),
                reverse: r.reverse || file.reverse,
            })
        })
        .collect()
}

fn refs_to_processes(config: &Config, refs: &[TrackRef]) -> Vec<Tracked> {
    refs.iter()
        .filter_map(|r| {
            let process = config.track_processes.iter().find(|p| p.name == r.name)?;
            Some(Tracked {
                name: r.name.clone(),
                weight: r.weight.unwrap_or(process.weight),
                reverse: r.reverse || process.reverse,
            })
        })
        .collect()
}

/// keepalived's rule for an up/down tracker: (weight added, fault).
pub fn binary_effect(weight: i32, reverse: bool, up: bool) -> (i32, bool) {
    let m = if reverse { -1 } else { 1 };
    match weight {
        0 => (0, up == reverse),
        w if w > 0 && up => (w * m, false),
        w if w < 0 && !up => (w * m, false),
        _ => (0, false),
    }
}

/// keepalived's rule for a tracked file holding `value`: (weight added, fault).
pub fn file_effect(weight: i32, reverse: bool, value: i64) -> (i32, bool) {
    if weight == 0 {
        return (0, (value != 0) != reverse);
    }
    let m: i128 = if reverse { -1 } else { 1 };
    let status = (i128::from(value) * i128::from(weight) * m).clamp(-254, 253);
    if status == -254 {
        (0, true)
    } else {
        (i32::try_from(status).unwrap_or(0), false)
    }
}

/// The trackers of one instance that the protocol core's tracker does not hold: reversed
/// scripts and interfaces, files and processes, each with its current value.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    scripts: Vec<(Tracked, Script)>,
    interfaces: Vec<(Tracked, bool)>,
    files: Vec<(Tracked, i64)>,
    processes: Vec<(Tracked, bool)>,
}

impl Extra {
    pub fn add_script(&mut self, tracked: Tracked, config: ScriptConfig) {
        self.scripts.push((tracked, Script::new(config)));
    }

    pub fn add_interface(&mut self, tracked: Tracked, up: bool) {
        self.interfaces.push((tracked, up));
    }

    pub fn add_file(&mut self, tracked: Tracked, value: i64) {
        self.files.push((tracked, value));
    }

    pub fn add_process(&mut self, tracked: Tracked, up: bool) {
        self.processes.push((tracked, up));
    }

    pub fn script_state(&self, name: &str) -> Option<ScriptState> {
        self.scripts
            .iter()
            .find(|(t, _)| t.name == name)
            .map(|(_, s)| s.state())
    }

    /// Records a run of a reversed script; false if this instance does not track it here.
    pub fn script_result(&mut self, name: &str, outcome: halab_vrrp::ScriptOutcome) -> bool {
        let mut known = false;
        for (_, script) in self.scripts.iter_mut().filter(|(t, _)| t.name == name) {
            script.record(outcome);
            known = true;
        }
        known
    }

    pub fn interface_changed(&mut self, name: &str, up: bool) {
        for (_, state) in self.interfaces.iter_mut().filter(|(t, _)| t.name == name) {
            *state = up;
        }
    }

    pub fn file_changed(&mut self, name: &str, value: i64) {
        for (_, v) in self.files.iter_mut().filter(|(t, _)| t.name == name) {
            *v = value;
        }
    }

    pub fn process_changed(&mut self, name: &str, up: bool) {
        for (_, state) in self.processes.iter_mut().filter(|(t, _)| t.name == name) {
            *state = up;
        }
    }

    /// The combined effect of these trackers.
    pub fn status(&self) -> TrackStatus {
        let mut status = TrackStatus::default();
        let mut add = |(weight, fault): (i32, bool)| {
            status.weight = status.weight.saturating_add(weight);
            status.fault |= fault;
        };
        for (t, script) in &self.scripts {
            match script.state() {
                // keepalived: a weight-0 script that has not run holds the instance in INIT;
                // a weighted one adds nothing yet.
                ScriptState::Init => {}
                state => add(binary_effect(t.weight, t.reverse, state == ScriptState::Ok)),
            }
        }
        for (t, up) in &self.interfaces {
            add(binary_effect(t.weight, t.reverse, *up));
        }
        for (t, value) in &self.files {
            add(file_effect(t.weight, t.reverse, *value));
        }
        for (t, up) in &self.processes {
            add(binary_effect(t.weight, t.reverse, *up));
        }
        status.pending = self
            .scripts
            .iter()
            .any(|(t, s)| t.weight == 0 && s.state() == ScriptState::Init);
        status
    }
}

/// The core's status and the extra trackers' together.
pub fn combine(core: TrackStatus, extra: TrackStatus) -> TrackStatus {
    TrackStatus {
        weight: core.weight.saturating_add(extra.weight),
        fault: core.fault || extra.fault,
        pending: core.pending || extra.pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halab_vrrp::ScriptOutcome;
    use std::path::Path;

    fn t(name: &str, weight: i32, reverse: bool) -> Tracked {
        Tracked {
            name: name.into(),
            weight,
            reverse,
        }
    }

    /// Input: each (weight, reverse, up) case of keepalived's `process_script_update_priority`
    /// / interface / process rules. Output: keepalived's contribution.
    #[test]
    fn binary_trackers_follow_keepalived() {
        let cases = [
            // (weight, reverse, up) -> (weight added, fault)
            ((0, false, true), (0, false)),
            ((0, false, false), (0, true)),
            ((0, true, true), (0, true)),
            ((0, true, false), (0, false)),
            ((10, false, true), (10, false)),
            ((10, false, false), (0, false)),
            ((10, true, true), (-10, false)),
            ((10, true, false), (0, false)),
            ((-10, false, true), (0, false)),
            ((-10, false, false), (-10, false)),
            ((-10, true, true), (0, false)),
            ((-10, true, false), (10, false)),
        ];
        for ((w, r, up), want) in cases {
            assert_eq!(
                binary_effect(w, r, up),
                want,
                "weight {w} reverse {r} up {up}"
            );
        }
    }

    /// Input: file values against weights, as keepalived's update_track_file_status computes
    /// them. Output: value * weight (* -1 reversed), clamped, -254 or below a FAULT; weight 0:
    /// non-zero is FAULT (reversed: zero is).
    #[test]
    fn file_trackers_follow_keepalived() {
        assert_eq!(file_effect(1, false, 5), (5, false));
        assert_eq!(file_effect(-10, false, 3), (-30, false));
        assert_eq!(file_effect(-10, true, 3), (30, false));
        assert_eq!(file_effect(2, false, 200), (253, false));
        assert_eq!(file_effect(1, false, -254), (0, true));
        assert_eq!(file_effect(-1, false, 300), (0, true));
        assert_eq!(file_effect(0, false, 0), (0, false));
        assert_eq!(file_effect(0, false, 7), (0, true));
        assert_eq!(file_effect(0, true, 0), (0, true));
        assert_eq!(file_effect(0, true, 7), (0, false));
        assert_eq!(file_effect(3, false, i64::MAX), (253, false));
    }

    /// Input: a reversed weight-0 script (in init, then OK, then failed) and a reversed
    /// weighted interface. Output: init holds the instance (pending), OK is a FAULT, failed is
    /// fine; the interface adds its weight the other way round.
    #[test]
    fn reversed_scripts_and_interfaces() {
        let mut extra = Extra::default();
        extra.add_script(t("s", 0, true), ScriptConfig::default());
        extra.add_interface(t("eth1", -20, true), false);
        let s = extra.status();
        assert_eq!((s.weight, s.fault, s.pending), (20, false, true));
        assert!(extra.script_result("s", ScriptOutcome::Success));
        assert!(extra.status().fault);
        extra.script_result("s", ScriptOutcome::Failure);
        extra.interface_changed("eth1", true);
        let s = extra.status();
        assert_eq!((s.weight, s.fault, s.pending), (0, false, false));
        assert!(!extra.script_result("other", ScriptOutcome::Success));
    }

    fn config(text: &str) -> Config {
        match crate::conf::parse_str(Path::new("k.conf"), text) {
            Ok(parsed) => parsed.config,
            Err(e) => panic!("{e}"),
        }
    }

    const TRACKERS: &str = "vrrp_script s {\n script /bin/true\n weight 5 reverse\n}\n\
        vrrp_script z {\n script /bin/true\n}\n\
        track_file f {\n file /run/x\n}\n\
        track_file g {\n file /run/y\n weight -3\n}\n\
        vrrp_track_process p {\n process sshd\n weight 7\n}\n";

    fn instance(name: &str, tracks: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {}\n \
             virtual_ipaddress {{\n  10.0.0.9/24\n }}\n{tracks}}}\n",
            name.len()
        )
    }

    /// Input: an instance referencing trackers with and without overrides. Output: the
    /// tracker blocks' weights and `reverse` as defaults, the references' when written.
    #[test]
    fn references_take_the_blocks_defaults() {
        let text = format!(
            "{TRACKERS}{}",
            instance(
                "A",
                " track_script {\n  s\n  z weight 4\n }\n track_file {\n  f\n  g weight 2 reverse\n }\n \
                 track_process {\n  p weight -1\n }\n track_interface {\n  eth1 weight 3 reverse\n }\n"
            )
        );
        let parsed = config(&text);
        let (plan, notes) = Plan::resolve(&parsed, &parsed.instances[0]);
        assert!(notes.is_empty());
        assert_eq!(plan.scripts, [t("s", 5, true), t("z", 4, false)]);
        assert_eq!(plan.files, [t("f", 1, false), t("g", 2, true)]);
        assert_eq!(plan.processes, [t("p", -1, false)]);
        assert_eq!(plan.interfaces, [t("eth1", 3, true)]);
    }

    /// Input: a sync group with its own trackers, without and with sync_group_tracking_weight.
    /// Output: the group's trackers added to each member; without the option the member's own
    /// weights are ignored as keepalived ignores them (weighted script dropped, interface at 0,
    /// default-weight file at 0, weighted file dropped).
    #[test]
    fn sync_group_trackers_reach_every_member() {
        let own = " track_script {\n  z weight 4\n }\n track_file {\n  f\n  g\n }\n \
                   track_interface {\n  eth1 weight 3\n }\n";
        let group = |extra: &str| {
            format!(
                "{TRACKERS}{}{}vrrp_sync_group G {{\n group {{\n  A\n  BB\n }}\n \
                 track_script {{\n  z\n }}\n track_process {{\n  p\n }}\n{extra}}}\n",
                instance("A", own),
                instance("BB", "")
            )
        };
        let plain = config(&group(""));
        let (a, notes) = Plan::resolve(&plain, &plain.instances[0]);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert_eq!(a.scripts, [t("z", 0, false)]);
        assert_eq!(a.files, [t("f", 0, false)]);
        assert_eq!(a.interfaces, [t("eth1", 0, false)]);
        assert_eq!(a.processes, [t("p", 7, false)]);
        let (b, _) = Plan::resolve(&plain, &plain.instances[1]);
        assert_eq!(b.scripts, [t("z", 0, false)]);
        assert_eq!(b.processes, [t("p", 7, false)]);
        for option in [" sync_group_tracking_weight\n", " global_tracking\n"] {
            let with = config(&group(option));
            let (a, notes) = Plan::resolve(&with, &with.instances[0]);
            assert!(notes.is_empty(), "{notes:?}");
            assert_eq!(a.scripts, [t("z", 4, false)]);
            assert_eq!(a.files, [t("f", 1, false), t("g", -3, false)]);
            assert_eq!(a.interfaces, [t("eth1", 3, false)]);
        }
    }
}
