//! Scale benchmark: halabd against keepalived 2.2.7 with many instances, in the same run.
//!
//! Two LBs in namespaces (priorities 101 / 100), N VRRPv3 instances each (VRIDs 1..=250 per
//! interface, one /32 VIP each), started together; per row: CPU ms per minute of each LB (all
//! its threads, schedstat), PSS, the master's advert intervals captured on the bridges (mean,
//! p50/p99/max deviation from the configured interval), VIPs added on the backup during the
//! steady window (false failovers) and before convergence, start to first advert and to
//! converged. Optional parts: `--script` (one `vrrp_script` tracked by every instance: its
//! runs per minute), `--sync-group` (every instance in one group), `--reload` (SIGHUP of the
//! master with one instance changed: VIPs of the others deleted on the master or added on the
//! backup), `--outage` (master frozen with SIGSTOP: time until the backup holds every VIP);
//! `--all` for the four. `--startup-delay 0,5` runs each row once per value with the backups'
//! `vrrp_startup_delay` set to it (0: none), so "backup VIPs at start" shows both in one run.
//!
//! ```text
//! cargo bench -p halabd --bench scale -- [--quick] [--n 1,100,1000] [--advert 1,0.1,0.01]
//!     [--load off,on] [--engines halabd,keepalived] [--window 60] [--startup-delay 0,5] [--all]
//! ```
//!
//! Needs root, tcpdump and keepalived (scripts/setup). Prints Markdown tables; a row's figures
//! go to stderr as they come. `tests/scale_bench.rs` runs the quick form in CI.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "scale/run.rs"]
mod run;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = run::Settings::from_args(&args);
    eprintln!("scale benchmark: {settings:?}");
    let rows = run::run(&settings, |row| {
        eprint!("{}", run::table(std::slice::from_ref(row)))
    });
    println!("\n{}", run::table(&rows));
    println!("{}", run::ratios(&rows));
}
