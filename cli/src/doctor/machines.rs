//! `halab doctor`'s optional probes: whether this machine can run systemd test hosts
//! (`halab testbed up --systemd`), VM test hosts (`halab testbed up --vm`) and
//! `provider: vagrant`, and how to make it so. The netns provider needs none of them, so they
//! never fail `doctor`.

use std::fs::OpenOptions;
use std::path::Path;

use super::{Probe, found};
use crate::testbed::{image, nspawn};

pub fn probes() -> Vec<Probe> {
    vec![systemd_hosts(), kvm(), qemu(), vagrant()]
}

fn optional(name: &'static str, ok: bool, detail: String, fix: Option<String>) -> Probe {
    Probe {
        name,
        ok,
        optional: true,
        detail,
        fix: if ok { None } else { fix },
    }
}

fn systemd_hosts() -> Probe {
    let missing: Vec<&str> = [
        ("systemd-nspawn", "systemd-container"),
        ("mmdebstrap", "mmdebstrap"),
        ("dpkg-scanpackages", "dpkg-dev"),
    ]
    .iter()
    .filter(|(bin, _)| found(bin).is_none())
    .map(|(_, pkg)| *pkg)
    .collect();
    let cgroups = nspawn::cgroup_roots();
    let writable = !cgroups.is_empty()
        && cgroups
            .iter()
            .all(|d| nix::unistd::access(d, nix::unistd::AccessFlags::W_OK).is_ok());
    let cache = image::cache_dir().join(image::key(image::Flavor::Container));
    let cached = cache.join("done").exists();
    let detail = if !missing.is_empty() {
        format!("missing {}", missing.join(", "))
    } else if !writable {
        "no writable cgroup hierarchy under /sys/fs/cgroup (nspawn needs one)".into()
    } else if cached {
        format!(
            "systemd-nspawn, mmdebstrap, cgroups ({}); image cached in {}",
            cgroups
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            cache.display()
        )
    } else {
        format!(
            "systemd-nspawn, mmdebstrap, cgroups; image not built yet: the first `halab testbed up --systemd` builds it into {} (about 1-2 min, from this machine's apt sources)",
            cache.display()
        )
    };
    optional(
        "systemd hosts (testbed --systemd)",
        missing.is_empty() && writable,
        detail,
        Some(if missing.is_empty() {
            "mount a writable cgroup hierarchy (cgroup2 on /sys/fs/cgroup, or name=systemd v1)"
                .into()
        } else {
            format!(
                "apt-get install -y {} (scripts/setup does)",
                missing.join(" ")
            )
        }),
    )
}

fn kvm() -> Probe {
    let dev = Path::new("/dev/kvm");
    let open = OpenOptions::new().read(true).write(true).open(dev);
    let (ok, detail) = match open {
        // PVM: nested virtualisation without VMX, for PVM guest kernels only (docs/vagrant.md).
        Ok(_) if Path::new("/sys/module/kvm_pvm").exists() => (
            false,
            "/dev/kvm is kvm_pvm (PVM): it runs PVM guest kernels only, no BIOS nor Debian kernel; VMs run under TCG here".to_string(),
        ),
        Ok(_) => (
            true,
            "/dev/kvm opens read-write: VMs can use hardware virtualisation (see docs/vagrant.md for what booted here)".to_string(),
        ),
        Err(e) if dev.exists() => (false, format!("/dev/kvm: {e}")),
        Err(_) => (
            false,
            "no /dev/kvm: VMs would run under TCG (emulation, about 10x slower)".to_string(),
        ),
    };
    optional(
        "VMs: KVM",
        ok,
        detail,
        Some("enable virtualisation (VT-x/AMD-V, or nested virtualisation for a VM), then `modprobe kvm_intel` or `modprobe kvm_amd`".into()),
    )
}

fn qemu() -> Probe {
    let missing = crate::testbed::qemu::missing_packages();
    let cache = image::cache_dir().join(image::key(image::Flavor::Vm));
    let detail = if !missing.is_empty() {
        format!("missing {}", missing.join(", "))
    } else if cache.join("vm/done").exists() {
        format!(
            "qemu, mkfs.ext4, mmdebstrap; VM image cached in {}; each VM: 1 vCPU, {} MiB ({})",
            cache.display(),
            crate::testbed::qemu::memory_mib(),
            crate::testbed::qemu::MEMORY_ENV
        )
    } else {
        format!(
            "qemu, mkfs.ext4, mmdebstrap; VM image not built yet: the first `halab testbed up --vm` builds it into {} (about 3 min)",
            cache.display()
        )
    };
    optional(
        "VM hosts (testbed --vm, qemu)",
        missing.is_empty(),
        detail,
        Some(format!(
            "apt-get install -y {} (scripts/setup does)",
            missing.join(" ")
        )),
    )
}

/// `provider: vagrant` here: Debian's vagrant with the halab provider the Vagrantfile loads
/// (qemu in lab namespaces, `testbed::vagrant_vm`), which needs the VM hosts' tools and
/// socat + nsenter for ssh through the lab's control namespace.
fn vagrant() -> Probe {
    let v = found("vagrant");
    let mut missing: Vec<&str> = crate::testbed::qemu::missing_packages();
    for (bin, pkg) in [("socat", "socat"), ("nsenter", "util-linux")] {
        if found(bin).is_none() {
            missing.push(pkg);
        }
    }
    if v.is_none() {
        missing.insert(0, "vagrant");
    }
    let b = crate::testbed::vagrant_vm::box_ref(&image::cache_dir());
    let detail = match &v {
        None => "vagrant is not installed: `provider: vagrant` labs cannot run here".to_string(),
        Some(p) if !missing.is_empty() => format!("{p}, but missing {}", missing.join(", ")),
        Some(p) if b.file.exists() => format!(
            "{p} with the halab provider (qemu, TCG, in lab namespaces); box {} made ({})",
            b.name,
            b.file.display()
        ),
        Some(p) => format!(
            "{p} with the halab provider (qemu, TCG, in lab namespaces); box not made yet: the first `halab up` of a vagrant lab (or `halab testbed box`) makes it from the VM image"
        ),
    };
    optional(
        "provider: vagrant (halab provider)",
        missing.is_empty(),
        detail,
        Some(format!(
            "apt-get install -y --no-install-recommends {} (scripts/setup does); then `halab up labs/seed000/vagrant` (docs/vagrant.md)",
            missing.join(" ")
        )),
    )
}
