//! Schnorr collective signatures (CoSi) over Ed25519, as ByzCoin uses them (Syta et al., "Keeping
//! Authorities 'Honest or Bust' with Decentralized Witness Cosigning", 2016).
//!
//! A [`Roster`] of members signs a message together in one round over a tree (announcement,
//! commitment, challenge, response: [`protocol`]); the result is `V ‖ r ‖ mask`, where `V ‖ r` is an
//! ordinary Ed25519 signature under `A'`, the sum of the participants' keys, and the mask says who
//! they were. [`verify`] applies ZIP-215's rules to it and checks the [`Policy`](crate::cosi::Policy)
//! against the mask; [`verify_batch`] checks many in one multiscalar multiplication.
//!
//! Invariants:
//! - members join only by proving possession of their key ([`RosterBuilder::register`]), so no
//!   member can pick its key as a function of the others' (the rogue-key attack, which would let
//!   one member sign for everyone); keys are canonical, of large order and torsion-free;
//! - the challenge is `SHA-512(V ‖ A' ‖ M) mod L`, exactly Ed25519's, so a one-member roster's
//!   signature verifies with any ZIP-215 Ed25519 verifier under that member's key. A consequence:
//!   a member's key signs `M` itself, so callers domain-separate the messages they co-sign from
//!   anything else those keys sign;
//! - the mask is strict (one encoding per set of participants), `r` canonical, and verification is
//!   cofactored, so single and batch verification agree on every input.

mod batch;
mod error;
mod key;
pub mod protocol;
mod roster;
mod signature;
mod tree;
mod verify;

#[cfg(test)]
mod rogue_key_tests;

pub use batch::{SINGLE_CHECK_BELOW, verify_batch};
pub use error::CosiError;
pub use key::{MemberKey, POP_DOMAIN, Registration, pop_message};
pub use protocol::{
    Challenge, Commitment, Nonce, Response, aggregate_commitments, aggregate_responses, challenge,
    check_partial, commit, finalize, respond,
};
pub use roster::{AggregatePath, Roster, RosterBuilder};
pub use signature::CollectiveSignature;
pub use tree::{Topology, run_round};
pub use verify::verify;
