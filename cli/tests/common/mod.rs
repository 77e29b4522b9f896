//! The one test harness of the halab crate's end-to-end tests and benches: unique lab names,
//! the node init, a lab brought up under a unique name and state dir and torn down on Drop
//! (so a failing test leaves nothing behind), and the ssh test bed ([`bed`]).
// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod bed;
pub mod plans;

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

/// A lab name unique per test, process and run: `tag` (a few letters saying which test),
/// the PID, a counter, and a random part against a PID reused since an earlier run. At most
/// 20 characters for a tag of up to 4, so namespace names keep it whole.
pub fn unique_lab(tag: &str) -> String {
    use std::hash::BuildHasher;
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let r = std::collections::hash_map::RandomState::new().hash_one(n) & 0xfff;
    format!("{tag}{}x{n}r{r:03x}", std::process::id() % 100_000)
}

/// halab's own node init, as `halab up` starts it.
pub fn init_cmd() -> InitCommand {
    InitCommand {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_halab")),
        args: vec!["__node-init".into()],
    }
}

/// A private state root on /run: tmpfs, so state dirs tear down in ms (the disk here pays
/// ~3 ms a file), and outside the overlays a host-like node puts over /etc, /var and /root.
pub fn state_root(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/run")
        .expect("state root on /run")
}

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
        init: init_cmd(),
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
        lab.name = unique_lab("t");
        edit(&mut lab);
        let state_root = state_root("halab-test-");
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
