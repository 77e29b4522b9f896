//! The client's side of a lab: one HTTP GET ([`http`]), the scenario probe's samples and
//! loop ([`sampling`]), and the wire format of the probe run on a client host ([`wire`]).

pub mod http;
pub mod sampling;
pub mod wire;

pub use http::{ProbeError, Reply, get, get_with};
