//! Helpers for end-to-end tests: a lab brought up under a unique name and state dir, torn
//! down on Drop so a failing test leaves nothing behind.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use halab::apply::{UpOptions, UpReport};
use halab::lab::{self, Lab};
use halab::provider;
use halab::provider::netns::NetnsMachine;
use halab::services::{self, Machine, Service};
use halab_netns::{InitCommand, LabHandle};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Labs whose timing matters (scenarios, failover) run one at a time: two cores shared by
/// parallel labs would measure the machine, not the lab.
pub static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn labs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs")
}

pub fn options(state_root: &Path) -> UpOptions {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_halab"));
    UpOptions {
        state_root: state_root.to_path_buf(),
        halabd: std::env::var_os("HALABD")
            .map(PathBuf::from)
            .unwrap_or_else(|| exe.with_file_name("halabd")),
        init: InitCommand {
            exe,
            args: vec!["__node-init".into()],
        },
        progress: Box::new(|_| {}),
    }
}

#[derive(Debug)]
pub struct TestLab {
    pub lab: Lab,
    pub state_root: tempfile::TempDir,
    pub state_dir: PathBuf,
    up: bool,
}

impl TestLab {
    /// Loads `file`, renames the lab uniquely (namespaces are named after it), lets `edit`
    /// change the model, and brings it up.
    pub fn up(file: &Path, edit: impl FnOnce(&mut Lab)) -> TestLab {
        Self::try_up(file, edit).unwrap_or_else(|e| panic!("up {}: {e}", file.display()))
    }

    pub fn try_up(file: &Path, edit: impl FnOnce(&mut Lab)) -> Result<TestLab, String> {
        let mut lab = lab::load(file).map_err(|e| e.to_string())?;
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        lab.name = format!(
            "t{}x{n}{}",
            std::process::id() % 100_000,
            &lab.name[..lab.name.len().min(6)]
        );
        edit(&mut lab);
        // /run is tmpfs: state dirs there tear down in ms (the disk here pays ~3 ms a file).
        let state_root = tempfile::Builder::new()
            .prefix("halab-test-")
            .tempdir_in("/run")
            .map_err(|e| e.to_string())?;
        let state_dir = state_root.path().join(&lab.name);
        let mut opts = options(state_root.path());
        provider::up(&lab, &mut opts).map_err(|e| e.to_string())?;
        Ok(TestLab {
            lab,
            state_root,
            state_dir,
            up: true,
        })
    }

    pub fn handle(&self) -> LabHandle {
        LabHandle::open(&self.state_dir).expect("lab state")
    }

    /// The running lab as a [`halab::fleet::Fleet`].
    pub fn fleet(&self) -> std::sync::Arc<dyn halab::fleet::Fleet> {
        std::sync::Arc::new(halab::provider::netns::NetnsFleet::new(
            &self.lab,
            self.handle(),
        ))
    }

    pub fn machine(&self, node: &str) -> NetnsMachine {
        NetnsMachine(self.handle().node(node).expect("node"))
    }

    pub fn reup(&mut self, edit: impl FnOnce(&mut Lab)) -> UpReport {
        edit(&mut self.lab);
        let mut opts = options(self.state_root.path());
        provider::up(&self.lab, &mut opts).expect("second up")
    }

    pub fn read(&self, node: &str, path: &str) -> String {
        String::from_utf8_lossy(
            &self
                .machine(node)
                .read_file(path)
                .expect("read")
                .unwrap_or_default(),
        )
        .to_string()
    }

    /// (node, service) -> node-local PID, for every service that runs.
    pub fn pids(&self) -> BTreeMap<(String, &'static str), i32> {
        let mut out = BTreeMap::new();
        for n in &self.lab.nodes {
            let m = self.machine(&n.name);
            for s in Service::for_node(n) {
                if let Some(p) = services::running_pid(&m, s) {
                    out.insert((n.name.clone(), s.name()), p);
                }
            }
        }
        out
    }

    pub fn namespace_names(&self) -> Vec<String> {
        let prefix = format!("halab-{}", self.lab.name);
        netns_list()
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    }

    pub fn down(mut self) {
        self.teardown();
    }

    fn teardown(&mut self) {
        if self.up {
            self.up = false;
            if let Err(e) = provider::down(self.state_root.path(), &self.lab.name, false) {
                eprintln!("teardown of {} failed: {e}", self.lab.name);
            }
        }
    }
}

impl Drop for TestLab {
    fn drop(&mut self) {
        self.teardown();
    }
}

pub fn netns_list() -> Vec<String> {
    sh("ip netns list")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

pub fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("sh");
    String::from_utf8_lossy(&out.stdout).to_string()
}
