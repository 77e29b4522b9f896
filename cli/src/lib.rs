//! halab: declarative, testable HAProxy + VRRP + Nginx labs.
//!
//! Data flow: lab file -> [`lab::raw`] (serde) -> [`lab::validate`] -> [`lab::model::Lab`]
//! -> [`render`] (pure) -> artefacts -> provider. See ARCHITECTURE.md.

pub mod apply;
pub mod chaos;
pub mod check;
pub mod cmd;
pub mod deb;
pub mod diag;
pub mod doctor;
pub mod exit_codes;
pub mod fleet;
pub mod lab;
pub mod observe;
pub mod packages;
pub mod probe;
pub mod provider;
pub mod render;
pub mod report;
pub mod scenario;
pub mod services;
pub mod state;
pub mod status;
pub mod testbed;
