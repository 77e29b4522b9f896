//! Scenarios: declarative fault/assertion steps run against a live lab (see docs/scenarios.md).

pub mod result;
