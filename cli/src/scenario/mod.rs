//! Scenarios: declarative fault/assertion steps run against a live lab (see docs/scenarios.md).

pub mod asserts;
pub mod bound;
pub mod ctx;
pub mod faults;
pub mod file;
pub mod result;
pub mod run;
pub mod sampler;
pub mod session;
pub mod starvation;
pub mod suite;
