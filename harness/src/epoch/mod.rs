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
//! Guarantees (checked by the simulator's tests): honest validators that accept an epoch's
//! randomness accept the same value (under synchrony: message delay below Δ); a node accepts
//! within 3Δ of its view's gossip close; a withholding candidate is excluded for the epoch; every
//! malformed, duplicated, late or misdirected lottery is rejected and reported.

pub mod announce;
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
