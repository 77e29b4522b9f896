//! A running lab: its nodes, and its teardown.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::down::{self, DownReport};
use super::error::{NetnsError, Result};
use super::layout;
use super::node::NodeHandle;
use super::state::LabState;

#[derive(Debug)]
pub struct LabHandle {
    state_dir: PathBuf,
    state: LabState,
    /// The inits this process started (none when opened from a state dir): they are reaped
    /// after teardown so they do not linger as zombies of a long-lived halab.
    children: Vec<Child>,
    timings: Option<UpTimings>,
}

impl LabHandle {
    pub(crate) fn new(
        state_dir: PathBuf,
        state: LabState,
        children: Vec<Child>,
        timings: Option<UpTimings>,
    ) -> LabHandle {
        LabHandle {
            state_dir,
            state,
            children,
            timings,
        }
    }

    /// A lab brought up earlier, maybe by another halab process, from its state dir.
    pub fn open(state_dir: &Path) -> Result<LabHandle> {
        let state = LabState::load(state_dir)?
            .ok_or_else(|| NetnsError::NotAStateDir(state_dir.to_path_buf()))?;
        Ok(LabHandle::new(
            state_dir.to_path_buf(),
            state,
            Vec::new(),
            None,
        ))
    }

    pub fn lab(&self) -> &str {
        &self.state.lab
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The namespace holding the lab's bridges.
    pub fn switch_ns(&self) -> &str {
        &self.state.switch_ns
    }

    /// How long `up` took, when this handle comes from `up`.
    pub fn timings(&self) -> Option<UpTimings> {
        self.timings
    }

    /// Every node, in plan order (nodes whose init is not known are left out).
    pub fn nodes(&self) -> Vec<NodeHandle> {
        self.state
            .nodes
            .iter()
            .filter_map(|n| self.handle(n))
            .collect()
    }

    pub fn node(&self, name: &str) -> Result<NodeHandle> {
        self.state
            .nodes
            .iter()
            .find(|n| n.name == name)
            .and_then(|n| self.handle(n))
            .ok_or_else(|| NetnsError::NoNode(name.to_owned()))
    }

    fn handle(&self, node: &super::state::NodeState) -> Option<NodeHandle> {
        Some(NodeHandle {
            name: node.name.clone(),
            netns: node.netns.clone(),
            init_pid: node.init?.pid,
            root: layout::node_root(&self.state_dir, &node.name),
        })
    }

    /// Stops every node, deletes the namespaces, removes the state dir.
    pub fn down(mut self) -> Result<DownReport> {
        let report = down::down(&self.state_dir);
        reap(&mut self.children);
        report
    }

    /// A lab torn down when the guard is dropped: for tests and one-shot runs.
    pub fn into_guard(self) -> LabGuard {
        LabGuard(Some(self))
    }
}

/// Where the time of `up` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpTimings {
    /// From the start until every node's init was started.
    pub spawned: Duration,
    /// From the start until every node's init was ready (the switch is built meanwhile).
    pub inits: Duration,
    /// Naming the namespaces, veth pairs, addresses, sysctls.
    pub links: Duration,
    pub total: Duration,
}

/// Reaps the inits we started; teardown has already waited for them to exit.
pub(crate) fn reap(children: &mut Vec<Child>) {
    let deadline = Instant::now() + Duration::from_secs(1);
    children.retain_mut(|w| {
        loop {
            match w.try_wait() {
                Ok(Some(_)) | Err(_) => break false,
                Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(2)),
                Ok(None) => break true,
            }
        }
    });
}

/// Owns a lab and tears it down on drop, even when a test panics.
#[derive(Debug)]
pub struct LabGuard(Option<LabHandle>);

impl LabGuard {
    /// Tears down now, reporting errors that a drop would only print.
    pub fn down(mut self) -> Result<DownReport> {
        match self.0.take() {
            Some(lab) => lab.down(),
            None => Ok(DownReport::default()),
        }
    }
}

impl Deref for LabGuard {
    type Target = LabHandle;

    fn deref(&self) -> &LabHandle {
        match &self.0 {
            Some(lab) => lab,
            None => unreachable!("a LabGuard holds its lab until down or drop"),
        }
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        if let Some(lab) = self.0.take() {
            let dir = lab.state_dir.clone();
            if let Err(e) = lab.down() {
                eprintln!(
                    "halab: failed to tear down the lab in {}: {e}",
                    dir.display()
                );
            }
        }
    }
}
