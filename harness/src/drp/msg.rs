//! The DRP's messages, and what the state machines report.

use iosv_engine::pvss::{DecryptedShare, Point};
use serde::{Deserialize, Serialize};

use super::choice::{Choice, ChoiceFault, DealingFault, SignedDealing};
use super::encoding::{Hash32, hex_vec, hex32};

/// A message between the leader and a server. Sessions are not named in each message: the
/// embedding node keeps one state machine per session and routes by session (epoch); everything
/// signed or proved inside is bound to the session digest anyway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DrpMsg {
    /// Leader → servers: start; servers check that they hold the same session.
    Announce {
        #[serde(with = "hex32")]
        session: Hash32,
    },
    /// Server → leader: its signed PVSS dealing to its group.
    Dealing { dealing: SignedDealing },
    /// Leader → servers: the choice and the chosen dealings (CoSi announcement).
    Choice {
        choice: Choice,
        dealings: Vec<SignedDealing>,
    },
    /// Server → leader: CoSi commitment (`V ‖ mask`) on the choice it verified, for signing
    /// attempt `attempt` (0 first).
    Commit {
        attempt: u32,
        #[serde(with = "hex_vec")]
        commitment: Vec<u8>,
    },
    /// Leader → committers: CoSi challenge (`V ‖ c ‖ mask`) and the choice hash it is for.
    Challenge {
        attempt: u32,
        #[serde(with = "hex32")]
        choice_hash: Hash32,
        #[serde(with = "hex_vec")]
        challenge: Vec<u8>,
    },
    /// Server → leader: CoSi response (`r ‖ mask`).
    Response {
        attempt: u32,
        #[serde(with = "hex_vec")]
        response: Vec<u8>,
    },
    /// Leader → servers: a new signing attempt on the same choice (after refusals or missing
    /// responses); commit again with a fresh nonce.
    Recommit {
        attempt: u32,
        #[serde(with = "hex32")]
        choice_hash: Hash32,
    },
    /// Server → leader: it will not go on, and why.
    Refuse { reason: Refusal },
    /// Leader → servers: the co-signed choice; decrypt your shares of it.
    Decrypt {
        #[serde(with = "hex32")]
        choice_hash: Hash32,
        #[serde(with = "hex_vec")]
        signature: Vec<u8>,
    },
    /// Server → leader: its decrypted shares of the chosen dealings of its group.
    Shares { shares: Vec<ChosenShare> },
    /// Leader → servers: `t` valid decrypted shares of every chosen secret.
    Reveal { secrets: Vec<RevealedSecret> },
}

/// A decrypted share of dealer `dealer`'s chosen secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenShare {
    pub dealer: u32,
    pub share: DecryptedShare,
}

/// A chosen secret: `t` valid decrypted shares and the recovered `s·G`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealedSecret {
    pub dealer: u32,
    pub shares: Vec<DecryptedShare>,
    pub recovered: Point,
}

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dest {
    Leader,
    Server(u32),
}

/// A message out of a state machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub to: Dest,
    pub msg: DrpMsg,
}

/// Why a server refuses to go on: each is evidence against the leader (or the network).
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    #[error("announced session differs from this server's")]
    WrongSession,
    #[error("a second, different choice {got:?} after choice {first:?} (leader equivocation)")]
    ConflictingChoice {
        #[serde(with = "hex32")]
        first: Hash32,
        #[serde(with = "hex32")]
        got: Hash32,
    },
    #[error("malformed choice: {0}")]
    BadChoice(ChoiceFault),
    #[error("chosen dealing of {dealer} is invalid: {fault}")]
    BadDealing { dealer: u32, fault: DealingFault },
    #[error("challenge is not for the choice this server verified: {0}")]
    BadChallenge(String),
    #[error("collective signature on the choice does not verify: {0}")]
    BadChoiceSignature(String),
    #[error("revealed secrets do not check: {0}")]
    BadReveal(String),
    #[error("message out of order: {0}")]
    OutOfOrder(String),
}

impl Refusal {
    /// A short stable name, for counting in traces.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::WrongSession => "wrong_session",
            Refusal::ConflictingChoice { .. } => "conflicting_choice",
            Refusal::BadChoice(_) => "bad_choice",
            Refusal::BadDealing { .. } => "bad_dealing",
            Refusal::BadChallenge(_) => "bad_challenge",
            Refusal::BadChoiceSignature(_) => "bad_choice_signature",
            Refusal::BadReveal(_) => "bad_reveal",
            Refusal::OutOfOrder(_) => "out_of_order",
        }
    }
}

/// Why the leader excluded a server's contribution. Each is traceable to the server and dealing.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExclusionReason {
    #[error("dealing refused: {0}")]
    Dealing(DealingFault),
    #[error("decrypted share of dealer {dealer}'s secret refused: {detail}")]
    DecryptedShare { dealer: u32, detail: String },
    #[error("CoSi commitment refused: {0}")]
    Commitment(String),
    #[error("CoSi response refused: {0}")]
    Response(String),
    #[error("server refused: {0}")]
    Refused(Refusal),
    #[error("unexpected message: {0}")]
    Unexpected(String),
}

impl ExclusionReason {
    /// A short stable name, for counting in traces.
    pub fn code(&self) -> &'static str {
        match self {
            ExclusionReason::Dealing(_) => "dealing",
            ExclusionReason::DecryptedShare { .. } => "decrypted_share",
            ExclusionReason::Commitment(_) => "commitment",
            ExclusionReason::Response(_) => "response",
            ExclusionReason::Refused(_) => "refused",
            ExclusionReason::Unexpected(_) => "unexpected",
        }
    }
}

/// A server whose contribution the leader left out, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub server: u32,
    pub reason: ExclusionReason,
}

/// Why a session ended without output.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum DrpFailure {
    #[error("group {group}: {valid} valid dealings, {needed} needed")]
    NotEnoughDealings {
        group: u32,
        valid: usize,
        needed: usize,
    },
    #[error("{got} CoSi commitments, the policy needs {needed}")]
    NotEnoughCommitments { got: usize, needed: usize },
    #[error("servers {servers:?} refused to co-sign the choice")]
    ChoiceRefused { servers: Vec<u32> },
    #[error("servers {servers:?} did not answer the CoSi challenge")]
    ResponsesMissing { servers: Vec<u32> },
    #[error("collective signature on the choice failed: {0}")]
    Cosi(String),
    #[error("dealer {dealer}'s secret: {valid} valid decrypted shares, {needed} needed")]
    NotEnoughShares {
        dealer: u32,
        valid: usize,
        needed: usize,
    },
    #[error("recovery failed: {0}")]
    Recovery(String),
    #[error("server gave up: {0}")]
    Refused(Refusal),
    #[error("timed out waiting for the leader")]
    Timeout,
}
