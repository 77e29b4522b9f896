//! halab: declarative, testable HAProxy + VRRP + Nginx labs.
//!
//! Data flow: lab file -> [`lab::raw`] (serde) -> [`lab::validate`] -> [`lab::model::Lab`]
//! -> [`render`] (pure) -> artefacts -> provider. See ARCHITECTURE.md.

pub mod netns;
pub mod diag;
pub mod exit_codes;
pub mod lab;
pub mod render;
pub mod check;
pub mod probe;
pub mod services;
pub mod observe;
pub mod fleet;
pub mod provider;
pub mod up;
pub mod cmd;
pub mod status;
pub mod doctor;
pub mod report;
pub mod scenario;
pub mod testbed;
