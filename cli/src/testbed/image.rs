//! The root file system of the test bed's systemd hosts: Debian 12 made by `mmdebstrap` from
//! Debian packages, built once and cached, keyed by what goes into it.
//!
//! The image has systemd as init, sshd and the tools halab's ssh provider uses on a host, but
//! not the stack's packages (haproxy, keepalived, nginx-light, socat): those wait in a local
//! apt repository inside the image (`/srv/halab-repo`, `deb [trusted=yes] file:...`), the
//! image's only apt source, so the provider's `apt-get install` runs for real and never leaves
//! the host. Hosts boot it read-only with a tmpfs overlay (`systemd-nspawn --volatile=overlay`):
//! one image serves every host, and nothing a host does outlives it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

/// Installed in the image: init, sshd, and what the ssh provider runs on a host.
pub const PACKAGES: [&str; 12] = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "iproute2",
    "nftables",
    "procps",
    "psmisc",
    "sysvinit-utils",
    "curl",
    "iputils-ping",
    "tcpdump",
];
/// Added for a VM's image ([`Flavor::Vm`]): a kernel (its initramfs has virtio and ext4).
pub const VM_PACKAGES: [&str; 1] = ["linux-image-amd64"];
/// Downloaded into the image's local repository, not installed: what the provider installs.
pub const REPO_PACKAGES: [&str; 4] = ["haproxy", "keepalived", "nginx-light", "socat"];
pub const SUITE: &str = "bookworm";
/// Where the repository lies inside the image.
pub const REPO_DIR: &str = "/srv/halab-repo";
/// Overrides the cache directory.
pub const CACHE_ENV: &str = "HALAB_IMAGE_CACHE";
const DEFAULT_CACHE: &str = "/var/cache/halab/images";

/// mmdebstrap's customize hook ($1 = the new root): the local repository, no other apt
/// source, no host keys (each host gets its own), no /etc/hostname (the
/// build machine's; nspawn sets each host's), root's .ssh for the bed's key.
const HOOK: &str = r#"set -e
R="$1"
chroot "$R" apt-get install -y -q --download-only --no-install-recommends @REPO@
mkdir -p "$R@DIR@"
mv "$R"/var/cache/apt/archives/*.deb "$R@DIR@/"
(cd "$R@DIR@" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null)
rm -f "$R"/etc/apt/sources.list "$R"/etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:@DIR@ ./' > "$R/etc/apt/sources.list.d/halab-local.list"
rm -f "$R"/etc/ssh/ssh_host_* "$R"/etc/hostname
install -d -m 700 "$R/root/.ssh"
"#;

/// A VM's boot ([`Flavor::Vm`]): its per-host seed disk (`/dev/vdb`, made by `qemu.rs`)
/// gives the host name, the addresses by MAC, the host key and root's authorized_keys, all
/// in place before sshd starts. No DHCP and no other network configuration in the image:
/// the lab's addresses are the VM's only ones, and it has no route out.
const VM_HOOK: &str = r#"
cat > "$R/usr/local/sbin/halab-seed" <<'SEED'
#!/bin/sh
set -e
S=/run/halab-seed
mkdir -p $S
mount -o ro /dev/vdb $S
hostname "$(cat $S/hostname)"
cp $S/hostname /etc/hostname
install -m 600 $S/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key
install -m 644 $S/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ed25519_key.pub
install -d -m 700 /root/.ssh
install -m 600 $S/authorized_keys /root/.ssh/authorized_keys
k=0
while read -r mac name cidr; do
  for d in /sys/class/net/*; do
    [ "$(cat $d/address)" = "$mac" ] && ip link set "${d##*/}" name "halabtmp$k"
  done
  k=$((k+1))
done < $S/addresses
k=0
while read -r mac name cidr; do
  ip link set "halabtmp$k" name "$name"
  ip link set "$name" up
  ip addr add "$cidr" dev "$name"
  k=$((k+1))
done < $S/addresses
umount $S
SEED
chmod 755 "$R/usr/local/sbin/halab-seed"
cat > "$R/etc/systemd/system/halab-seed.service" <<'UNIT'
[Unit]
Description=halab test bed VM: host name, addresses, ssh keys from /dev/vdb
DefaultDependencies=no
Requires=dev-vdb.device
After=dev-vdb.device local-fs.target
Before=ssh.service network.target sysinit.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/halab-seed

[Install]
WantedBy=sysinit.target
UNIT
mkdir -p "$R/etc/systemd/system/sysinit.target.wants"
ln -s /etc/systemd/system/halab-seed.service "$R/etc/systemd/system/sysinit.target.wants/halab-seed.service"
for t in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$R/etc/systemd/system/$t"
done
"#;

/// Which image: a container's root (systemd-nspawn) or a VM's (qemu, kernel inside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Container,
    Vm,
}

impl Flavor {
    fn packages(self) -> Vec<&'static str> {
        match self {
            Flavor::Container => PACKAGES.to_vec(),
            Flavor::Vm => PACKAGES.iter().chain(&VM_PACKAGES).copied().collect(),
        }
    }

    fn hook(self) -> &'static str {
        match self {
            Flavor::Container => "",
            Flavor::Vm => VM_HOOK,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "build the systemd hosts' image with mmdebstrap: {reason}\n  hint: scripts/setup installs mmdebstrap and systemd-container; the first build downloads Debian packages from the machine's apt sources (log: {log})"
    )]
    Build { reason: String, log: PathBuf },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A built image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Image {
    /// The root file system (read-only for the hosts).
    pub rootfs: PathBuf,
    /// Whether this call built it (false: it was cached).
    pub built: bool,
    pub seconds: f64,
}

/// The cache key: everything that makes the image what it is. The container's is the same
/// as before VMs existed (its cached image stays valid).
pub fn key(flavor: Flavor) -> String {
    let mut h = Sha256::new();
    h.update(SUITE);
    for p in PACKAGES.iter().chain(&["--repo--"]).chain(&REPO_PACKAGES) {
        h.update(p);
        h.update([0]);
    }
    h.update(HOOK);
    if flavor == Flavor::Vm {
        for p in VM_PACKAGES {
            h.update(p);
            h.update([0]);
        }
        h.update(VM_HOOK);
    }
    let d = h.finalize();
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn hook_script(flavor: Flavor) -> String {
    HOOK.replace("@REPO@", &REPO_PACKAGES.join(" "))
        .replace("@DIR@", REPO_DIR)
        + flavor.hook()
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os(CACHE_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CACHE), PathBuf::from)
}

/// The image, built if the cache lacks it. Concurrent callers wait for one build (a lock
/// file beside it); a failed build leaves nothing that counts as an image.
pub fn ensure(cache: &Path, flavor: Flavor) -> Result<Image, ImageError> {
    let start = Instant::now();
    let dir = cache.join(key(flavor));
    let rootfs = dir.join("rootfs");
    let done = dir.join("done");
    if done.exists() {
        return Ok(Image {
            rootfs,
            built: false,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    fs::create_dir_all(&dir).map_err(io_at(&dir))?;
    let lock_path = dir.join("lock");
    let lock = fs::File::create(&lock_path).map_err(io_at(&lock_path))?;
    let _lock =
        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            ImageError::Io {
                path: lock_path.clone(),
                source: e.into(),
            }
        })?;
    if done.exists() {
        return Ok(Image {
            rootfs,
            built: false,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let tmp = dir.join("rootfs.tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_at(&tmp))?;
    }
    if rootfs.exists() {
        fs::remove_dir_all(&rootfs).map_err(io_at(&rootfs))?;
    }
    let log = dir.join("build.log");
    let hook = dir.join("hook.sh");
    fs::write(&hook, hook_script(flavor)).map_err(io_at(&hook))?;
    let log_file = fs::File::create(&log).map_err(io_at(&log))?;
    let err_file = log_file.try_clone().map_err(io_at(&log))?;
    let status = Command::new("mmdebstrap")
        .args(["--variant=apt", "--format=directory"])
        .arg(format!("--include={}", flavor.packages().join(",")))
        .arg(format!("--customize-hook=sh {} \"$1\"", hook.display()))
        .arg(SUITE)
        .arg(&tmp)
        .stdin(std::process::Stdio::null())
        .stdout(log_file)
        .stderr(err_file)
        .status();
    let fail = |reason: String| ImageError::Build {
        reason,
        log: log.clone(),
    };
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            let text = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(6).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(fail(format!("{s}: {}", tail.join(" | "))));
        }
        Err(e) => return Err(fail(format!("run mmdebstrap: {e}"))),
    }
    fs::rename(&tmp, &rootfs).map_err(io_at(&rootfs))?;
    fs::write(&done, format!("{:.1}\n", start.elapsed().as_secs_f64())).map_err(io_at(&done))?;
    Ok(Image {
        rootfs,
        built: true,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_fills_in_the_repository_and_the_key_is_hex() {
        let script = hook_script(Flavor::Container);
        assert!(!script.contains('@'), "{script}");
        assert!(script.contains("--no-install-recommends haproxy keepalived nginx-light socat"));
        assert!(script.contains("file:/srv/halab-repo ./"));
        assert!(!script.contains("halab-seed"));
        for f in [Flavor::Container, Flavor::Vm] {
            assert_eq!(key(f).len(), 16);
            assert!(key(f).chars().all(|c| c.is_ascii_hexdigit()));
        }
        assert_ne!(key(Flavor::Container), key(Flavor::Vm));
    }

    #[test]
    fn the_vm_image_has_a_kernel_and_seeds_itself_before_sshd() {
        assert!(Flavor::Vm.packages().contains(&"linux-image-amd64"));
        assert!(!Flavor::Container.packages().contains(&"linux-image-amd64"));
        let script = hook_script(Flavor::Vm);
        assert!(script.starts_with(&hook_script(Flavor::Container)));
        assert!(script.contains("Before=ssh.service"), "{script}");
        assert!(script.contains("sysinit.target.wants/halab-seed.service"));
        // No DHCP client, no network config of Debian's: the seed's addresses only.
        assert!(!script.contains("dhcp") && !Flavor::Vm.packages().contains(&"ifupdown"));
    }
}
