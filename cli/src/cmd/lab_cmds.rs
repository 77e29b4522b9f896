//! `up`, `down`, `status`, `exec`, `curl`: the commands that act on a running lab.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::exit_codes;
use crate::lab::Lab;
use std::sync::Arc;

use crate::apply::{UpError, UpOptions};
use crate::fleet::Fleet;
use crate::observe;
use crate::provider::DownReport;
use crate::state::state_root;

fn lab_error(e: impl std::fmt::Display) -> i32 {
    eprintln!("error: {e}");
    exit_codes::LAB_ERROR
}

pub fn up(lab: &Lab) -> i32 {
    let mut opts = match UpOptions::from_env() {
        Ok(o) => o,
        Err(e) => return lab_error(e),
    };
    eprintln!(
        "halab up {} ({} nodes, provider {})",
        lab.name,
        lab.nodes.len(),
        format!("{:?}", lab.provider).to_lowercase()
    );
    match crate::provider::up(lab, &mut opts) {
        Ok(r) => {
            match &r.changes {
                None => println!("lab {} is up in {:.2} s", lab.name, r.total.as_secs_f64()),
                Some(c) if !r.existed => println!(
                    "lab {} is up in {:.2} s ({} files written)",
                    lab.name,
                    r.total.as_secs_f64(),
                    c.len()
                ),
                Some(c) if c.is_empty() => println!("lab {} is up: 0 changes", lab.name),
                Some(c) => println!("lab {} updated: {} changes", lab.name, c.len()),
            }
            exit_codes::OK
        }
        Err(e @ UpError::Rejected(_)) => {
            eprintln!("error: {e}");
            exit_codes::LAB_ERROR
        }
        Err(e) => lab_error(e),
    }
}

pub fn down(lab: &str, purge: bool) -> i32 {
    let t = std::time::Instant::now();
    match crate::provider::down(&state_root(), lab, purge) {
        Ok(None) => {
            println!("lab {lab} is not up (nothing to do)");
            exit_codes::OK
        }
        Ok(Some(DownReport::Hosts(r))) => {
            println!(
                "lab {lab} is down in {:.2} s ({} hosts, {} services stopped{})",
                t.elapsed().as_secs_f64(),
                r.hosts,
                r.stopped,
                if purge {
                    format!(
                        ", {} files and {} packages removed",
                        r.removed_files, r.removed_packages
                    )
                } else {
                    String::new()
                }
            );
            exit_codes::OK
        }
        Ok(Some(DownReport::Namespaces(r))) => {
            println!(
                "lab {lab} is down in {:.2} s ({} node inits stopped, {} killed, {} namespaces removed)",
                t.elapsed().as_secs_f64(),
                r.stopped,
                r.killed,
                r.namespaces.len()
            );
            exit_codes::OK
        }
        Err(e) => lab_error(e),
    }
}

/// The running lab's machines, or an error telling the user to bring it up.
pub fn open(lab: &Lab) -> Result<Arc<dyn Fleet>, i32> {
    crate::provider::open_fleet(lab, &state_root()).map_err(|e| {
        eprintln!("error: {e}");
        exit_codes::LAB_ERROR
    })
}

pub fn status(lab: &Lab, json: bool) -> i32 {
    let fleet = match open(lab) {
        Ok(h) => h,
        Err(c) => return c,
    };
    // What runs, not what the file says (`test --engine ... --keep`).
    let lab = &crate::provider::as_running(lab, &state_root());
    let s = crate::status::status(lab, fleet.as_ref());
    if json {
        println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
    } else {
        crate::status::print(&s);
    }
    exit_codes::OK
}

pub fn exec(lab: &Lab, node: &str, argv: &[String]) -> i32 {
    let fleet = match open(lab) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let Ok(n) = fleet.machine(node) else {
        let names: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
        eprintln!(
            "error: lab {} has no node `{node}`\n  hint: {}",
            lab.name,
            crate::diag::did_you_mean(node, &names)
        );
        return exit_codes::BAD_INPUT;
    };
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    match n.exec(&args) {
        Ok(out) => {
            print!("{}", out.stdout);
            eprint!("{}", out.stderr);
            out.code
        }
        Err(e) => lab_error(e),
    }
}

pub fn curl(lab: &Lab, path: &str, count: usize, vip: Option<std::net::IpAddr>) -> i32 {
    let fleet = match open(lab) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let Some(vip) = vip.or_else(|| observe::client_vips(lab).first().copied()) else {
        eprintln!("error: the client reaches no VIP");
        return exit_codes::BAD_INPUT;
    };
    let Some(target) = observe::http_target(lab, vip) else {
        eprintln!("error: no frontend serves VIP {vip}");
        return exit_codes::BAD_INPUT;
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed = 0;
    for i in 0..count.min(10_000) {
        match observe::client_get(fleet.as_ref(), target, path, Duration::from_secs(2)) {
            Ok(r) => {
                let b = r.backend();
                println!("{:>4} {} {}", i + 1, r.status, b);
                *counts.entry(format!("{} {b}", r.status)).or_default() += 1;
            }
            Err(e) => {
                println!("{:>4} ERR {e}", i + 1);
                failed += 1;
            }
        }
    }
    println!("-- {count} requests to http://{target}{path} from the client:");
    for (b, n) in &counts {
        println!("   {n:>4} x {b}");
    }
    if failed > 0 {
        println!("   {failed:>4} x failed");
    }
    if failed > 0 {
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::OK
    }
}

/// The lab named by a file, or just its name when the state dir is all that is left.
pub fn lab_name_for_down(arg: Option<&Path>) -> Result<String, i32> {
    let path = crate::lab::resolve(arg);
    match crate::lab::load(&path) {
        Ok(l) => Ok(l.name),
        Err(_) if arg.is_some_and(|a| !a.exists()) => Ok(arg
            .map(|a| a.to_string_lossy().to_string())
            .unwrap_or_default()),
        Err(e) => {
            eprintln!("{e}");
            Err(exit_codes::BAD_INPUT)
        }
    }
}
