//! The shards in the simulator: their rosters through TransEpoch, and the transactions they commit.
//!
//! Model (what is simulated and what is not): each shard commits one block per slot when more
//! than two thirds of its current roster are *ready* — honest, up, and synced with the shard's
//! state. The shard's internal consensus is not simulated message by message; the quorum rule
//! stands for it. The blocks themselves are real: real signed transactions, really verified and
//! applied to the shard's UTXO set (`shard::ledger`).
//!
//! TransEpoch: once more than two thirds of all validators accepted the same randomness for an
//! epoch, that epoch's assignment is computed and the move from the current one is planned
//! (`shard::transepoch`). Batch `k` starts when batch `k − 1`'s joiners have synced: its movers
//! leave their old shard and join the new one, not ready until `sync` later. A plan with a batch
//! of a third of a shard or more is refused and the shards keep their rosters. A transition that
//! arrives while another runs waits for it.
//!
//! Measured for the checks: committed transactions per shard per time slice, whether a slice
//! overlapped a transition, and the smallest ready fraction of any shard during a transition
//! (taken right after each batch starts, its lowest point, and at every slot).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use super::trace::Trace;
use crate::node::{NodeId, Time};
use crate::shard::{Assignment, Move, ShardLedger, transepoch};

/// Tags of the driver's external events.
pub const TAG_SLOT: u64 = 0;
pub const TAG_BATCH: u64 = 1;

struct Shard {
    /// Member → time it is (or was) synced.
    members: BTreeMap<NodeId, Time>,
    ledger: ShardLedger,
    committed: u64,
}

struct Transition {
    epoch: u64,
    batches: Vec<Vec<Move>>,
    next: usize,
    target: Assignment,
}

/// The per-shard throughput series and the safety figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ShardMetrics {
    pub slice_us: u64,
    /// `committed[shard][slice]`.
    pub committed: Vec<Vec<u64>>,
    /// Slices that overlapped a transition.
    pub transition_slices: Vec<u64>,
    pub transitions: Vec<TransitionRecord>,
    /// Smallest ready/roster fraction of any shard seen during a transition (1 when none ran).
    pub min_ready_fraction: f64,
    /// Times a shard had two thirds or fewer of its roster ready during a transition.
    pub safety_violations: u64,
    /// Slots in which a shard could not commit for lack of a quorum.
    pub stalled_slots: u64,
    /// Per shard: the fewest transactions committed in one slice that overlapped a transition
    /// (`None` when no transition ran).
    pub min_committed_in_transition: Vec<Option<u64>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TransitionRecord {
    pub epoch: u64,
    pub moves: u32,
    pub batches: u32,
    pub start: Time,
    pub end: Option<Time>,
    /// Why it was refused, if it was.
    pub refused: Option<String>,
}

/// Shards, their ledgers and TransEpoch.
pub struct ShardService {
    shards: Vec<Shard>,
    current: Assignment,
    honest: Vec<bool>,
    batch: u32,
    sync: Time,
    tx_per_block: usize,
    slice: Time,
    accepted: BTreeMap<u64, BTreeMap<[u8; 32], BTreeSet<NodeId>>>,
    finalized: BTreeSet<u64>,
    queue: VecDeque<(u64, Assignment)>,
    running: Option<Transition>,
    metrics: ShardMetrics,
    slot: u64,
}

impl ShardService {
    /// Shards from the genesis assignment, all members synced at time 0.
    pub fn new(
        genesis: Assignment,
        ledgers: Vec<ShardLedger>,
        honest: Vec<bool>,
        batch: u32,
        sync: Time,
        tx_per_block: usize,
        slice: Time,
    ) -> Self {
        let shards: Vec<Shard> = ledgers
            .into_iter()
            .enumerate()
            .map(|(s, ledger)| Shard {
                members: genesis.members(s as u32).iter().map(|&v| (v, 0)).collect(),
                ledger,
                committed: 0,
            })
            .collect();
        let n = shards.len();
        Self {
            shards,
            current: genesis,
            honest,
            batch,
            sync,
            tx_per_block,
            slice,
            accepted: BTreeMap::new(),
            finalized: BTreeSet::new(),
            queue: VecDeque::new(),
            running: None,
            metrics: ShardMetrics {
                slice_us: slice,
                committed: vec![Vec::new(); n],
                min_ready_fraction: 1.0,
                min_committed_in_transition: vec![None; n],
                ..ShardMetrics::default()
            },
            slot: 0,
        }
    }

    /// A node accepted `value` for `epoch`. Returns the external events to schedule.
    pub fn on_randomness<W: Write>(
        &mut self,
        now: Time,
        epoch: u64,
        value: [u8; 32],
        node: NodeId,
        trace: &mut Trace<W>,
    ) -> io::Result<Vec<(Time, u64)>> {
        let voters = self
            .accepted
            .entry(epoch)
            .or_default()
            .entry(value)
            .or_default();
        voters.insert(node);
        let n = self.honest.len();
        if self.finalized.contains(&epoch) || 3 * voters.len() <= 2 * n {
            return Ok(Vec::new());
        }
        self.finalized.insert(epoch);
        let target = Assignment::new(&value, n as u32, self.shards.len() as u32)
            .map_err(io::Error::other)?;
        trace.event(
            now,
            "assignment",
            json!({"epoch": epoch, "shards": (0..target.shards()).map(|s| target.members(s).to_vec()).collect::<Vec<_>>()}),
        )?;
        self.queue.push_back((epoch, target));
        self.start_next(now, trace)
    }

    fn start_next<W: Write>(
        &mut self,
        now: Time,
        trace: &mut Trace<W>,
    ) -> io::Result<Vec<(Time, u64)>> {
        while self.running.is_none() {
            let Some((epoch, target)) = self.queue.pop_front() else {
                break;
            };
            match transepoch::plan(&self.current, &target, self.batch) {
                Err(e) => {
                    trace.event(
                        now,
                        "transepoch_refused",
                        json!({"epoch": epoch, "reason": e.code(), "batch": self.batch}),
                    )?;
                    self.metrics.transitions.push(TransitionRecord {
                        epoch,
                        moves: 0,
                        batches: 0,
                        start: now,
                        end: None,
                        refused: Some(e.to_string()),
                    });
                }
                Ok(batches) => {
                    let moves = batches.iter().map(Vec::len).sum::<usize>() as u32;
                    trace.event(
                        now,
                        "transepoch_start",
                        json!({"epoch": epoch, "moves": moves, "batches": batches.len()}),
                    )?;
                    self.metrics.transitions.push(TransitionRecord {
                        epoch,
                        moves,
                        batches: batches.len() as u32,
                        start: now,
                        end: None,
                        refused: None,
                    });
                    self.running = Some(Transition {
                        epoch,
                        batches,
                        next: 0,
                        target,
                    });
                    return Ok(vec![(now, TAG_BATCH)]);
                }
            }
        }
        Ok(Vec::new())
    }

    /// The next batch of the running transition starts (or, after the last, the transition ends).
    pub fn on_batch<W: Write>(
        &mut self,
        now: Time,
        up: &[bool],
        trace: &mut Trace<W>,
    ) -> io::Result<Vec<(Time, u64)>> {
        let Some(t) = self.running.as_mut() else {
            return Ok(Vec::new());
        };
        if t.next == t.batches.len() {
            let t = self.running.take().expect("checked above");
            trace.event(now, "transepoch_end", json!({"epoch": t.epoch}))?;
            if let Some(r) = self.metrics.transitions.last_mut() {
                r.end = Some(now);
            }
            self.current = t.target;
            self.mark_slice(now);
            return self.start_next(now, trace);
        }
        let batch = t.batches[t.next].clone();
        t.next += 1;
        let epoch = t.epoch;
        for mv in &batch {
            if let Some(s) = mv.from {
                self.shards[s as usize].members.remove(&mv.node);
            }
            if let Some(s) = mv.to {
                self.shards[s as usize]
                    .members
                    .insert(mv.node, now + self.sync);
            }
        }
        trace.event(
            now,
            "transepoch_batch",
            json!({"epoch": epoch, "moves": batch}),
        )?;
        self.mark_slice(now);
        self.check_safety(now, up, trace)?;
        Ok(vec![(now + self.sync, TAG_BATCH)])
    }

    fn ready(&self, shard: &Shard, now: Time, up: &[bool]) -> usize {
        shard
            .members
            .iter()
            .filter(|&(&v, &synced)| synced <= now && up[v as usize] && self.honest[v as usize])
            .count()
    }

    fn check_safety<W: Write>(
        &mut self,
        now: Time,
        up: &[bool],
        trace: &mut Trace<W>,
    ) -> io::Result<()> {
        if self.running.is_none() {
            return Ok(());
        }
        for (s, shard) in self.shards.iter().enumerate() {
            let ready = self.ready(shard, now, up);
            let roster = shard.members.len();
            let fraction = ready as f64 / roster.max(1) as f64;
            self.metrics.min_ready_fraction = self.metrics.min_ready_fraction.min(fraction);
            if 3 * ready <= 2 * roster {
                self.metrics.safety_violations += 1;
                trace.event(
                    now,
                    "shard_unsafe",
                    json!({"shard": s, "ready": ready, "roster": roster}),
                )?;
            }
        }
        Ok(())
    }

    fn mark_slice(&mut self, now: Time) {
        let slice = now / self.slice;
        if self.metrics.transition_slices.last() != Some(&slice) {
            self.metrics.transition_slices.push(slice);
        }
    }

    /// Every shard with a quorum commits a block.
    pub fn on_slot<W: Write>(
        &mut self,
        now: Time,
        up: &[bool],
        trace: &mut Trace<W>,
    ) -> io::Result<()> {
        let slice = (now / self.slice) as usize;
        if self.running.is_some() {
            self.mark_slice(now);
        }
        self.check_safety(now, up, trace)?;
        for s in 0..self.shards.len() {
            let ready = self.ready(&self.shards[s], now, up);
            let shard = &mut self.shards[s];
            let roster = shard.members.len();
            let series = &mut self.metrics.committed[s];
            if series.len() <= slice {
                series.resize(slice + 1, 0);
            }
            if 3 * ready > 2 * roster {
                let block = shard.ledger.commit_block(self.tx_per_block);
                shard.committed += u64::from(block.committed);
                series[slice] += u64::from(block.committed);
                trace.event(
                    now,
                    "shard_block",
                    json!({
                        "shard": s, "slot": self.slot, "roster": roster, "ready": ready,
                        "committed": block.committed, "rejected": block.rejected,
                        "root": hex::encode(&block.root[..8]),
                    }),
                )?;
            } else {
                self.metrics.stalled_slots += 1;
                trace.event(
                    now,
                    "shard_stall",
                    json!({"shard": s, "slot": self.slot, "roster": roster, "ready": ready}),
                )?;
            }
        }
        self.slot += 1;
        Ok(())
    }

    /// The metrics, with the per-transition minima filled in. The last slice is left out of the
    /// minima when the run ended inside it (it is partial).
    pub fn finish(mut self, end: Time) -> ShardMetrics {
        let last_full = end / self.slice;
        for (s, series) in self.metrics.committed.iter().enumerate() {
            self.metrics.min_committed_in_transition[s] = self
                .metrics
                .transition_slices
                .iter()
                .filter(|&&sl| sl < last_full)
                .map(|&sl| series.get(sl as usize).copied().unwrap_or(0))
                .min();
        }
        self.metrics
    }

    pub fn committed(&self) -> Vec<u64> {
        self.shards.iter().map(|s| s.committed).collect()
    }
}
