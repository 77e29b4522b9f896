//! `halab`: the command line. Parses arguments, calls the library, maps errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use halab::exit_codes;
use halab::lab::{self, LoadError};
use halab::render::{self, Templates};

#[derive(Parser)]
#[command(name = "halab", version, about = "Declarative, testable HAProxy + VRRP + Nginx labs", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read a lab file and report every problem in it, with file:line:column and a hint.
    Validate {
        /// A lab file, or a directory holding lab.yaml (default ./lab.yaml).
        lab: Option<PathBuf>,
        /// Print the validated model as JSON (secrets shown as ***).
        #[arg(long)]
        json: bool,
    },
    /// Render every file each node needs into DIR/<node>/<path>.
    Render {
        lab: Option<PathBuf>,
        /// Output directory (default ./rendered/<lab name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A directory of templates that replace halab's own, file by file.
        #[arg(long)]
        templates: Option<PathBuf>,
        /// Also check each config with the real tool (haproxy -c, nginx -t, keepalived -t or halabd -t by engine).
        #[arg(long)]
        check: bool,
    },
    /// Bring the lab up (netns: namespaces on this machine; ssh: provision the hosts), or
    /// apply what changed. ssh reads $HALAB_SSH_CONFIG as its config file (ssh -F) if set.
    Up { lab: Option<PathBuf> },
    /// netns: stop every process of the lab and remove its namespaces and state. ssh: stop
    /// what halab started on the hosts. LAB may also be the name of a lab whose file is gone.
    Down {
        lab: Option<PathBuf>,
        /// ssh: also remove what halab installed (files back to their .bak, packages it added).
        #[arg(long)]
        purge: bool,
    },
    /// Per node: role, addresses, services, VRRP state; who holds each VIP; the client's ARP entry.
    Status {
        lab: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Run a command on a node of the running lab.
    Exec {
        lab: PathBuf,
        node: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// N requests from the client node through the VIP: which backend answered each.
    Curl {
        lab: Option<PathBuf>,
        #[arg(default_value = "/")]
        path: String,
        #[arg(short = 'n', default_value_t = 10)]
        count: usize,
        /// The VIP to use (default: the first one the client reaches).
        #[arg(long)]
        vip: Option<std::net::IpAddr>,
    },
    /// Print the JSON Schema of lab files or scenario files (for editors; docs/schema/).
    Schema {
        #[arg(value_enum)]
        kind: halab::cmd::schema::Kind,
    },
    /// Preflight: root, the tools the netns provider needs, leftover lab namespaces.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Configs you already run -> a lab file (docs/import.md): `halab import DIR -o lab.yaml`,
    /// DIR holding a directory per host (keepalived.conf, haproxy.cfg, nginx.conf, scripts).
    Import {
        /// A directory of host directories, host directories, or files (their directory names
        /// the host).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The lab file to write (default: print it).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// The lab's name (default: the output file's directory, else `imported`).
        #[arg(long)]
        name: Option<String>,
    },
    /// Run scenarios (labs/<lab>/scenarios/*.yaml) against the lab: `halab test LAB [SCENARIO...]`,
    /// or `halab test failover` with ./lab.yaml.
    Test {
        /// Lab files or directories (a directory of labs runs each; default ./lab.yaml), then
        /// scenario names (default: all).
        args: Vec<String>,
        /// Swap the VRRP engine of every LB: keepalived, halabd, or mixed; several, comma
        /// separated, run each (`--engine keepalived,halabd`).
        #[arg(long)]
        engine: Option<String>,
        #[arg(long)]
        json: bool,
        /// Write a JUnit XML file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Write an HTML report with SVG timelines into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Leave the lab running afterwards (one lab, one engine).
        #[arg(long)]
        keep: bool,
        /// With several labs or engines: how many (lab, engine) lab instances run at once
        /// (default: four per CPU core).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        /// Validate the scenarios against the lab (file, line, hint) and run nothing.
        #[arg(long)]
        check: bool,
    },
    /// Random faults on the lab (seeded: the same seed, the same faults), invariants checked
    /// the whole time; a finding is written as a scenario file, shrunk, and written again
    /// as the smallest one `halab test` runs (docs/chaos.md).
    Chaos {
        /// A lab file, or a directory holding lab.yaml (default ./lab.yaml).
        lab: Option<PathBuf>,
        /// keepalived, halabd or mixed (default: as the lab file says).
        #[arg(long)]
        engine: Option<String>,
        /// Run for this long (default 10m).
        #[arg(long)]
        duration: Option<String>,
        /// Run this many episodes (one fault, or two overlapping) instead.
        #[arg(long)]
        faults: Option<usize>,
        /// The seed (default: from the clock, printed).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        json: bool,
        /// Write an HTML report (one SVG timeline per episode) and chaos.json into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Where scenario files of findings go (default ./chaos).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Record findings and go on (a campaign): no stop, no shrinking.
        #[arg(long)]
        keep_going: bool,
        /// How many replays shrinking a finding may run.
        #[arg(long, default_value_t = 8)]
        shrink_budget: usize,
        /// Run each episode through halab-sim too and compare the VIP holders (in force,
        /// settled) with the lab's.
        #[arg(long)]
        differential: bool,
    },
    /// Build halabd's Debian package (binary, unit, man page) into DIR: what the ssh provider
    /// installs on Debian hosts with systemd, and what an operator can install by hand.
    Deb {
        /// The halabd binary (default: $HALABD, else the halabd beside this executable).
        #[arg(long)]
        halabd: Option<PathBuf>,
        #[arg(long, default_value = "target/deb")]
        out: PathBuf,
    },
    /// Developer tool: a netns lab of "real hosts" running sshd, for `provider: ssh` labs
    /// (docs/netns.md).
    #[command(subcommand)]
    Testbed(TestbedCommand),
    /// Internal: PID 1 of a lab node, started by the netns provider.
    #[command(name = "__node-init", hide = true)]
    NodeInit(halab_netns::NodeInitArgs),
    /// Internal: one GET from a client host of an ssh lab (JSON on stdout).
    #[command(name = "__get", hide = true)]
    Get(halab::cmd::remote_probe::GetArgs),
    /// Internal: the scenario probe on a client host of an ssh lab (JSON lines on stdout).
    #[command(name = "__probe", hide = true)]
    Probe(halab::cmd::remote_probe::ProbeArgs),
}

#[derive(Subcommand)]
enum TestbedCommand {
    /// Build the test bed `tb-<lab>` of an ssh lab file: each node with an `ssh` section as a
    /// host running sshd, plus a `control` node; write id_ed25519, known_hosts, ssh_config and
    /// testbed.json into DIR. Prints the control node's netns path.
    Up {
        lab: PathBuf,
        #[arg(long)]
        dir: PathBuf,
        /// Hosts are Debian 12 containers with systemd as PID 1 (systemd-nspawn; the image is
        /// built with mmdebstrap once and cached in /var/cache/halab/images).
        #[arg(long)]
        systemd: bool,
        /// Hosts are Debian 12 VMs: one qemu per host (TCG), started in the host's node
        /// namespace, booting an image built from Debian packages and cached (docs/vagrant.md).
        #[arg(long, conflicts_with = "systemd")]
        vm: bool,
    },
    /// Tear the test bed down: processes, namespaces, state (DIR is left alone).
    Down { lab: PathBuf },
    /// Build (once, cached) the VM image and the Vagrant box made from it, for `provider:
    /// vagrant` labs on this machine (the halab Vagrant provider, docs/vagrant.md). Prints
    /// the box's name and its file:// URL.
    Box,
    /// Internal: one machine of the halab Vagrant provider
    /// (cli/src/provider/vagrant/plugin.rb calls these).
    #[command(subcommand, hide = true)]
    Vm(VmCommand),
    /// Run a command in a test bed node (`control` included).
    Exec {
        lab: PathBuf,
        node: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Subcommand)]
enum VmCommand {
    /// Boot NODE's VM from the box unpacked in BOX (the lab's namespaces first, if no VM
    /// made them yet); wait for its sshd.
    Up {
        lab: PathBuf,
        node: String,
        /// The lab's ssh key and host keys (vagrant's state dir for the lab).
        #[arg(long)]
        dir: PathBuf,
        #[arg(long = "box")]
        box_dir: PathBuf,
    },
    /// `running`, `stopped` or `not_created`.
    State { lab: PathBuf, node: String },
    /// How vagrant reaches NODE, as JSON.
    SshInfo {
        lab: PathBuf,
        node: String,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Stop NODE's VM; the last one removes the lab's namespaces.
    Destroy { lab: PathBuf, node: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before anything else: a node's init logs nowhere but its own file and returns its own
    // exit code.
    let command = match cli.command {
        Command::NodeInit(args) => return halab_netns::node_init_main(args),
        Command::Get(a) => {
            return ExitCode::from(
                u8::try_from(halab::cmd::remote_probe::get_main(&a)).unwrap_or(1),
            );
        }
        Command::Probe(a) => {
            return ExitCode::from(
                u8::try_from(halab::cmd::remote_probe::probe_main(&a)).unwrap_or(1),
            );
        }
        other => other,
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("HALAB_LOG"))
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let code = match command {
        Command::Validate { lab, json } => validate(lab, json),
        Command::Render {
            lab,
            out,
            templates,
            check,
        } => render_cmd(lab, out, templates, check),
        Command::Up { lab } => with_lab(lab, |l| halab::cmd::lab_cmds::up(&l)),
        Command::Down { lab, purge } => {
            match halab::cmd::lab_cmds::lab_name_for_down(lab.as_deref()) {
                Ok(name) => halab::cmd::lab_cmds::down(&name, purge),
                Err(c) => c,
            }
        }
        Command::Status { lab, json } => with_lab(lab, |l| halab::cmd::lab_cmds::status(&l, json)),
        Command::Exec { lab, node, command } => with_lab(Some(lab), |l| {
            halab::cmd::lab_cmds::exec(&l, &node, &command)
        }),
        Command::Curl {
            lab,
            path,
            count,
            vip,
        } => with_lab(lab, |l| halab::cmd::lab_cmds::curl(&l, &path, count, vip)),
        Command::Schema { kind } => {
            print!("{}", halab::cmd::schema::schema(kind));
            exit_codes::OK
        }
        Command::Doctor { json } => {
            let probes = halab::doctor::probes(&halab::state::state_root());
            let ok = if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&probes).unwrap_or_default()
                );
                halab::doctor::passed(&probes)
            } else {
                halab::doctor::print(&probes)
            };
            if ok {
                exit_codes::OK
            } else {
                exit_codes::LAB_ERROR
            }
        }
        Command::Import {
            inputs,
            output,
            name,
        } => halab::cmd::import_cmd::import(&inputs, output.as_deref(), name.as_deref()),
        Command::Test {
            args,
            engine,
            json,
            junit,
            report,
            keep,
            jobs,
            check,
        } => halab::cmd::test_cmd::test(halab::cmd::test_cmd::TestArgs {
            args,
            engine,
            json,
            junit,
            report,
            keep,
            jobs,
            check,
        }),
        Command::Testbed(TestbedCommand::Up {
            lab,
            dir,
            systemd,
            vm,
        }) => {
            let kind = match (systemd, vm) {
                (_, true) => halab::testbed::HostKind::Vm,
                (true, false) => halab::testbed::HostKind::Systemd,
                (false, false) => halab::testbed::HostKind::HostLike,
            };
            with_lab(Some(lab), |l| halab::testbed::cmd_up(&l, &dir, kind))
        }
        Command::Testbed(TestbedCommand::Down { lab }) => {
            match halab::cmd::lab_cmds::lab_name_for_down(Some(&lab)) {
                Ok(name) => halab::testbed::cmd_down(&name),
                Err(c) => c,
            }
        }
        Command::Testbed(TestbedCommand::Box) => halab::testbed::vagrant_vm::cmd_box(),
        Command::Testbed(TestbedCommand::Vm(vm)) => {
            use halab::testbed::vagrant_vm as v;
            match vm {
                VmCommand::Up {
                    lab,
                    node,
                    dir,
                    box_dir,
                } => with_lab(Some(lab), |l| v::cmd_vm_up(&l, &node, &dir, &box_dir)),
                VmCommand::State { lab, node } => {
                    with_lab(Some(lab), |l| v::cmd_vm_state(&l, &node))
                }
                VmCommand::SshInfo { lab, node, dir } => {
                    with_lab(Some(lab), |l| v::cmd_vm_ssh_info(&l, &node, &dir))
                }
                VmCommand::Destroy { lab, node } => {
                    with_lab(Some(lab), |l| v::cmd_vm_destroy(&l, &node))
                }
            }
        }
        Command::Testbed(TestbedCommand::Exec { lab, node, command }) => {
            with_lab(Some(lab), |l| halab::testbed::cmd_exec(&l, &node, &command))
        }
        Command::Chaos {
            lab,
            engine,
            duration,
            faults,
            seed,
            json,
            report,
            out,
            keep_going,
            shrink_budget,
            differential,
        } => halab::cmd::chaos_cmd::chaos(halab::cmd::chaos_cmd::ChaosArgs {
            lab,
            engine,
            duration,
            faults,
            seed,
            json,
            report,
            out,
            keep_going,
            shrink_budget,
            differential,
        }),
        Command::Deb { halabd, out } => halab::deb::cmd_build(halabd, &out),
        Command::NodeInit(_) | Command::Get(_) | Command::Probe(_) => exit_codes::LAB_ERROR,
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn load(arg: Option<PathBuf>) -> Result<halab::lab::Lab, i32> {
    let path = lab::resolve(arg.as_deref());
    lab::load(&path).map_err(|e| {
        match &e {
            LoadError::Invalid { rendered, .. } => eprint!("{rendered}"),
            LoadError::Read { .. } => {
                eprintln!("error: {e}\n  hint: pass a lab file or a directory holding lab.yaml")
            }
        }
        exit_codes::BAD_INPUT
    })
}

fn with_lab(arg: Option<PathBuf>, f: impl FnOnce(halab::lab::Lab) -> i32) -> i32 {
    match load(arg) {
        Ok(l) => f(l),
        Err(c) => c,
    }
}

fn validate(arg: Option<PathBuf>, json: bool) -> i32 {
    let lab = match load(arg) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if json {
        match serde_json::to_string_pretty(&lab) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: failed to print the lab: {e}");
                return exit_codes::LAB_ERROR;
            }
        }
    } else {
        let lbs = lab.lbs().count();
        let webs = lab.webs().count();
        println!(
            "{}: ok (lab `{}`: {} nodes, {lbs} LB, {webs} web, {} VRRP instance(s))",
            lab.file.display(),
            lab.name,
            lab.nodes.len(),
            lab.vrrp.len()
        );
    }
    exit_codes::OK
}

fn render_cmd(
    arg: Option<PathBuf>,
    out: Option<PathBuf>,
    templates: Option<PathBuf>,
    check: bool,
) -> i32 {
    let lab = match load(arg) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let t = match Templates::with_overrides(templates.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_codes::BAD_INPUT;
        }
    };
    let started = std::time::Instant::now();
    let artefacts = match render::render(&lab, &t) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_codes::BAD_INPUT;
        }
    };
    let took = started.elapsed();
    let out = out.unwrap_or_else(|| PathBuf::from("rendered").join(&lab.name));
    if check {
        let exe = std::env::current_exe().unwrap_or_default();
        let halabd = halab::apply::halabd_beside(&exe);
        let report = halab::check::check_all(&lab, &artefacts, &halabd);
        for r in &report {
            match &r.result {
                Ok(()) => eprintln!("checked {} {} with {}: ok", r.node, r.path, r.tool),
                Err(msg) => eprintln!(
                    "error: {} rejected {} on {}:\n{msg}",
                    r.tool, r.path, r.node
                ),
            }
        }
        if report.iter().any(|r| r.result.is_err()) {
            eprintln!("nothing written: fix the lab (or the template override) first");
            return exit_codes::LAB_ERROR;
        }
    }
    if let Err(e) = render::write_tree(&artefacts, &out) {
        eprintln!("error: failed to write {}: {e}", out.display());
        return exit_codes::LAB_ERROR;
    }
    println!(
        "rendered {} files for {} nodes into {} in {:.1} ms",
        artefacts.len(),
        lab.nodes.len(),
        out.display(),
        took.as_secs_f64() * 1000.0
    );
    exit_codes::OK
}
