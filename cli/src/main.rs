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
        /// Also check each config with the real tool (haproxy -c, keepalived -t, nginx -t).
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("HALAB_LOG")).with_writer(std::io::stderr).without_time().init();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Validate { lab, json } => validate(lab, json),
        Command::Render { lab, out, templates, check } => render_cmd(lab, out, templates, check),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn load(arg: Option<PathBuf>) -> Result<halab::lab::Lab, i32> {
    let path = lab::resolve(arg.as_deref());
    lab::load(&path).map_err(|e| {
        match &e {
            LoadError::Invalid { rendered, .. } => eprint!("{rendered}"),
            LoadError::Read { .. } => eprintln!("error: {e}\n  hint: pass a lab file or a directory holding lab.yaml"),
        }
        exit_codes::BAD_INPUT
    })
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
        println!("{}: ok (lab `{}`: {} nodes, {lbs} LB, {webs} web, {} VRRP instance(s))", lab.file.display(), lab.name, lab.nodes.len(), lab.vrrp.len());
    }
    exit_codes::OK
}

fn render_cmd(arg: Option<PathBuf>, out: Option<PathBuf>, templates: Option<PathBuf>, check: bool) -> i32 {
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
        let report = halab::check::check_all(&lab, &artefacts);
        for r in &report {
            match &r.result {
                Ok(()) => eprintln!("checked {} {} with {}: ok", r.node, r.path, r.tool),
                Err(msg) => eprintln!("error: {} rejected {} on {}:\n{msg}", r.tool, r.path, r.node),
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
    println!("rendered {} files for {} nodes into {} in {:.1} ms", artefacts.len(), lab.nodes.len(), out.display(), took.as_secs_f64() * 1000.0);
    exit_codes::OK
}
