//! `global_defs { ... }`.

use halab_vrrp::Version;

use super::Out;
use super::read::{no_args, one_arg, version_of};
use crate::Config;
use crate::tree::Stmt;

pub(super) fn global_defs(
    block: &[Stmt],
    config: &mut Config,
    version: &mut Version,
    out: &mut Out<'_>,
) {
    for stmt in block {
        match stmt.key.text.as_str() {
            "router_id" => config.router_id = one_arg(stmt, out).map(|t| t.text.clone()),
            "vrrp_version" => {
                if let Some(v) = one_arg(stmt, out).and_then(|t| version_of(t, out)) {
                    *version = v;
                }
            }
            "script_user" => match stmt.args.as_slice() {
                [user] => config.script_user = Some((user.text.clone(), None)),
                [user, group] => {
                    config.script_user = Some((user.text.clone(), Some(group.text.clone())))
                }
                _ => out.err(
                    stmt.pos(),
                    "script_user takes a user and optionally a group",
                ),
            },
            "enable_script_security" => {
                no_args(stmt, out);
                config.enable_script_security = true;
            }
            "notification_email"
            | "notification_email_from"
            | "smtp_server"
            | "smtp_connect_timeout" => out.notice(
                stmt.pos(),
                format!("{} is ignored: halabd sends no e-mail", stmt.key.text),
            ),
            _ if super::wire::global_keyword(stmt, &mut config.global, out) => {}
            _ => out.unknown(
                stmt,
                "global_defs",
                &[
                    "router_id",
                    "vrrp_version",
                    "script_user",
                    "enable_script_security",
                    "notification_email",
                    "notification_email_from",
                    "smtp_server",
                    "smtp_connect_timeout",
                ],
            ),
        }
    }
}
