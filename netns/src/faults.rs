//! Faults inside a lab, for tests and benchmarks: packets dropped by nftables in a node's
//! network namespace, links set down on either side, and commands that run with the node's
//! network but the host's files. Everything happens in the lab's own namespaces; the host's
//! tables and links are never touched.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::command::{self, Running};
use super::enter::NETNS_DIR;
use super::error::{NetnsError, Result};
use super::lab::LabHandle;
use super::node::NodeHandle;

/// How long one `nft` or `ip` call may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// Which packets an nftables table of ours drops at a node's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropRule<'a> {
    /// Only packets arriving on this interface; all interfaces when `None`.
    pub iifname: Option<&'a str>,
    /// Only this IP protocol (112 is VRRP); every protocol when `None`.
    pub ip_protocol: Option<u8>,
    /// Drop only this share of the matching packets (nft `numgen random mod 100 < P`);
    /// all of them when `None`.
    pub loss_percent: Option<u8>,
}

/// Names that go into an nft script or an `ip` argument: no quoting needed, nothing to inject.
fn check_word(what: &str, word: &str) -> Result<()> {
    let ok = !word.is_empty()
        && word.len() <= 32
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(NetnsError::Plan(vec![format!(
            "{what} `{word}` may only hold letters, digits, `-`, `_`, `.` (1 to 32)"
        )]))
    }
}

impl DropRule<'_> {
    /// The nft script that creates `table` holding only this rule.
    fn script(&self, table: &str) -> Result<String> {
        check_word("nftables table", table)?;
        let mut rule = String::new();
        if let Some(i) = self.iifname {
            check_word("interface", i)?;
            rule.push_str(&format!("iifname \"{i}\" "));
        }
        if let Some(p) = self.ip_protocol {
            rule.push_str(&format!("ip protocol {p} "));
        }
        if let Some(p) = self.loss_percent {
            if p > 100 {
                return Err(NetnsError::Plan(vec![format!(
                    "loss of {p}% is more than 100%"
                )]));
            }
            rule.push_str(&format!("numgen random mod 100 < {p} "));
        }
        rule.push_str("drop");
        Ok(format!(
            "table inet {table} {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    {rule}\n  }}\n}}\n"
        ))
    }
}

/// Runs `cmd` with `input` on stdin; a non-zero exit is an error carrying stderr.
fn run_ok(cmd: Command, input: Option<String>) -> Result<()> {
    let deadline = Instant::now() + TOOL_TIMEOUT;
    Running::start(cmd, input.map(String::into_bytes))?
        .finish_ok(deadline, TOOL_TIMEOUT)
        .map(drop)
}

impl NodeHandle {
    /// `program` with the node's network namespace only (`nsenter --net`): it sees the
    /// node's links and addresses but the host's files and PIDs, so paths of the caller (a
    /// test's temp dir) stay valid and the caller can wait for it as its own child.
    pub fn netns_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!(
            "--net={}",
            Path::new(NETNS_DIR).join(&self.netns).display()
        ))
        .arg("--")
        .arg(program);
        cmd
    }

    /// Creates the nftables table `table` in the node's network namespace, dropping what
    /// `rule` matches at input. [`NodeHandle::remove_table`] undoes exactly this.
    pub fn drop_input(&self, table: &str, rule: &DropRule<'_>) -> Result<()> {
        let script = rule.script(table)?;
        let mut cmd = self.netns_command("nft");
        cmd.args(["-f", "-"]);
        run_ok(cmd, Some(script))
    }

    /// Deletes the nftables table `table` of the node's network namespace.
    pub fn remove_table(&self, table: &str) -> Result<()> {
        check_word("nftables table", table)?;
        let mut cmd = self.netns_command("nft");
        cmd.args(["delete", "table", "inet", table]);
        run_ok(cmd, None)
    }

    /// Sets the node's interface `ifname` up or down, from inside the node.
    pub fn set_link(&self, ifname: &str, up: bool) -> Result<()> {
        check_word("interface", ifname)?;
        set_link(&self.netns, ifname, up)
    }
}

impl LabHandle {
    /// Sets the switch side of a node's link up or down (the node sees its carrier go, as
    /// when a cable is pulled); the port is named by [`super::names::switch_port`].
    pub fn set_switch_port(&self, port: &str, up: bool) -> Result<()> {
        check_word("switch port", port)?;
        set_link(self.switch_ns(), port, up)
    }
}

fn set_link(netns: &str, ifname: &str, up: bool) -> Result<()> {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", netns, "link", "set", "dev", ifname])
        .arg(if up { "up" } else { "down" });
    command::run(cmd, None, TOOL_TIMEOUT).and_then(|out| {
        if out.success() {
            Ok(())
        } else {
            Err(NetnsError::Command {
                cmd: format!("ip -n {netns} link set dev {ifname}"),
                status: out.status.to_string(),
                stderr: out.stderr.trim().to_owned(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vrrp_drop_on_one_interface_is_one_rule() {
        let rule = DropRule {
            iifname: Some("eth1"),
            ip_protocol: Some(112),
            loss_percent: None,
        };
        let s = rule.script("cut_eth1").expect("script");
        assert!(s.starts_with("table inet cut_eth1 {"), "{s}");
        assert!(
            s.contains("    iifname \"eth1\" ip protocol 112 drop\n"),
            "{s}"
        );
    }

    #[test]
    fn loss_is_random_and_bounded() {
        let rule = DropRule {
            loss_percent: Some(30),
            ..DropRule::default()
        };
        let s = rule.script("loss").expect("script");
        assert!(s.contains("    numgen random mod 100 < 30 drop\n"), "{s}");
        let too_much = DropRule {
            loss_percent: Some(101),
            ..DropRule::default()
        };
        assert!(too_much.script("loss").is_err());
    }

    #[test]
    fn names_cannot_inject_into_the_script() {
        let rule = DropRule {
            iifname: Some("eth0\" accept; #"),
            ..DropRule::default()
        };
        assert!(rule.script("t").is_err());
        assert!(DropRule::default().script("t }").is_err());
    }
}
