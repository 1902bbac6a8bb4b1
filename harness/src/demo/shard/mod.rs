//! One shard of the demo: its validators and leagues, its state, believable-first processing,
//! the normal league's sampling and fraud handling, finality rounds, and its side of Atomix.
//!
//! **Shared-replica model.** A shard's honest validators all hold the same state (they apply
//! the same blocks by the same deterministic rules), so the demo keeps *one* replica per shard —
//! the engine's [`ShardState`] (UTXO set and Merkle state tree, changed in step), shared with the
//! shard's Atomix side — instead of one per validator: two cores cannot apply
//! every block once per validator, and doing so would add work, not checks. What is per validator
//! is what differs between them, and each validator is a node of its own: a believable validator
//! (a `validator` node) keeps its mempool, checks its block's signatures and signs its header;
//! a normal validator receives each block by message and audits its own VRF sample (verified,
//! not shared); each also has its finality node (own keys, own view of the rounds). The replica
//! drives the validators' league (`validator::LeagueNet`) as the finality league's driver does.
//! UTXO rules are deterministic
//! and checked by the replica as it applies a block; signatures — the expensive check a
//! fraudulent believable validator can skip — are what the normal league samples.

//!
//! Files: `setup` (building a shard), `validator` (the validators as nodes, and their league on
//! the simulator), `production` (routing to mempools, blocks, acceptance), `audit` (folding the
//! normal league's verdicts), `penalties` (conviction, seizure, compensation, equivocation),
//! `atomix_side` (cross-shard finishes and locks), `finality` (one height per round), `batch`
//! (what moves through a shard), `member` (a validator's keys).

mod atomix_side;
mod audit;
mod batch;
mod finality;
mod member;
mod penalties;
mod production;
mod setup;
mod validator;

use std::collections::HashSet;
use std::sync::Mutex;

use iosv_engine::sig::Verifier;
use iosv_engine::tx::{OutPoint, Transaction};
use iosv_engine::utxo::ShardState;
use rand_chacha::ChaCha20Rng;

pub use batch::{Pending, RoundOutput};
pub use member::Member;
pub use setup::ShardSetup;

use super::config::Fault;
use super::sim_config::LeaguePartition;
use super::stats::{ShardStats, Stopwatch};
use super::workload::Arrival;
use crate::atomix::{AtomixShard, Certificate, Directory, ShardId, ShardMap};
use crate::pob::{LeagueMode, Reputation, ShardingPolicy, ValidatorId};
use crate::sim::FinalityNet;
use batch::{Audited, Produced};

/// Domain of the outpoints of compensation outputs.
pub const COMPENSATION_DOMAIN: &[u8] = crate::domain::DEMO_COMPENSATION;

/// Virtual ticks a finality height may take (view changes and PBFT included).
const FINALITY_DEADLINE: u64 = 100_000;

/// One shard.
pub struct DemoShard {
    pub id: ShardId,
    map: ShardMap,
    pub mode: LeagueMode,
    pub members: Vec<Member>,
    /// Indices into `members`, drawn believable, smallest key first (live ones only).
    believable: Vec<usize>,
    /// Indices into `members` of the normal league (everyone in single-league mode).
    normal: Vec<usize>,
    fraudulent: Option<usize>,
    /// Every member as a node: mempools, block checks, signatures, audits.
    league: validator::LeagueNet,
    next_slot: usize,
    height: u64,
    prev_hash: [u8; 32],
    /// The shard's Atomix side, which owns the shard's state.
    pub atomix: AtomixShard,
    /// The believable league's verifier (Atomix lock requests).
    believable_verifier: Verifier,
    /// The normal league's verifier (re-checks after a conviction).
    normal_verifier: Verifier,
    finality: FinalityNet,
    finality_height: u64,
    /// How many of `audited` (from the front) the height waiting for finality proposes; 0 when
    /// none waits.
    proposed: usize,
    /// The simulated demo's partitions of this shard's normal league.
    league_partitions: Vec<LeaguePartition>,
    audited: Vec<Audited>,
    history: Vec<Produced>,
    /// The producer of each entry of `history`.
    producer_of: Vec<usize>,
    /// Clients' transactions received since the last round.
    inbox: Vec<Arrival>,
    lock_requests: Vec<Transaction>,
    finish_requests: Vec<(Transaction, Certificate)>,
    /// Every outpoint spent by a finalized block or an Atomix commit here.
    spent_final: HashSet<OutPoint>,
    faults: Vec<Fault>,
    policy: ShardingPolicy,
    max_block_txs: usize,
    forgers_persist: bool,
    hop_us: f64,
    rng: ChaCha20Rng,
    pub stats: ShardStats,
}

impl DemoShard {
    /// The validators that produce blocks now: the live believable league, or in single-league
    /// mode the whole league (by rotation).
    fn producers(&self) -> Vec<usize> {
        match self.mode {
            LeagueMode::TwoLeagues => self.believable.clone(),
            LeagueMode::SingleLeague => self.normal.clone(),
        }
    }

    /// Puts a client's transaction into a producer's mempool: forged ones to the fraudulent
    /// validator while it is believable (its colluding clients send them there), the rest to a
    /// producer drawn at random.
    pub fn submit(&mut self, arrival: Arrival) {
        self.inbox.push(arrival);
    }

    /// Queues a cross-shard lock request (phase 1 of Atomix).
    pub fn request_lock(&mut self, tx: Transaction) {
        self.lock_requests.push(tx);
    }

    /// Queues a cross-shard finish (phase 2 of Atomix).
    pub fn request_finish(&mut self, tx: Transaction, certificate: Certificate) {
        self.finish_requests.push((tx, certificate));
    }

    /// Pending work: mempools, unfinalized blocks, Atomix requests.
    /// Transactions still waiting here (mempools, inbox, audited blocks awaiting finality, lock
    /// and finish requests): what a run that stops now leaves unfinished.
    pub fn queued(&self) -> usize {
        self.league.queued()
            + self.inbox.len()
            + self.audited.iter().map(|a| a.arrivals.len()).sum::<usize>()
            + self.lock_requests.len()
            + self.finish_requests.len()
    }

    /// Whether a full block waits in some live producer's mempool: the shard has more work than
    /// one round takes, and the next round should start at once.
    pub fn backlogged(&self) -> bool {
        self.producers()
            .iter()
            .any(|&v| self.league.mempool_len(v) >= self.max_block_txs)
    }

    pub fn idle(&self) -> bool {
        self.league.queued() == 0
            && self.inbox.is_empty()
            && self.audited.is_empty()
            && self.lock_requests.is_empty()
            && self.finish_requests.is_empty()
    }

    pub fn state(&self) -> &ShardState {
        self.atomix.state()
    }

    fn state_mut(&mut self) -> &mut ShardState {
        self.atomix.state_mut()
    }

    /// One round at wall time `now_us` (µs since the load started): Atomix finishes and locks,
    /// one block per producer, audits, one finality height.
    pub fn round(
        &mut self,
        now: &dyn Fn() -> u64,
        dir: &Directory,
        reputation: &Mutex<Reputation>,
    ) -> RoundOutput {
        let mut out = RoundOutput::default();
        self.take_inbox();
        let t = Stopwatch::start();
        self.finish_atomix(dir, &mut out);
        out.proofs = self.lock_atomix();
        self.stats.timing.atomix += t.elapsed();
        let producers = self.producers();
        if !producers.is_empty() {
            let start = self.next_slot % producers.len();
            self.next_slot += 1;
            let order: Vec<usize> = (0..producers.len())
                .map(|k| producers[(start + k) % producers.len()])
                .collect();
            for (v, batch) in self.cut_and_check(&order) {
                if self.producers().contains(&v) {
                    self.produce(v, batch, now, reputation);
                } else {
                    // Expelled earlier in this round: its block goes back to the live producers.
                    self.requeue(batch.into_pending());
                }
            }
        }
        self.finalize(now, reputation);
        out
    }

    /// Whether every live finality node agrees on every height, and finalized all of them.
    pub fn finality_agreement(&self) -> bool {
        self.finality.agreement().is_ok()
    }

    /// Whether the incrementally kept tree equals one built afresh from the set.
    pub fn state_consistent(&mut self) -> bool {
        self.state_mut().is_consistent()
    }

    /// The Merkle root of the shard's state (UTXO set with its locks).
    pub fn state_root(&mut self) -> [u8; 32] {
        self.state_mut().root()
    }

    /// Total value held in this shard (locked outputs included).
    pub fn value(&self) -> u128 {
        self.state().total_value()
    }

    /// The live believable league, as validator ids.
    pub fn believable_ids(&self) -> Vec<ValidatorId> {
        self.believable
            .iter()
            .map(|&v| self.members[v].id)
            .collect()
    }

    pub fn normal_len(&self) -> usize {
        self.normal.len()
    }
}

/// The owner of seized tokens not needed for compensation.
pub const TREASURY: [u8; 32] = [0x7e; 32];
