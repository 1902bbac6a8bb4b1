//! The Distributed Randomness Protocol (DRP): the epoch leader and the validators ("servers")
//! produce a random output that no single party can predict or bias, with a transcript any third
//! party can check. RandHound-style (Syta et al., 2017), as IOS / OmniLedger use it, on the
//! engine's real cryptography: Schoenmakers PVSS with DLEQ proofs ([`iosv_engine::pvss`]),
//! Schnorr CoSi over Ed25519 ([`iosv_engine::cosi::schnorr`]), Ed25519 signatures.
//!
//! # Steps
//! a. [`session`]: a balanced random grouping of the servers, from a seed hashed from the epoch,
//!    the previous randomness and the roster; group threshold `t = ⌊(c − 1) / 3⌋ + 1`.
//! b. Every server deals a fresh PVSS secret to its group and signs the dealing ([`choice`]).
//! c. The leader verifies the dealings and chooses `t` valid ones per group; the whole roster
//!    co-signs the hash of that choice (CoSi, ByzCoin policy) **before** any share is decrypted.
//! d. Servers decrypt their shares of the chosen secrets with DLEQ proofs and send them to the
//!    leader and to each other; each verifies them and recovers every chosen secret from `t` valid
//!    shares ([`reveal`]).
//! e. Output `H(session ‖ recovered secrets)`; a [`Transcript`] lets anyone recheck everything.
//!
//! # Interface (sans-I/O)
//! No clock, no I/O, randomness passed in. The embedding node:
//! 1. builds a [`Session`] from [`SessionParams`] and a [`DrpRoster`] (every node the same), then
//!    a [`Leader`] (on the epoch leader) and a [`Server`] (on every validator, with its
//!    [`ServerKeys`]);
//! 2. calls [`Leader::start`], and sends each [`Outgoing`] to its [`Dest`];
//! 3. passes every [`DrpMsg`] a server receives to [`Leader::handle`] (with the authenticated
//!    sender's roster index) or to [`Server::handle`] (messages from the session's leader only,
//!    with an RNG), and sends what they return;
//! 4. runs one timer per leader phase ([`Leader::phase`]; restart it when the phase changes) and
//!    calls [`Leader::on_timeout`] when it fires; calls [`Server::on_timeout`] when the whole
//!    session's deadline passes;
//! 5. reads [`Leader::result`], [`Leader::transcript`], [`Server::output`], [`Server::evidence`].
//!
//! [`randomness::DrpRandomness`] runs it as the epoch flow's [`RandomnessProtocol`](crate::epoch::RandomnessProtocol).
//! [`DrpPeer`] packages steps 1–5 for one validator (its server, plus the leader when it leads,
//! with the messages between them kept inside the node): the simpler way to embed the DRP.
//! [`DrpNode`] is a dedicated leader or a server as a [`crate::node::Node`], for running one
//! session on the simulator (`crate::sim::drp_net`, the DRP's scenario tests and `iosv drp`).
//!
//! Messages carry no session name: one state machine per session, routed by the node (e.g. by
//! epoch); everything signed or proved inside is bound to the session digest.
//!
//! # Invariants
//! - The choice is fixed (co-signed by `2f + 1` servers) before any share is decrypted; an honest
//!   server co-signs at most one choice per session and only after checking every chosen dealing,
//!   so an equivocating leader cannot get a signature over two different choices, and cannot pick
//!   the choice after seeing any secret.
//! - Dealings are signed by their dealers; every DLEQ proof (encrypted and decrypted shares) is
//!   checked by the leader, by the servers, and by [`Transcript::verify`]; invalid contributions
//!   are excluded with a traceable reason ([`Exclusion`]), never silently used.
//! - Any `t` valid shares of a dealing recover the same secret, so the output does not depend on
//!   which shares were used; servers compute the output themselves, from the leader's reveal or
//!   from the shares every server sends every other once the choice is signed (so a leader that
//!   dislikes the output cannot withhold it from the servers).
//! - Untrusted input (messages, transcripts) never panics: every failure is a typed error.
//!
//! Failure: a session that cannot complete (too few valid dealings, signers or shares, or
//! [`leader::MAX_SIGNING_ATTEMPTS`] CoSi rounds without a signature) ends in a [`DrpFailure`];
//! the embedding layer then starts a new one (e.g. under the next leader).

pub mod choice;
pub mod encoding;
pub mod leader;
pub mod msg;
pub mod node;
pub mod peer;
pub mod randomness;
pub mod reveal;
pub mod roster;
pub mod server;
pub mod session;
pub mod transcript;
pub mod transcript_json;

pub use choice::{Choice, ChosenGroup, DealingFault, SignedDealing};
pub use encoding::Hash32;
pub use leader::{Leader, LeaderFault, LeaderPhase};
pub use msg::{
    ChosenShare, Dest, DrpFailure, DrpMsg, Exclusion, ExclusionReason, Outgoing, Refusal,
    RevealedSecret,
};
pub use node::{DrpEvent, DrpNode, DrpNodeConfig, DrpTimer};
pub use peer::{DrpPeer, DrpWire, PeerStep};
pub use roster::{DrpRoster, MemberInfo, ServerKeys, server_keys};
pub use server::{Server, ServerFault, ServerPhase};
pub use session::{Group, Session, SessionParams};
pub use transcript::{Check, CheckFailure, Transcript};
pub use transcript_json::TranscriptDamage;
