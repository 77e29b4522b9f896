//! What a campaign acts on: an episode run as a scenario (then the daemons checked), the lab
//! put back in its steady state, the VIP holders read once it settled. The real one drives a
//! running lab through its Fleet; `run`'s tests drive a scripted one.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use super::ChaosError;
use super::differential;
use super::invariants::{self, Finding};
use super::shrink::Candidate;
use super::write;
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::scenario::file;
use crate::scenario::result::{Event, ScenarioResult};
use crate::scenario::{run as scenario_run, session};

pub trait Target {
    /// Runs `c`'s episodes as one scenario named `name` (what the files replay), judges it,
    /// and checks the daemons when the scenario found nothing.
    fn episodes(
        &mut self,
        name: &str,
        c: &Candidate,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<(ScenarioResult, Vec<Finding>), ChaosError>;
    /// Puts the lab back in its steady state, the client served through every VIP.
    fn restore(&mut self) -> Result<(), String>;
    /// Each VIP's holders, read after an episode (`--differential`).
    fn settled_holders(&mut self) -> BTreeMap<IpAddr, Vec<String>>;
}

/// A running lab, through its Fleet.
pub struct LabTarget<'a> {
    pub lab: &'a Lab,
    pub fleet: &'a Arc<dyn Fleet>,
    pub engine: &'a str,
    pub halabd: &'a str,
}

impl Target for LabTarget<'_> {
    fn episodes(
        &mut self,
        name: &str,
        c: &Candidate,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<(ScenarioResult, Vec<Finding>), ChaosError> {
        let lab = self.lab;
        let text = write::scenario_text(lab, "", &c.episodes, &c.numbers);
        let mut s =
            file::parse(Path::new(name), &text, lab).map_err(|d| ChaosError::Scenario {
                name: name.to_string(),
                errors: d.render(Path::new(name), &text),
            })?;
        s.name = name.to_string();
        let r = scenario_run::run(lab, self.fleet, &s, self.engine, self.halabd, on_event);
        let mut findings = invariants::judge(&r, &write::outage_bounds_ms(lab, &c.episodes));
        // After a failed step the repairs were skipped: what they would have started is down
        // for a reason.
        if findings.is_empty() {
            findings.extend(invariants::daemons_gone(lab, self.fleet.as_ref()));
        }
        Ok((r, findings))
    }

    fn restore(&mut self) -> Result<(), String> {
        session::restore(self.lab, self.fleet.as_ref(), self.halabd)
    }

    fn settled_holders(&mut self) -> BTreeMap<IpAddr, Vec<String>> {
        differential::settled_holders(self.lab, self.fleet.as_ref())
    }
}
