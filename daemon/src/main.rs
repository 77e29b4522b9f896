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
#[derive(Parser, Debug)]
#[command(name = "halabd", version)]
struct Cli {
    /// keepalived.conf to read.
    #[arg(
        short = 'f',
        long = "use-file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    config: PathBuf,
    /// Check the configuration, print every problem, exit 0 if valid and 1 if not.
    #[arg(short = 't', long = "config-test")]
    config_test: bool,
    /// Pid file.
    #[arg(long, default_value = "/run/halabd.pid")]
    pid_file: PathBuf,
    /// Address of the HTTP API (GET /status, GET /metrics), or `off`.
    #[arg(long, env = "HALABD_API", default_value = halab_api::DEFAULT_API_ADDR)]
    api: String,
    /// Debug logging (keepalived's --log-detail). HALABD_LOG=filter overrides.
    #[arg(short = 'D', long = "log-detail")]
    log_detail: bool,
    /// Accepted for keepalived compatibility: halabd always logs to stderr.
    #[arg(short = 'l', long = "log-console")]
    log_console: bool,
    /// Accepted for keepalived compatibility: halabd never forks.
    #[arg(short = 'n', long = "dont-fork")]
    dont_fork: bool,
    /// Accepted for keepalived compatibility: halabd only does VRRP.
    #[arg(short = 'P', long = "vrrp")]
    vrrp_only: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            for e in &errors.0 {
                eprintln!("error: {e}");
            }
            eprintln!("{}: {} error(s)", cli.config.display(), errors.0.len());
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    for notice in &parsed.notices {
        eprintln!("warning: {notice}");
    }
    if cli.config_test {
        eprintln!(
            "{}: configuration ok ({} instance(s), {} script(s), {} sync group(s))",
            cli.config.display(),
            parsed.config.instances.len(),
            parsed.config.scripts.len(),
            parsed.config.sync_groups.len()
        );
        return ExitCode::SUCCESS;
    }
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
