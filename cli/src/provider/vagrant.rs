//! The vagrant provider's own part: VMs from the top-level `Vagrantfile`, then the ssh
//! provider. `halab up` runs [`vagrant_up`], reads [`vagrant_ssh_config`], turns it into an
//! ssh config file with [`ssh_config_for_lab`] (one `Host <node>` block per node, for
//! `ssh -F FILE NODE`) and continues exactly as with `provider: ssh`; `halab down` runs
//! [`vagrant_destroy`]. docs/vagrant.md.
//!
//! Every vagrant command runs in the Vagrantfile's directory with `HALAB_LAB` naming the lab
//! file and `VAGRANT_DOTFILE_PATH` at `.vagrant/halab-<lab>` ([`dotfile_path`]): labs share
//! node names (`client`, `web1`), and one state dir for all would let a lab reuse, or
//! destroy, another lab's VM of the same name.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::lab::Lab;

/// The program run for every vagrant command.
const VAGRANT: &str = "vagrant";
/// The Vagrant provider halab ships (cli/src/provider/vagrant/plugin.rb): VMs booted by
/// halab in the lab's namespaces. The default; `VAGRANT_DEFAULT_PROVIDER` picks another.
pub const HALAB_PROVIDER: &str = "halab";

/// The Vagrant provider halab's vagrant commands use.
pub fn provider() -> String {
    std::env::var("VAGRANT_DEFAULT_PROVIDER")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| HALAB_PROVIDER.to_owned())
}

/// One `Host NAME` block of `vagrant ssh-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VagrantHost {
    /// The machine's name in the Vagrantfile: the lab node's name.
    pub name: String,
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// Unquoted, in vagrant's order (it may list several keys).
    pub identity_files: Vec<String>,
    /// Every setting of the block in order, keyword and value as vagrant wrote them (quotes
    /// kept), the four above included: what [`ssh_config_for_lab`] writes back.
    pub options: Vec<(String, String)>,
}

/// How halab reaches one node's VM: what `ssh -p PORT -i KEY USER@HOST` needs (for the lab
/// file's own targets, `provider: ssh`, see [`crate::lab::model::SshTarget`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VagrantTarget {
    /// The lab node (and vagrant machine) name.
    pub node: String,
    /// `HostName`: usually 127.0.0.1, the VM's forwarded ssh port on this machine.
    pub host: String,
    pub user: String,
    /// `Port`; 22 when vagrant names none.
    pub port: u16,
    /// `IdentityFile`s, in order: the machine's private key (and vagrant's insecure keys).
    pub identity_files: Vec<PathBuf>,
}

/// Reads `vagrant ssh-config` output: `Host NAME` lines, each followed by its settings
/// (`KEYWORD VALUE` or `KEYWORD=VALUE`, keywords in any case, `#` comments, blank lines).
pub fn parse_ssh_config(text: &str) -> Result<Vec<VagrantHost>, String> {
    let mut hosts: Vec<VagrantHost> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = i + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = split_setting(line) else {
            return Err(format!(
                "line {at}: `{line}` is not an ssh_config line (`KEYWORD VALUE`); is this `vagrant ssh-config` output?"
            ));
        };
        if key.eq_ignore_ascii_case("host") {
            let name = unquote(value);
            if name.split_whitespace().count() != 1 || name.contains(['*', '?', '!']) {
                return Err(format!(
                    "line {at}: `{line}`: expected one machine name, as vagrant writes"
                ));
            }
            if hosts.iter().any(|h| h.name == name) {
                return Err(format!("line {at}: machine `{name}` is listed twice"));
            }
            hosts.push(VagrantHost {
                name: name.to_string(),
                host_name: None,
                user: None,
                port: None,
                identity_files: Vec::new(),
                options: Vec::new(),
            });
            continue;
        }
        let Some(host) = hosts.last_mut() else {
            return Err(format!(
                "line {at}: `{line}` comes before any `Host NAME` line; is this `vagrant ssh-config` output?"
            ));
        };
        match key.to_ascii_lowercase().as_str() {
            "hostname" => host.host_name = Some(unquote(value).to_string()),
            "user" => host.user = Some(unquote(value).to_string()),
            "port" => match unquote(value).parse::<u16>() {
                Ok(p) if p > 0 => host.port = Some(p),
                _ => {
                    return Err(format!(
                        "line {at}: `Port {value}` of machine `{}` is not a port 1-65535",
                        host.name
                    ));
                }
            },
            "identityfile" => host.identity_files.push(unquote(value).to_string()),
            "match" => {
                return Err(format!(
                    "line {at}: `Match` blocks are not vagrant's; halab reads `Host NAME` blocks only"
                ));
            }
            _ => {}
        }
        host.options.push((key.to_string(), value.to_string()));
    }
    if hosts.is_empty() {
        return Err("no `Host NAME` line: the text is not `vagrant ssh-config` output".to_string());
    }
    Ok(hosts)
}

/// `KEYWORD VALUE` or `KEYWORD=VALUE` (ssh_config(5)); None unless the keyword is
/// alphanumeric and a value follows.
fn split_setting(line: &str) -> Option<(&str, &str)> {
    let end = line
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(end);
    if key.is_empty() || !rest.starts_with([' ', '\t', '=']) {
        return None;
    }
    let rest = rest.trim_start();
    let value = rest.strip_prefix('=').unwrap_or(rest).trim();
    (!value.is_empty()).then_some((key, value))
}

/// Vagrant quotes a path holding spaces: `IdentityFile "/home/a b/private_key"`.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Every node of the lab has a machine in `hosts`, or the error names those without one.
fn check_every_node(lab: &Lab, hosts: &[VagrantHost]) -> Result<(), String> {
    let missing: Vec<&str> = lab
        .nodes
        .iter()
        .filter(|n| !hosts.iter().any(|h| h.name == n.name))
        .map(|n| n.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let (noun, pronoun) = if missing.len() == 1 {
        ("node", "it")
    } else {
        ("nodes", "them")
    };
    Err(format!(
        "vagrant has no machine for {noun} {} of lab {}: `vagrant up` creates {pronoun} (`halab up` runs it), `vagrant status` shows each machine's state (run both beside the Vagrantfile with HALAB_LAB={} VAGRANT_DOTFILE_PATH=.vagrant/halab-{})",
        missing.join(", "),
        lab.name,
        lab.file.display(),
        lab.name
    ))
}

/// The ssh config file for the lab's VMs, from `vagrant ssh-config` output: one `Host
/// <node>` block per node in the lab's order, with vagrant's settings as it wrote them. The
/// ssh provider connects with `ssh -F FILE <node>`. Machines that are no lab node are left
/// out; a node without a machine is an error.
pub fn ssh_config_for_lab(lab: &Lab, text: &str) -> Result<String, String> {
    let hosts = parse_ssh_config(text)?;
    check_every_node(lab, &hosts)?;
    let mut out = format!(
        "# ssh config for the VMs of lab {}, from `vagrant ssh-config` (written by halab)\n",
        lab.name
    );
    for node in &lab.nodes {
        let Some(host) = hosts.iter().find(|h| h.name == node.name) else {
            continue;
        };
        out.push_str(&format!("\nHost {}\n", node.name));
        for (key, value) in &host.options {
            out.push_str(&format!("  {key} {value}\n"));
        }
    }
    Ok(out)
}

/// The halab provider's VMs have host keys that halab made (`testbed::vagrant_vm`): the ssh
/// config checks them strictly against `known_hosts` instead of vagrant's
/// `StrictHostKeyChecking no` / `UserKnownHostsFile /dev/null`.
pub fn pin_known_hosts(config: &str, known_hosts: &Path) -> String {
    let mut out = String::new();
    for line in config.lines() {
        let key = split_setting(line.trim()).map(|(k, _)| k.to_ascii_lowercase());
        match key.as_deref() {
            Some("userknownhostsfile") => out.push_str(&format!(
                "  UserKnownHostsFile \"{}\"\n",
                known_hosts.display()
            )),
            Some("stricthostkeychecking") => out.push_str("  StrictHostKeyChecking yes\n"),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The halab provider's key dir for a lab: the lab's ssh key and its VMs' host keys.
pub fn halab_key_dir(vagrantfile_dir: &Path, lab_name: &str) -> PathBuf {
    dotfile_path(vagrantfile_dir, lab_name).join("halab")
}

/// Per node of the lab, in the lab's order, where its VM's ssh server is.
pub fn targets(lab: &Lab, hosts: &[VagrantHost]) -> Result<Vec<VagrantTarget>, String> {
    check_every_node(lab, hosts)?;
    let mut out = Vec::new();
    for node in &lab.nodes {
        let Some(h) = hosts.iter().find(|h| h.name == node.name) else {
            continue;
        };
        let missing =
            |what: &str| format!("`vagrant ssh-config` gives machine `{}` no {what}", h.name);
        out.push(VagrantTarget {
            node: node.name.clone(),
            host: h.host_name.clone().ok_or_else(|| missing("HostName"))?,
            user: h.user.clone().ok_or_else(|| missing("User"))?,
            port: h.port.unwrap_or(22),
            identity_files: h.identity_files.iter().map(PathBuf::from).collect(),
        });
    }
    Ok(out)
}

/// The lab's own vagrant state dir: `.vagrant/halab-<lab>` beside the Vagrantfile.
pub fn dotfile_path(vagrantfile_dir: &Path, lab_name: &str) -> PathBuf {
    vagrantfile_dir
        .join(".vagrant")
        .join(format!("halab-{lab_name}"))
}

/// `vagrant up`: creates and boots the lab's VMs (minutes the first time: the box is
/// downloaded). Vagrant's progress goes to stderr.
pub fn vagrant_up(vagrantfile_dir: &Path, lab: &Lab) -> Result<(), String> {
    if provider() == HALAB_PROVIDER && std::env::var_os("HALAB_BOX").is_none() {
        let b = crate::testbed::vagrant_vm::ensure_box(&crate::testbed::image::cache_dir())
            .map_err(|e| format!("failed to make the halab box: {e}"))?;
        eprintln!(
            "  box {} {} in {:.1} s (image {})",
            b.box_ref.name,
            if b.built { "made" } else { "cached" },
            b.seconds,
            if b.image.built { "built" } else { "cached" }
        );
    }
    run_streamed(OsStr::new(VAGRANT), vagrantfile_dir, lab, &["up"])
}

/// `vagrant ssh-config`: its output, for [`ssh_config_for_lab`] and [`parse_ssh_config`].
pub fn vagrant_ssh_config(vagrantfile_dir: &Path, lab: &Lab) -> Result<String, String> {
    run_captured(OsStr::new(VAGRANT), vagrantfile_dir, lab, &["ssh-config"])
}

/// `vagrant destroy -f`: removes the lab's VMs (none left is not an error).
pub fn vagrant_destroy(vagrantfile_dir: &Path, lab: &Lab) -> Result<(), String> {
    run_streamed(
        OsStr::new(VAGRANT),
        vagrantfile_dir,
        lab,
        &["destroy", "-f"],
    )
}

/// The command line, for messages: `vagrant up`.
fn shown(args: &[&str]) -> String {
    format!("`vagrant {}`", args.join(" "))
}

/// `program ARGS` in the Vagrantfile's directory, for the lab.
fn command(
    program: &OsStr,
    vagrantfile_dir: &Path,
    lab: &Lab,
    args: &[&str],
) -> Result<Command, String> {
    let dir = std::path::absolute(vagrantfile_dir)
        .map_err(|e| format!("failed to resolve {}: {e}", vagrantfile_dir.display()))?;
    if !dir.join("Vagrantfile").is_file() {
        return Err(format!(
            "no Vagrantfile in {}: vagrant labs use the one at the top of halab's repository",
            dir.display()
        ));
    }
    let lab_file = std::path::absolute(&lab.file)
        .map_err(|e| format!("failed to resolve {}: {e}", lab.file.display()))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&dir)
        .env("HALAB_LAB", lab_file)
        .env("VAGRANT_CWD", &dir)
        .env("VAGRANT_DOTFILE_PATH", dotfile_path(&dir, &lab.name))
        .env("VAGRANT_NO_COLOR", "1")
        // No call home (version checks), no box update checks: nothing leaves this machine.
        .env("VAGRANT_CHECKPOINT_DISABLE", "1")
        .env("VAGRANT_BOX_UPDATE_CHECK_DISABLE", "1")
        .stdin(Stdio::null());
    if let Ok(exe) = std::env::current_exe() {
        cmd.env("HALAB_BIN", exe);
    }
    if provider() == HALAB_PROVIDER {
        cmd.env("VAGRANT_DEFAULT_PROVIDER", HALAB_PROVIDER);
        if std::env::var_os("HALAB_BOX").is_none() {
            let b = crate::testbed::vagrant_vm::box_ref(&crate::testbed::image::cache_dir());
            cmd.env("HALAB_BOX", &b.name).env("HALAB_BOX_URL", b.url());
        }
    }
    Ok(cmd)
}

fn spawn_error(args: &[&str], e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        return "vagrant is not installed on this machine (VMs cannot run here); install Vagrant and VirtualBox (or libvirt with vagrant-libvirt) where VMs can run, use `provider: ssh` for machines that already exist, or `provider: netns` to run the lab in namespaces on this machine".to_string();
    }
    format!("failed to run {}: {e}", shown(args))
}

/// Runs vagrant with its output (stdout too) on halab's stderr, so that `--json` output
/// stays clean and a long `vagrant up` shows its progress.
fn run_streamed(
    program: &OsStr,
    vagrantfile_dir: &Path,
    lab: &Lab,
    args: &[&str],
) -> Result<(), String> {
    use std::os::fd::AsFd;
    let mut cmd = command(program, vagrantfile_dir, lab, args)?;
    let err = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("failed to run {}: {e}", shown(args)))?;
    cmd.stdout(Stdio::from(err)).stderr(Stdio::inherit());
    let status = cmd.status().map_err(|e| spawn_error(args, &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({status}); vagrant's messages are above",
            shown(args)
        ))
    }
}

/// Runs vagrant and returns its stdout; on failure, the error carries the end of its stderr.
fn run_captured(
    program: &OsStr,
    vagrantfile_dir: &Path,
    lab: &Lab,
    args: &[&str],
) -> Result<String, String> {
    let out = command(program, vagrantfile_dir, lab, args)?
        .output()
        .map_err(|e| spawn_error(args, &e))?;
    if out.status.success() {
        return String::from_utf8(out.stdout)
            .map_err(|_| format!("{} printed something that is not UTF-8", shown(args)));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n  ");
    Err(format!(
        "{} failed ({}):\n  {tail}",
        shown(args),
        out.status
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vagrant ssh-config` for labs/seed000 brought up by halab on VirtualBox, rendered by
    /// Vagrant 2.3.4's own template and renderer (templates/commands/ssh_config/config.erb
    /// through Erubi, then a blank line per machine); ports 2222, then 2200.. as vagrant
    /// auto-corrects collisions.
    const SEED000: &str = include_str!("testdata/vagrant-ssh-config-seed000.txt");

    fn seed000() -> Lab {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
        crate::lab::load_with_env(&file, &std::collections::HashMap::<String, String>::new())
            .expect("seed000 validates")
    }

    #[test]
    fn reads_every_machine_of_a_recorded_ssh_config() {
        // Input: the recorded output for seed000's six machines.
        // Output: six hosts in vagrant's order with address, user, port and key.
        let hosts = parse_ssh_config(SEED000).expect("parses");
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "nginx1",
                "nginx2",
                "nginx3",
                "loadbalance1",
                "loadbalance2",
                "client"
            ]
        );
        let ports: Vec<Option<u16>> = hosts.iter().map(|h| h.port).collect();
        assert_eq!(
            ports,
            [
                Some(2222),
                Some(2200),
                Some(2201),
                Some(2202),
                Some(2203),
                Some(2204)
            ]
        );
        let lb1 = &hosts[3];
        assert_eq!(lb1.host_name.as_deref(), Some("127.0.0.1"));
        assert_eq!(lb1.user.as_deref(), Some("vagrant"));
        assert_eq!(
            lb1.identity_files,
            ["/home/dev/halab/.vagrant/halab-seed000/machines/loadbalance1/virtualbox/private_key"]
        );
        assert_eq!(lb1.options.len(), 9);
        assert_eq!(
            lb1.options[4],
            ("StrictHostKeyChecking".to_string(), "no".to_string())
        );
    }

    #[test]
    fn targets_follow_the_lab_order_with_each_vm_port_and_key() {
        let lab = seed000();
        let mut hosts = parse_ssh_config(SEED000).expect("parses");
        hosts.reverse();
        let t = targets(&lab, &hosts).expect("every node has a machine");
        let nodes: Vec<&str> = t.iter().map(|t| t.node.as_str()).collect();
        let lab_nodes: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nodes, lab_nodes);
        let client = t.iter().find(|t| t.node == "client").expect("client");
        assert_eq!(
            client,
            &VagrantTarget {
                node: "client".to_string(),
                host: "127.0.0.1".to_string(),
                user: "vagrant".to_string(),
                port: 2204,
                identity_files: vec![PathBuf::from(
                    "/home/dev/halab/.vagrant/halab-seed000/machines/client/virtualbox/private_key"
                )],
            }
        );
    }

    #[test]
    fn ssh_config_for_the_lab_has_one_block_per_node_with_vagrants_settings() {
        let lab = seed000();
        let text = ssh_config_for_lab(&lab, SEED000).expect("every node has a machine");
        // Written back, it reads as the same hosts: nothing lost, nothing added.
        assert_eq!(
            parse_ssh_config(&text).expect("reparses"),
            parse_ssh_config(SEED000).expect("parses")
        );
        assert_eq!(text.matches("\nHost ").count(), 6);
        let nginx2 = text
            .split("\nHost ")
            .find(|b| b.starts_with("nginx2\n"))
            .expect("nginx2 block");
        for line in [
            "  HostName 127.0.0.1\n",
            "  User vagrant\n",
            "  Port 2200\n",
            "  IdentitiesOnly yes\n",
            "  UserKnownHostsFile /dev/null\n",
        ] {
            assert!(nginx2.contains(line), "missing {line:?} in:\n{nginx2}");
        }
    }

    #[test]
    fn machines_that_are_no_node_are_left_out() {
        let lab = seed000();
        let extra =
            format!("{SEED000}Host leftover\n  HostName 127.0.0.1\n  User vagrant\n  Port 2299\n");
        let text = ssh_config_for_lab(&lab, &extra).expect("every node has a machine");
        assert!(
            !text.contains("leftover") && !text.contains("2299"),
            "{text}"
        );
        assert_eq!(
            targets(&lab, &parse_ssh_config(&extra).expect("parses"))
                .expect("targets")
                .len(),
            6
        );
    }

    #[test]
    fn a_node_without_a_machine_is_named_with_what_to_run() {
        // Input: the recorded output without nginx3 and client (not created yet).
        // Output: an error naming both, saying to run `vagrant up` / `vagrant status`.
        let lab = seed000();
        let partial: String = SEED000
            .split("\n\n")
            .filter(|b| !b.starts_with("Host nginx3") && !b.starts_with("Host client"))
            .collect::<Vec<_>>()
            .join("\n\n");
        for err in [
            ssh_config_for_lab(&lab, &partial).expect_err("nodes missing"),
            targets(&lab, &parse_ssh_config(&partial).expect("parses")).expect_err("nodes missing"),
        ] {
            assert!(err.contains("nodes nginx3, client of lab seed000"), "{err}");
            assert!(
                err.contains("`vagrant up`") && err.contains("`vagrant status`"),
                "{err}"
            );
        }
    }

    #[test]
    fn quoted_and_repeated_identity_files_and_other_spellings() {
        let text = "Host lb1\n\tHostName=192.168.121.17\n  user vagrant\n  PORT 22\n  IdentityFile \"/home/a b/.vagrant/machines/lb1/libvirt/private_key\"\n  IdentityFile /home/a/.vagrant.d/insecure_private_keys/vagrant.key.ed25519\n  ProxyCommand ssh -W %h:%p jump.example\n";
        let hosts = parse_ssh_config(text).expect("parses");
        let h = &hosts[0];
        assert_eq!(h.host_name.as_deref(), Some("192.168.121.17"));
        assert_eq!(h.user.as_deref(), Some("vagrant"));
        assert_eq!(h.port, Some(22));
        assert_eq!(
            h.identity_files,
            [
                "/home/a b/.vagrant/machines/lb1/libvirt/private_key",
                "/home/a/.vagrant.d/insecure_private_keys/vagrant.key.ed25519"
            ]
        );
        // Quotes and the ProxyCommand's spaces survive the round trip into halab's file.
        assert_eq!(
            h.options[3],
            (
                "IdentityFile".to_string(),
                "\"/home/a b/.vagrant/machines/lb1/libvirt/private_key\"".to_string()
            )
        );
        assert_eq!(
            h.options[5],
            (
                "ProxyCommand".to_string(),
                "ssh -W %h:%p jump.example".to_string()
            )
        );
    }

    #[test]
    fn garbage_is_rejected_with_the_line() {
        let cases = [
            ("", "no `Host NAME` line"),
            ("\n\n", "no `Host NAME` line"),
            (
                "The provider for this Vagrant-managed machine is reporting that it is not yet ready for SSH.\n",
                "line 1: `The provider",
            ),
            (
                "  HostName 127.0.0.1\nHost lb1\n",
                "line 1: `HostName 127.0.0.1` comes before any `Host NAME` line",
            ),
            (
                "==> lb1: Machine not created\n",
                "line 1: `==> lb1: Machine not created` is not an ssh_config line",
            ),
            (
                "Host lb1\n  Port ssh\n",
                "line 2: `Port ssh` of machine `lb1` is not a port",
            ),
            ("Host lb1\n  Port 0\n", "not a port 1-65535"),
            (
                "Host lb1\n  HostName\n",
                "line 2: `HostName` is not an ssh_config line",
            ),
            ("Host lb1 lb2\n", "expected one machine name"),
            ("Host *\n  User x\n", "expected one machine name"),
            (
                "Host lb1\nHost lb1\n",
                "line 2: machine `lb1` is listed twice",
            ),
            ("Host lb1\nMatch all\n", "`Match` blocks are not vagrant's"),
        ];
        for (text, want) in cases {
            let err = parse_ssh_config(text).expect_err(text);
            assert!(err.contains(want), "{text:?}: expected {want:?} in {err:?}");
        }
    }

    #[test]
    fn a_machine_without_hostname_or_user_has_no_target() {
        let mut lab = seed000();
        lab.nodes.truncate(1);
        let err = targets(
            &lab,
            &parse_ssh_config("Host nginx1\n  User vagrant\n").expect("parses"),
        )
        .expect_err("no HostName");
        assert_eq!(
            err,
            "`vagrant ssh-config` gives machine `nginx1` no HostName"
        );
        let err = targets(
            &lab,
            &parse_ssh_config("Host nginx1\n  HostName 10.0.0.1\n").expect("parses"),
        )
        .expect_err("no User");
        assert_eq!(err, "`vagrant ssh-config` gives machine `nginx1` no User");
    }

    /// A stand-in `vagrant` that records its arguments, directory and environment, prints
    /// the recorded ssh-config for `ssh-config`, and fails for `fail`.
    fn fake_vagrant(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let fixture = dir.join("ssh-config.txt");
        std::fs::write(&fixture, SEED000).expect("write fixture");
        let script = dir.join("fake-vagrant");
        let log = dir.join("calls.log");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$* | $(pwd) | $HALAB_LAB | $VAGRANT_CWD | $VAGRANT_DOTFILE_PATH | $VAGRANT_DEFAULT_PROVIDER $VAGRANT_CHECKPOINT_DISABLE $HALAB_BIN $HALAB_BOX $HALAB_BOX_URL\" >> '{}'\ncase \"$1\" in\n  ssh-config) cat '{}' ;;\n  fail) echo 'The machine failed to boot.' >&2; exit 1 ;;\n  *) echo \"==> $1 done\" ;;\nesac\n",
                log.display(),
                fixture.display()
            ),
        )
        .expect("write fake vagrant");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        script
    }

    #[test]
    fn vagrant_runs_beside_the_vagrantfile_with_the_lab_and_its_own_state_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        std::fs::write(repo.join("Vagrantfile"), "# test\n").expect("write Vagrantfile");
        let vagrant = fake_vagrant(tmp.path());
        let lab = seed000();
        run_streamed(vagrant.as_os_str(), &repo, &lab, &["up"]).expect("up");
        let text =
            run_captured(vagrant.as_os_str(), &repo, &lab, &["ssh-config"]).expect("ssh-config");
        assert_eq!(text, SEED000);
        run_streamed(vagrant.as_os_str(), &repo, &lab, &["destroy", "-f"]).expect("destroy");
        let lab_file = std::path::absolute(&lab.file).expect("absolute");
        let state = repo.join(".vagrant/halab-seed000");
        let calls = std::fs::read_to_string(tmp.path().join("calls.log")).expect("calls logged");
        // The halab provider by default: halab itself boots the VMs, from the box it names.
        let b = crate::testbed::vagrant_vm::box_ref(&crate::testbed::image::cache_dir());
        let exe = std::env::current_exe().expect("exe");
        let want: Vec<String> = ["up", "ssh-config", "destroy -f"]
            .iter()
            .map(|a| {
                format!(
                    "{a} | {} | {} | {} | {} | halab 1 {} {} {}",
                    repo.display(),
                    lab_file.display(),
                    repo.display(),
                    state.display(),
                    exe.display(),
                    b.name,
                    b.url()
                )
            })
            .collect();
        assert_eq!(calls.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn a_failing_vagrant_says_so_with_its_message() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("Vagrantfile"), "# test\n").expect("write Vagrantfile");
        let vagrant = fake_vagrant(tmp.path());
        let err = run_captured(vagrant.as_os_str(), tmp.path(), &seed000(), &["fail"])
            .expect_err("fails");
        assert!(
            err.starts_with("`vagrant fail` failed (exit status: 1)")
                && err.contains("The machine failed to boot."),
            "{err}"
        );
        let err = run_streamed(vagrant.as_os_str(), tmp.path(), &seed000(), &["fail"])
            .expect_err("fails");
        assert!(err.contains("`vagrant fail` failed"), "{err}");
    }

    #[test]
    fn without_vagrant_the_error_says_vms_cannot_run_here() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("Vagrantfile"), "# test\n").expect("write Vagrantfile");
        let missing = tmp.path().join("no-such-vagrant");
        for err in [
            run_streamed(missing.as_os_str(), tmp.path(), &seed000(), &["up"]).expect_err("absent"),
            run_captured(missing.as_os_str(), tmp.path(), &seed000(), &["ssh-config"])
                .expect_err("absent"),
        ] {
            assert!(
                err.starts_with("vagrant is not installed on this machine (VMs cannot run here); "),
                "{err}"
            );
            assert!(err.contains("provider: ssh"), "{err}");
        }
    }

    #[test]
    fn without_a_vagrantfile_nothing_runs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let vagrant = fake_vagrant(tmp.path());
        let err = run_captured(vagrant.as_os_str(), tmp.path(), &seed000(), &["ssh-config"])
            .expect_err("no Vagrantfile");
        assert!(err.starts_with("no Vagrantfile in "), "{err}");
        assert!(!tmp.path().join("calls.log").exists());
    }

    /// Input: the halab provider's ssh-config block (vagrant's no-check settings). Output:
    /// strict checking against the lab's known_hosts; every other setting kept as it was.
    #[test]
    fn the_halab_provider_pins_host_keys() {
        let config = "Host nginx1\n  HostName 192.168.0.131\n  UserKnownHostsFile /dev/null\n  \
                      StrictHostKeyChecking no\n  ProxyCommand nsenter --net=/run/netns/c socat - TCP:%h:%p\n";
        let got = pin_known_hosts(config, Path::new("/w/.vagrant/halab-x/halab/known_hosts"));
        assert_eq!(
            got,
            "Host nginx1\n  HostName 192.168.0.131\n  UserKnownHostsFile \"/w/.vagrant/halab-x/halab/known_hosts\"\n  \
             StrictHostKeyChecking yes\n  ProxyCommand nsenter --net=/run/netns/c socat - TCP:%h:%p\n"
        );
        assert_eq!(
            halab_key_dir(Path::new("/w"), "x"),
            Path::new("/w/.vagrant/halab-x/halab")
        );
    }
}
