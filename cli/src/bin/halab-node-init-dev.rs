//! TEMPORARY: stands in for `halab __node-init` until main.rs wires it. Delete afterwards.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
enum Cli {
    #[command(name = "__node-init")]
    NodeInit(halab::netns::NodeInitArgs),
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::NodeInit(args) => halab::netns::node_init_main(args),
    }
}
