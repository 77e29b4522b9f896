//! halabd as a Debian package: `halabd_<version>_<arch>.deb` with the binary
//! (`/usr/sbin/halabd`, debug info stripped), its unit (`/lib/systemd/system/halabd.service`,
//! from `daemon/debian/`), a man page made from its `--help`, and maintainer scripts that only
//! tell systemd about the unit (nothing is started or enabled on install). Built with
//! `dpkg-deb` from the binary given; `scripts/deb` and the ssh provider (on Debian hosts with
//! systemd) both use this.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const PACKAGE: &str = "halabd";
pub const BINARY: &str = "/usr/sbin/halabd";
pub const UNIT: &str = "/lib/systemd/system/halabd.service";
pub const MAN: &str = "/usr/share/man/man8/halabd.8.gz";

const UNIT_TEXT: &str = include_str!("../../daemon/debian/halabd.service");
const POSTINST: &str = include_str!("../../daemon/debian/postinst");
const PRERM: &str = include_str!("../../daemon/debian/prerm");
const POSTRM: &str = include_str!("../../daemon/debian/postrm");

#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("run `{cmd}`: {reason}")]
    Command { cmd: String, reason: String },
    #[error(
        "read the version of {path}: `--version` printed {seen:?}\n  hint: pass a halabd binary (cargo build -p halabd)"
    )]
    Version { path: PathBuf, seen: String },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> DebError + '_ {
    move |source| DebError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn run(cmd: &mut Command) -> Result<String, DebError> {
    let name = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| DebError::Command {
        cmd: name.clone(),
        reason: e.to_string(),
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(DebError::Command {
            cmd: name,
            reason: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

/// A built package.
#[derive(Debug, Clone)]
pub struct Deb {
    pub path: PathBuf,
    /// Of `/usr/sbin/halabd` in it: a host whose binary has it runs this build.
    pub binary_sha256: String,
    pub version: String,
    pub arch: String,
}

/// Debian's name for this machine's architecture.
pub fn arch() -> String {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        other => other,
    }
    .to_owned()
}

/// "halabd 0.1.0" or "halabd 0.1.0 (keepalived 2.2.7-compatible VRRP)" -> "0.1.0".
pub fn parse_version(text: &str) -> Option<String> {
    let first = text.lines().next()?.strip_prefix("halabd ")?;
    let v = first.split(" (").next()?.trim();
    (!v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+~-".contains(c)))
    .then(|| v.to_owned())
}

/// The man page (roff) from `--help`: name, synopsis, the options as halabd prints them,
/// files, and where to read more.
pub fn man_page(version: &str, help: &str) -> String {
    let escape = |l: &str| {
        let l = l.replace('\\', "\\e");
        if l.starts_with('.') || l.starts_with('\'') {
            format!("\\&{l}")
        } else {
            l
        }
    };
    let mut lines = help.lines();
    let summary = lines.next().unwrap_or("VRRP daemon").trim().to_owned();
    let body: Vec<String> = lines.map(escape).collect();
    format!(
        ".TH HALABD 8 \"\" \"halabd {version}\" \"System Administration\"\n\
         .SH NAME\nhalabd \\- {summary}\n\
         .SH SYNOPSIS\n.B halabd\n[\\fIOPTIONS\\fR]\n\
         .SH DESCRIPTION\nhalabd reads keepalived.conf and runs its VRRP instances as keepalived would.\n\
         As a service: \\fBsystemctl enable \\-\\-now halabd\\fR (it conflicts with keepalived.service).\n\
         .SH OPTIONS\n.nf\n{}\n.fi\n\
         .SH FILES\n.TP\n/etc/keepalived/keepalived.conf\nthe configuration\n.TP\n{UNIT}\nthe systemd unit\n\
         .SH SEE ALSO\n.BR keepalived.conf (5),\n.BR keepalived (8)\n",
        body.join("\n").trim_matches('\n')
    )
}

fn control(version: &str, arch: &str, installed_kib: u64) -> String {
    format!(
        "Package: {PACKAGE}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: halab <halab@localhost>\n\
         Installed-Size: {installed_kib}\nDepends: libc6\nSection: net\nPriority: optional\n\
         Description: keepalived-compatible VRRP daemon\n \
         halabd reads keepalived.conf and speaks VRRPv2/v3 like keepalived, with a status\n \
         API (GET /status, /metrics). Built by halab (scripts/deb).\n"
    )
}

/// Builds `OUT/halabd_<version>_<arch>.deb` from the halabd binary `halabd`.
pub fn build(halabd: &Path, out: &Path) -> Result<Deb, DebError> {
    let seen = run(Command::new(halabd).arg("--version"))?;
    let version = parse_version(&seen).ok_or_else(|| DebError::Version {
        path: halabd.to_path_buf(),
        seen: seen.trim().to_owned(),
    })?;
    let help = run(Command::new(halabd).arg("--help"))?;
    let arch = arch();
    let tree = tempfile::tempdir().map_err(io_at(out))?;
    let root = tree.path().join("root");
    let put = |path: &str, mode: u32, bytes: &[u8]| -> Result<(), DebError> {
        let p = root.join(path.trim_start_matches('/'));
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(io_at(d))?;
        }
        fs::write(&p, bytes).map_err(io_at(&p))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).map_err(io_at(&p))
    };
    let bin = root.join(BINARY.trim_start_matches('/'));
    fs::create_dir_all(bin.parent().unwrap_or(&root)).map_err(io_at(&root))?;
    // Without debug info (a debug build is ~10x larger); a plain copy when strip is missing.
    if run(Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&bin)
        .arg(halabd))
    .is_err()
    {
        fs::copy(halabd, &bin).map_err(io_at(&bin))?;
    }
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).map_err(io_at(&bin))?;
    let binary_sha256 = run(Command::new("sha256sum").arg(&bin))?
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    put(UNIT, 0o644, UNIT_TEXT.as_bytes())?;
    let man = tree.path().join("halabd.8");
    fs::write(&man, man_page(&version, &help)).map_err(io_at(&man))?;
    run(Command::new("gzip").args(["-9n", "-f"]).arg(&man))?;
    let gz = fs::read(man.with_extension("8.gz")).map_err(io_at(&man))?;
    put(MAN, 0o644, &gz)?;
    let size = fs::metadata(&bin).map_err(io_at(&bin))?.len() / 1024
        + (UNIT_TEXT.len() + gz.len()) as u64 / 1024
        + 1;
    put(
        "DEBIAN/control",
        0o644,
        control(&version, &arch, size).as_bytes(),
    )?;
    put("DEBIAN/postinst", 0o755, POSTINST.as_bytes())?;
    put("DEBIAN/prerm", 0o755, PRERM.as_bytes())?;
    put("DEBIAN/postrm", 0o755, POSTRM.as_bytes())?;
    fs::create_dir_all(out).map_err(io_at(out))?;
    let path = out.join(format!("{PACKAGE}_{version}_{arch}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(&path))?;
    Ok(Deb {
        path,
        binary_sha256,
        version,
        arch,
    })
}

/// `halab deb`: prints the package's path.
pub fn cmd_build(halabd: Option<PathBuf>, out: &Path) -> i32 {
    let halabd = halabd
        .or_else(|| std::env::var_os("HALABD").map(PathBuf::from))
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .map(|e| e.with_file_name("halabd"))
        })
        .unwrap_or_else(|| PathBuf::from("halabd"));
    match build(&halabd, out) {
        Ok(deb) => {
            println!("{}", deb.path.display());
            crate::exit_codes::OK
        }
        Err(e) => {
            eprintln!("error: failed to build halabd's package: {e}");
            crate::exit_codes::LAB_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_the_first_line_only_when_it_is_halabd() {
        assert_eq!(parse_version("halabd 0.1.0\n"), Some("0.1.0".into()));
        assert_eq!(
            parse_version("halabd 0.1.0 (keepalived 2.2.7-compatible VRRP)\n"),
            Some("0.1.0".into())
        );
        assert_eq!(parse_version("keepalived 2.2.7\n"), None);
        assert_eq!(parse_version("halabd 1.0 beta\n"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn man_page_escapes_roff_and_keeps_the_options() {
        let m = man_page(
            "0.1.0",
            "halab's VRRP daemon\n\nOptions:\n  -f, --use-file <CONFIG>  a\\b\n.dot line\n",
        );
        assert!(m.starts_with(".TH HALABD 8"), "{m}");
        assert!(m.contains("halabd \\- halab's VRRP daemon"), "{m}");
        assert!(m.contains("-f, --use-file <CONFIG>  a\\eb"), "{m}");
        assert!(m.contains("\n\\&.dot line\n"), "{m}");
    }

    #[test]
    fn the_unit_runs_the_packaged_binary_and_is_not_keepalived() {
        assert!(
            UNIT_TEXT.contains("ExecStart=/usr/sbin/halabd -f /etc/keepalived/keepalived.conf")
        );
        assert!(UNIT_TEXT.contains("Conflicts=keepalived.service"));
        assert!(!POSTINST.contains("systemctl enable") && !POSTINST.contains("systemctl start"));
    }
}
