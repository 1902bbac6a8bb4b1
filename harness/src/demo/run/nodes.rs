//! The demo's nodes: each shard (its `DemoShard`, a round every block interval) and the clients
//! (the workload released by time, the Atomix clients), as `crate::node::Node`s talking over
//! reliable links ([`super::link`]). The same nodes run in the deterministic simulator
//! (`super::simulated`) and in real time on the runner (`crate::runtime`, `super::drive`).
//!
//! Rounds are due at multiples of the block interval from the start; a shard processes
//! **continuously** while it has a backlog: when a round leaves a full block waiting in some
//! producer's mempool (`DemoShard::backlogged`), the next round starts at once instead of at the
//! next multiple, so a shard's capacity is its processing rate, not `producers × max_block_txs`
//! per interval. Without a backlog it waits for the next multiple (blocks stay full-sized at low
//! load, and a transaction waits at most one interval for its block); a round that ends past
//! the next multiple is followed by the next one at once.
//!
//! The one thing a node reads besides its inputs is a **measurement clock** ([`Clock`]) for the
//! latency statistics: the input's time in the simulator, the wall clock in real time (where a
//! round's blocks are stamped when each is produced, not when the round began). It decides
//! nothing: no protocol step depends on it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::clients::{Clients, Outbox};
use super::link::{Body, Fx, Link, Packet};
use crate::atomix::Directory;
use crate::demo::shard::{DemoShard, RoundOutput};
use crate::demo::stats::Stopwatch;
use crate::demo::workload::{Arrival, Kind};
use crate::node::{Node, NodeId, Time, Traceable};
use crate::pob::Reputation;
use iosv_engine::tx::TxId;

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
        /// Nothing waits in the shard and nothing it sent is unacknowledged.
        idle: bool,
    },
    /// The clients released the whole workload and nothing of theirs is in flight (reported
    /// once).
    ClientsIdle,
    /// The clients could not go on.
    Error(String),
}

/// The clock the latency statistics read.
#[derive(Clone, Copy, Debug)]
pub(super) enum Clock {
    /// The time of the input being handled (the simulator's virtual clock).
    Input,
    /// Microseconds of wall time since this instant (the real-time run's origin).
    Wall(Instant),
}

/// Timing and shared context of the nodes.
pub(super) struct Context {
    pub(super) dir: Directory,
    pub(super) reputation: Arc<Mutex<Reputation>>,
    pub(super) round_us: u64,
    pub(super) tick_us: u64,
    /// 0: the transport is reliable (no acknowledgements, nothing kept for retransmission).
    pub(super) retransmit_us: u64,
    pub(super) shards: u32,
    /// Client nodes (ids `shards ..`); at least 1.
    pub(super) clients: u32,
    pub(super) clock: Clock,
    /// Where the shards' rounds run (their parallel work with them); `None`: on the shard's
    /// own thread, its parallel work on rayon's global pool.
    pub(super) pool: Option<Arc<rayon::ThreadPool>>,
}

impl Context {
    /// The client node that runs cross-shard transaction `txid` (its Atomix client): the shards
    /// send its proofs and outcomes there.
    pub(super) fn client_of_tx(&self, txid: &TxId) -> NodeId {
        let mut word = [0u8; 8];
        word.copy_from_slice(&txid.as_bytes()[..8]);
        self.shards + (u64::from_le_bytes(word) % u64::from(self.clients)) as NodeId
    }

    /// The client node that releases `arrival`: cross-shard transactions by txid, the others
    /// by the shard they go to.
    fn client_of(&self, arrival: &Arrival) -> NodeId {
        match arrival.kind {
            Kind::CrossShard => self.client_of_tx(&arrival.txid),
            Kind::InShard | Kind::Invalid => self.shards + arrival.shard % self.clients,
        }
    }

    /// The workload split among the client nodes (in order of node id), each part in time
    /// order.
    pub(super) fn split_arrivals(&self, arrivals: Vec<Arrival>) -> Vec<Vec<Arrival>> {
        let mut parts: Vec<Vec<Arrival>> = (0..self.clients).map(|_| Vec::new()).collect();
        for a in arrivals {
            let to = (self.client_of(&a) - self.shards) as usize;
            parts[to].push(a);
        }
        parts
    }

    fn stamp(&self, input: Time) -> Time {
        match self.clock {
            Clock::Input => input,
            Clock::Wall(start) => start.elapsed().as_micros() as Time,
        }
    }
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
        idle_reported: bool,
        /// CPU time of the clients' work (thread CPU).
        cpu: Duration,
    },
}

impl DemoNode {
    /// The nodes of one run: shard `i` as node `i`, then the client nodes (`shards + k` for
    /// the `k`-th of `clients`), all sharing `ctx`; links that retransmit when
    /// `ctx.retransmit_us` is set.
    pub(super) fn network(
        shards: Vec<DemoShard>,
        clients: Vec<Clients<std::vec::IntoIter<Arrival>>>,
        ctx: Arc<Context>,
    ) -> Vec<DemoNode> {
        debug_assert_eq!(clients.len(), ctx.clients as usize);
        let retransmit = ctx.retransmit_us > 0;
        let mut nodes: Vec<DemoNode> = shards
            .into_iter()
            .enumerate()
            .map(|(i, shard)| DemoNode::Shard {
                id: i as NodeId,
                shard: Box::new(shard),
                link: Link::new(retransmit),
                ctx: Arc::clone(&ctx),
            })
            .collect();
        for (k, clients) in clients.into_iter().enumerate() {
            nodes.push(DemoNode::Clients {
                id: ctx.shards + k as NodeId,
                clients: Box::new(clients),
                link: Link::new(retransmit),
                ctx: Arc::clone(&ctx),
                failed: false,
                idle_reported: false,
                cpu: Duration::ZERO,
            });
        }
        nodes
    }

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
        if self.ctx().retransmit_us > 0 {
            fx.timer(self.ctx().retransmit_us, DemoTimer::Retransmit);
        }
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
            DemoNode::Clients {
                clients, link, cpu, ..
            } => {
                if let Some(Body::Round(round)) = link.receive(from, packet, fx) {
                    let t = Stopwatch::start();
                    clients.receive(round, now);
                    *cpu += t.elapsed();
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
                let (cpu, wall) = (Stopwatch::start(), Instant::now());
                let out = super::on_pool(ctx.pool.as_deref(), || {
                    shard.round(&|| ctx.stamp(now), &ctx.dir, &ctx.reputation)
                });
                shard.stats.round_times.record(
                    cpu.elapsed(),
                    wall.elapsed(),
                    Duration::from_micros(ctx.round_us),
                );
                let mut by_client: BTreeMap<NodeId, RoundOutput> = BTreeMap::new();
                for proof in out.proofs {
                    let to = ctx.client_of_tx(&proof.statement.txid);
                    by_client.entry(to).or_default().proofs.push(proof);
                }
                for (txid, outcome) in out.finished {
                    let to = ctx.client_of_tx(&txid);
                    by_client
                        .entry(to)
                        .or_default()
                        .finished
                        .push((txid, outcome));
                }
                for (to, part) in by_client {
                    link.send(now, to, Body::Round(part), fx);
                }
                fx.output(DemoEvent::Round {
                    shard: *id,
                    blocks: shard.stats.blocks,
                    finalized: shard.stats.finals.len() as u64,
                    root: shard.state_root(),
                    idle: shard.idle() && link.unacked() == 0,
                });
                let wait = if shard.backlogged() {
                    0
                } else {
                    let next = (now / ctx.round_us).saturating_add(1);
                    next.saturating_mul(ctx.round_us).saturating_sub(now)
                };
                fx.timer(wait, DemoTimer::Round);
            }
            (
                DemoNode::Clients {
                    clients,
                    link,
                    ctx,
                    failed,
                    idle_reported,
                    cpu,
                    ..
                },
                DemoTimer::Tick,
            ) => {
                if *failed {
                    return;
                }
                let t = Stopwatch::start();
                let ticked = DemoNode::tick(now, clients, link, ctx, fx);
                let idle = clients.all_sent() && clients.settled() && link.unacked() == 0;
                *cpu += t.elapsed();
                if let Err(e) = ticked {
                    *failed = true;
                    fx.output(DemoEvent::Error(e.to_string()));
                    return;
                }
                if idle && !*idle_reported {
                    *idle_reported = true;
                    fx.output(DemoEvent::ClientsIdle);
                }
                fx.timer(ctx.tick_us, DemoTimer::Tick);
            }
            _ => {}
        }
    }

    /// Never called: the demo crashes normal-league members inside a shard's finality
    /// (`DemoShard::crash_normal_member`), never a whole shard or the clients, and neither its
    /// configuration nor the real-time runner has a way to ask for that.
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
                idle,
            } => json!({
                "shard": shard,
                "blocks": blocks,
                "finalized": finalized,
                "root": hex::encode(root),
                "idle": idle,
            }),
            DemoEvent::ClientsIdle => json!({"clients_idle": true}),
            DemoEvent::Error(e) => json!({"error": e}),
        }
    }
}
