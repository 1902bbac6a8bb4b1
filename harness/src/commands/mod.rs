//! One module per `iosv` subcommand.

pub mod backend;
pub mod bench;
pub mod compare;
pub mod demo;
pub mod drp;
pub mod gate;
pub mod gen_sigs;
pub mod info;
pub mod load;
pub mod msb_bootstrap;
pub mod net;
pub mod node;
pub mod parse;
pub mod pipeline;
pub mod serve;
pub mod simulate;
pub mod verify;
pub mod verify_drp;
