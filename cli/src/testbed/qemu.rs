//! VM hosts for the test bed (`halab testbed up --vm`): one qemu per host, started inside the
//! network namespace of the host's test bed node, booting the cached VM image
//! ([`super::image::Flavor::Vm`]) under TCG or KVM.
//!
//! Why not Vagrant here: docs/vagrant.md. Networking stays in the lab's namespaces: in the
//! host's node namespace, the node's veth (its other end on the lab's switch bridge) loses
//! its address and joins a bridge with a tap made there (`ip tuntap`, before qemu starts);
//! qemu is started by `nsenter --net=` into that namespace and opens the tap by name. The
//! root namespace gets no device, address or route; a namespace's taps and bridges go with
//! it. The VM has the lab's addresses only (its seed disk), so no route out.
//!
//! The image's disk is an ext4 file system made from the image's root (`mkfs.ext4 -d`, no
//! mount), shared by every VM read-only (`snapshot=on`: each VM's writes go to a temporary
//! file of qemu's, gone when it stops); the kernel and initramfs are booted directly. A
//! small per-host seed disk (`/dev/vdb`) carries what nspawn binds in for containers: host
//! name, host key, root's authorized_keys, and the addresses by MAC.
//!
//! qemu runs detached (own process group, console on a log in the state dir) and is
//! recorded in `STATE/qemu.json` with its start time, so `down` stops exactly it, by PID.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::image::Image;
use super::nspawn::start_time;

/// The record of a test bed's VMs, in its state dir.
pub const RECORD: &str = "qemu.json";
/// Overrides each VM's memory (MiB), as for the Vagrantfile.
pub const MEMORY_ENV: &str = "HALAB_VM_MEMORY";
pub const DEFAULT_MEMORY_MIB: u32 = 448;
/// `kvm` to try KVM (it fails here: PVM, docs/vagrant.md); TCG otherwise.
pub const ACCEL_ENV: &str = "HALAB_VM_ACCEL";
/// Boot to sshd: several VMs under TCG on two shared cores.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(600);
/// Room for the packages the provider installs (the writes go to qemu's snapshot file).
const DISK_SIZE: &str = "3G";
const SEED_SIZE: &str = "2M";
/// The kernel's command line: root on the first virtio disk, kernel names (`eth0`: the seed
/// renames by MAC anyway), quiet serial console (every byte is emulated).
const CMDLINE: &str = "root=/dev/vda rw console=ttyS0 quiet loglevel=3 net.ifnames=0 panic=-1 systemd.show_status=false";
/// Direct kernel boot needs no BIOS services: qboot starts it far sooner than SeaBIOS.
const QBOOT: &str = "/usr/share/qemu/qboot.rom";

/// The programs VM hosts need on this machine, with their Debian packages.
pub const TOOLS: [(&str, &str); 3] = [
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("mkfs.ext4", "e2fsprogs"),
    ("mmdebstrap", "mmdebstrap"),
];

/// The Debian packages of [`TOOLS`] whose program is not installed.
pub fn missing_packages() -> Vec<&'static str> {
    TOOLS
        .iter()
        .filter(|(bin, _)| {
            !["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                .iter()
                .any(|d| Path::new(d).join(bin).exists())
        })
        .map(|(_, pkg)| *pkg)
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error(
        "boot VM hosts: {} not installed\n  hint: apt-get install -y {} (scripts/setup does)",
        .0.join(", "),
        .0.join(" ")
    )]
    Missing(Vec<&'static str>),
    #[error("use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "make the VM disk from {rootfs}: {reason}\n  hint: scripts/setup installs e2fsprogs and qemu-system-x86"
    )]
    Disk { rootfs: PathBuf, reason: String },
    #[error("boot VM `{node}`: {reason} (console: {log})")]
    Boot {
        node: String,
        reason: String,
        log: PathBuf,
    },
    #[error("read {path}: {reason}")]
    Record { path: PathBuf, reason: String },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> QemuError + '_ {
    move |source| QemuError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The VM image's boot files, beside the image's root (`<key>/vm/`).
#[derive(Debug, Clone, Serialize)]
pub struct VmImage {
    pub disk: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// Whether this call made the disk (false: cached).
    pub built: bool,
    pub seconds: f64,
}

/// The disk, kernel and initramfs of `image` (a [`super::image::Flavor::Vm`] image), made
/// once: `mkfs.ext4 -d` of its root, the newest `/boot/vmlinuz-*` and its initrd copied out.
pub fn ensure_disk(image: &Image) -> Result<VmImage, QemuError> {
    let start = Instant::now();
    let rootfs = &image.rootfs;
    let dir = rootfs.with_file_name("vm");
    let out = |built: bool| VmImage {
        disk: dir.join("root.img"),
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.img"),
        built,
        seconds: start.elapsed().as_secs_f64(),
    };
    let done = dir.join("done");
    if done.exists() {
        return Ok(out(false));
    }
    fs::create_dir_all(&dir).map_err(io_at(&dir))?;
    let lock_path = dir.join("lock");
    let lock = fs::File::create(&lock_path).map_err(io_at(&lock_path))?;
    let _lock =
        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            QemuError::Io {
                path: lock_path.clone(),
                source: e.into(),
            }
        })?;
    if done.exists() {
        return Ok(out(false));
    }
    let fail = |reason: String| QemuError::Disk {
        rootfs: rootfs.clone(),
        reason,
    };
    let boot = rootfs.join("boot");
    let mut kernels: Vec<String> = fs::read_dir(&boot)
        .map_err(io_at(&boot))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("vmlinuz-"))
        .collect();
    kernels.sort();
    let Some(kernel) = kernels.last() else {
        return Err(fail(format!(
            "no vmlinuz-* in {} (the VM image installs linux-image-amd64)",
            boot.display()
        )));
    };
    let initrd = boot.join(kernel.replacen("vmlinuz", "initrd.img", 1));
    let v = out(true);
    fs::copy(boot.join(kernel), &v.kernel).map_err(io_at(&v.kernel))?;
    fs::copy(&initrd, &v.initrd).map_err(io_at(&initrd))?;
    let tmp = dir.join("root.img.tmp");
    let _ = fs::remove_file(&tmp);
    mkfs(rootfs, &tmp, DISK_SIZE, "halab-root").map_err(fail)?;
    fs::rename(&tmp, &v.disk).map_err(io_at(&v.disk))?;
    fs::write(&done, format!("{:.1}\n", start.elapsed().as_secs_f64())).map_err(io_at(&done))?;
    Ok(out(true))
}

/// An ext4 file system holding the files of `src`, in a sparse file (no mount, no loop device).
fn mkfs(src: &Path, image: &Path, size: &str, label: &str) -> Result<(), String> {
    let out = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", label, "-d"])
        .arg(src)
        .arg(image)
        .arg(size)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run mkfs.ext4: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mkfs.ext4 -d {}: {}",
            src.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One network interface of a VM: the lab's name and address, a MAC made from the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nic {
    /// The lab's interface name (`eth0`), given to the VM's NIC and to the node's veth.
    pub ifname: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Nic {
    /// Locally administered (`52:54`), unique in the lab as the address is.
    pub fn mac(&self) -> String {
        let o = self.address.octets();
        format!("52:54:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
    }
}

/// What to boot for one host.
#[derive(Debug, Clone)]
pub struct Vm {
    pub node: String,
    pub hostname: String,
    /// `/run/netns/...`: the namespace qemu runs in, holding its taps.
    pub netns: PathBuf,
    pub nics: Vec<Nic>,
    pub memory_mib: u32,
    /// The host's ed25519 key pair (`KEY`, `KEY.pub`).
    pub host_key: PathBuf,
    pub authorized_keys: PathBuf,
    /// Where the VM's seed disk and console log go (in the bed's state dir).
    pub dir: PathBuf,
}

impl Vm {
    pub fn log(&self) -> PathBuf {
        self.dir.join("console.log")
    }
}

/// The memory of each VM: `HALAB_VM_MEMORY` (MiB) or the default.
pub fn memory_mib() -> u32 {
    std::env::var(MEMORY_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|m| *m >= 256)
        .unwrap_or(DEFAULT_MEMORY_MIB)
}

/// The tap and the bridge of the VM's `k`-th NIC in its node's namespace.
fn tap(k: usize) -> String {
    format!("vmtap{k}")
}
fn bridge(k: usize) -> String {
    format!("vmbr{k}")
}

/// Run in the node's namespace before qemu starts: each lab interface (the veth to the
/// switch) gives its address up to the VM and joins a bridge with the VM's tap.
pub fn net_script(vm: &Vm) -> String {
    let mut s = String::from("set -e\n");
    for (k, n) in vm.nics.iter().enumerate() {
        let (t, b, i) = (tap(k), bridge(k), &n.ifname);
        s.push_str(&format!(
            "ip addr flush dev {i}\n\
             ip link add {b} type bridge\n\
             ip tuntap add dev {t} mode tap\n\
             ip link set {i} master {b}\n\
             ip link set {t} master {b}\n\
             ip link set {t} up\n\
             ip link set {i} up\n\
             ip link set {b} up\n"
        ));
    }
    s
}

/// The seed disk's files: `hostname`, `addresses` (`MAC IFNAME ADDR/PREFIX` per line).
pub fn seed_files(vm: &Vm) -> Vec<(&'static str, String)> {
    let addresses = vm
        .nics
        .iter()
        .map(|n| format!("{} {} {}/{}\n", n.mac(), n.ifname, n.address, n.prefix))
        .collect();
    vec![
        ("hostname", format!("{}\n", vm.hostname)),
        ("addresses", addresses),
    ]
}

/// The qemu argv for `vm`: no firmware devices, no display, no default NIC; the image read
/// only (`snapshot=on`), the seed disk; one virtio NIC per lab interface on its tap.
pub fn argv(vm: &Vm, image: &VmImage, seed: &Path, accel: &str) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "qemu-system-x86_64".into(),
        "-name".into(),
        vm.node.clone(),
        "-accel".into(),
        // TCG's translation cache is 1 GiB by default: far more than a small VM needs.
        if accel == "kvm" {
            "kvm".into()
        } else {
            "tcg,tb-size=128".into()
        },
        "-smp".into(),
        "1".into(),
        "-m".into(),
        vm.memory_mib.to_string(),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-display".into(),
        "none".into(),
        "-no-reboot".into(),
    ];
    if Path::new(QBOOT).exists() {
        a.extend(["-bios".into(), QBOOT.into()]);
    }
    a.extend([
        "-kernel".into(),
        image.kernel.display().to_string(),
        "-initrd".into(),
        image.initrd.display().to_string(),
        "-append".into(),
        CMDLINE.into(),
        "-drive".into(),
        format!(
            "file={},format=raw,if=virtio,snapshot=on",
            image.disk.display()
        ),
        "-drive".into(),
        format!("file={},format=raw,if=virtio,readonly=on", seed.display()),
        "-serial".into(),
        format!("file:{}", vm.log().display()),
        "-monitor".into(),
        "none".into(),
    ]);
    for (k, n) in vm.nics.iter().enumerate() {
        a.extend([
            "-netdev".into(),
            format!("tap,id=n{k},ifname={},script=no,downscript=no", tap(k)),
            "-device".into(),
            format!("virtio-net-pci,netdev=n{k},mac={}", n.mac()),
        ]);
    }
    a
}

/// A running VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running {
    pub node: String,
    pub pid: i32,
    pub start: u64,
    pub log: PathBuf,
}

impl Running {
    pub fn alive(&self) -> bool {
        self.pid > 0 && start_time(self.pid) == Some(self.start)
    }
}

/// Makes the seed disk and the taps, starts qemu in the node's namespace (detached).
pub fn boot(vm: &Vm, image: &VmImage) -> Result<Running, QemuError> {
    let log = vm.log();
    let fail = |reason: String| QemuError::Boot {
        node: vm.node.clone(),
        reason,
        log: log.clone(),
    };
    let seed_dir = vm.dir.join("seed");
    fs::create_dir_all(&seed_dir).map_err(io_at(&seed_dir))?;
    for (name, text) in seed_files(vm) {
        let p = seed_dir.join(name);
        fs::write(&p, text).map_err(io_at(&p))?;
    }
    for (src, name) in [
        (vm.host_key.clone(), "ssh_host_ed25519_key"),
        (
            vm.host_key.with_extension("pub"),
            "ssh_host_ed25519_key.pub",
        ),
        (vm.authorized_keys.clone(), "authorized_keys"),
    ] {
        let p = seed_dir.join(name);
        fs::copy(&src, &p).map_err(io_at(&src))?;
    }
    let seed = vm.dir.join("seed.img");
    let _ = fs::remove_file(&seed);
    mkfs(&seed_dir, &seed, SEED_SIZE, "halab-seed").map_err(&fail)?;
    // The private key is in the disk now; the seed dir goes.
    let _ = fs::remove_dir_all(&seed_dir);
    let net = format!("--net={}", vm.netns.display());
    let out = Command::new("nsenter")
        .args([&net, "--", "sh", "-c", &net_script(vm)])
        .output()
        .map_err(|e| fail(format!("run nsenter: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "bridge the VM's taps in {}: {}",
            vm.netns.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let accel = std::env::var(ACCEL_ENV).unwrap_or_default();
    let stderr = vm.dir.join("qemu.log");
    let err = fs::File::create(&stderr).map_err(io_at(&stderr))?;
    let child = Command::new("nsenter")
        .arg(&net)
        .arg("--")
        .args(argv(vm, image, &seed, &accel))
        // qemu's snapshot file (`snapshot=on`) lands here, not in /var/tmp.
        .env("TMPDIR", &vm.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| fail(format!("run qemu-system-x86_64: {e}")))?;
    let pid = i32::try_from(child.id()).map_err(|e| fail(e.to_string()))?;
    // Not waited for: it outlives this process (its init reaps it).
    drop(child);
    let start = start_time(pid).ok_or_else(|| fail("exited at once".into()))?;
    Ok(Running {
        node: vm.node.clone(),
        pid,
        start,
        log,
    })
}

/// Connects (from the calling thread's namespace) to each VM's sshd until it sends `SSH-`;
/// a VM whose qemu exited is an error with its console's last lines.
pub fn wait_sshd(
    vms: &[(Running, SocketAddr)],
    timeout: Duration,
    stderr_of: impl Fn(&Running) -> PathBuf,
) -> Result<(), QemuError> {
    let deadline = Instant::now() + timeout;
    for (vm, addr) in vms {
        loop {
            let banner =
                TcpStream::connect_timeout(addr, Duration::from_millis(500)).and_then(|mut s| {
                    s.set_read_timeout(Some(Duration::from_secs(5)))?;
                    let mut buf = [0u8; 4];
                    s.read_exact(&mut buf)?;
                    Ok(buf)
                });
            if banner.as_ref().is_ok_and(|b| b == b"SSH-") {
                break;
            }
            let fail = |reason: String| QemuError::Boot {
                node: vm.node.clone(),
                reason,
                log: vm.log.clone(),
            };
            if !vm.alive() {
                let err = fs::read_to_string(stderr_of(vm)).unwrap_or_default();
                return Err(fail(format!(
                    "qemu exited: {} | console: {}",
                    err.trim(),
                    tail(&vm.log, 8)
                )));
            }
            if Instant::now() > deadline {
                return Err(fail(format!(
                    "no sshd on {addr} within {timeout:?}; console: {}",
                    tail(&vm.log, 8)
                )));
            }
            sleep(Duration::from_millis(250));
        }
    }
    Ok(())
}

fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(n).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Stops the VM (SIGTERM: qemu exits at once; SIGKILL after 5 s). Only the recorded process.
pub fn stop(vm: &Running) {
    if !vm.alive() {
        return;
    }
    let _ = kill(Pid::from_raw(vm.pid), Signal::SIGTERM);
    let end = Instant::now() + Duration::from_secs(5);
    while vm.alive() && Instant::now() < end {
        sleep(Duration::from_millis(20));
    }
    if vm.alive() {
        let _ = kill(Pid::from_raw(vm.pid), Signal::SIGKILL);
    }
}

pub fn write_record(state_dir: &Path, vms: &[Running]) -> Result<(), QemuError> {
    let path = state_dir.join(RECORD);
    let json = serde_json::to_string_pretty(vms).unwrap_or_default();
    fs::write(&path, json + "\n").map_err(io_at(&path))
}

/// The recorded VMs; none when the bed has no VM hosts.
pub fn read_record(state_dir: &Path) -> Result<Vec<Running>, QemuError> {
    let path = state_dir.join(RECORD);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| QemuError::Record {
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(QemuError::Io { path, source: e }),
    }
}

/// Stops every recorded VM, then forgets them.
pub fn stop_all(state_dir: &Path) -> Result<usize, QemuError> {
    let vms = read_record(state_dir)?;
    std::thread::scope(|s| {
        for v in &vms {
            s.spawn(move || stop(v));
        }
    });
    let path = state_dir.join(RECORD);
    if path.exists() {
        fs::remove_file(&path).map_err(io_at(&path))?;
    }
    Ok(vms.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm() -> Vm {
        Vm {
            node: "loadbalance1".into(),
            hostname: "lb-1".into(),
            netns: "/run/netns/halab-tb-x.loadbalance1".into(),
            nics: vec![
                Nic {
                    ifname: "eth0".into(),
                    address: "192.168.0.141".parse().expect("ip"),
                    prefix: 24,
                },
                Nic {
                    ifname: "eth1".into(),
                    address: "10.1.2.3".parse().expect("ip"),
                    prefix: 16,
                },
            ],
            memory_mib: 448,
            host_key: "/d/host-keys/loadbalance1".into(),
            authorized_keys: "/d/authorized_keys".into(),
            dir: "/run/halab/tb-x/vm-loadbalance1".into(),
        }
    }

    fn image() -> VmImage {
        VmImage {
            disk: "/c/k/vm/root.img".into(),
            kernel: "/c/k/vm/vmlinuz".into(),
            initrd: "/c/k/vm/initrd.img".into(),
            built: false,
            seconds: 0.0,
        }
    }

    #[test]
    fn argv_boots_the_shared_image_read_only_on_taps_without_a_default_nic() {
        let a = argv(&vm(), &image(), Path::new("/s/seed.img"), "").join(" ");
        for want in [
            "-accel tcg,tb-size=128",
            "-smp 1 -m 448",
            "-nodefaults",
            "-kernel /c/k/vm/vmlinuz -initrd /c/k/vm/initrd.img",
            "root=/dev/vda rw",
            "file=/c/k/vm/root.img,format=raw,if=virtio,snapshot=on",
            "file=/s/seed.img,format=raw,if=virtio,readonly=on",
            "-serial file:/run/halab/tb-x/vm-loadbalance1/console.log",
            "-netdev tap,id=n0,ifname=vmtap0,script=no,downscript=no",
            "virtio-net-pci,netdev=n0,mac=52:54:c0:a8:00:8d",
            "virtio-net-pci,netdev=n1,mac=52:54:0a:01:02:03",
        ] {
            assert!(a.contains(want), "{want} in {a}");
        }
        // No user-mode NIC (a way out), no bridge helper (root namespace), no display.
        assert!(!a.contains("-nic ") && !a.contains("user,") && !a.contains("helper"));
        assert!(argv(&vm(), &image(), Path::new("/s"), "kvm").contains(&"kvm".to_owned()));
    }

    #[test]
    fn the_node_bridges_its_veth_with_the_tap_and_keeps_no_address() {
        let s = net_script(&vm());
        for want in [
            "ip addr flush dev eth0",
            "ip link add vmbr0 type bridge",
            "ip tuntap add dev vmtap0 mode tap",
            "ip link set eth0 master vmbr0",
            "ip link set vmtap0 master vmbr0",
            "ip link set eth1 master vmbr1",
        ] {
            assert!(s.contains(want), "{want} in {s}");
        }
        assert!(!s.contains("addr add") && !s.contains("route"), "{s}");
        assert!(s.starts_with("set -e\n"));
    }

    #[test]
    fn the_seed_names_the_host_and_its_addresses_by_mac() {
        let files = seed_files(&vm());
        assert_eq!(files[0], ("hostname", "lb-1\n".to_owned()));
        assert_eq!(
            files[1],
            (
                "addresses",
                "52:54:c0:a8:00:8d eth0 192.168.0.141/24\n52:54:0a:01:02:03 eth1 10.1.2.3/16\n"
                    .to_owned()
            )
        );
    }

    #[test]
    fn missing_tools_name_their_packages_and_the_install() {
        let e = QemuError::Missing(vec!["qemu-system-x86", "e2fsprogs"]).to_string();
        assert!(
            e.contains("qemu-system-x86, e2fsprogs not installed"),
            "{e}"
        );
        assert!(
            e.contains("apt-get install -y qemu-system-x86 e2fsprogs"),
            "{e}"
        );
        // Every package named is one scripts/setup installs.
        let setup =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup"))
                .expect("scripts/setup");
        for (_, pkg) in TOOLS {
            assert!(setup.contains(pkg), "{pkg} not in scripts/setup");
        }
    }

    #[test]
    fn a_record_round_trips_and_stopping_a_dead_vm_signals_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read_record(dir.path()).expect("none").is_empty());
        // PID 1 with a start time it does not have: not ours, never signalled.
        let vm = Running {
            node: "lb1".into(),
            pid: 1,
            start: u64::MAX,
            log: "/x".into(),
        };
        assert!(!vm.alive());
        write_record(dir.path(), std::slice::from_ref(&vm)).expect("write");
        assert_eq!(read_record(dir.path()).expect("read"), vec![vm]);
        assert_eq!(stop_all(dir.path()).expect("stop"), 1);
        assert!(!dir.path().join(RECORD).exists());
    }
}
