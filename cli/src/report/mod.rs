//! Reporters: turn scenario events and results into the terminal view, JSON, JUnit XML and an
//! HTML report with an SVG timeline per run.
//!
//! The runner emits, the reporter renders (cargo-nextest's split): [`terminal`] consumes the
//! live [`Event`](crate::scenario::result::Event)s, the others a finished
//! [`ScenarioResult`](crate::scenario::result::ScenarioResult) list. None of them decides
//! pass or fail; they show what the runner decided.

pub(crate) mod fmt;
pub mod html;
pub mod json;
pub mod junit;
pub mod suite_view;
pub mod svg;
pub mod terminal;
pub mod timeline;

#[cfg(test)]
pub(crate) mod fixture;

pub use html::write_report;
pub use json::to_json;
pub use junit::to_junit;
pub use svg::timeline_svg;
pub use terminal::TerminalReporter;
