//! The ssh test bed (`halab testbed`): "real hosts" of sshd in namespaces, for the ssh
//! provider's tests and benchmark. One [`Bed`] per lab file, torn down on Drop: first what
//! was provisioned on it over ssh, then the bed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn halab_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_halab"))
}

/// A lab file for `provider: ssh` under a unique name, and the test bed for it. Fields drop
/// in order: the bed (Drop) before its dirs.
pub struct Bed {
    pub lab: String,
    /// The lab file, in `files`.
    pub file: PathBuf,
    /// The bed's dir: keys, known_hosts, ssh_config.
    pub dir: PathBuf,
    /// The control namespace (`/run/netns/...`), once [`Bed::up`] succeeded.
    pub netns: String,
    pub state_root: TempDir,
    pub files: TempDir,
}

impl Bed {
    /// Writes the lab file `lab_text(name)` for a unique lab name made from `tag`; nothing is
    /// brought up yet.
    pub fn new(tag: &str, lab_text: impl FnOnce(&str) -> String) -> Bed {
        let lab = super::unique_lab(tag);
        let files = tempfile::tempdir().expect("tempdir");
        let file = files.path().join("ssh.yaml");
        std::fs::write(&file, lab_text(&lab)).expect("write the lab file");
        Bed {
            dir: files.path().join("bed"),
            lab,
            file,
            netns: String::new(),
            state_root: super::state_root("halab-ssh-test-"),
            files,
        }
    }

    /// seed000's ssh lab (labs/seed000/ssh.yaml) renamed and changed by `edit`, its
    /// scenarios beside it.
    pub fn seed000(tag: &str, edit: impl FnOnce(String) -> String) -> Bed {
        let src =
            std::fs::read_to_string(super::labs_dir().join("seed000/ssh.yaml")).expect("ssh.yaml");
        let bed = Bed::new(tag, |name| {
            edit(src.replace("name: seed000", &format!("name: {name}")))
        });
        std::os::unix::fs::symlink(
            super::labs_dir()
                .join("seed000/scenarios")
                .canonicalize()
                .expect("scenarios"),
            bed.files.path().join("scenarios"),
        )
        .expect("symlink scenarios");
        bed
    }

    /// `halab testbed up FILE --dir DIR`; on success the control namespace is in `netns`.
    pub fn up(&mut self) -> Output {
        let out = self.halab(&[
            "testbed",
            "up",
            &self.file.to_string_lossy(),
            "--dir",
            &self.dir.to_string_lossy(),
        ]);
        if out.status.success() {
            self.netns = text(&out.stdout)
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
        }
        out
    }

    /// halab on this machine, with the bed's state root.
    pub fn halab(&self, args: &[&str]) -> Output {
        Command::new(halab_exe())
            .env("HALAB_STATE_DIR", self.state_root.path())
            .args(args)
            .output()
            .expect("run halab")
    }

    /// halab in the control namespace, the bed's ssh_config (or `config`) as ssh's, at most
    /// 600 s.
    pub fn remote(&self, config: Option<&Path>, args: &[&str]) -> Output {
        self.remote_command(config, args)
            .output()
            .expect("run halab in the control namespace")
    }

    pub fn remote_command(&self, config: Option<&Path>, args: &[&str]) -> Command {
        let config = config.map_or_else(|| self.dir.join("ssh_config"), Path::to_path_buf);
        let mut c = Command::new("timeout");
        c.args(["600", "nsenter", &format!("--net={}", self.netns)])
            .arg(halab_exe())
            .args(args)
            .env("HALAB_STATE_DIR", self.state_root.path())
            .env("HALAB_SSH_CONFIG", config)
            .env("HALABD", halab_exe().with_file_name("halabd"));
        c
    }

    /// `ssh -F DIR/ssh_config [EXTRA] NODE CMD` from the control namespace, at most 30 s.
    pub fn ssh(&self, extra: &[&str], node: &str, cmd: &str) -> Output {
        Command::new("timeout")
            .args([
                "30",
                "nsenter",
                &format!("--net={}", self.netns),
                "ssh",
                "-F",
            ])
            .arg(self.dir.join("ssh_config"))
            .args(extra)
            .args([node, cmd])
            .output()
            .expect("run ssh")
    }

    /// `halab testbed exec FILE NODE -- ARGV`: a command in a bed host, through the bed.
    pub fn exec(&self, node: &str, argv: &[&str]) -> Output {
        let file = self.file.to_string_lossy().into_owned();
        let mut args = vec!["testbed", "exec", &file, node, "--"];
        args.extend_from_slice(argv);
        self.halab(&args)
    }

    /// The bed's state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.state_root.path().join(format!("tb-{}", self.lab))
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if !self.netns.is_empty() {
            let _ = self.remote(None, &["down", &self.lab]);
        }
        let out = self.halab(&["testbed", "down", &self.file.to_string_lossy()]);
        if !out.status.success() {
            eprintln!(
                "teardown of test bed tb-{} failed: {}",
                self.lab,
                text(&out.stderr)
            );
        }
    }
}
