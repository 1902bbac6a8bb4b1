//! iosv-harness: the IOS protocol around the engine, and the `iosv` command line.
//!
//! - [`cli`]: argument definitions and dispatch for the `iosv` binary.
//! - [`commands`]: one module per subcommand.
//! - [`drp`]: the Distributed Randomness Protocol (leader and server state machines, transcripts).
//! - [`msb`]: Micro State Blocks, pruning, and bootstrap from the latest MSB.
//! - [`bench`]: in-process measurements behind `iosv bench`, peers measured in the same run.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod drp;
pub mod msb;
pub mod report;
