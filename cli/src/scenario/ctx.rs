//! What a step of a running scenario sees: the lab, its fleet, the clock and the samplers.
//! Its own module so the runner and the assertions both use it without using each other.

use std::sync::Arc;
use std::time::Instant;

use super::sampler::Samplers;
use crate::fleet::{Fleet, MachineBox};
use crate::lab::Lab;

pub struct Ctx<'a> {
    pub lab: &'a Lab,
    pub fleet: &'a Arc<dyn Fleet>,
    pub t0: Instant,
    pub samplers: &'a Samplers,
    pub halabd: &'a str,
}

impl Ctx<'_> {
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn machine(&self, node: &str) -> Result<MachineBox, String> {
        self.fleet.machine(node)
    }
}
