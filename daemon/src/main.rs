//! `halabd`: command line, logging, pid file, runtime. Exit codes: 0 ok, 1 invalid
//! configuration, 2 bad usage, 3 environment error (sockets, netlink, pid file).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use halabd::{api, conf, driver, pidfile};

const EXIT_BAD_CONFIG: u8 = 1;
const EXIT_ENVIRONMENT: u8 = 3;

/// halab's VRRP daemon: reads keepalived.conf, speaks VRRPv2/v3 like keepalived.
///
/// keepalived's command line is accepted so a unit file or init script can call halabd with the
/// same arguments: options that mean nothing for a single VRRP process are accepted with a
/// notice; the few that would change behaviour halabd lacks are refused (exit 2).
#[derive(Parser, Debug)]
#[command(name = "halabd", disable_version_flag = true)]
struct Cli {
    /// keepalived.conf to read.
    #[arg(
        short = 'f',
        long = "use-file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    config: PathBuf,
    /// Check the configuration, print every problem, exit 0 if valid and 1 if not
    /// (keepalived's --config-test[=LOG_FILE]: the report also goes to LOG_FILE).
    #[arg(short = 't', long = "config-test", num_args = 0..=1, require_equals = true, value_name = "LOG_FILE")]
    config_test: Option<Option<PathBuf>>,
    /// Pid file (keepalived's -p/--pid: the main process; halabd is one process).
    #[arg(
        short = 'p',
        long = "pid",
        visible_alias = "pid-file",
        default_value = "/run/halabd.pid"
    )]
    pid_file: PathBuf,
    /// keepalived's VRRP child pid file: halabd writes its own pid there too.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    vrrp_pid: Option<PathBuf>,
    /// Address of the HTTP API (GET /status, GET /metrics), or `off`.
    #[arg(long, env = "HALABD_API", default_value = halab_api::DEFAULT_API_ADDR)]
    api: String,
    /// Debug logging (keepalived's --log-detail). HALABD_LOG=filter overrides.
    #[arg(short = 'D', long = "log-detail")]
    log_detail: bool,
    /// Print the version and exit.
    #[arg(short = 'v', long = "version")]
    version: bool,
    /// keepalived's --signum=NAME: print the signal number for RELOAD, STOP, DATA, STATS,
    /// STATS_CLEAR or JSON, and exit.
    #[arg(long = "signum", value_name = "NAME")]
    signum: Option<String>,
    /// Accepted (keepalived compatibility): halabd always logs to stderr.
    #[arg(short = 'l', long = "log-console")]
    log_console: bool,
    /// Accepted: halabd never forks.
    #[arg(short = 'n', long = "dont-fork")]
    dont_fork: bool,
    /// Accepted: halabd only does VRRP.
    #[arg(short = 'P', long = "vrrp")]
    vrrp_only: bool,
    /// Accepted: halabd does not log to syslog (stderr; journald under systemd).
    #[arg(short = 'G', long = "no-syslog")]
    no_syslog: bool,
    /// Accepted with a notice: no syslog facility (halabd logs to stderr).
    #[arg(short = 'S', long = "log-facility", value_name = "N")]
    log_facility: Option<String>,
    /// Accepted with a notice: no log file (halabd logs to stderr).
    #[arg(short = 'g', long = "log-file", num_args = 0..=1, require_equals = true, value_name = "FILE")]
    log_file: Option<Option<String>>,
    /// Accepted with a notice: halabd has no checker, BFD or IPVS process, pid file or rules
    /// (-c/--checkers_pid, -b/--bfd_pid, -B/--no_bfd, -I/--dont-release-ipvs, -R/--dont-respawn,
    /// -a/--address-monitoring, -x/--snmp, -A/--snmp-agent-socket, -m/--core-dump,
    /// -M/--core-dump-pattern, -u/--umask, -e/--all-config, -X/--release-vips, -d/--dump-conf,
    /// -L/--mem-check-log, --all, --flush-log-file, --no-mem-check, --perf, --debug).
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    checkers_pid: Option<String>,
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE", hide = true)]
    bfd_pid: Option<String>,
    #[arg(short = 'B', long = "no_bfd", hide = true)]
    no_bfd: bool,
    #[arg(short = 'I', long = "dont-release-ipvs", hide = true)]
    dont_release_ipvs: bool,
    #[arg(short = 'R', long = "dont-respawn", hide = true)]
    dont_respawn: bool,
    #[arg(short = 'a', long = "address-monitoring", hide = true)]
    address_monitoring: bool,
    #[arg(short = 'x', long = "snmp", hide = true)]
    snmp: bool,
    #[arg(short = 'A', long = "snmp-agent-socket", hide = true)]
    snmp_socket: Option<String>,
    #[arg(short = 'm', long = "core-dump", hide = true)]
    core_dump: bool,
    #[arg(short = 'M', long = "core-dump-pattern", num_args = 0..=1, require_equals = true, hide = true)]
    core_dump_pattern: Option<Option<String>>,
    #[arg(short = 'u', long = "umask", hide = true)]
    umask: Option<String>,
    #[arg(short = 'e', long = "all-config", hide = true)]
    all_config: bool,
    #[arg(short = 'X', long = "release-vips", hide = true)]
    release_vips: bool,
    #[arg(short = 'd', long = "dump-conf", hide = true)]
    dump_conf: bool,
    #[arg(short = 'L', long = "mem-check-log", hide = true)]
    mem_check_log: bool,
    #[arg(long = "all", hide = true)]
    all: bool,
    #[arg(long = "flush-log-file", hide = true)]
    flush_log_file: bool,
    #[arg(long = "no-mem-check", hide = true)]
    no_mem_check: bool,
    #[arg(long = "perf", num_args = 0..=1, require_equals = true, hide = true)]
    perf: Option<Option<String>>,
    #[arg(long = "debug", num_args = 0..=1, require_equals = true, hide = true)]
    debug: Option<Option<String>>,
    /// Refused: halabd always removes its VIPs and routes when it stops
    /// (keepalived's -V/--dont-release-vrrp).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    dont_release_vrrp: bool,
    /// Refused: halabd only does VRRP (keepalived's -C/--check runs the checker only).
    #[arg(short = 'C', long = "check")]
    check_only: bool,
    /// Refused: start halabd inside the namespace instead (`ip netns exec NS halabd ...`).
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    namespace: Option<String>,
    /// Refused: conditional configuration (`@ID` lines) is not supported.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    config_id: Option<String>,
    /// Refused: halabd reads its configuration from -f.
    #[arg(long = "config-fd", value_name = "FD")]
    config_fd: Option<String>,
    /// Refused: halabd has no genhash (keepalived's checker tool).
    #[arg(short = 'T', long = "genhash")]
    genhash: bool,
}

impl Cli {
    /// Options keepalived takes that mean nothing here: a notice each.
    fn ignored(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut note = |set: bool, what: &'static str| {
            if set {
                out.push(what);
            }
        };
        note(
            self.log_facility.is_some(),
            "-S/--log-facility: halabd logs to stderr, not syslog",
        );
        note(
            self.log_file.is_some(),
            "-g/--log-file: halabd logs to stderr only",
        );
        note(
            self.checkers_pid.is_some(),
            "-c/--checkers_pid: halabd has no checker process",
        );
        note(
            self.bfd_pid.is_some(),
            "-b/--bfd_pid: halabd has no BFD process",
        );
        note(self.no_bfd, "-B/--no_bfd: halabd has no BFD");
        note(
            self.dont_release_ipvs,
            "-I/--dont-release-ipvs: halabd has no IPVS",
        );
        note(
            self.dont_respawn,
            "-R/--dont-respawn: halabd has no child process to respawn",
        );
        note(
            self.address_monitoring,
            "-a/--address-monitoring: not implemented",
        );
        note(
            self.snmp || self.snmp_socket.is_some(),
            "-x/-A (SNMP): halabd has no SNMP agent (its HTTP API instead)",
        );
        note(
            self.core_dump || self.core_dump_pattern.is_some(),
            "-m/-M (core dumps): left to the system's settings",
        );
        note(
            self.umask.is_some(),
            "-u/--umask: halabd writes its files with their own modes",
        );
        note(
            self.all_config,
            "-e/--all-config: halabd refuses a configuration with any problem anyway",
        );
        note(
            self.release_vips,
            "-X/--release-vips: halabd releases its VIPs on every stop anyway",
        );
        note(self.dump_conf, "-d/--dump-conf: use the API's /status");
        note(
            self.mem_check_log || self.no_mem_check,
            "--mem-check options: no memory checker",
        );
        note(self.all, "--all: halabd only runs VRRP");
        note(self.flush_log_file, "--flush-log-file: no log file");
        note(
            self.perf.is_some() || self.debug.is_some(),
            "--perf/--debug: use HALABD_LOG",
        );
        out
    }

    /// Options that would change behaviour halabd lacks: the reason.
    fn refused(&self) -> Option<&'static str> {
        if self.dont_release_vrrp {
            Some("-V/--dont-release-vrrp: halabd always removes its VIPs and routes when it stops")
        } else if self.check_only {
            Some(
                "-C/--check: halabd only does VRRP; run keepalived's checker for virtual_server blocks",
            )
        } else if self.namespace.is_some() {
            Some("-s/--namespace: start halabd inside the namespace: ip netns exec NS halabd ...")
        } else if self.config_id.is_some() {
            Some("-i/--config-id: conditional configuration (@ID lines) is not supported")
        } else if self.config_fd.is_some() {
            Some("--config-fd: give the configuration file with -f")
        } else if self.genhash {
            Some("-T/--genhash: halabd has no genhash")
        } else {
            None
        }
    }
}

/// keepalived's --signum names (core/main.c), as numbers on this system.
fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "RELOAD" => nix::libc::SIGHUP,
        "STOP" => nix::libc::SIGTERM,
        "DATA" => nix::libc::SIGUSR1,
        "STATS" => nix::libc::SIGUSR2,
        "STATS_CLEAR" => nix::libc::SIGRTMAX() - 1,
        "JSON" => nix::libc::SIGRTMIN() + 2,
        _ => return None,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        println!(
            "halabd {} (keepalived 2.2.7-compatible VRRP)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    if let Some(name) = &cli.signum {
        return match signum(name) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "error: --signum {name}: expected RELOAD, STOP, DATA, STATS, STATS_CLEAR or JSON"
                );
                ExitCode::from(2)
            }
        };
    }
    if let Some(reason) = cli.refused() {
        eprintln!("error: {reason}");
        return ExitCode::from(2);
    }
    for what in cli.ignored() {
        eprintln!("notice: option {what}; ignored");
    }
    let default = if cli.log_detail { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HALABD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let parsed = match conf::load(&cli.config) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let mut report = String::new();
            for e in &errors.0 {
                report.push_str(&format!("error: {e}\n"));
            }
            report.push_str(&format!(
                "{}: {} error(s)\n",
                cli.config.display(),
                errors.0.len()
            ));
            eprint!("{report}");
            copy_report(&cli, &report);
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let mut report = String::new();
    for notice in &parsed.notices {
        report.push_str(&format!("warning: {notice}\n"));
    }
    if cli.config_test.is_some() {
        // keepalived -t: a tracked script that cannot be found is a configuration error
        // ("Disabling track script X since not found/accessible"); at run time it is disabled.
        let missing = driver::missing_scripts(&parsed.config);
        for m in &missing {
            report.push_str(&format!("error: {}: {m}\n", cli.config.display()));
        }
        if missing.is_empty() {
            report.push_str(&format!(
                "{}: configuration ok ({} instance(s), {} script(s), {} sync group(s))\n",
                cli.config.display(),
                parsed.config.instances.len(),
                parsed.config.scripts.len(),
                parsed.config.sync_groups.len()
            ));
        } else {
            report.push_str(&format!(
                "{}: {} error(s)\n",
                cli.config.display(),
                missing.len()
            ));
        }
        eprint!("{report}");
        copy_report(&cli, &report);
        return if missing.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_BAD_CONFIG)
        };
    }
    eprint!("{report}");
    let api_addr: Option<SocketAddr> = match cli.api.as_str() {
        "off" | "none" | "" => None,
        text => match text.parse() {
            Ok(addr) => Some(addr),
            Err(e) => {
                eprintln!("error: --api {text}: {e} (expected ADDR:PORT or off)");
                return ExitCode::from(2);
            }
        },
    };
    let _pid = match pidfile::PidFile::create(&cli.pid_file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ENVIRONMENT);
        }
    };
    // keepalived's VRRP child pid file (-r): the same single process.
    let _vrrp_pid = match cli.vrrp_pid.as_deref().map(pidfile::PidFile::create) {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ENVIRONMENT);
        }
        other => other.and_then(Result::ok),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: start the runtime: {e}");
            return ExitCode::from(EXIT_ENVIRONMENT);
        }
    };
    tracing::info!(
        "Starting halabd {} (keepalived-compatible VRRP)",
        env!("CARGO_PKG_VERSION")
    );
    let result = runtime.block_on(async {
        let status = driver::status_cell();
        if let Some(addr) = api_addr {
            match api::serve(addr, status.clone()).await {
                Ok(local) => tracing::info!("API listening on http://{local}"),
                // VRRP matters more than the API: run without it.
                Err(e) => {
                    tracing::error!("Failed to start the API on {addr}: {e}; running without it")
                }
            }
        }
        let options = driver::Options {
            config_file: cli.config.clone(),
        };
        driver::run(options, parsed.config, status).await
    });
    match result {
        Ok(()) => {
            tracing::info!("Stopped halabd");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("failed to run: {e}");
            ExitCode::from(EXIT_ENVIRONMENT)
        }
    }
}

/// `-t=LOG_FILE`: the report goes to the file as well (keepalived's --config-test=LOG_FILE).
fn copy_report(cli: &Cli, report: &str) {
    if let Some(Some(path)) = &cli.config_test
        && let Err(e) = std::fs::write(path, report)
    {
        eprintln!("error: write {}: {e}", path.display());
    }
}
