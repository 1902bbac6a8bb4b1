//! Collective signatures for the normal league's finality (ByzCoin-style CoSi).
//!
//! - [`mask`]: the participation bitmask over roster order (bit `i` = `byte[i >> 3] & (1 << (i & 7))`).
//! - [`policy`]: how many roster members must have signed (complete, threshold, ByzCoin's 2f + 1).
//! - `schnorr`: Schnorr CoSi over Ed25519 (signature = V ‖ r ‖ mask).
//! - `bls`: BLS collective signatures with blst (`min_pk`).

pub mod bls;
pub mod mask;
pub mod policy;
pub mod schnorr;

pub use mask::{Mask, MaskError};
pub use policy::Policy;
