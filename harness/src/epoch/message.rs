//! The epoch flow's messages, timers and outputs.

use serde::Serialize;
use serde_json::json;

use super::lottery::Lottery;
use super::randomness::Round;
use crate::node::{NodeId, Time, Traceable};

/// A message between validators; `P` is the randomness protocol's own message.
#[derive(Clone, Debug)]
pub enum Message<P> {
    Lottery(Lottery),
    /// A message of the randomness protocol, for one round.
    Randomness {
        round: Round,
        body: P,
    },
}

impl<P: Traceable> Traceable for Message<P> {
    fn trace(&self) -> serde_json::Value {
        match self {
            Message::Lottery(l) => json!({
                "kind": "lottery", "epoch": l.epoch, "view": l.view, "node": l.node,
            }),
            Message::Randomness { round, body } => json!({
                "kind": "randomness", "epoch": round.epoch, "view": round.view,
                "rank": round.rank, "leader": round.leader, "body": body.trace(),
            }),
        }
    }
}

/// A validator's timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    EpochStart {
        epoch: u64,
    },
    /// The gossip window of Δ of a view closes.
    LotteryClose {
        epoch: u64,
        view: u32,
    },
    /// The window of Δ of the candidate of `rank` closes.
    CandidateDeadline {
        epoch: u64,
        view: u32,
        rank: u8,
    },
    /// A timer of the randomness protocol in `round`.
    Protocol {
        round: Round,
        tag: u64,
    },
    /// Fault injection: a late lottery is sent now.
    LateLottery {
        epoch: u64,
        view: u32,
    },
}

impl Traceable for Timer {
    fn trace(&self) -> serde_json::Value {
        match self {
            Timer::EpochStart { epoch } => json!({"kind": "epoch_start", "epoch": epoch}),
            Timer::LotteryClose { epoch, view } => {
                json!({"kind": "lottery_close", "epoch": epoch, "view": view})
            }
            Timer::CandidateDeadline { epoch, view, rank } => {
                json!({"kind": "candidate_deadline", "epoch": epoch, "view": view, "rank": rank})
            }
            Timer::Protocol { round, tag } => json!({
                "kind": "protocol", "epoch": round.epoch, "view": round.view, "rank": round.rank, "tag": tag,
            }),
            Timer::LateLottery { epoch, view } => {
                json!({"kind": "late_lottery", "epoch": epoch, "view": view})
            }
        }
    }
}

/// What a validator reports: protocol milestones and rejected inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Output {
    /// A lottery was not counted; `reason` is a `LotteryError::code`.
    LotteryRejected {
        epoch: u64,
        view: u32,
        from: NodeId,
        node: NodeId,
        reason: &'static str,
    },
    /// The gossip window closed: the candidates in rank order.
    Ranked {
        epoch: u64,
        view: u32,
        candidates: Vec<NodeId>,
        lotteries: u32,
        /// Whether more than two thirds of the roster's lotteries arrived (else no candidates).
        quorum: bool,
    },
    /// The candidate of `rank` did not deliver within Δ and is excluded for the epoch.
    LeaderExcluded {
        epoch: u64,
        view: u32,
        rank: u8,
        leader: NodeId,
    },
    /// No candidate delivered: the next view starts.
    ViewFailed { epoch: u64, view: u32 },
    /// Every view of the epoch failed: the epoch has no new randomness.
    EpochFailed { epoch: u64 },
    /// The randomness protocol rejected an input or saw misbehaviour.
    RandomnessRejected {
        epoch: u64,
        view: u32,
        from: NodeId,
        reason: String,
    },
    /// This node verified and accepted the epoch's randomness.
    RandomnessAccepted {
        epoch: u64,
        view: u32,
        rank: u8,
        leader: NodeId,
        #[serde(serialize_with = "hex32")]
        value: [u8; 32],
        /// When the view's gossip window closed (the election starts).
        close_at: Time,
        /// Microseconds from `close_at` to acceptance: at most 3Δ.
        elapsed: u64,
    },
}

impl Traceable for Output {
    fn trace(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn hex32<S: serde::Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}
