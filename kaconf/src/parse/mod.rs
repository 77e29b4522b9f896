//! Statements into the typed [`Config`]: every keyword halabd knows, every error with its place.
//!
//! One module per block: [`global_defs`], [`vrrp_script`], [`vrrp_instance`] (with
//! [`addresses`]: virtual_ipaddress and virtual_routes entries), [`vrrp_sync_group`];
//! [`skipped`] knows the keywords halabd lacks; [`read`] has the small value readers.

mod addresses;
mod global_defs;
mod read;
mod skipped;
mod vrrp_instance;
mod vrrp_script;
mod vrrp_sync_group;
mod wire;

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use halab_vrrp::{Instance, Version};

use super::lexer::Pos;
use super::tree::Stmt;
use super::{Config, Diagnostic};
use read::{block_of, name_of};

/// Where problems go.
struct Out<'a> {
    errors: &'a mut Vec<Diagnostic>,
    notices: &'a mut Vec<Diagnostic>,
}

impl Out<'_> {
    fn err(&mut self, pos: &Pos, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(pos, message));
    }

    fn notice(&mut self, pos: &Pos, message: impl Into<String>) {
        self.notices.push(Diagnostic::at(pos, message));
    }

    /// An unknown keyword, with the nearest known one as a hint.
    fn unknown(&mut self, stmt: &Stmt, within: &str, known: &[&str]) {
        let word = &stmt.key.text;
        let hint = known
            .iter()
            .map(|k| (strsim::jaro_winkler(word, k), *k))
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        let message = match skipped::unsupported_reason(word) {
            Some(reason) => format!("`{word}` in {within} is not supported by halabd: {reason}"),
            None => format!("unknown or unsupported keyword `{word}` in {within}{hint}"),
        };
        self.err(stmt.pos(), message);
    }
}

pub fn config(
    stmts: &[Stmt],
    errors: &mut Vec<Diagnostic>,
    notices: &mut Vec<Diagnostic>,
) -> Config {
    let mut out = Out { errors, notices };
    let mut config = Config::default();
    let mut default_version = Version::V2;
    // Positions for cross-reference errors.
    let mut script_pos: HashMap<String, Pos> = HashMap::new();
    let mut instance_pos: Vec<Pos> = Vec::new();
    let mut group_pos: Vec<Pos> = Vec::new();
    let mut instance_stmts = Vec::new();

    for stmt in stmts {
        match stmt.key.text.as_str() {
            "global_defs" => {
                if let Some(block) = block_of(stmt, &mut out) {
                    global_defs::global_defs(block, &mut config, &mut default_version, &mut out);
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
                    script_pos.insert(name, stmt.pos().clone());
                    config.scripts.push(script);
                }
            }
            // Instances are read after global_defs, wherever it is, for vrrp_version.
            "vrrp_instance" => instance_stmts.push(stmt),
            "vrrp_sync_group" => {
                let Some(name) = name_of(stmt, "vrrp_sync_group", &mut out) else {
                    continue;
                };
                let Some(block) = block_of(stmt, &mut out) else {
                    continue;
                };
                group_pos.push(stmt.pos().clone());
                config
                    .sync_groups
                    .push(vrrp_sync_group::sync_group(name, block, &mut out));
            }
            _ => out.unknown(
                stmt,
                "the top level",
                &[
                    "global_defs",
                    "vrrp_script",
                    "vrrp_instance",
                    "vrrp_sync_group",
                    "include",
                ],
            ),
        }
    }
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
        if let Some(mut instance) =
            vrrp_instance::instance(name, stmt, block, default_version, &mut out)
        {
            wire::complete(&mut instance, block, &config.global, stmt.pos(), &mut out);
            instance_pos.push(stmt.pos().clone());
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
    let mut vrids: HashMap<(&str, u8), &str> = HashMap::new();
    for (instance, pos) in config.instances.iter().zip(instance_pos) {
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
        if let Some(other) = vrids.insert((&instance.interface, instance.vrid), &instance.name) {
            out.err(
                pos,
                format!(
                    "vrrp_instance {} uses virtual_router_id {} on {} like {other}",
                    instance.name, instance.vrid, instance.interface
                ),
            );
        }
        // What the protocol core rejects, with a placeholder primary address.
        match Instance::new(instance.core_config(Ipv4Addr::UNSPECIFIED)) {
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
