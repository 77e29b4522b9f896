//! Statements into the typed [`Config`]: every keyword halabd knows, every error with its place.
//!
//! One module per block: [`global_defs`], [`vrrp_script`], [`vrrp_instance`] (with
//! [`addresses`]: virtual_ipaddress and virtual_routes entries), [`vrrp_sync_group`];
//! [`trackers`]: track_file and vrrp_track_process. [`crate::directives`] decides which
//! keywords are read, skipped or refused; [`read`] has the small value readers.

mod addresses;
mod global_defs;
mod read;
mod trackers;
mod vrrp_instance;
mod vrrp_script;
mod vrrp_sync_group;
mod wire;

use std::collections::{HashMap, HashSet};

use halab_vrrp::Instance;

use super::lexer::Pos;
use super::tree::{Stmt, Stmts};
use super::{Config, Diagnostic};
use crate::directives::{self, Block, Verdict};
pub use addresses::scope_number;
use global_defs::InstanceDefaults;
use read::{block_of, name_of};

/// Where problems go.
struct Out<'a> {
    errors: &'a mut Vec<Diagnostic>,
    notices: &'a mut Vec<Diagnostic>,
    /// Directives read but not acted on yet (refused unless a test asks for their values).
    pending: &'a mut Vec<Diagnostic>,
}

impl Out<'_> {
    fn err(&mut self, pos: &Pos, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(pos, message));
    }

    fn notice(&mut self, pos: &Pos, message: impl Into<String>) {
        self.notices.push(Diagnostic::at(pos, message));
    }

    /// A value halabd reads but does not act on yet.
    fn pending(&mut self, pos: &Pos, message: impl Into<String>) {
        self.pending.push(Diagnostic::at(pos, message));
    }

    /// Whether `stmt` in `block` is to be read, after the notice or error the directive table
    /// asks for: supported and pending ones are read, skipped ones get a notice, refused and
    /// unknown ones an error (unknown ones with the nearest keyword as a hint).
    fn admit(&mut self, block: Block, within: &str, stmt: Stmt<'_>) -> bool {
        let word = stmt.key.text;
        match directives::verdict(block, word) {
            Some(Verdict::Supported) => true,
            Some(Verdict::Pending(reason)) => {
                self.pending(stmt.pos(), format!("`{word}` in {within}: {reason}"));
                true
            }
            Some(Verdict::Skipped(reason)) => {
                self.notice(stmt.pos(), format!("`{word}` skipped: {reason}"));
                false
            }
            Some(Verdict::Refused(reason)) => {
                self.err(
                    stmt.pos(),
                    format!("`{word}` in {within} is not supported by halabd: {reason}"),
                );
                false
            }
            None => {
                self.unknown(stmt, block, within);
                false
            }
        }
    }

    /// An unknown keyword, with the nearest known one as a hint.
    fn unknown(&mut self, stmt: Stmt<'_>, block: Block, within: &str) {
        let word = &stmt.key.text;
        let hint = directives::keywords(block)
            .map(|k| (strsim::jaro_winkler(word, k), k))
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        // A keyword of another block, written in the wrong place.
        let elsewhere = directives::TABLE
            .iter()
            .find(|(b, k, _)| *b != block && k == word)
            .map(|(b, _, _)| format!(" (it belongs in {})", b.name()))
            .unwrap_or_default();
        self.err(
            stmt.pos(),
            format!("unknown keyword `{word}` in {within}{hint}{elsewhere}"),
        );
    }
}

pub fn config(
    stmts: Stmts<'_>,
    errors: &mut Vec<Diagnostic>,
    notices: &mut Vec<Diagnostic>,
    pending: &mut Vec<Diagnostic>,
) -> Config {
    let mut out = Out {
        errors,
        notices,
        pending,
    };
    let mut config = Config::default();
    let mut defaults = InstanceDefaults::default();
    // Positions for cross-reference errors.
    let mut script_pos: HashMap<String, Pos> = HashMap::new();
    let mut group_pos: Vec<Pos> = Vec::new();

    for stmt in stmts {
        if !out.admit(Block::Top, Block::Top.name(), stmt) {
            continue;
        }
        match stmt.key.text {
            "global_defs" => {
                if let Some(block) = block_of(stmt, &mut out) {
                    global_defs::global_defs(block, &mut config, &mut defaults, &mut out);
                }
            }
            "vrrp_script" => {
                let Some(name) = name_of(stmt, "vrrp_script", &mut out) else {
                    continue;
                };
                let Some(block) = block_of(stmt, &mut out) else {
                    continue;
                };
                if script_pos.contains_key(&name) {
                    out.err(stmt.pos(), format!("vrrp_script `{name}` is defined twice"));
                    continue;
                }
                if let Some(script) = vrrp_script::script(&name, stmt, block, &mut out) {
                    script_pos.insert(name, *stmt.pos());
                    config.scripts.push(script);
                }
            }
            // Read below, after global_defs wherever it is, for its defaults.
            "vrrp_instance" => {}
            "vrrp_sync_group" => {
                let Some(name) = name_of(stmt, "vrrp_sync_group", &mut out) else {
                    continue;
                };
                let Some(block) = block_of(stmt, &mut out) else {
                    continue;
                };
                group_pos.push(*stmt.pos());
                config
                    .sync_groups
                    .push(vrrp_sync_group::sync_group(name, block, &mut out));
            }
            "track_file" | "vrrp_track_file" => {
                let Some(name) = name_of(stmt, stmt.key.text, &mut out) else {
                    continue;
                };
                let Some(block) = block_of(stmt, &mut out) else {
                    continue;
                };
                if config.track_files.iter().any(|t| t.name == name) {
                    out.err(stmt.pos(), format!("track_file `{name}` is defined twice"));
                    continue;
                }
                if let Some(t) = trackers::track_file(name, stmt, block, &mut out) {
                    config.track_files.push(t);
                }
            }
            "vrrp_track_process" => {
                let Some(name) = name_of(stmt, "vrrp_track_process", &mut out) else {
                    continue;
                };
                let Some(block) = block_of(stmt, &mut out) else {
                    continue;
                };
                if config.track_processes.iter().any(|t| t.name == name) {
                    out.err(
                        stmt.pos(),
                        format!("vrrp_track_process `{name}` is defined twice"),
                    );
                    continue;
                }
                if let Some(t) = trackers::track_process(name, stmt, block, &mut out) {
                    config.track_processes.push(t);
                }
            }
            _ => out.unknown(stmt, Block::Top, Block::Top.name()),
        }
    }
    // Instances: a second walk of the top level, not a list of their statements kept while
    // they are read (it would be left as a hole between their allocations; issue #18).
    let instance_stmts = stmts.iter().filter(|s| s.key.text == "vrrp_instance");
    let count = instance_stmts.clone().count();
    config.instances.reserve_exact(count);
    let mut instance_pos: Vec<Pos> = Vec::with_capacity(count);
    for stmt in instance_stmts {
        let Some(name) = name_of(stmt, "vrrp_instance", &mut out) else {
            continue;
        };
        let Some(block) = block_of(stmt, &mut out) else {
            continue;
        };
        if config.instances.iter().any(|i| i.name == name) {
            out.err(
                stmt.pos(),
                format!("vrrp_instance `{name}` is defined twice"),
            );
            continue;
        }
        if let Some(mut instance) = vrrp_instance::instance(name, stmt, block, &defaults, &mut out)
        {
            wire::complete(&mut instance, block, &config.global, stmt.pos(), &mut out);
            instance_pos.push(*stmt.pos());
            config.instances.push(instance);
        }
    }
    cross_check(&config, &script_pos, &instance_pos, &group_pos, &mut out);
    config
}

/// References between blocks, and what the protocol core itself rejects.
fn cross_check(
    config: &Config,
    scripts: &HashMap<String, Pos>,
    instance_pos: &[Pos],
    group_pos: &[Pos],
    out: &mut Out<'_>,
) {
    let clashes = vrid_clashes(&config.instances);
    for ((instance, pos), clash) in config.instances.iter().zip(instance_pos).zip(clashes) {
        for (name, _) in &instance.track_scripts {
            if !scripts.contains_key(name) {
                out.err(
                    pos,
                    format!(
                        "vrrp_instance {} tracks script `{name}`, which no vrrp_script defines",
                        instance.name
                    ),
                );
            }
        }
        let tracking = &instance.tracking;
        check_refs(
            config,
            &instance.name,
            "vrrp_instance",
            tracking.files.iter(),
            tracking.processes.iter(),
            pos,
            out,
        );
        if let Some(other) = clash.and_then(|i| config.instances.get(i)) {
            out.err(
                pos,
                format!(
                    "vrrp_instance {} uses virtual_router_id {} on {} like {}",
                    instance.name, instance.vrid, instance.interface, other.name
                ),
            );
        }
        // What the protocol core rejects, with a placeholder primary address.
        match Instance::new(instance.core_config(instance.placeholder_primary())) {
            Ok(core) => {
                for warning in core.warnings() {
                    out.notice(pos, format!("vrrp_instance {}: {warning}", instance.name));
                }
            }
            Err(errors) => {
                for error in errors.0 {
                    out.err(pos, format!("vrrp_instance {}: {error}", instance.name));
                }
            }
        }
    }
    let mut grouped: HashSet<&str> = HashSet::new();
    for (group, pos) in config.sync_groups.iter().zip(group_pos) {
        let tracking = &group.tracking;
        check_refs(
            config,
            &group.name,
            "vrrp_sync_group",
            tracking.files.iter(),
            tracking.processes.iter(),
            pos,
            out,
        );
        // keepalived: "track_interface X is configured on VRRP instance and sync group".
        for tracked in &tracking.interfaces {
            for member in config
                .instances
                .iter()
                .filter(|i| group.instances.contains(&i.name))
            {
                if member.interface == tracked.name
                    || member
                        .track_interfaces
                        .iter()
                        .any(|(n, _)| *n == tracked.name)
                {
                    out.err(
                        pos,
                        format!(
                            "vrrp_sync_group {} tracks interface {}, which its member {} tracks \
                             already: remove one of the two",
                            group.name, tracked.name, member.name
                        ),
                    );
                }
            }
        }
        for script in &tracking.scripts {
            if !scripts.contains_key(&script.name) {
                out.err(
                    pos,
                    format!(
                        "vrrp_sync_group {} tracks script `{}`, which no vrrp_script defines",
                        group.name, script.name
                    ),
                );
            }
        }
        if group.instances.is_empty() {
            out.err(
                pos,
                format!(
                    "vrrp_sync_group {} has no `group {{ ... }}` of instances",
                    group.name
                ),
            );
        }
        for member in &group.instances {
            if !config.instances.iter().any(|i| &i.name == member) {
                out.err(
                    pos,
                    format!(
                        "vrrp_sync_group {} names `{member}`, which no vrrp_instance defines",
                        group.name
                    ),
                );
            } else if !grouped.insert(member) {
                out.err(
                    pos,
                    format!("vrrp_instance {member} is in more than one vrrp_sync_group"),
                );
            }
        }
    }
}

/// For each instance, the last one before it with its interface, VRID and family, if any
/// (keepalived keeps an IPv4 and an IPv6 instance with one VRID on one interface apart). The
/// instances' indices sorted by that key, not a map: two small vectors instead of a table
/// that, at 1000 instances, left 200 kB of holes in the heap (issue #18).
fn vrid_clashes(instances: &[crate::InstanceConf]) -> Vec<Option<usize>> {
    let key = |i: usize| {
        instances.get(i).map(|c| {
            (
                c.interface.as_str(),
                c.vrid,
                c.family() == halab_vrrp::Family::Ipv6,
            )
        })
    };
    let mut order: Vec<usize> = (0..instances.len()).collect();
    // Stable: among equal keys, file order.
    order.sort_by_key(|&i| key(i));
    let mut clashes = vec![None; instances.len()];
    for pair in order.windows(2) {
        if let [before, after] = *pair
            && key(before) == key(after)
            && let Some(clash) = clashes.get_mut(after)
        {
            *clash = Some(before);
        }
    }
    clashes
}

/// keepalived -t refuses a `track_file` / `track_process` entry naming no such block ("track
/// file X not found").
fn check_refs<'a>(
    config: &Config,
    owner: &str,
    kind: &str,
    files: impl Iterator<Item = &'a crate::TrackRef>,
    processes: impl Iterator<Item = &'a crate::TrackRef>,
    pos: &Pos,
    out: &mut Out<'_>,
) {
    for file in files {
        if !config.track_files.iter().any(|t| t.name == file.name) {
            out.err(
                pos,
                format!(
                    "{kind} {owner} tracks file `{}`, which no track_file defines",
                    file.name
                ),
            );
        }
    }
    for process in processes {
        if !config
            .track_processes
            .iter()
            .any(|t| t.name == process.name)
        {
            out.err(
                pos,
                format!(
                    "{kind} {owner} tracks process `{}`, which no vrrp_track_process defines",
                    process.name
                ),
            );
        }
    }
}
