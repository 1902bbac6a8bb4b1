//! [`LeagueNet`]: a shard's validators on the one deterministic simulator, driven by the shard's
//! replica. It is a thin driver, like the finality league's: the clock, the event loop and the
//! network are the simulator's (one hop of latency and no loss in the real-time demo; the
//! simulated demo's league links otherwise). Inputs to several producers, and the deliveries of
//! one block to its auditors, run on the rayon pool (`Simulator::drive_nodes`,
//! `Simulator::step_parallel`) with the run the same as one by one.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use iosv_engine::fraud::SignedHeader;
use iosv_engine::tx::BlockHeader;

use super::{Output, Validator};
use crate::demo::shard::batch::{Batch, Pending};
use crate::node::{NodeId, Time};
use crate::sim::network::{LinkModel, SimNetwork};
use crate::sim::{Happening, Simulator};

/// Virtual time an audit may take, in link latencies: a block's auditors that have not answered
/// by then (the block or the verdict was lost, the auditor is down) are counted as silent.
const AUDIT_DEADLINE_HOPS: u64 = 20;

/// One auditor's verdict on a block.
#[derive(Clone, Debug)]
pub(in crate::demo::shard) struct Verdict {
    pub(in crate::demo::shard) by: NodeId,
    /// The header the auditor received (an equivocating producer shows two).
    pub(in crate::demo::shard) signed: SignedHeader,
    pub(in crate::demo::shard) sampled_txs: u64,
    pub(in crate::demo::shard) sampled_sigs: u64,
    /// Indices of the block's transactions whose signatures failed.
    pub(in crate::demo::shard) found: Vec<usize>,
    pub(in crate::demo::shard) cpu: Duration,
}

/// A producer's block as it cut and checked it.
#[derive(Clone)]
pub(in crate::demo::shard) struct Cut {
    pub(in crate::demo::shard) batch: Batch,
    pub(in crate::demo::shard) keep: Vec<bool>,
    pub(in crate::demo::shard) sigs: u64,
    pub(in crate::demo::shard) cpu: Duration,
}

/// What the league made of a proposed block: the producer's header and every verdict that
/// arrived in time.
pub(in crate::demo::shard) struct Proposal {
    pub(in crate::demo::shard) signed: SignedHeader,
    pub(in crate::demo::shard) verdicts: Vec<Verdict>,
    /// The block, back from the auditors.
    pub(in crate::demo::shard) body: Batch,
}

/// A shard's validators (node id = index in the shard's members) on the simulator.
pub(in crate::demo::shard) struct LeagueNet {
    sim: Simulator<Validator, io::Sink>,
    hop: Time,
    out: Vec<Happening<Output>>,
}

impl LeagueNet {
    pub(in crate::demo::shard) fn new(
        validators: Vec<Validator>,
        link: LinkModel,
        net_seed: u64,
    ) -> LeagueNet {
        let net = SimNetwork::new(link, BTreeMap::new(), Vec::new(), net_seed);
        LeagueNet {
            sim: Simulator::untraced(validators, net),
            hop: (link.latency + link.jitter).max(1),
            out: Vec::new(),
        }
    }

    /// The validators under new links (the simulated demo's league links), before the first
    /// round; their state is kept.
    pub(in crate::demo::shard) fn use_links(&mut self, link: LinkModel, net_seed: u64) {
        let none = SimNetwork::new(link, BTreeMap::new(), Vec::new(), net_seed);
        let old = std::mem::replace(&mut self.sim, Simulator::untraced(Vec::new(), none));
        let (validators, _) = old.into_parts();
        *self = LeagueNet::new(validators, link, net_seed);
    }

    fn validator(&self, v: usize) -> Option<&Validator> {
        self.sim.node(v as NodeId)
    }

    pub(in crate::demo::shard) fn mempool_len(&self, v: usize) -> usize {
        self.validator(v).map_or(0, Validator::mempool_len)
    }

    /// Transactions waiting in every validator's mempool.
    pub(in crate::demo::shard) fn queued(&self) -> usize {
        (0..self.sim.nodes())
            .filter_map(|v| self.sim.node(v))
            .map(Validator::mempool_len)
            .sum()
    }

    fn drive(&mut self, v: usize, what: &str, call: impl FnOnce(&mut Validator, &mut super::Fx)) {
        // An untraced simulator's inputs write nothing, so they cannot fail.
        let _ = self
            .sim
            .drive_node(v as NodeId, what, &mut self.out, |node, _, fx| {
                call(node, fx)
            });
    }

    /// Clients' transactions into producer `v`'s mempool (kept while it is down).
    pub(in crate::demo::shard) fn submit(&mut self, v: usize, items: Vec<Pending>) {
        if self.sim.is_up(v as NodeId) {
            self.drive(v, "submit", |node, _| node.submit(items));
        } else if let Some(node) = self.sim.node_mut(v as NodeId) {
            node.submit(items);
        }
    }

    /// Every producer of `order` cuts and checks its block, all at once on the pool; the blocks
    /// in the order of `order` (producers that are down or have nothing cut nothing).
    pub(in crate::demo::shard) fn cut(
        &mut self,
        order: &[usize],
        max_txs: usize,
    ) -> Vec<(usize, Cut)> {
        let ids: Vec<NodeId> = order.iter().map(|&v| v as NodeId).collect();
        let _ = self
            .sim
            .drive_nodes(&ids, "cut", &mut self.out, |node, _, fx| {
                node.cut(max_txs, fx)
            });
        let mut cuts = Vec::new();
        for happening in self.out.drain(..) {
            if let Happening::Output {
                node,
                output: Output::Cut(cut),
                ..
            } = happening
            {
                cuts.push((node as usize, cut));
            }
        }
        cuts
    }

    /// Producer `v` signs `header` and sends the block to `auditors`; the league runs until
    /// every auditor that is up has answered or the audit's deadline passes. `None` when the
    /// producer is down (the block is handed back untouched).
    pub(in crate::demo::shard) fn propose(
        &mut self,
        v: usize,
        header: BlockHeader,
        body: Batch,
        auditors: &[usize],
        full: bool,
    ) -> Result<Proposal, Batch> {
        if !self.sim.is_up(v as NodeId) {
            return Err(body);
        }
        let body = Arc::new(body);
        let ids: Vec<NodeId> = auditors.iter().map(|&a| a as NodeId).collect();
        self.drive(v, "propose", |node, fx| {
            node.propose(header, &body, &ids, full, fx);
        });
        let mut signed = None;
        let mut verdicts: Vec<Verdict> = Vec::new();
        let deadline = self.sim.now() + AUDIT_DEADLINE_HOPS * self.hop;
        loop {
            for happening in self.out.drain(..) {
                match happening {
                    Happening::Output {
                        output: Output::Proposed(s),
                        ..
                    } => signed = Some(s),
                    Happening::Output {
                        output: Output::Verdict(verdict),
                        ..
                    } if !verdicts.iter().any(|w| w.by == verdict.by) => verdicts.push(verdict),
                    _ => {}
                }
            }
            let waiting = ids
                .iter()
                .any(|&a| self.sim.is_up(a) && !verdicts.iter().any(|w| w.by == a));
            if !waiting || !matches!(self.sim.step_parallel(deadline, &mut self.out), Ok(true)) {
                break;
            }
        }
        verdicts.sort_by_key(|w| w.by);
        let signed = signed.expect("an up producer proposes what it is given");
        let body = Arc::try_unwrap(body).unwrap_or_else(|shared| (*shared).clone());
        Ok(Proposal {
            signed,
            verdicts,
            body,
        })
    }

    /// Producer `v`'s mempool, emptied (it leaves the producers).
    pub(in crate::demo::shard) fn drain(&mut self, v: usize) -> Vec<Pending> {
        if !self.sim.is_up(v as NodeId) {
            // Down: its durable mempool is read from its store.
            return match self.sim.node_mut(v as NodeId) {
                Some(node) => std::mem::take(&mut node.mempool).into(),
                None => Vec::new(),
            };
        }
        self.drive(v, "drain", |node, fx| node.drain(fx));
        let mut drained = Vec::new();
        for happening in self.out.drain(..) {
            if let Happening::Output {
                output: Output::Drained(items),
                ..
            } = happening
            {
                drained.extend(items);
            }
        }
        drained
    }

    /// Validator `v` crashes now (it loses its volatile state).
    pub(in crate::demo::shard) fn crash(&mut self, v: usize) {
        self.sim.schedule_crash(v as NodeId, self.sim.now());
        self.run_due();
    }

    /// Validator `v` comes back now from its durable state.
    pub(in crate::demo::shard) fn restart(&mut self, v: usize) {
        self.sim.schedule_restart(v as NodeId, self.sim.now());
        self.run_due();
    }

    /// Runs what is due now; outputs of no waiting call are dropped.
    fn run_due(&mut self) {
        let now = self.sim.now();
        while matches!(self.sim.step(now, &mut self.out), Ok(true)) {}
        self.out.clear();
    }
}
