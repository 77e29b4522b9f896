//! `halabd-node-init`: PID 1 of the lab nodes halabd's namespace tests and benchmark run in
//! (halab-netns, the same machinery `halab up` uses). halab itself starts its nodes with
//! `halab __node-init`; this binary exists because a test of this package can only name
//! binaries of this package.

use std::process::ExitCode;

use clap::Parser;
use halab_netns::{NodeInitArgs, node_init_main};

#[derive(Parser)]
#[command(
    name = "halabd-node-init",
    about = "PID 1 of a halab-netns lab node (tests only)"
)]
struct Args {
    #[command(flatten)]
    init: NodeInitArgs,
}

fn main() -> ExitCode {
    node_init_main(Args::parse().init)
}
