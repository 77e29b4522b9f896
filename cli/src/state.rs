//! Where halab keeps what it knows of running labs, whichever provider made them: one dir
//! per lab under the state root, files in it written private.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::lab::Lab;
use crate::lab::model::Engine;

/// The VRRP engine each LB of a running lab runs (`halab test --engine` may differ from the
/// lab file), so what halab says of a running lab is what runs.
const ENGINES: &str = "engines.json";

/// Where running labs keep their state: `$HALAB_STATE_DIR` or /run/halab (gone at reboot,
/// like the namespaces themselves).
pub fn state_root() -> PathBuf {
    std::env::var_os("HALAB_STATE_DIR").map_or_else(|| PathBuf::from("/run/halab"), PathBuf::from)
}

pub fn state_dir(root: &Path, lab: &str) -> PathBuf {
    root.join(lab)
}

/// Writes `bytes` at `path` with `mode`, never readable by others on the way (write to a
/// 0600 temporary, chmod, rename).
pub fn write_private(path: &Path, mode: u32, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    let tmp = path.with_extension("halab-new");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path)
}

/// Records which engine each LB runs, once the lab is up.
pub fn save_engines(dir: &Path, lab: &Lab) -> std::io::Result<()> {
    let engines: BTreeMap<&str, Engine> = lab
        .lbs()
        .filter_map(|n| n.engine.map(|e| (n.name.as_str(), e)))
        .collect();
    let text = serde_json::to_string_pretty(&engines).unwrap_or_default();
    write_private(&dir.join(ENGINES), 0o600, text.as_bytes())
}

/// Forgets the engines recorded by [`save_engines`] (the lab is down).
pub fn forget_engines(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(ENGINES));
}

/// Which engine each LB of the running lab runs; None: not recorded (not up).
pub fn running_engines(dir: &Path) -> Option<BTreeMap<String, Engine>> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(ENGINES)).ok()?).ok()
}
