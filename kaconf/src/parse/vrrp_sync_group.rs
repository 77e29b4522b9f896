//! `vrrp_sync_group NAME { ... }`.

use super::Out;
use super::read::{block_of, bool_opt, command, no_args, track_ref};
use crate::directives::Block;
use crate::tree::{Stmt, Stmts};
use crate::{SyncGroupConf, TrackRef};

pub(super) fn sync_group(name: String, block: Stmts<'_>, out: &mut Out<'_>) -> SyncGroupConf {
    let mut group = SyncGroupConf {
        name: name.clone(),
        ..SyncGroupConf::default()
    };
    let within = format!("vrrp_sync_group {name}");
    for s in block {
        if !out.admit(Block::VrrpSyncGroup, &within, s) {
            continue;
        }
        match s.key.text {
            "group" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        for word in entry.words() {
                            group.instances.push(word.text.to_owned());
                        }
                        if entry.block.is_some() {
                            out.err(entry.pos(), "unexpected block in group");
                        }
                    }
                }
            }
            "notify_master" => group.notify.master = command(s, out).map(Box::new),
            "notify_backup" => group.notify.backup = command(s, out).map(Box::new),
            "notify_fault" => group.notify.fault = command(s, out).map(Box::new),
            "notify_stop" => group.notify.stop = command(s, out).map(Box::new),
            "notify" => group.notify.any = command(s, out).map(Box::new),
            "track_interface" => refs(s, &mut group.tracking.interfaces, out),
            "track_script" => refs(s, &mut group.tracking.scripts, out),
            "track_file" => refs(s, &mut group.tracking.files, out),
            "track_process" => refs(s, &mut group.tracking.processes, out),
            "global_tracking" => {
                no_args(s, out);
                group.tracking.global_tracking = true;
            }
            "sync_group_tracking_weight" => {
                no_args(s, out);
                group.tracking.tracking_weight = true;
            }
            "notify_priority_changes" => {
                group.tracking.notify_priority_changes = Some(bool_opt(s, out))
            }
            _ => out.unknown(s, Block::VrrpSyncGroup, &within),
        }
    }
    group
}

/// A `track_* { NAME [weight N [reverse]] ... }` block.
pub(super) fn refs(stmt: Stmt<'_>, into: &mut Vec<TrackRef>, out: &mut Out<'_>) {
    if let Some(b) = block_of(stmt, out) {
        into.extend(b.iter().filter_map(|entry| track_ref(entry, out)));
    }
}
