//! The reliable links between the demo's clients and shards: sequence numbers, acknowledgements,
//! retransmission after a timeout, duplicates dropped — what validators get from TCP. Over a lossy
//! network a lost packet costs latency, never a transaction; a duplicated or retransmitted one is
//! delivered once.
//!
//! Invariant: a body handed to [`Link::send`] is delivered to its peer at most once, and at least
//! once as long as the network delivers some copy of it eventually (every unacknowledged body is
//! sent again every `retransmit` interval).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::nodes::{DemoEvent, DemoTimer};
use crate::atomix::Certificate;
use crate::demo::shard::RoundOutput;
use crate::demo::workload::Arrival;
use crate::node::{Dest, Effects, NodeId, Time, Traceable};
use iosv_engine::tx::Transaction;

/// What travels between the clients and a shard.
#[derive(Clone, Debug)]
pub enum Body {
    /// Clients → shard: one tick's transactions, Atomix lock requests and finishes.
    ToShard {
        inbox: Vec<Arrival>,
        locks: Vec<Transaction>,
        finishes: Vec<(Transaction, Certificate)>,
    },
    /// Shard → clients: a round's Atomix proofs and finished transactions.
    Round(RoundOutput),
}

/// A packet of a reliable link.
#[derive(Clone, Debug)]
pub enum Packet {
    Data { seq: u64, body: Body },
    Ack { seq: u64 },
}

/// A node's reliable links to its peers: every body is sent until acknowledged, and delivered
/// once. Over a transport that is reliable already (the real-time runner's channels) a link made
/// with [`Link::new`]`(false)` keeps nothing and sends no acknowledgements.
pub struct Link {
    retransmit: bool,
    next_seq: BTreeMap<NodeId, u64>,
    unacked: BTreeMap<(NodeId, u64), (Time, Body)>,
    /// Per peer: every sequence number below the first is delivered; the set holds those above.
    delivered: BTreeMap<NodeId, (u64, BTreeSet<u64>)>,
}

pub(super) type Fx = Effects<Packet, DemoTimer, DemoEvent>;

impl Link {
    pub fn new(retransmit: bool) -> Link {
        Link {
            retransmit,
            next_seq: BTreeMap::new(),
            unacked: BTreeMap::new(),
            delivered: BTreeMap::new(),
        }
    }

    pub(super) fn send(&mut self, now: Time, to: NodeId, body: Body, fx: &mut Fx) {
        let next = self.next_seq.entry(to).or_default();
        let seq = *next;
        *next += 1;
        if self.retransmit {
            self.unacked.insert((to, seq), (now, body.clone()));
        }
        fx.send(Dest::To(to), Packet::Data { seq, body });
    }

    /// Acknowledges a data packet; returns its body the first time it arrives.
    pub(super) fn receive(&mut self, from: NodeId, packet: Packet, fx: &mut Fx) -> Option<Body> {
        match packet {
            Packet::Ack { seq } => {
                self.unacked.remove(&(from, seq));
                None
            }
            Packet::Data { seq, body } => {
                if self.retransmit {
                    fx.send(Dest::To(from), Packet::Ack { seq });
                }
                let (below, above) = self.delivered.entry(from).or_default();
                if seq < *below || !above.insert(seq) {
                    return None;
                }
                while above.remove(below) {
                    *below += 1;
                }
                Some(body)
            }
        }
    }

    pub(super) fn retransmit(&mut self, now: Time, after: u64, fx: &mut Fx) {
        for ((to, seq), (sent, body)) in &mut self.unacked {
            if now.saturating_sub(*sent) >= after {
                *sent = now;
                fx.send(
                    Dest::To(*to),
                    Packet::Data {
                        seq: *seq,
                        body: body.clone(),
                    },
                );
            }
        }
    }

    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }
}

fn body_trace(body: &Body) -> serde_json::Value {
    match body {
        Body::ToShard {
            inbox,
            locks,
            finishes,
        } => json!({"txs": inbox.len(), "locks": locks.len(), "finishes": finishes.len()}),
        Body::Round(r) => json!({"proofs": r.proofs.len(), "finished": r.finished.len()}),
    }
}

impl Traceable for Packet {
    fn trace(&self) -> serde_json::Value {
        match self {
            Packet::Data { seq, body } => json!({"seq": seq, "body": body_trace(body)}),
            Packet::Ack { seq } => json!({"ack": seq}),
        }
    }
}
