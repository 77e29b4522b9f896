//! keepalived's `vrrp_script` and `track_interface` as pure values.
//!
//! The driver runs each script every `interval_ms` (killing it after `timeout_ms`), feeds each
//! outcome to [`Tracker::script_result`], and when that returns a new [`TrackStatus`], hands it
//! to the instance as [`crate::Input::TrackingChanged`].
//!
//! Semantics follow keepalived 2.2.7 (`vrrp_script_child_thread`, `initialise_tracking_priorities`,
//! `process_script_update_priority`, `vrrp_set_effective_priority`):
//!
//! - A script starts in an "init" state: neither OK nor failed, it adds no weight, and a weight-0
//!   script keeps its instance in INIT (not started) until it has run. One success then makes it
//!   OK ("one success is enough"), one failure makes it failed. With `init_fail` it starts failed.
//! - After that, `rise` consecutive successes turn a failed script OK and `fall` consecutive
//!   failures turn an OK script failed. A timeout is a failure.
//! - Weight > 0 is added while the script is OK; weight < 0 is added (subtracted) while it is
//!   failed; weight 0 puts the instance in FAULT while it is failed.
//! - Effective priority = base + weights, clamped to 1..=254; the address owner (255) never
//!   changes.

use serde::{Deserialize, Serialize};

/// One `vrrp_script` as tracked by one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// Run every this many milliseconds (`interval`, default 1 s). For the driver.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Kill and count as failed after this long (`timeout`; keepalived defaults it to the
    /// interval). For the driver.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Successes needed to turn OK (`rise`, at least 1).
    #[serde(default = "one")]
    pub rise: u32,
    /// Failures needed to turn failed (`fall`, at least 1).
    #[serde(default = "one")]
    pub fall: u32,
    /// Priority adjustment (`weight`, -253..=253; 0 means "failure is a fault").
    #[serde(default)]
    pub weight: i32,
    /// Start failed rather than in init (`init_fail`).
    #[serde(default)]
    pub init_fail: bool,
}

const fn default_interval() -> u64 {
    1_000
}
const fn one() -> u32 {
    1
}

impl Default for ScriptConfig {
    fn default() -> Self {
        Self {
            interval_ms: default_interval(),
            timeout_ms: None,
            rise: 1,
            fall: 1,
            weight: 0,
            init_fail: false,
        }
    }
}

/// The outcome of one script run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptOutcome {
    /// Exit status 0.
    Success,
    /// Non-zero exit status, or killed by a signal.
    Failure,
    /// Killed after `timeout_ms`: counts as a failure.
    TimedOut,
}

/// Where a script stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptState {
    /// Has not run yet (and no `init_fail`).
    Init,
    /// Passing.
    Ok,
    /// Failing.
    Failed,
}

/// One tracked script's rise/fall counter, keepalived's `vscript->result`.
///
/// `result` runs from 0 to `rise + fall - 1`; the script is OK when `result >= rise`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    config: ScriptConfig,
    result: u32,
    init: bool,
}

impl Script {
    /// A script that has not run yet.
    pub fn new(mut config: ScriptConfig) -> Self {
        config.rise = config.rise.max(1);
        config.fall = config.fall.max(1);
        config.weight = config.weight.clamp(-253, 253);
        // keepalived vrrp_init_script: init => rise - 1 ("one success is enough");
        // init_fail => 0 ("assume failed by config").
        let result = if config.init_fail { 0 } else { config.rise - 1 };
        Self {
            config,
            result,
            init: !config.init_fail,
        }
    }

    /// The configuration, normalised (rise and fall at least 1, weight within ±253).
    pub const fn config(&self) -> &ScriptConfig {
        &self.config
    }

    /// Current state.
    pub const fn state(&self) -> ScriptState {
        if self.init {
            ScriptState::Init
        } else if self.result >= self.config.rise {
            ScriptState::Ok
        } else {
            ScriptState::Failed
        }
    }

    /// Counts one run; returns the new state when it changed.
    pub fn record(&mut self, outcome: ScriptOutcome) -> Option<ScriptState> {
        let before = self.state();
        let (rise, fall) = (self.config.rise, self.config.fall);
        if outcome == ScriptOutcome::Success {
            if self.result < rise - 1 {
                self.result += 1;
            } else {
                self.result = rise + fall - 1;
            }
        } else if self.result > rise {
            self.result -= 1;
        } else {
            self.result = 0;
        }
        self.init = false;
        let after = self.state();
        (after != before).then_some(after)
    }

    /// This script's contribution: (weight added, fault, pending).
    const fn effect(&self) -> (i32, bool, bool) {
        let weight = self.config.weight;
        match (self.state(), weight) {
            (ScriptState::Init, 0) => (0, false, true),
            (ScriptState::Failed, 0) => (0, true, false),
            (ScriptState::Ok, w) if w > 0 => (w, false, false),
            (ScriptState::Failed, w) if w < 0 => (w, false, false),
            _ => (0, false, false),
        }
    }
}

/// The combined effect of everything an instance tracks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackStatus {
    /// Sum of the weights in force.
    pub weight: i32,
    /// A weight-0 script failed or a weight-0 interface is down: FAULT.
    pub fault: bool,
    /// A weight-0 script has not run yet: keepalived keeps the instance in INIT.
    pub pending: bool,
}

/// `base + weight` clamped to 1..=254, or 255 for the address owner, whose priority never
/// changes (keepalived `vrrp_set_effective_priority`).
pub fn effective_priority(base: u8, weight: i32) -> u8 {
    if base == 255 {
        return 255;
    }
    let total = i32::from(base).saturating_add(weight).clamp(1, 254);
    u8::try_from(total).unwrap_or(254)
}

/// A name the tracker does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no tracked {kind} named `{name}`")]
pub struct UnknownTracked {
    /// "script" or "interface".
    pub kind: &'static str,
    /// The name asked for.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TrackedInterface {
    weight: i32,
    up: bool,
}

impl TrackedInterface {
    // keepalived initialise_interface_tracking_priorities: weight 0 down => fault; weight > 0
    // added while up; weight < 0 added while down.
    const fn effect(&self) -> (i32, bool) {
        match (self.up, self.weight) {
            (false, 0) => (0, true),
            (true, w) if w > 0 => (w, false),
            (false, w) if w < 0 => (w, false),
            _ => (0, false),
        }
    }
}

/// The scripts and interfaces one instance tracks (`track_script`, `track_interface`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tracker {
    scripts: Vec<(String, Script)>,
    interfaces: Vec<(String, TrackedInterface)>,
}

impl Tracker {
    /// Tracks nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tracks a script (replacing one of the same name).
    pub fn add_script(&mut self, name: impl Into<String>, config: ScriptConfig) {
        let name = name.into();
        self.scripts.retain(|(n, _)| *n != name);
        self.scripts.push((name, Script::new(config)));
    }

    /// Tracks an interface with a weight (0: down means FAULT) and its current link state.
    pub fn add_interface(&mut self, name: impl Into<String>, weight: i32, up: bool) {
        let name = name.into();
        self.interfaces.retain(|(n, _)| *n != name);
        self.interfaces.push((
            name,
            TrackedInterface {
                weight: weight.clamp(-253, 253),
                up,
            },
        ));
    }

    /// A script's state.
    pub fn script_state(&self, name: &str) -> Option<ScriptState> {
        self.scripts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.state())
    }

    /// Records a script run; returns the new status if it changed.
    pub fn script_result(
        &mut self,
        name: &str,
        outcome: ScriptOutcome,
    ) -> Result<Option<TrackStatus>, UnknownTracked> {
        let before = self.status();
        let (_, script) = self
            .scripts
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| UnknownTracked {
                kind: "script",
                name: name.to_owned(),
            })?;
        script.record(outcome);
        Ok(self.changed(before))
    }

    /// Records an interface going up or down; returns the new status if it changed.
    pub fn interface_changed(
        &mut self,
        name: &str,
        up: bool,
    ) -> Result<Option<TrackStatus>, UnknownTracked> {
        let before = self.status();
        let (_, interface) = self
            .interfaces
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| UnknownTracked {
                kind: "interface",
                name: name.to_owned(),
            })?;
        interface.up = up;
        Ok(self.changed(before))
    }

    /// The combined effect now.
    pub fn status(&self) -> TrackStatus {
        let mut status = TrackStatus::default();
        for (_, script) in &self.scripts {
            let (weight, fault, pending) = script.effect();
            status.weight = status.weight.saturating_add(weight);
            status.fault |= fault;
            status.pending |= pending;
        }
        for (_, interface) in &self.interfaces {
            let (weight, fault) = interface.effect();
            status.weight = status.weight.saturating_add(weight);
            status.fault |= fault;
        }
        status
    }

    fn changed(&self, before: TrackStatus) -> Option<TrackStatus> {
        let after = self.status();
        (after != before).then_some(after)
    }
}
