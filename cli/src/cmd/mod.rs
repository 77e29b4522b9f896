//! The CLI's commands on running labs; main.rs parses arguments and dispatches here.

pub mod chaos_cmd;
pub mod lab_cmds;
pub mod remote_probe;
pub mod schema;
pub mod test_cmd;
