//! `vrrp_sync_group NAME { ... }`.

use super::Out;
use super::read::{block_of, command};
use crate::SyncGroupConf;
use crate::tree::Stmt;

pub(super) fn sync_group(name: String, block: &[Stmt], out: &mut Out<'_>) -> SyncGroupConf {
    let mut group = SyncGroupConf {
        name: name.clone(),
        ..SyncGroupConf::default()
    };
    for s in block {
        match s.key.text.as_str() {
            "group" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        for word in entry.words() {
                            group.instances.push(word.text.clone());
                        }
                        if entry.block.is_some() {
                            out.err(entry.pos(), "unexpected block in group");
                        }
                    }
                }
            }
            "notify_master" => group.notify.master = command(s, out),
            "notify_backup" => group.notify.backup = command(s, out),
            "notify_fault" => group.notify.fault = command(s, out),
            "notify_stop" => group.notify.stop = command(s, out),
            "notify" => group.notify.any = command(s, out),
            _ => out.unknown(
                s,
                &format!("vrrp_sync_group {name}"),
                &[
                    "group",
                    "notify_master",
                    "notify_backup",
                    "notify_fault",
                    "notify_stop",
                    "notify",
                ],
            ),
        }
    }
    group
}
