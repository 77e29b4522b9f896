//! `halab down` for a netns lab: from its state dir alone (works after a crash of halab or
//! of a daemon).

use std::path::Path;

use crate::apply::UpError;
use halab_netns as netns;

/// Stops every node init, removes the namespaces, then the state dir. None: nothing was up.
pub fn down(dir: &Path) -> Result<Option<netns::DownReport>, UpError> {
    if !dir.exists() {
        return Ok(None);
    }
    let report = netns::down(dir)?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(Some(report))
}
