//! How Atomix messages, timers and events appear in a trace (JSON, transactions by the first
//! 8 bytes of their txid).

use iosv_engine::tx::TxId;
use serde_json::json;

use super::node::{AtomixEvent, AtomixMsg, AtomixTimer, outcome_of};
use super::statement::Decision;
use crate::node::Traceable;

/// The first 8 bytes of a txid, in hex.
fn short(txid: &TxId) -> String {
    hex::encode(&txid.as_bytes()[..8])
}

impl Traceable for AtomixMsg {
    fn trace(&self) -> serde_json::Value {
        match self {
            AtomixMsg::Lock { tx } => json!({"type": "lock", "tx": short(&tx.txid())}),
            AtomixMsg::Proof(p) => json!({
                "type": "proof",
                "tx": short(&p.statement.txid),
                "shard": p.shard(),
                "accept": matches!(p.statement.decision, Decision::Accept { .. }),
            }),
            AtomixMsg::Finish { tx, certificate } => json!({
                "type": "finish",
                "tx": short(&tx.txid()),
                "outcome": outcome_of(certificate).as_str(),
            }),
            AtomixMsg::Finished { txid, outcome } => {
                json!({"type": "finished", "tx": short(txid), "outcome": outcome.as_str()})
            }
            AtomixMsg::Cosign(m) => m.trace(),
            AtomixMsg::Convicted {
                shard,
                leader,
                successor,
            } => {
                json!({"type": "convicted", "shard": shard, "leader": leader, "successor": successor})
            }
        }
    }
}

impl Traceable for AtomixTimer {
    fn trace(&self) -> serde_json::Value {
        match self {
            AtomixTimer::Seal => json!("seal"),
            AtomixTimer::Retry => json!("retry"),
            AtomixTimer::Submit => json!("submit"),
            AtomixTimer::Round(round) => json!({"round": round}),
        }
    }
}

impl Traceable for AtomixEvent {
    fn trace(&self) -> serde_json::Value {
        match self {
            AtomixEvent::Decided {
                shard,
                txid,
                accept,
            } => json!({"decided": short(txid), "shard": shard, "accept": accept}),
            AtomixEvent::Ended {
                shard,
                txid,
                outcome,
            } => json!({"ended": short(txid), "shard": shard, "outcome": outcome.as_str()}),
            AtomixEvent::Certified { txid, outcome } => {
                json!({"certified": short(txid), "outcome": outcome.as_str()})
            }
            AtomixEvent::Settled { txid, outcome } => {
                json!({"settled": short(txid), "outcome": outcome.as_str()})
            }
            AtomixEvent::Refused { node, reason } => json!({"refused": reason, "node": node}),
            AtomixEvent::Fraud {
                node,
                leader,
                index,
                txid,
                reason,
                successor,
            } => json!({
                "fraud": reason,
                "node": node,
                "leader": leader,
                "index": index,
                "tx": txid.as_ref().map(short),
                "successor": successor,
            }),
        }
    }
}
