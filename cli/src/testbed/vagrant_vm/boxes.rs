//! The halab box: a Vagrant box file made from the cached VM image, and the image that an
//! unpacked box boots.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{BOX_PREFIX, PROVIDER};
use crate::testbed::{TestbedError, image, io_at, qemu};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
