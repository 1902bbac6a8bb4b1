//! What each shard counts and times during a demo run.

use std::time::Duration;

/// Thread CPU time (not wall time) of each part of a shard's work: the demo runs more threads than
/// cores, and a thread waiting for a core is not working.
pub use iosv_engine::platform::CpuStopwatch as Stopwatch;
/// CPU time of the whole process.
pub use iosv_engine::platform::process_cpu_time as process_cpu;

/// CPU time spent per part of the work (thread CPU time, summed over the shards).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    /// Believable validators (or a single league) verifying the signatures of their blocks.
    pub verify_believable: Duration,
    /// Applying blocks to the replica's UTXO set (rules, additive root).
    pub state: Duration,
    /// Keeping the Merkle state tree and its root current.
    pub state_tree: Duration,
    /// Transaction roots, headers and their signatures.
    pub headers: Duration,
    /// The normal league's VRF seeds and sampled signature checks.
    pub audit: Duration,
    /// Fraud proofs, slashing, re-checks, compensation.
    pub fraud: Duration,
    /// Finality rounds (Schnorr CoSi, PBFT when it falls back).
    pub finality: Duration,
    /// Atomix locks, seals (CoSi), finishes.
    pub atomix: Duration,
}

impl Timing {
    pub fn add(&mut self, o: &Timing) {
        self.verify_believable += o.verify_believable;
        self.state += o.state;
        self.state_tree += o.state_tree;
        self.headers += o.headers;
        self.audit += o.audit;
        self.fraud += o.fraud;
        self.finality += o.finality;
        self.atomix += o.atomix;
    }

    /// (name, time) per part, in a fixed order.
    pub fn parts(&self) -> [(&'static str, Duration); 8] {
        [
            ("believable verification", self.verify_believable),
            ("UTXO set (rules, apply)", self.state),
            ("state tree (Merkle root)", self.state_tree),
            ("tx roots, headers", self.headers),
            ("normal-league sampling", self.audit),
            ("fraud handling", self.fraud),
            ("finality rounds", self.finality),
            ("atomix", self.atomix),
        ]
    }
}

/// How long a shard's rounds took on the shard's own thread: the demo's serial step per shard.
/// Everything a round does on that thread is serial for its shard; work it hands to the rayon
/// pool is not counted here.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoundTimes {
    pub rounds: u64,
    /// CPU time of the shard's thread inside its rounds.
    pub thread_cpu: Duration,
    /// Wall time of the rounds (CPU plus waiting for the pool, plus preemption).
    pub wall: Duration,
    pub wall_max: Duration,
    /// Rounds that took longer than the block interval (the next one then starts late).
    pub over_interval: u64,
}

impl RoundTimes {
    /// Counts one round that used `thread_cpu` and lasted `wall` against an `interval`.
    pub fn record(&mut self, thread_cpu: Duration, wall: Duration, interval: Duration) {
        self.rounds += 1;
        self.thread_cpu += thread_cpu;
        self.wall += wall;
        self.wall_max = self.wall_max.max(wall);
        self.over_interval += u64::from(wall > interval);
    }
}

/// A shard's counters.
#[derive(Clone, Debug, Default)]
pub struct ShardStats {
    pub timing: Timing,
    /// The shard's rounds on its own thread (real-time runs; in the simulator the times are of
    /// this machine, not of the virtual clock, and are not reported).
    pub round_times: RoundTimes,
    pub blocks: u64,
    /// (arrival, optimistic commit) per transaction, µs since the load started.
    pub optimistic: Vec<(u64, u64)>,
    /// (arrival, finality) per transaction.
    pub finals: Vec<(u64, u64)>,
    pub sig_checks_believable: u64,
    pub sig_checks_normal: u64,
    pub sig_checks_single_league: u64,
    pub sig_checks_recheck: u64,
    pub sig_checks_atomix: u64,
    pub sampled_txs: u64,
    /// Audits of a block that gave no verdict in time: the block or the verdict was lost, or
    /// the auditor was down.
    pub verdicts_missing: u64,
    /// Forgeries their clients did not send: the colluding validator had been expelled.
    pub forgeries_withheld: u64,
    /// Invalid transactions an honest validator dropped on arrival.
    pub dropped_invalid: u64,
    /// Transactions the UTXO rules refused (e.g. an input under a cross-shard lock).
    pub dropped_by_state: u64,
    /// Forged transactions a fraudulent validator put in its blocks.
    pub frauds_injected: u64,
    pub frauds_detected_by_sampling: u64,
    pub frauds_detected_by_recheck: u64,
    /// Forged transactions removed from a block before finality.
    pub frauds_excluded: u64,
    /// Forged transactions found finalized by the re-check after a conviction.
    pub frauds_found_finalized: u64,
    pub fraud_proofs_verified: u64,
    pub fraud_proof_bytes: usize,
    /// Validators slashed (hex ids).
    pub slashed: Vec<String>,
    pub seized: u64,
    /// Inputs minus outputs of finalized blocks (burned: transactions pay no one their fee).
    pub fees: u64,
    pub compensated: u64,
    pub equivocations_detected: u64,
    pub discarded_blocks: u64,
    pub finality_heights: u64,
    pub pbft_heights: u64,
    pub finality_faults: u64,
    /// Finality attempts that missed their deadline (the height is resumed next round).
    pub finality_retries: u64,
    /// Virtual ticks spent in finality, retries included.
    pub finality_virtual_ticks: u64,
    pub double_spends: u64,
    pub atomix_replays_refused: u64,
    pub atomix_errors: Vec<String>,
}

impl ShardStats {
    /// Transactions this shard refused for a counted reason: an invalid signature on arrival,
    /// the UTXO rules, excluded from a block as a fraud, withheld by their forger.
    pub fn refused(&self) -> u64 {
        self.dropped_invalid
            + self.dropped_by_state
            + self.frauds_excluded
            + self.forgeries_withheld
    }

    pub fn record_optimistic(&mut self, arrived: u64, at: u64) {
        self.optimistic.push((arrived, at));
    }

    pub fn record_final(&mut self, arrived: u64, at: u64) {
        self.finals.push((arrived, at));
    }
}
