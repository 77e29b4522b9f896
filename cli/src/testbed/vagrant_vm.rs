//! The halab Vagrant provider's machine side (`halab testbed box`, `halab testbed vm ...`):
//! what `cli/src/provider/vagrant/plugin.rb` calls so that `vagrant up`, `vagrant
//! ssh-config`, `vagrant status` and `vagrant destroy -f` work on this machine with VMs
//! booted exactly as `testbed up --vm` boots them (`qemu.rs`: one qemu per node, TCG, inside
//! the node's network namespace of the lab's bed `tb-<lab>`). docs/vagrant.md.
//!
//! - The box: a Vagrant box file (`metadata.json` with `"provider": "halab"`, and
//!   `image.json` naming the cached VM disk, kernel and initramfs) made from the cached VM
//!   image (`image.rs`, built once from Debian packages); `vagrant up` adds it from its
//!   `file://` URL, nothing is downloaded.
//! - A machine: the bed's namespaces are made by the first machine that starts (under a
//!   lock: vagrant starts the machines in parallel) and removed with the last one; each VM
//!   is recorded in the bed's `qemu.json` and stopped by PID.
//! - ssh: as root with the lab's key (in vagrant's state dir for the lab), over a
//!   `ProxyCommand` that connects from the bed's control namespace (`nsenter --net=... socat`):
//!   nothing of the lab is reachable from, or added to, the root namespace.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{
    HostKind, TestbedError, TestbedPlan, control_name, ensure_key, image, io_at, keygen, lab_name,
    plan, qemu,
};
use crate::lab::Lab;
use crate::state::state_dir;
use halab_netns::{self as netns, InitCommand, LabHandle, NETNS_DIR};

/// The box's name: one per image key, so a changed image is a new box.
pub const BOX_PREFIX: &str = "halab/bookworm-";
/// The provider's name in the Vagrantfile and the box's metadata.
pub const PROVIDER: &str = "halab";
/// In the lab's key dir: the VMs' host keys, for `UserKnownHostsFile`.
pub const KNOWN_HOSTS: &str = "known_hosts";
/// In the box: which cached image files the VMs boot.
const BOX_IMAGE: &str = "image.json";

/// The box of the current VM image: its name and its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoxRef {
    pub name: String,
    pub file: PathBuf,
}

impl BoxRef {
    /// For `config.vm.box_url`: vagrant adds the box from this local file.
    pub fn url(&self) -> String {
        format!("file://{}", self.file.display())
    }
}

/// `image.json` in the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxImage {
    pub key: String,
    pub disk: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
}

/// The box of the VM image in `cache` (made or not).
pub fn box_ref(cache: &Path) -> BoxRef {
    let key = image::key(image::Flavor::Vm);
    BoxRef {
        name: format!("{BOX_PREFIX}{key}"),
        file: cache.join(&key).join("vagrant").join("halab.box"),
    }
}

/// The box's two files, as text.
pub fn box_files(key: &str, vm: &qemu::VmImage) -> [(&'static str, String); 2] {
    let meta = serde_json::json!({
        "provider": PROVIDER,
        "format": "halab-qemu-direct-kernel",
        "description": "Debian 12 built by halab from Debian packages (mmdebstrap), booted by qemu under TCG in a lab namespace",
    });
    let image = BoxImage {
        key: key.to_owned(),
        disk: vm.disk.clone(),
        kernel: vm.kernel.clone(),
        initrd: vm.initrd.clone(),
    };
    [
        ("metadata.json", format!("{meta:#}\n")),
        (
            BOX_IMAGE,
            serde_json::to_string_pretty(&image).unwrap_or_default() + "\n",
        ),
    ]
}

/// What [`ensure_box`] did.
#[derive(Debug, Clone, Serialize)]
pub struct BoxBuilt {
    pub box_ref: BoxRef,
    pub image: image::Image,
    pub vm_image: qemu::VmImage,
    /// Whether this call wrote the box file (false: it was there).
    pub built: bool,
    pub seconds: f64,
}

/// The VM image (built once, cached), its disk, and the box file made from them.
pub fn ensure_box(cache: &Path) -> Result<BoxBuilt, TestbedError> {
    let start = Instant::now();
    let missing = qemu::missing_packages();
    if !missing.is_empty() {
        return Err(qemu::QemuError::Missing(missing).into());
    }
    let img = image::ensure(cache, image::Flavor::Vm)?;
    let vm = qemu::ensure_disk(&img)?;
    let r = box_ref(cache);
    let built = !r.file.exists();
    if built {
        let dir = r.file.with_file_name("box");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        for (name, text) in box_files(&image::key(image::Flavor::Vm), &vm) {
            let p = dir.join(name);
            fs::write(&p, text).map_err(io_at(&p))?;
        }
        let tmp = r.file.with_extension("box.tmp");
        let out = Command::new("tar")
            .arg("-cf")
            .arg(&tmp)
            .arg("-C")
            .arg(&dir)
            .args(["metadata.json", BOX_IMAGE])
            .output()
            .map_err(|e| TestbedError::Command {
                cmd: "tar -cf".into(),
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(TestbedError::Command {
                cmd: format!("tar -cf {}", tmp.display()),
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        fs::rename(&tmp, &r.file).map_err(io_at(&r.file))?;
        let _ = fs::remove_dir_all(&dir);
    }
    Ok(BoxBuilt {
        box_ref: r,
        image: img,
        vm_image: vm,
        built,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The VM image a box (as vagrant unpacked it, `~/.vagrant.d/boxes/...`) boots.
pub fn read_box(dir: &Path) -> Result<qemu::VmImage, TestbedError> {
    let path = dir.join(BOX_IMAGE);
    let text = fs::read_to_string(&path).map_err(io_at(&path))?;
    let b: BoxImage = serde_json::from_str(&text).map_err(|e| TestbedError::Command {
        cmd: format!("read {}", path.display()),
        reason: format!("{e}; is this a box of halab's (`halab testbed box`)?"),
    })?;
    for f in [&b.disk, &b.kernel, &b.initrd] {
        if !f.is_file() {
            return Err(TestbedError::Command {
                cmd: format!("boot the box in {}", dir.display()),
                reason: format!(
                    "{} is gone from halab's image cache\n  hint: `halab testbed box` makes the image again; then `vagrant box remove` this box",
                    f.display()
                ),
            });
        }
    }
    Ok(qemu::VmImage {
        disk: b.disk,
        kernel: b.kernel,
        initrd: b.initrd,
        built: false,
        seconds: 0.0,
    })
}

/// How vagrant reaches a machine (`vagrant ssh-config`), as the plugin's `ssh_info` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshInfo {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub private_key_path: PathBuf,
    /// From the bed's control namespace: the lab is reachable there only.
    pub proxy_command: String,
}

/// The bed's plan and the node's host in it.
fn bed(lab: &Lab, node: &str, state_root: &Path) -> Result<(TestbedPlan, usize), TestbedError> {
    let p = plan(lab, state_root, HostKind::Vm)?;
    let k = p
        .hosts
        .iter()
        .position(|h| h.name == node)
        .ok_or_else(|| TestbedError::Lab {
            lab: lab.name.clone(),
            problems: vec![format!(
                "it has no node `{node}` (its nodes: {})",
                p.hosts
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        })?;
    Ok((p, k))
}

/// `ssh_info` of `node`: root at its address, the key in `dir`, through the control node.
pub fn ssh_info(
    lab: &Lab,
    node: &str,
    dir: &Path,
    state_root: &Path,
) -> Result<SshInfo, TestbedError> {
    let (p, k) = bed(lab, node, state_root)?;
    let host = &p.hosts[k];
    let control = Path::new(NETNS_DIR).join(netns::names::node_ns(&p.netns.lab, &p.control));
    Ok(SshInfo {
        host: host.address.to_string(),
        port: host.port,
        username: "root".into(),
        private_key_path: std::path::absolute(dir.join("id_ed25519"))
            .unwrap_or_else(|_| dir.join("id_ed25519")),
        proxy_command: format!("nsenter --net={} socat - TCP:%h:%p", control.display()),
    })
}

/// Exclusive while it lives: one machine at a time makes or removes the bed.
fn lock(state_root: &Path, lab: &Lab) -> Result<nix::fcntl::Flock<fs::File>, TestbedError> {
    fs::create_dir_all(state_root).map_err(io_at(state_root))?;
    let path = state_root.join(format!("{}.lock", lab_name(&lab.name)));
    let file = fs::File::create(&path).map_err(io_at(&path))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
        TestbedError::Io {
            path,
            source: e.into(),
        }
    })
}

/// What [`vm_up`] did.
#[derive(Debug, Clone, Serialize)]
pub struct VmUp {
    pub node: String,
    /// Whether this call made the bed's namespaces (the first machine does).
    pub made_bed: bool,
    /// Whether this call started the VM (false: it was running).
    pub booted: bool,
    pub seconds: f64,
}

/// Starts `node`'s VM from the box in `box_dir` (the bed first, if no machine made it yet)
/// and waits until its sshd answers from the control node. Running already: only the wait.
pub fn vm_up(
    lab: &Lab,
    node: &str,
    dir: &Path,
    box_dir: &Path,
    state_root: &Path,
    init: &InitCommand,
) -> Result<VmUp, TestbedError> {
    let start = Instant::now();
    let (p, k) = bed(lab, node, state_root)?;
    let image = read_box(box_dir)?;
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let dir = &dir.canonicalize().map_err(io_at(dir))?;
    let (running, handle, made_bed, booted) = {
        let _lock = lock(state_root, lab)?;
        let public = ensure_key(&dir.join("id_ed25519"))?;
        let authorized = dir.join("authorized_keys");
        fs::write(&authorized, format!("{public}\n")).map_err(io_at(&authorized))?;
        let keys = dir.join("host-keys");
        fs::create_dir_all(&keys).map_err(io_at(&keys))?;
        let host_key = keys.join(node);
        if !host_key.exists() || !host_key.with_extension("pub").exists() {
            let _ = fs::remove_file(&host_key);
            let _ = fs::remove_file(host_key.with_extension("pub"));
            keygen(&host_key, &format!("root@{node}"))?;
        }
        write_known_hosts(&p, dir)?;
        let (handle, made_bed) = match LabHandle::open(&p.netns.state_dir) {
            Ok(h) => (h, false),
            Err(_) => (netns::up(&p.netns, init)?, true),
        };
        let mut record = qemu::read_record(handle.state_dir())?;
        let (running, booted) = match record.iter().find(|r| r.node == node && r.alive()) {
            Some(r) => (r.clone(), false),
            None => {
                let vm = vm_of(&p, k, &host_key, &authorized, handle.state_dir());
                let r = qemu::boot(&vm, &image);
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        if made_bed {
                            let _ = handle.down();
                        }
                        return Err(e.into());
                    }
                };
                record.retain(|x| x.node != node);
                record.push(r.clone());
                qemu::write_record(handle.state_dir(), &record)?;
                (r, true)
            }
        };
        (running, handle, made_bed, booted)
    };
    let addr = SocketAddr::from((p.hosts[k].address, p.hosts[k].port));
    let stderr = handle
        .state_dir()
        .join(format!("vm-{node}"))
        .join("qemu.log");
    handle.node(&p.control)?.in_netns(move || {
        qemu::wait_sshd(&[(running, addr)], qemu::BOOT_TIMEOUT, |_| stderr.clone())
    })??;
    Ok(VmUp {
        node: node.to_owned(),
        made_bed,
        booted,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// DIR/known_hosts: every VM's host key made so far (DIR/host-keys/NODE.pub), at its
/// address and name, so that halab's ssh checks host keys strictly ([`KNOWN_HOSTS`]).
fn write_known_hosts(p: &TestbedPlan, dir: &Path) -> Result<(), TestbedError> {
    let mut hosts = Vec::new();
    let mut keys = Vec::new();
    for h in &p.hosts {
        let path = dir.join("host-keys").join(&h.name).with_extension("pub");
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        hosts.push(h.clone());
        keys.push(
            text.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let path = dir.join(KNOWN_HOSTS);
    fs::write(&path, super::known_hosts(&hosts, &keys)).map_err(io_at(&path))
}

/// The VM of the plan's `k`-th host: keys from vagrant's dir, seed and console in the
/// bed's state dir.
fn vm_of(p: &TestbedPlan, k: usize, host_key: &Path, authorized: &Path, state: &Path) -> qemu::Vm {
    let h = &p.hosts[k];
    let node = p.netns.nodes.iter().find(|n| n.name == h.name);
    qemu::Vm {
        node: h.name.clone(),
        hostname: node.map_or_else(|| h.name.clone(), |n| n.hostname.clone()),
        netns: Path::new(NETNS_DIR).join(&h.netns),
        nics: node
            .map(|n| {
                n.interfaces
                    .iter()
                    .filter_map(|i| match i.addr {
                        std::net::IpAddr::V4(address) => Some(qemu::Nic {
                            ifname: i.ifname.clone(),
                            address,
                            prefix: i.prefix,
                        }),
                        std::net::IpAddr::V6(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        memory_mib: qemu::memory_mib(),
        host_key: host_key.to_path_buf(),
        authorized_keys: authorized.to_path_buf(),
        dir: state.join(format!("vm-{}", h.name)),
    }
}

/// A machine's state for vagrant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VmState {
    Running,
    /// Recorded, but its qemu is gone (`vagrant destroy` cleans up).
    Stopped,
    NotCreated,
}

impl VmState {
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Running => "running",
            VmState::Stopped => "stopped",
            VmState::NotCreated => "not_created",
        }
    }
}

pub fn vm_state(lab: &Lab, node: &str, state_root: &Path) -> Result<VmState, TestbedError> {
    let dir = state_dir(state_root, &lab_name(&lab.name));
    let record = qemu::read_record(&dir)?;
    Ok(match record.iter().find(|r| r.node == node) {
        Some(r) if r.alive() => VmState::Running,
        Some(_) => VmState::Stopped,
        None => VmState::NotCreated,
    })
}

/// What [`vm_destroy`] did.
#[derive(Debug, Clone, Serialize)]
pub struct VmDown {
    pub stopped: bool,
    /// The last machine removes the bed's namespaces.
    pub removed_bed: bool,
}

/// Stops `node`'s VM (by its recorded PID) and forgets it; with no VM left, the bed goes.
pub fn vm_destroy(lab: &Lab, node: &str, state_root: &Path) -> Result<VmDown, TestbedError> {
    let _lock = lock(state_root, lab)?;
    let dir = state_dir(state_root, &lab_name(&lab.name));
    let mut record = qemu::read_record(&dir)?;
    let mut stopped = false;
    if let Some(r) = record.iter().find(|r| r.node == node) {
        qemu::stop(r);
        stopped = true;
    }
    record.retain(|r| r.node != node);
    let _ = fs::remove_dir_all(dir.join(format!("vm-{node}")));
    if dir.exists() && record.is_empty() {
        let _ = fs::remove_file(dir.join(qemu::RECORD));
        super::down(state_root, &lab.name)?;
        return Ok(VmDown {
            stopped,
            removed_bed: true,
        });
    }
    if dir.exists() {
        qemu::write_record(&dir, &record)?;
    }
    Ok(VmDown {
        stopped,
        removed_bed: false,
    })
}

/// The control node's namespace path of a vagrant lab's bed.
pub fn control_netns(lab: &Lab) -> PathBuf {
    Path::new(NETNS_DIR).join(netns::names::node_ns(
        &lab_name(&lab.name),
        control_name(lab),
    ))
}

/// `halab testbed box`: the box's name and `file://` URL on stdout, as `NAME URL`.
pub fn cmd_box() -> i32 {
    match ensure_box(&image::cache_dir()) {
        Ok(b) => {
            eprintln!(
                "image {} {} in {:.1} s",
                b.image.rootfs.display(),
                if b.image.built { "built" } else { "cached" },
                b.image.seconds
            );
            eprintln!(
                "VM disk {} {} in {:.1} s",
                b.vm_image.disk.display(),
                if b.vm_image.built { "made" } else { "cached" },
                b.vm_image.seconds
            );
            eprintln!(
                "box {} {} in {:.1} s",
                b.box_ref.file.display(),
                if b.built { "made" } else { "cached" },
                b.seconds
            );
            println!("{} {}", b.box_ref.name, b.box_ref.url());
            crate::exit_codes::OK
        }
        Err(e) => super::lab_error(e),
    }
}

/// `halab testbed vm up LAB NODE --dir DIR --box BOX_DIR`.
pub fn cmd_vm_up(lab: &Lab, node: &str, dir: &Path, box_dir: &Path) -> i32 {
    let init = match InitCommand::current_exe() {
        Ok(i) => i,
        Err(e) => return super::lab_error(e),
    };
    match vm_up(lab, node, dir, box_dir, &crate::state::state_root(), &init) {
        Ok(r) => {
            eprintln!(
                "VM {node} of {} {} in {:.1} s{}",
                lab_name(&lab.name),
                if r.booted {
                    "booted to sshd"
                } else {
                    "was running"
                },
                r.seconds,
                if r.made_bed {
                    " (made the lab's namespaces)"
                } else {
                    ""
                }
            );
            crate::exit_codes::OK
        }
        Err(e @ TestbedError::Lab { .. }) => {
            eprintln!("error: failed to {e}");
            crate::exit_codes::BAD_INPUT
        }
        Err(e) => super::lab_error(e),
    }
}

/// `halab testbed vm state LAB NODE`: `running`, `stopped` or `not_created` on stdout.
pub fn cmd_vm_state(lab: &Lab, node: &str) -> i32 {
    match vm_state(lab, node, &crate::state::state_root()) {
        Ok(s) => {
            println!("{}", s.as_str());
            crate::exit_codes::OK
        }
        Err(e) => super::lab_error(e),
    }
}

/// `halab testbed vm ssh-info LAB NODE --dir DIR`: JSON on stdout.
pub fn cmd_vm_ssh_info(lab: &Lab, node: &str, dir: &Path) -> i32 {
    match ssh_info(lab, node, dir, &crate::state::state_root()) {
        Ok(i) => {
            println!("{}", serde_json::to_string(&i).unwrap_or_default());
            crate::exit_codes::OK
        }
        Err(e @ TestbedError::Lab { .. }) => {
            eprintln!("error: failed to {e}");
            crate::exit_codes::BAD_INPUT
        }
        Err(e) => super::lab_error(e),
    }
}

/// `halab testbed vm destroy LAB NODE`.
pub fn cmd_vm_destroy(lab: &Lab, node: &str) -> i32 {
    match vm_destroy(lab, node, &crate::state::state_root()) {
        Ok(r) => {
            eprintln!(
                "VM {node} of {} {}{}",
                lab_name(&lab.name),
                if r.stopped {
                    "stopped"
                } else {
                    "was not running"
                },
                if r.removed_bed {
                    "; the lab's namespaces removed (no VM left)"
                } else {
                    ""
                }
            );
            crate::exit_codes::OK
        }
        Err(e) => super::lab_error(e),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn seed000vg() -> Lab {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/vagrant/lab.yaml");
        let text = fs::read_to_string(&file).expect("vagrant lab");
        crate::lab::parse(&file, &text, &HashMap::<String, String>::new())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn vm_image(dir: &Path) -> qemu::VmImage {
        qemu::VmImage {
            disk: dir.join("root.img"),
            kernel: dir.join("vmlinuz"),
            initrd: dir.join("initrd.img"),
            built: true,
            seconds: 1.0,
        }
    }

    /// Input: an image cache dir. Output: the box is named after the VM image's key and lies
    /// beside that image, with a file:// URL (vagrant adds it from there: no download).
    #[test]
    fn the_box_is_named_and_placed_after_the_vm_image() {
        let r = box_ref(Path::new("/var/cache/x"));
        let key = image::key(image::Flavor::Vm);
        assert_eq!(r.name, format!("halab/bookworm-{key}"));
        assert_eq!(
            r.file,
            Path::new("/var/cache/x")
                .join(&key)
                .join("vagrant/halab.box")
        );
        assert_eq!(
            r.url(),
            format!("file:///var/cache/x/{key}/vagrant/halab.box")
        );
        assert_ne!(key, image::key(image::Flavor::Container));
    }

    /// Input: the image files. Output: metadata.json says provider halab (vagrant files the
    /// box under it), image.json names the three files and reads back.
    #[test]
    fn the_box_holds_the_provider_and_the_image_files() {
        let files = box_files("abc", &vm_image(Path::new("/c/abc/vm")));
        assert_eq!(files[0].0, "metadata.json");
        let meta: serde_json::Value = serde_json::from_str(&files[0].1).expect("json");
        assert_eq!(meta["provider"], "halab");
        assert_eq!(files[1].0, "image.json");
        let b: BoxImage = serde_json::from_str(&files[1].1).expect("image.json");
        assert_eq!(b.key, "abc");
        assert_eq!(b.disk, Path::new("/c/abc/vm/root.img"));
        assert_eq!(b.kernel, Path::new("/c/abc/vm/vmlinuz"));
        assert_eq!(b.initrd, Path::new("/c/abc/vm/initrd.img"));
    }

    /// Input: an unpacked box whose image files exist, one where the disk is gone, a dir
    /// that is no box. Output: the files; an error naming the missing file with what to run;
    /// an error naming image.json.
    #[test]
    fn an_unpacked_box_gives_its_image_or_says_what_is_missing() {
        let t = tempfile::tempdir().expect("tmp");
        let img = vm_image(t.path());
        for f in [&img.disk, &img.kernel, &img.initrd] {
            fs::write(f, "x").expect("write");
        }
        let boxdir = t.path().join("box");
        fs::create_dir(&boxdir).expect("mkdir");
        for (name, text) in box_files("k", &img) {
            fs::write(boxdir.join(name), text).expect("write");
        }
        let got = read_box(&boxdir).expect("box");
        assert_eq!((got.disk, got.built), (img.disk.clone(), false));
        fs::remove_file(&img.disk).expect("rm");
        let e = read_box(&boxdir).expect_err("disk gone").to_string();
        assert!(
            e.contains("root.img is gone from halab's image cache"),
            "{e}"
        );
        assert!(e.contains("halab testbed box"), "{e}");
        let e = read_box(t.path()).expect_err("no box").to_string();
        assert!(e.contains("image.json"), "{e}");
    }

    /// Input: labs/seed000/vagrant (provider vagrant, no ssh sections). Output: every node,
    /// the client included, is a VM host reached as root on port 22 at its address, and the
    /// control node takes the top free address; a host-like bed of it is refused.
    #[test]
    fn every_node_of_a_vagrant_lab_is_a_vm_host() {
        let l = seed000vg();
        let p = plan(&l, Path::new("/run/x"), HostKind::Vm).expect("plan");
        let hosts: Vec<(&str, String, u16)> = p
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.address.to_string(), h.port))
            .collect();
        assert_eq!(
            hosts,
            [
                ("nginx1", "192.168.0.131".into(), 22),
                ("nginx2", "192.168.0.132".into(), 22),
                ("loadbalance1", "192.168.0.141".into(), 22),
                ("loadbalance2", "192.168.0.142".into(), 22),
                ("client", "192.168.0.10".into(), 22),
            ]
        );
        assert_eq!(p.netns.lab, "tb-seed000vg");
        let control = p
            .netns
            .nodes
            .iter()
            .find(|n| n.name == "control")
            .expect("control");
        assert_eq!(control.interfaces[0].addr.to_string(), "192.168.0.254");
        assert!(p.netns.validate().is_ok());
        let Err(TestbedError::Lab { problems, .. }) =
            plan(&l, Path::new("/run/x"), HostKind::HostLike)
        else {
            panic!("a host-like bed of a vagrant lab must be refused")
        };
        assert!(
            problems[0].contains("provider is not `ssh`"),
            "{problems:?}"
        );
    }

    /// Input: a node and an unknown one. Output: root at the node's address through the
    /// bed's control namespace (socat there), the key in vagrant's dir; the unknown node is
    /// an error listing the lab's nodes.
    #[test]
    fn ssh_info_goes_through_the_control_namespace() {
        let l = seed000vg();
        let i = ssh_info(
            &l,
            "loadbalance1",
            Path::new("/v/halab"),
            Path::new("/run/x"),
        )
        .expect("info");
        assert_eq!(
            i,
            SshInfo {
                host: "192.168.0.141".into(),
                port: 22,
                username: "root".into(),
                private_key_path: "/v/halab/id_ed25519".into(),
                proxy_command:
                    "nsenter --net=/run/netns/halab-tb-seed000vg.control socat - TCP:%h:%p".into(),
            }
        );
        assert_eq!(
            control_netns(&l),
            Path::new("/run/netns/halab-tb-seed000vg.control")
        );
        let e = ssh_info(&l, "web9", Path::new("/v"), Path::new("/run/x"))
            .expect_err("unknown")
            .to_string();
        assert!(
            e.contains(
                "no node `web9` (its nodes: nginx1, nginx2, loadbalance1, loadbalance2, client)"
            ),
            "{e}"
        );
    }

    /// Input: host keys made for two of the five VMs. Output: known_hosts pins those two at
    /// their address and name, and only those.
    #[test]
    fn known_hosts_pins_each_vm_key_made_so_far() {
        let t = tempfile::tempdir().expect("tmp");
        let keys = t.path().join("host-keys");
        fs::create_dir(&keys).expect("mkdir");
        fs::write(keys.join("nginx1.pub"), "ssh-ed25519 AAAA1 root@nginx1\n").expect("w");
        fs::write(keys.join("client.pub"), "ssh-ed25519 AAAA2 root@client\n").expect("w");
        let p = plan(&seed000vg(), Path::new("/run/x"), HostKind::Vm).expect("plan");
        write_known_hosts(&p, t.path()).expect("known_hosts");
        assert_eq!(
            fs::read_to_string(t.path().join(KNOWN_HOSTS)).expect("read"),
            "192.168.0.131,nginx1 ssh-ed25519 AAAA1\n192.168.0.10,client ssh-ed25519 AAAA2\n"
        );
    }

    /// Input: a state dir with no bed, then a record holding a live process (this test's)
    /// as nginx1 and a dead one as nginx2. Output: not_created, running, stopped; destroying
    /// a node that has no VM stops nothing and keeps the others' record.
    #[test]
    fn machine_states_come_from_the_record_and_liveness() {
        let t = tempfile::tempdir().expect("tmp");
        let l = seed000vg();
        assert_eq!(
            vm_state(&l, "nginx1", t.path()).expect("state"),
            VmState::NotCreated
        );
        let me = i32::try_from(std::process::id()).expect("pid");
        let start = super::super::nspawn::start_time(me).expect("own start time");
        let bed = t.path().join("tb-seed000vg");
        fs::create_dir(&bed).expect("mkdir");
        let running = |node: &str, pid, start| qemu::Running {
            node: node.into(),
            pid,
            start,
            log: PathBuf::from("/dev/null"),
        };
        qemu::write_record(
            &bed,
            &[
                running("nginx1", me, start),
                running("nginx2", me, start + 1),
            ],
        )
        .expect("record");
        assert_eq!(
            vm_state(&l, "nginx1", t.path()).expect("s").as_str(),
            "running"
        );
        assert_eq!(
            vm_state(&l, "nginx2", t.path()).expect("s").as_str(),
            "stopped"
        );
        assert_eq!(
            vm_state(&l, "client", t.path()).expect("s").as_str(),
            "not_created"
        );
        let d = vm_destroy(&l, "client", t.path()).expect("destroy");
        assert!(!d.stopped && !d.removed_bed);
        let left: Vec<String> = qemu::read_record(&bed)
            .expect("record")
            .into_iter()
            .map(|r| r.node)
            .collect();
        assert_eq!(left, ["nginx1", "nginx2"]);
    }
}
