//! Epoch start: VRF leader election and the epoch's randomness.
//!
//! - [`lottery`]: the RFC 9381 ECVRF lottery of a view, its verification and the ranking;
//! - [`validator`]: the validator's epoch flow as a sans-I/O [`crate::node::Node`] (timeline,
//!   exclusion, view change, injected faults);
//! - [`randomness`]: the [`RandomnessProtocol`] trait, the integration point for the Distributed
//!   Randomness Protocol that the elected leader runs;
//! - [`announce`]: the pre-DRP placeholder protocol (a leader-signed announcement), which the DRP
//!   replaces;
//! - [`message`]: messages, timers and outputs; [`roster`]: keys.
//!
//! Guarantees (checked by the simulator's tests), with fewer than a third of the validators
//! faulty: honest validators that accept an epoch's randomness accept the same value, whatever the
//! message timing (the randomness protocol certifies a value by more than two thirds of the roster,
//! and each node vouches for one round per epoch); a node accepts within 3Δ of its view's gossip
//! close; a withholding candidate is excluded for the epoch. Liveness (every epoch gets its
//! randomness) needs synchrony: messages within a fraction of Δ. Every malformed, duplicated, late
//! or misdirected lottery is rejected and reported.

pub mod announce;
#[cfg(test)]
mod announce_tests;
pub mod lottery;
pub mod message;
pub mod randomness;
pub mod roster;
pub mod validator;

pub use announce::SignedAnnouncement;
pub use message::{Message, Output, Timer};
pub use randomness::{EpochRandomness, RandomnessEffects, RandomnessProtocol, Round, RoundContext};
pub use roster::{Roster, ValidatorKeys};
pub use validator::{Behavior, EpochParams, ParamsError, Validator};
