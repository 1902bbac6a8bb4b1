//! In-process measurements behind `iosv bench`. Peers run in the same process on the same inputs,
//! so their ratios to the engine hold on a noisy machine even when absolute times drift.

pub mod cosi;
pub mod gate;
pub mod gpu;
pub mod harness;
pub mod peers;
pub mod pipeline;
pub mod sigverify;
pub mod timing;
pub mod utxo;
