//! The standard suite (`halab test LAB standard`): scenarios derived from any lab, imported or
//! written by hand, each with what the lab's configuration says will happen. A generator of
//! scenario steps: the scenarios run on the ordinary runner (`scenario::run`).
//!
//! - `expect.rs`: effective priorities, timers, which service a track script watches.
//! - `plan.rs`: the scenarios and their [`plan::Expectation`]s.
//! - `report.rs`: measured against expected, in the operator's words.

pub mod expect;
pub mod plan;
pub mod report;

pub use plan::{Plan, plan};

/// The name that asks `halab test` for this suite.
pub const NAME: &str = "standard";
