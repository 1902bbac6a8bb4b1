//! One module per `iosv` subcommand.

pub mod bench;
pub mod drp;
pub mod gate;
pub mod gen_sigs;
pub mod info;
pub mod msb_bootstrap;
pub mod pipeline;
pub mod verify;
pub mod verify_drp;
