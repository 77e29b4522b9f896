//! halab's exit codes: documented constants, the same for every command (see README).

/// Everything asked for was done and every assertion held.
pub const OK: i32 = 0;
/// A scenario ran and at least one assertion failed.
pub const SCENARIO_FAILED: i32 = 1;
/// Bad input: an invalid lab or scenario file, or bad command-line arguments (clap uses 2 too).
pub const BAD_INPUT: i32 = 2;
/// The lab or its machines failed: a provider, a tool, a rendered config the real tool rejected.
pub const LAB_ERROR: i32 = 3;
