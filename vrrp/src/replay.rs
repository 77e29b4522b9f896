//! Recording and replaying a run: the inputs an instance saw, with their times, and the actions
//! it answered. Serialised one value per line (JSON lines), an [`Event`] per input and a
//! [`Step`] per answer.

use serde::{Deserialize, Serialize};

use crate::instance::Instance;
use crate::io::{Action, Input};
use crate::time::Timestamp;

/// One input and when it happened: a line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When, on the driver's clock.
    pub at: Timestamp,
    /// What.
    pub input: Input,
}

/// The actions one event produced: a line of the expected output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// When the event happened.
    pub at: Timestamp,
    /// What the instance answered.
    pub actions: Vec<Action>,
}

/// Feeds `events` to `instance` in order and collects its answers.
pub fn replay(instance: &mut Instance, events: impl IntoIterator<Item = Event>) -> Vec<Step> {
    events
        .into_iter()
        .map(|Event { at, input }| Step {
            at,
            actions: instance.handle(at, input),
        })
        .collect()
}
