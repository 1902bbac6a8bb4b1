//! The demo's nodes: each shard (its `DemoShard`, a round every block interval) and the clients
//! (the workload released by time, the Atomix clients), as `crate::node::Node`s talking over
//! reliable links ([`super::link`]). The simulator drives them (`super::simulated`).

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::clients::{Clients, Outbox};
use super::link::{Body, Fx, Link, Packet};
use crate::atomix::Directory;
use crate::demo::shard::DemoShard;
use crate::demo::workload::Arrival;
use crate::node::{Node, NodeId, Time, Traceable};
use crate::pob::Reputation;

/// A timer of the simulated demo.
#[derive(Clone, Copy, Debug)]
pub enum DemoTimer {
    Round,
    Tick,
    Retransmit,
}

/// What the simulated demo's nodes report (into the trace).
#[derive(Clone, Debug)]
pub enum DemoEvent {
    /// A shard's round ended.
    Round {
        shard: NodeId,
        blocks: u64,
        finalized: u64,
        root: [u8; 32],
    },
    /// The clients could not go on.
    Error(String),
}

/// Timing and shared context of the nodes.
pub(super) struct Context {
    pub(super) dir: Directory,
    pub(super) reputation: Arc<Mutex<Reputation>>,
    pub(super) round_us: u64,
    pub(super) tick_us: u64,
    pub(super) retransmit_us: u64,
    pub(super) shards: u32,
}

/// A shard or the clients.
pub(super) enum DemoNode {
    Shard {
        id: NodeId,
        shard: Box<DemoShard>,
        link: Link,
        ctx: Arc<Context>,
    },
    Clients {
        id: NodeId,
        clients: Box<Clients<std::vec::IntoIter<Arrival>>>,
        link: Link,
        ctx: Arc<Context>,
        failed: bool,
    },
}

impl DemoNode {
    fn ctx(&self) -> &Context {
        match self {
            DemoNode::Shard { ctx, .. } | DemoNode::Clients { ctx, .. } => ctx,
        }
    }

    fn tick(
        now: Time,
        clients: &mut Clients<std::vec::IntoIter<Arrival>>,
        link: &mut Link,
        ctx: &Context,
        fx: &mut Fx,
    ) -> anyhow::Result<()> {
        let mut outbox: Outbox = clients.send(now)?;
        clients.certify(&ctx.dir, &mut outbox);
        for (shard, ((inbox, locks), finishes)) in outbox
            .inboxes
            .into_iter()
            .zip(outbox.locks)
            .zip(outbox.finishes)
            .enumerate()
        {
            if !(inbox.is_empty() && locks.is_empty() && finishes.is_empty()) {
                let body = Body::ToShard {
                    inbox,
                    locks,
                    finishes,
                };
                link.send(now, shard as NodeId, body, fx);
            }
        }
        Ok(())
    }
}

impl Node for DemoNode {
    type Msg = Packet;
    type Timer = DemoTimer;
    type Output = DemoEvent;

    fn id(&self) -> NodeId {
        match self {
            DemoNode::Shard { id, .. } | DemoNode::Clients { id, .. } => *id,
        }
    }

    fn on_start(&mut self, _now: Time, fx: &mut Fx) {
        let first = match self {
            DemoNode::Shard { .. } => DemoTimer::Round,
            DemoNode::Clients { .. } => DemoTimer::Tick,
        };
        fx.timer(0, first);
        fx.timer(self.ctx().retransmit_us, DemoTimer::Retransmit);
    }

    fn on_message(&mut self, now: Time, from: NodeId, packet: Packet, fx: &mut Fx) {
        match self {
            DemoNode::Shard { shard, link, .. } => {
                if let Some(Body::ToShard {
                    inbox,
                    locks,
                    finishes,
                }) = link.receive(from, packet, fx)
                {
                    for a in inbox {
                        shard.submit(a);
                    }
                    for tx in locks {
                        shard.request_lock(tx);
                    }
                    for (tx, certificate) in finishes {
                        shard.request_finish(tx, certificate);
                    }
                }
            }
            DemoNode::Clients { clients, link, .. } => {
                if let Some(Body::Round(round)) = link.receive(from, packet, fx) {
                    clients.receive(round, now);
                }
            }
        }
    }

    fn on_timer(&mut self, now: Time, timer: DemoTimer, fx: &mut Fx) {
        match (self, timer) {
            (DemoNode::Shard { link, ctx, .. }, DemoTimer::Retransmit)
            | (DemoNode::Clients { link, ctx, .. }, DemoTimer::Retransmit) => {
                link.retransmit(now, ctx.retransmit_us, fx);
                fx.timer(ctx.retransmit_us / 2 + 1, DemoTimer::Retransmit);
            }
            (
                DemoNode::Shard {
                    id,
                    shard,
                    link,
                    ctx,
                },
                DemoTimer::Round,
            ) => {
                let out = shard.round(&|| now, &ctx.dir, &ctx.reputation);
                if !(out.proofs.is_empty() && out.finished.is_empty()) {
                    link.send(now, ctx.shards, Body::Round(out), fx);
                }
                fx.output(DemoEvent::Round {
                    shard: *id,
                    blocks: shard.stats.blocks,
                    finalized: shard.stats.finals.len() as u64,
                    root: shard.state_root(),
                });
                fx.timer(ctx.round_us, DemoTimer::Round);
            }
            (
                DemoNode::Clients {
                    clients,
                    link,
                    ctx,
                    failed,
                    ..
                },
                DemoTimer::Tick,
            ) => {
                if *failed {
                    return;
                }
                if let Err(e) = DemoNode::tick(now, clients, link, ctx, fx) {
                    *failed = true;
                    fx.output(DemoEvent::Error(e.to_string()));
                    return;
                }
                fx.timer(ctx.tick_us, DemoTimer::Tick);
            }
            _ => {}
        }
    }

    /// Never called: the simulated demo crashes normal-league members inside a shard's finality
    /// (`DemoShard::crash_normal_member`), never a whole shard or the clients, and its
    /// configuration has no way to ask for that (`DemoSimulation::validate`).
    fn restart(&self) -> DemoNode {
        unreachable!("the simulated demo never crashes a shard or client node")
    }
}

impl Traceable for DemoTimer {
    fn trace(&self) -> serde_json::Value {
        json!(match self {
            DemoTimer::Round => "round",
            DemoTimer::Tick => "tick",
            DemoTimer::Retransmit => "retransmit",
        })
    }
}

impl Traceable for DemoEvent {
    fn trace(&self) -> serde_json::Value {
        match self {
            DemoEvent::Round {
                shard,
                blocks,
                finalized,
                root,
            } => json!({
                "shard": shard,
                "blocks": blocks,
                "finalized": finalized,
                "root": hex::encode(root),
            }),
            DemoEvent::Error(e) => json!({"error": e}),
        }
    }
}
