//! One shard of the demo: its validators and leagues, its state, believable-first processing,
//! the normal league's sampling and fraud handling, finality rounds, and its side of Atomix.
//!
//! **Shared-replica model.** A shard's honest validators all hold the same state (they apply
//! the same blocks by the same deterministic rules), so the demo keeps *one* replica per shard —
//! the engine's [`ShardState`] (UTXO set and Merkle state tree, changed in step), shared with the
//! shard's Atomix side — instead of one per validator: two cores cannot apply
//! every block once per validator, and doing so would add work, not checks. What is per validator
//! is what differs between them: each believable validator's mempool, signing key and blocks;
//! each normal validator's VRF sampling seed, its own batch of sampled signatures (verified, not
//! shared), its finality node (own keys, own view of the rounds). UTXO rules are deterministic
//! and checked by the replica as it applies a block; signatures — the expensive check a
//! fraudulent believable validator can skip — are what the normal league samples.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use iosv_engine::cosi::schnorr::MemberKey;
use iosv_engine::fraud::{FraudProof, SignedHeader};
use iosv_engine::sampling::{SamplingSeed, select};
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::{
    BlockHeader, HEADER_VERSION, OutPoint, Transaction, TxId, TxOutput, tx_root_with_txids,
    verify_tx_signatures,
};
use iosv_engine::utxo::{BlockUndo, ShardState, UtxoSet};
use iosv_engine::vrf;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use super::config::{DemoConfig, Fault};
use super::stats::{ShardStats, Stopwatch};
use super::workload::{Arrival, Kind};
use crate::atomix::{
    AtomixError, AtomixProof, AtomixShard, Certificate, Directory, Outcome, ShardId, ShardMap,
};
use crate::finality::{self, FinalityNet, Proposal};
use crate::pob::{Contribution, LeagueMode, Reputation, ShardingPolicy, ValidatorId};

/// Domain of the outpoints of compensation outputs.
pub const COMPENSATION_DOMAIN: &[u8] = crate::domain::DEMO_COMPENSATION;

/// Signatures per batch verification. A batch holding an invalid signature is bisected, which
/// costs about three times the batch; smaller batches bound what each forged signature costs an
/// honest verifier, larger ones verify faster per signature.
const VERIFY_CHUNK: usize = 4_096;

/// Virtual ticks a finality height may take (view changes and PBFT included).
const FINALITY_DEADLINE: u64 = 100_000;

/// A validator's keys.
pub struct Member {
    pub seed: [u8; 32],
    pub key: SigningKey,
    pub id: ValidatorId,
    pub vrf: vrf::SecretKey,
}

impl Member {
    pub fn new(seed: [u8; 32]) -> Member {
        let key = SigningKey::from_bytes(&seed);
        let mut vrf_seed = Sha256::new();
        vrf_seed.update(crate::domain::DEMO_VRF_KEY);
        vrf_seed.update(seed);
        Member {
            seed,
            id: key.verifying_key().to_bytes(),
            key,
            vrf: vrf::SecretKey::from_seed(&vrf_seed.finalize().into()),
        }
    }
}

/// A transaction waiting in a mempool.
#[derive(Clone, Debug)]
pub struct Pending {
    pub tx: Transaction,
    pub txid: TxId,
    pub arrived_us: u64,
    pub kind: Kind,
}

impl From<Arrival> for Pending {
    fn from(a: Arrival) -> Pending {
        Pending {
            tx: a.tx,
            txid: a.txid,
            arrived_us: a.at_us,
            kind: a.kind,
        }
    }
}

/// An audited block waiting for its finality round.
struct Audited {
    digest: [u8; 32],
    arrivals: Vec<u64>,
    /// The inputs its transactions spend (for the double-spend check at finality).
    spent: Vec<OutPoint>,
}

/// Transactions as columns: moved, never cloned, from mempool to block.
struct Batch {
    txs: Vec<Transaction>,
    txids: Vec<TxId>,
    arrived: Vec<u64>,
    kinds: Vec<Kind>,
}

impl Batch {
    fn from_pending(items: impl Iterator<Item = Pending>) -> Batch {
        let mut b = Batch {
            txs: Vec::new(),
            txids: Vec::new(),
            arrived: Vec::new(),
            kinds: Vec::new(),
        };
        for p in items {
            b.txs.push(p.tx);
            b.txids.push(p.txid);
            b.arrived.push(p.arrived_us);
            b.kinds.push(p.kind);
        }
        b
    }

    fn len(&self) -> usize {
        self.txs.len()
    }

    fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Keeps the entries whose `keep` is true, in order.
    fn retain(&mut self, keep: &[bool]) {
        retain_by(&mut self.txs, keep);
        retain_by(&mut self.txids, keep);
        retain_by(&mut self.arrived, keep);
        retain_by(&mut self.kinds, keep);
    }

    fn into_pending(self) -> Vec<Pending> {
        self.txs
            .into_iter()
            .zip(self.txids)
            .zip(self.arrived)
            .zip(self.kinds)
            .map(|(((tx, txid), arrived_us), kind)| Pending {
                tx,
                txid,
                arrived_us,
                kind,
            })
            .collect()
    }
}

fn retain_by<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut flags = keep.iter();
    items.retain(|_| *flags.next().expect("one flag per item"));
}

/// A block of the fraudulent validator's, kept for the re-check after a conviction.
struct Produced {
    txs: Vec<Transaction>,
    /// What the block spent, to value a victim's loss.
    spent: Vec<(OutPoint, TxOutput)>,
}

/// What a shard hands the driver after a round.
#[derive(Default)]
pub struct RoundOutput {
    /// Atomix proofs sealed this round, for the clients.
    pub proofs: Vec<AtomixProof>,
    /// Cross-shard finishes applied: (txid, outcome).
    pub finished: Vec<(TxId, Outcome)>,
}

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
    /// The equivocating validator and the index of its block that it signs twice.
    equivocate: Option<(usize, u64)>,
    blocks_by: HashMap<usize, u64>,
    mempools: HashMap<usize, VecDeque<Pending>>,
    next_slot: usize,
    height: u64,
    prev_hash: [u8; 32],
    /// The shard's Atomix side, which owns the shard's state.
    pub atomix: AtomixShard,
    believable_verifier: Verifier,
    normal_verifier: Verifier,
    finality: FinalityNet,
    finality_height: u64,
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

/// The state a shard starts from, and who is in it.
pub struct ShardSetup {
    pub id: ShardId,
    pub map: ShardMap,
    pub members: Vec<Member>,
    pub mode: LeagueMode,
    pub believable: Vec<usize>,
    pub normal: Vec<usize>,
    pub genesis: Vec<(OutPoint, TxOutput)>,
}

fn xor_seed(seed: u64, shard: ShardId) -> u64 {
    seed ^ (u64::from(shard) << 32) ^ 0x5EED
}

impl DemoShard {
    /// A shard from its setup; its signatures go to `verifier` (default: the local CPU).
    pub fn new(
        setup: ShardSetup,
        cfg: &DemoConfig,
        verifier: Option<&Verifier>,
    ) -> anyhow::Result<DemoShard> {
        // By default each league has its own CPU verifier (and key cache), as before.
        let (believable_verifier, normal_verifier) = match verifier {
            Some(v) => (v.clone(), v.clone()),
            None => (Verifier::new(Backend::Cpu)?, Verifier::new(Backend::Cpu)?),
        };
        let mut state = ShardState::new(UtxoSet::new());
        for (point, output) in &setup.genesis {
            state.insert(*point, *output)?;
        }
        let cosi_keys: Vec<MemberKey> = setup
            .normal
            .iter()
            .map(|&i| MemberKey::from_seed(&setup.members[i].seed))
            .collect();
        let atomix = AtomixShard::new(
            setup.id,
            setup.map,
            iosv_engine::cosi::Policy::ByzCoin,
            cosi_keys,
            state,
        )?;
        let seeds: Vec<[u8; 32]> = setup
            .normal
            .iter()
            .map(|&i| setup.members[i].seed)
            .collect();
        let two = setup.mode == LeagueMode::TwoLeagues;
        // A single league agrees by PBFT over every transaction; two leagues finalize with
        // ByzCoin's CoSi rounds (PBFT only when those fail).
        let finality = FinalityNet::with_seeds(
            &seeds,
            finality::Config {
                fast_path: two,
                ..finality::Config::default()
            },
        );
        let fraudulent = (two && cfg.fraudulent(setup.id))
            .then(|| setup.believable.first().copied())
            .flatten();
        let equivocate = cfg.faults.iter().find_map(|f| match *f {
            Fault::Equivocating { shard, block } if shard == setup.id && two => {
                setup.believable.first().map(|&v| (v, block))
            }
            _ => None,
        });
        let producers: Vec<usize> = if two {
            setup.believable.clone()
        } else {
            setup.normal.clone()
        };
        Ok(DemoShard {
            id: setup.id,
            map: setup.map,
            mode: setup.mode,
            members: setup.members,
            believable: setup.believable,
            normal: setup.normal,
            fraudulent,
            equivocate,
            blocks_by: HashMap::new(),
            mempools: producers.iter().map(|&i| (i, VecDeque::new())).collect(),
            next_slot: 0,
            height: 0,
            prev_hash: [0; 32],
            atomix,
            believable_verifier,
            normal_verifier,
            finality,
            finality_height: 0,
            audited: Vec::new(),
            history: Vec::new(),
            producer_of: Vec::new(),
            inbox: Vec::new(),
            lock_requests: Vec::new(),
            finish_requests: Vec::new(),
            spent_final: HashSet::new(),
            faults: cfg
                .faults
                .iter()
                .filter(|f| f.shard() == Some(setup.id))
                .copied()
                .collect(),
            policy: cfg.policy,
            max_block_txs: cfg.max_block_txs,
            forgers_persist: cfg.forgers_persist,
            hop_us: cfg.hop_ms * 1_000.0,
            rng: ChaCha20Rng::seed_from_u64(xor_seed(cfg.seed, setup.id)),
            stats: ShardStats::default(),
        })
    }

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

    /// Hands the round's arrivals to the producers' mempools (in the shard's parallel round).
    fn take_inbox(&mut self) {
        let producers = self.producers();
        let colluding = self.fraudulent.filter(|f| producers.contains(f));
        for arrival in std::mem::take(&mut self.inbox) {
            let to = match (arrival.kind, colluding) {
                (Kind::Invalid, Some(f)) => f,
                (Kind::Invalid, None) if !self.forgers_persist => {
                    // The colluding validator is gone: its clients have no one to let forgeries
                    // through.
                    self.stats.forgeries_withheld += 1;
                    continue;
                }
                _ => producers[self.rng.random_range(0..producers.len())],
            };
            self.mempools
                .entry(to)
                .or_default()
                .push_back(arrival.into());
        }
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
        self.mempools.values().map(VecDeque::len).sum::<usize>()
            + self.inbox.len()
            + self.audited.iter().map(|a| a.arrivals.len()).sum::<usize>()
            + self.lock_requests.len()
            + self.finish_requests.len()
    }

    pub fn idle(&self) -> bool {
        self.mempools.values().all(VecDeque::is_empty)
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
            for k in 0..producers.len() {
                let v = producers[(start + k) % producers.len()];
                if self.producers().contains(&v) {
                    self.produce(v, now, reputation);
                }
            }
        }
        self.finalize(now, reputation);
        out
    }

    fn finish_atomix(&mut self, dir: &Directory, out: &mut RoundOutput) {
        for (tx, certificate) in std::mem::take(&mut self.finish_requests) {
            match self.atomix.finish(&tx, &certificate, dir) {
                Ok(outcome) => {
                    self.record_finish(&tx, outcome);
                    out.finished.push((tx.txid(), outcome));
                }
                Err(AtomixError::Replay { .. }) => self.stats.atomix_replays_refused += 1,
                Err(e) => self.stats.atomix_errors.push(e.to_string()),
            }
        }
    }

    /// Counts a committed finish's inputs as spent for good (the double-spend invariant); the
    /// state itself changed inside [`AtomixShard::finish`].
    fn record_finish(&mut self, tx: &Transaction, outcome: Outcome) {
        if outcome != Outcome::Committed {
            return;
        }
        for input in &tx.inputs {
            if self.map.shard_of(&input.prev) == self.id && !self.spent_final.insert(input.prev) {
                self.stats.double_spends += 1;
            }
        }
    }

    fn lock_atomix(&mut self) -> Vec<AtomixProof> {
        let requests = std::mem::take(&mut self.lock_requests);
        if requests.is_empty() {
            return Vec::new();
        }
        let map = self.map;
        let decisions = self
            .atomix
            .request_locks(&requests, &self.believable_verifier);
        for (tx, decided) in requests.iter().zip(decisions) {
            match decided {
                Ok(_) => {
                    self.stats.sig_checks_atomix += tx
                        .inputs
                        .iter()
                        .filter(|i| map.shard_of(&i.prev) == self.id)
                        .count() as u64;
                }
                Err(e) => self.stats.atomix_errors.push(e.to_string()),
            }
        }
        match self.atomix.seal(&mut self.rng) {
            Ok(proofs) => proofs,
            Err(e) => {
                self.stats.atomix_errors.push(e.to_string());
                Vec::new()
            }
        }
    }

    /// Verifies every signature of `txs` with `verifier`; per transaction, whether all verified.
    fn verify_txs(verifier: &Verifier, txs: &[&Transaction], txids: &[TxId]) -> (Vec<bool>, u64) {
        let verdicts = verify_tx_signatures(txs.iter().copied().zip(txids), |refs| {
            refs.chunks(VERIFY_CHUNK)
                .flat_map(|c| verifier.verify_batch(c))
                .collect()
        });
        (verdicts.per_tx(), verdicts.checked() as u64)
    }

    /// Undoes the newest block (set and tree: nothing has changed the state since).
    fn undo(&mut self, undo: &BlockUndo) {
        self.state_mut()
            .undo_block(undo)
            .expect("the newest block undoes");
    }

    /// Applies `batch` to the replica (set and tree together) and keeps the transactions that
    /// pass the UTXO rules; returns the undo record.
    fn apply(&mut self, batch: &mut Batch) -> BlockUndo {
        let t = Stopwatch::start();
        let (verdicts, undo) = self
            .state_mut()
            .apply_valid_with_txids(&batch.txs, &batch.txids);
        let keep: Vec<bool> = verdicts.iter().map(Result::is_ok).collect();
        self.stats.dropped_by_state += keep.iter().filter(|k| !**k).count() as u64;
        batch.retain(&keep);
        self.stats.timing.state += t.elapsed();
        undo
    }

    /// The header of `block` as producer `v` proposes it.
    fn header(&mut self, v: usize, block: &Batch, pre_root: [u8; 32], now_us: u64) -> BlockHeader {
        let t = Stopwatch::start();
        let state_root = self.state_mut().root();
        self.stats.timing.state_tree += t.elapsed();
        let t = Stopwatch::start();
        let tx_root = tx_root_with_txids(&block.txs, &block.txids);
        self.stats.timing.headers += t.elapsed();
        BlockHeader {
            version: HEADER_VERSION,
            shard: self.id,
            height: self.height,
            prev_hash: self.prev_hash,
            tx_root,
            tx_count: u32::try_from(block.len()).expect("blocks hold far fewer than 2^32"),
            pre_state_root: pre_root,
            state_root,
            timestamp_ms: now_us / 1_000,
            proposer: self.members[v].id,
        }
    }

    /// Producer `v` makes one block from its mempool; the normal league audits it.
    fn produce(&mut self, v: usize, now: &dyn Fn() -> u64, reputation: &Mutex<Reputation>) {
        let pool = self.mempools.entry(v).or_default();
        if pool.is_empty() {
            return;
        }
        let take = pool.len().min(self.max_block_txs);
        let mut batch = Batch::from_pending(pool.drain(..take));
        let smuggling = self.fraudulent == Some(v);
        let single = self.mode == LeagueMode::SingleLeague;

        // Signatures: the producer alone (in single-league mode every member, each in full).
        let t = Stopwatch::start();
        let checked: Vec<usize> = (0..batch.len())
            .filter(|&i| !(smuggling && batch.kinds[i] == Kind::Invalid))
            .collect();
        let txs: Vec<&Transaction> = checked.iter().map(|&i| &batch.txs[i]).collect();
        let txids: Vec<TxId> = checked.iter().map(|&i| batch.txids[i]).collect();
        let rounds = if single { self.normal.len() } else { 1 };
        let mut verdicts = Vec::new();
        for _ in 0..rounds {
            let (ok, sigs) = Self::verify_txs(&self.believable_verifier, &txs, &txids);
            if single {
                self.stats.sig_checks_single_league += sigs;
            } else {
                self.stats.sig_checks_believable += sigs;
            }
            verdicts = ok;
        }
        let mut keep = vec![true; batch.len()];
        for (&i, ok) in checked.iter().zip(&verdicts) {
            if !ok {
                keep[i] = false;
                self.stats.dropped_invalid += 1;
            }
        }
        batch.retain(&keep);
        self.stats.frauds_injected +=
            batch.kinds.iter().filter(|k| **k == Kind::Invalid).count() as u64;
        self.stats.timing.verify_believable += t.elapsed();

        // State: apply to the replica, header over the result.
        let t = Stopwatch::start();
        let pre_root = self.state_mut().root();
        self.stats.timing.state_tree += t.elapsed();
        let undo = self.apply(&mut batch);
        if batch.is_empty() {
            return;
        }
        let header = self.header(v, &batch, pre_root, now());
        let t = Stopwatch::start();
        let signed = SignedHeader::sign(header, &self.members[v].key);
        self.stats.timing.headers += t.elapsed();
        let opt_at = now();
        let count = self.blocks_by.entry(v).or_insert(0);
        let index = *count;
        *count += 1;
        if let Ok(mut rep) = reputation.lock() {
            let _ = rep.block_validated(&self.members[v].id);
        }

        // Equivocation: a second header for the same height, shown to half the league.
        if self.equivocate == Some((v, index)) {
            let mut other = signed.header.clone();
            other.timestamp_ms += 1;
            let twin = SignedHeader::sign(other, &self.members[v].key);
            self.equivocation(v, &signed, &twin, batch, &undo, reputation);
            return;
        }
        let findings = if single {
            Vec::new()
        } else {
            self.audit(&signed, &batch, reputation)
        };
        if findings.is_empty() {
            self.accept(&signed, &batch, opt_at, &undo, Vec::new());
            self.history.push(Produced {
                txs: batch.txs,
                spent: undo.spent().to_vec(),
            });
            self.producer_of.push(v);
        } else {
            self.convict(v, &signed, batch, &undo, &findings, now, reputation);
        }
    }

    /// Every normal validator samples the block with its own VRF seed and verifies its sample;
    /// returns the indices found invalid (by anyone).
    fn audit(
        &mut self,
        signed: &SignedHeader,
        block: &Batch,
        reputation: &Mutex<Reputation>,
    ) -> Vec<usize> {
        let t = Stopwatch::start();
        let header_hash = signed.header.hash();
        let p = self.policy.sampling_probability;
        let mut findings = Vec::new();
        for k in 0..self.normal.len() {
            let n = self.normal[k];
            let (seed, _proof) = SamplingSeed::derive(&self.members[n].vrf, &header_hash);
            let sampled = select(&seed, block.len(), p);
            let txs: Vec<&Transaction> = sampled.iter().map(|&i| &block.txs[i]).collect();
            let txids: Vec<TxId> = sampled.iter().map(|&i| block.txids[i]).collect();
            let (verdicts, sigs) = Self::verify_txs(&self.normal_verifier, &txs, &txids);
            self.stats.sig_checks_normal += sigs;
            self.stats.sampled_txs += sampled.len() as u64;
            let mut clean = true;
            for (&i, ok) in sampled.iter().zip(verdicts) {
                if !ok {
                    clean = false;
                    if !findings.contains(&i) {
                        findings.push(i);
                    }
                }
            }
            if clean && let Ok(mut rep) = reputation.lock() {
                let _ = rep.reward(
                    &self.members[n].id,
                    Contribution::Sample,
                    &self.policy.servi,
                );
            }
        }
        findings.sort_unstable();
        self.stats.timing.audit += t.elapsed();
        findings
    }

    /// The block passed its audit (or was re-made without its invalid transactions): it waits
    /// for the next finality height.
    fn accept(
        &mut self,
        signed: &SignedHeader,
        block: &Batch,
        opt_at: u64,
        undo: &BlockUndo,
        excluded: Vec<usize>,
    ) {
        let header_hash = signed.header.hash();
        let mut h = Sha256::new();
        h.update(crate::domain::DEMO_FINALIZED_BLOCK);
        h.update(header_hash);
        for i in &excluded {
            h.update((*i as u64).to_le_bytes());
        }
        h.update(self.state_mut().root());
        for &arrived in &block.arrived {
            self.stats.record_optimistic(arrived, opt_at);
        }
        let spent_value: u64 = undo.spent().iter().map(|(_, o)| o.amount).sum();
        let created_value: u64 = block
            .txs
            .iter()
            .flat_map(|tx| tx.outputs.iter().map(|o| o.amount))
            .sum();
        // Demo transactions never spend outputs created in their own block, so every input is
        // in the undo record and inputs minus outputs is the fee.
        debug_assert_eq!(
            undo.spent().len(),
            block.txs.iter().map(|tx| tx.inputs.len()).sum::<usize>()
        );
        self.stats.fees += spent_value.saturating_sub(created_value);
        self.stats.blocks += 1;
        self.audited.push(Audited {
            digest: h.finalize().into(),
            arrivals: block.arrived.clone(),
            spent: undo.spent().iter().map(|(o, _)| *o).collect(),
        });
        self.height += 1;
        self.prev_hash = header_hash;
    }

    /// Hands a discarded or convicted producer's work to the live producers.
    fn requeue(&mut self, txs: Vec<Pending>) {
        let producers = self.producers();
        for p in txs {
            let to = producers[self.rng.random_range(0..producers.len())];
            self.mempools.entry(to).or_default().push_back(p);
        }
    }

    /// Removes `v` from the believable league; with none left, the shard runs one league.
    fn expel(&mut self, v: usize) {
        self.believable.retain(|&b| b != v);
        if self.believable.is_empty() {
            self.mode = LeagueMode::SingleLeague;
            for &n in &self.normal.clone() {
                self.mempools.entry(n).or_default();
            }
        }
        let pool: Vec<Pending> = self.mempools.remove(&v).map(Vec::from).unwrap_or_default();
        self.requeue(pool);
    }

    fn equivocation(
        &mut self,
        v: usize,
        a: &SignedHeader,
        b: &SignedHeader,
        block: Batch,
        undo: &BlockUndo,
        reputation: &Mutex<Reputation>,
    ) {
        // Even-numbered members hold `a`, odd ones `b`; they gossip the headers they received
        // before auditing, and any member holding both has the evidence.
        self.stats.equivocations_detected += 1;
        self.undo(undo);
        self.stats.discarded_blocks += 1;
        let slashed = reputation
            .lock()
            .map(|mut rep| rep.slash_equivocation(a, b).is_ok())
            .unwrap_or(false);
        if slashed {
            self.stats.slashed.push(hex::encode(self.members[v].id));
            let evidence = a.header.hash();
            let seized = self.seize(v, &evidence);
            self.stats.seized += seized;
            // No one lost anything (neither block is final): the tokens go to the treasury.
            self.compensate(&[], seized, &evidence);
        }
        self.expel(v);
        self.requeue(block.into_pending());
    }

    /// Takes every unlocked token of the convicted validator `v` in this shard.
    fn seize(&mut self, v: usize, evidence: &[u8; 32]) -> u64 {
        let id = self.members[v].id;
        match crate::pob::seize_tokens(self.state_mut(), &id, evidence) {
            Ok(amount) => amount,
            Err(e) => {
                self.stats
                    .atomix_errors
                    .push(format!("seizing tokens: {e}"));
                0
            }
        }
    }

    /// A sampled signature failed: prove it, slash the producer, re-check everything it
    /// produced, finalize the block without its invalid transactions, compensate the victims of
    /// any that escaped earlier.
    #[allow(clippy::too_many_arguments)]
    fn convict(
        &mut self,
        v: usize,
        signed: &SignedHeader,
        mut block: Batch,
        undo: &BlockUndo,
        findings: &[usize],
        now: &dyn Fn() -> u64,
        reputation: &Mutex<Reputation>,
    ) {
        let t = Stopwatch::start();
        self.stats.frauds_detected_by_sampling += findings.len() as u64;
        // Back to the state before the block: the proof is made against it.
        self.undo(undo);
        let header_hash = signed.header.hash();
        let built = self
            .state_mut()
            .prove_fraud(signed, &block.txs, findings[0]);
        let evidence: Option<FraudProof> = match built {
            Ok(proof) => Some(proof),
            Err(e) => {
                self.stats
                    .atomix_errors
                    .push(format!("building a fraud proof: {e}"));
                None
            }
        };
        if let Some(proof) = &evidence {
            // Every normal validator checks the proof before acting on it.
            let valid = (0..self.normal.len()).all(|_| proof.verify().is_ok());
            self.stats.fraud_proofs_verified += 1;
            if valid && let Ok(mut rep) = reputation.lock() {
                match rep.slash(proof) {
                    Ok(_) => self.stats.slashed.push(hex::encode(self.members[v].id)),
                    Err(e) => self.stats.atomix_errors.push(format!("slashing: {e}")),
                }
            }
            self.stats.fraud_proof_bytes = serde_json::to_vec(proof).map_or(0, |b| b.len());
        }
        let seized = self.seize(v, &header_hash);
        self.stats.seized += seized;
        self.expel(v);

        // Re-check the block in full: every invalid transaction goes, sampled or not.
        let txs: Vec<&Transaction> = block.txs.iter().collect();
        let (verdicts, sigs) = Self::verify_txs(&self.normal_verifier, &txs, &block.txids);
        self.stats.sig_checks_recheck += sigs;
        let excluded: Vec<usize> = (0..verdicts.len()).filter(|&i| !verdicts[i]).collect();
        block.retain(&verdicts);
        self.stats.frauds_excluded += excluded.len() as u64;
        self.stats.frauds_detected_by_recheck +=
            (excluded.len() as u64).saturating_sub(findings.len() as u64);
        let undo = self.apply(&mut block);
        let opt_at = now();
        self.accept(signed, &block, opt_at, &undo, excluded);

        // Re-check everything it produced before: forged transactions that escaped sampling and
        // were finalized cost their victims an input each; they are paid from the seized tokens.
        let mut victims: Vec<([u8; 32], u64)> = Vec::new();
        let mut earlier_sigs = 0;
        for (produced, &by) in self.history.iter().zip(&self.producer_of) {
            if by != v {
                continue;
            }
            let txs: Vec<&Transaction> = produced.txs.iter().collect();
            let txids: Vec<TxId> = produced.txs.iter().map(Transaction::txid).collect();
            let (verdicts, sigs) = Self::verify_txs(&self.normal_verifier, &txs, &txids);
            earlier_sigs += sigs;
            for (tx, ok) in produced.txs.iter().zip(verdicts) {
                if !ok {
                    self.stats.frauds_found_finalized += 1;
                    for input in &tx.inputs {
                        let lost = produced
                            .spent
                            .iter()
                            .find(|(o, _)| *o == input.prev)
                            .map_or(0, |(_, out)| out.amount);
                        victims.push((input.owner, lost));
                    }
                }
            }
        }
        self.stats.sig_checks_recheck += earlier_sigs;
        self.compensate(&victims, seized, &header_hash);
        self.stats.timing.fraud += t.elapsed();
    }

    /// Pays `victims` from `seized` (in order, as far as it goes) and the rest to the treasury,
    /// as new outputs in this shard.
    fn compensate(&mut self, victims: &[([u8; 32], u64)], seized: u64, evidence: &[u8; 32]) {
        let mut left = seized;
        let mut outputs = Vec::new();
        for &(owner, amount) in victims {
            let paid = amount.min(left);
            if paid > 0 {
                outputs.push(TxOutput {
                    amount: paid,
                    owner,
                });
                left -= paid;
                self.stats.compensated += paid;
            }
        }
        if left > 0 {
            outputs.push(TxOutput {
                amount: left,
                owner: TREASURY,
            });
        }
        for (i, output) in outputs.into_iter().enumerate() {
            let point = self.compensation_point(evidence, i as u32);
            if self.state_mut().insert(point, output).is_err() {
                self.stats
                    .atomix_errors
                    .push("compensation output exists".into());
            }
        }
    }

    fn compensation_point(&self, evidence: &[u8; 32], i: u32) -> OutPoint {
        super::workload::outpoint_in(
            &self.map,
            self.id,
            &[COMPENSATION_DOMAIN, evidence, &i.to_le_bytes()],
        )
    }

    /// The normal league finalizes this round's audited blocks as one height.
    fn finalize(&mut self, now: &dyn Fn() -> u64, reputation: &Mutex<Reputation>) {
        if self.audited.is_empty() {
            return;
        }
        let t = Stopwatch::start();
        let height = self.finality_height;
        let n = self.normal.len();
        let leader = (height % n as u64) as usize;
        for fault in &self.faults {
            match *fault {
                Fault::SubLeaderCrash { height: h, .. } if h == height => {
                    self.finality.crash((leader + 1) % n);
                    self.stats.finality_faults += 1;
                }
                Fault::CommitThenSilent { height: h, .. } if h == height => {
                    self.finality
                        .crash_after_commitment((leader + 2) % n, height);
                    self.stats.finality_faults += 1;
                }
                Fault::LeaderCrash { height: h, .. } if h == height => {
                    self.finality.crash(leader);
                    self.stats.finality_faults += 1;
                }
                _ => {}
            }
        }
        let proposal = Proposal {
            height,
            headers: self.audited.iter().map(|a| a.digest).collect(),
        };
        let (ok, ticks) = self
            .finality
            .finalize_next(proposal, FINALITY_DEADLINE, &mut self.rng);
        self.finality_height += 1;
        self.stats.timing.finality += t.elapsed();
        if !ok {
            self.stats.finality_failures += 1;
            self.audited.clear();
            return;
        }
        if let Some(view) = self
            .finality
            .nodes()
            .iter()
            .filter_map(|node| node.finalized().last())
            .map(|f| f.view)
            .max()
            && view > 0
        {
            self.stats.pbft_heights += 1;
        }
        self.stats.finality_heights += 1;
        self.stats.finality_virtual_ticks += ticks;
        let final_at = now() + (ticks as f64 * self.hop_us) as u64;
        for audited in std::mem::take(&mut self.audited) {
            for arrived in audited.arrivals {
                self.stats.record_final(arrived, final_at);
            }
            for point in audited.spent {
                if !self.spent_final.insert(point) {
                    self.stats.double_spends += 1;
                }
            }
        }
        if let Ok(mut rep) = reputation.lock() {
            for &m in &self.normal {
                let _ = rep.reward(
                    &self.members[m].id,
                    Contribution::Cosignature,
                    &self.policy.servi,
                );
            }
        }
    }

    /// Whether every live finality node agrees on every height, and finalized all of them.
    pub fn finality_agreement(&self) -> bool {
        self.finality.agreement().is_ok()
    }

    /// Whether the incrementally kept tree equals one built afresh from the set.
    pub fn state_consistent(&mut self) -> bool {
        self.state_mut().is_consistent()
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
