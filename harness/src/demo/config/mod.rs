//! The demo's configuration: shape of the network, the offered load, and the faults to inject.
//! JSON with unknown fields refused; every value checked by [`DemoConfig::validate`].

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::sim_config::DemoSimulation;
use crate::backend_spec::BackendSpec;
use crate::config_kind::{self, ConfigKind};
use crate::pob::{MIN_NORMAL_LEAGUE, PolicyError, ShardingPolicy};

/// A fault injected into one shard.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The shard's first-drawn believable validator lets the shard's invalid transactions
    /// (forged signatures sent by colluding clients) into its optimistic blocks.
    Fraudulent { shard: u32 },
    /// The shard's first-drawn believable validator signs two different blocks for one height
    /// at its `block`-th block and shows each to half of the normal league.
    Equivocating { shard: u32, block: u64 },
    /// A member of the shard's normal league that is an inner node of the fast path's tree
    /// crashes before finality height `height`.
    SubLeaderCrash { shard: u32, height: u64 },
    /// A member of the shard's normal league sends its commitment at `height`, then stays
    /// silent for good.
    CommitThenSilent { shard: u32, height: u64 },
    /// The leader of finality height `height` crashes before it: the league changes view and
    /// finalizes with PBFT.
    LeaderCrash { shard: u32, height: u64 },
    /// One client of a cross-shard transaction crashes after its locks: the transaction is
    /// finished by recovery (a fresh client) one tick later.
    ClientCrashAfterLock { every: u64 },
    /// Every `every`-th cross-shard finish is delivered twice to its shards.
    ReplayAtomixProofs { every: u64 },
    /// Every `every`-th cross-shard transaction is double-spent: its owners also sign a second
    /// transaction spending the same inputs in both shards (paid to someone else), sent at once.
    CrossShardDoubleSpend { every: u64 },
}

impl Fault {
    pub fn shard(&self) -> Option<u32> {
        match *self {
            Fault::Fraudulent { shard }
            | Fault::Equivocating { shard, .. }
            | Fault::SubLeaderCrash { shard, .. }
            | Fault::CommitThenSilent { shard, .. }
            | Fault::LeaderCrash { shard, .. } => Some(shard),
            Fault::ClientCrashAfterLock { .. }
            | Fault::ReplayAtomixProofs { .. }
            | Fault::CrossShardDoubleSpend { .. } => None,
        }
    }
}

/// Everything `iosv demo` and `iosv simulate --config` need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// `"demo"` (see [`crate::config_kind`]): what makes `iosv simulate --config` run the demo.
    /// `iosv demo --config` accepts a file without it.
    #[serde(default = "demo_kind")]
    pub kind: ConfigKind,
    /// Shards (each with its own state, leagues and finality).
    pub shards: u32,
    /// Validators per shard, split each epoch into the two leagues by the policy.
    pub validators_per_shard: usize,
    /// Shards given fewer validators (`short_shard_validators`): too few for two leagues, they run
    /// one league that validates every transaction.
    #[serde(default)]
    pub short_shards: Vec<u32>,
    #[serde(default = "default_short")]
    pub short_shard_validators: usize,
    /// League sizes, sampling probability p, score weights, Servi rewards.
    pub policy: ShardingPolicy,
    /// Offered load, transactions per second, spread evenly over time (open loop).
    pub rate: f64,
    /// Measured seconds (after the warm-up).
    pub duration_s: f64,
    /// Seconds of load before measuring (excluded from the figures).
    pub warmup_s: f64,
    /// Fraction of transactions spending inputs of two shards (Atomix).
    pub cross_shard_fraction: f64,
    /// Fraction of transactions with a forged signature, sent to the shards with a fraudulent
    /// believable validator (which lets them through); honest validators drop them.
    pub invalid_fraction: f64,
    /// Whether colluding clients keep sending forgeries after their believable validator is
    /// expelled (to honest validators, who drop them at the cost of bisecting the batch that
    /// holds each). Off: they have no one left to let them through and stop.
    #[serde(default)]
    pub forgers_persist: bool,
    /// Wall-clock interval between a shard's block rounds, milliseconds.
    pub block_interval_ms: u64,
    /// Largest optimistic block, transactions.
    pub max_block_txs: usize,
    /// Accounts (signing keys) per shard, drawn with Zipf weights (exponent 1).
    pub accounts_per_shard: usize,
    /// One-way network latency per hop in the finality rounds, milliseconds (the rounds run on
    /// a virtual clock; their hops are added to the final latency).
    pub hop_ms: f64,
    #[serde(default)]
    pub faults: Vec<Fault>,
    pub seed: u64,
    /// The network and failures of a run in the deterministic simulator (`iosv simulate`);
    /// absent: the defaults of [`DemoSimulation`]. `iosv demo` ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulation: Option<DemoSimulation>,
    /// Where the shards verify their signatures: `"cpu"`, `"gpu"`, `"auto"` or
    /// `"remote:HOST:PORT[,…]"` (an `iosv serve` service; its client options are `iosv demo`'s
    /// flags), one verifier shared by every shard; absent: each league on the local CPU.
    /// `iosv demo --backend` overrides it (and the report's configuration says which ran);
    /// `iosv simulate` verifies on the CPU whatever it says (the verdicts are the same, the
    /// simulator's time is virtual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendSpec>,
    /// Client nodes (each on its own thread in real time) that release the workload and run
    /// the Atomix clients; shards are split among them (and cross-shard transactions by txid).
    /// Absent: in real time one per 8 cores (at least 1, at most one per shard); in the
    /// simulator 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_threads: Option<u32>,
}

fn demo_kind() -> ConfigKind {
    ConfigKind::Demo
}

fn default_short() -> usize {
    4
}

impl Default for DemoConfig {
    /// The README's demonstration: four shards of ten validators (three believable, seven
    /// normal, p = 0.02), 110,000 tx/s offered for 10 s after 2 s of warm-up, 2% cross-shard,
    /// one fraudulent believable validator letting forged transactions through.
    fn default() -> Self {
        DemoConfig {
            kind: ConfigKind::Demo,
            shards: 4,
            validators_per_shard: 10,
            short_shards: Vec::new(),
            short_shard_validators: default_short(),
            policy: ShardingPolicy {
                believable_league_size: 3,
                normal_league_size: 7,
                sampling_probability: 0.02,
                ..ShardingPolicy::default()
            },
            rate: 110_000.0,
            duration_s: 10.0,
            warmup_s: 2.0,
            cross_shard_fraction: 0.02,
            invalid_fraction: 0.0002,
            forgers_persist: false,
            block_interval_ms: 100,
            max_block_txs: 2_048,
            accounts_per_shard: 2_500,
            hop_ms: 1.0,
            faults: vec![Fault::Fraudulent { shard: 0 }],
            seed: 1,
            simulation: None,
            client_threads: None,
            backend: None,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0}")]
    Kind(String),
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("{name} = {value:?}: {why}")]
    Bad {
        name: &'static str,
        value: f64,
        why: &'static str,
    },
    #[error("fault {0:?} names shard {1}, but there are {2} shards")]
    FaultShard(Fault, u32, u32),
    #[error("short shard {0} does not exist ({1} shards)")]
    ShortShard(u32, u32),
    #[error(
        "validators_per_shard = {validators}: two leagues need believable_league_size + \
         normal_league_size = {needed} (list a shard in short_shards to run it as one league)"
    )]
    LeaguesDoNotFit { validators: usize, needed: usize },
    #[error(
        "short_shard_validators = {validators}: a shard needs at least {min} validators for \
         Byzantine agreement (3f + 1, f ≥ 1), and fewer than the {needed} two leagues need"
    )]
    ShortShardSize {
        validators: usize,
        min: usize,
        needed: usize,
    },
    #[error("fault {0:?} needs two leagues, but shard {1} is a short shard that runs one")]
    FaultNeedsLeagues(Fault, u32),
    #[error("not a demo configuration: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("not a demo configuration: a configuration is a JSON object")]
    NotAnObject,
}

fn check(name: &'static str, value: f64, ok: bool, why: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Bad { name, value, why })
    }
}

impl DemoConfig {
    /// The configured backend as its name says it (`cpu`, `gpu`, `auto`, `remote:…`), or "each
    /// league on the local CPU" when there is none.
    pub fn backend_name(&self) -> String {
        self.backend.as_ref().map_or_else(
            || "each league on the local CPU".to_string(),
            ToString::to_string,
        )
    }

    /// Parses a configuration from JSON and checks it ([`DemoConfig::validate`]).
    pub fn from_json(text: &str) -> Result<DemoConfig, ConfigError> {
        if !text.trim_start().starts_with('{') {
            return Err(ConfigError::NotAnObject);
        }
        let cfg: DemoConfig = serde_json::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field; the first fault is reported.
    pub fn validate(&self) -> Result<(), ConfigError> {
        config_kind::expect(self.kind, ConfigKind::Demo).map_err(ConfigError::Kind)?;
        self.policy.validate()?;
        let s = f64::from(self.shards);
        check("shards", s, (1..=64).contains(&self.shards), "1 to 64")?;
        check(
            "validators_per_shard",
            self.validators_per_shard as f64,
            (1..=64).contains(&self.validators_per_shard),
            "1 to 64",
        )?;
        check(
            "short_shard_validators",
            self.short_shard_validators as f64,
            (1..=64).contains(&self.short_shard_validators),
            "1 to 64",
        )?;
        check(
            "rate",
            self.rate,
            self.rate.is_finite() && (1.0..=10_000_000.0).contains(&self.rate),
            "1 to 10^7 transactions per second",
        )?;
        check(
            "duration_s",
            self.duration_s,
            self.duration_s.is_finite() && (0.1..=3_600.0).contains(&self.duration_s),
            "0.1 s to an hour",
        )?;
        check(
            "warmup_s",
            self.warmup_s,
            self.warmup_s.is_finite() && (0.0..=600.0).contains(&self.warmup_s),
            "0 to 600",
        )?;
        let total = (self.duration_s + self.warmup_s) * self.rate;
        check(
            "rate × (duration_s + warmup_s)",
            total,
            total <= 50_000_000.0,
            "at most 5·10^7 transactions (they are signed in advance)",
        )?;
        for (name, f) in [
            ("cross_shard_fraction", self.cross_shard_fraction),
            ("invalid_fraction", self.invalid_fraction),
        ] {
            check(name, f, (0.0..=1.0).contains(&f), "a fraction in [0, 1]")?;
        }
        check(
            "cross_shard_fraction",
            self.cross_shard_fraction,
            self.cross_shard_fraction == 0.0 || self.shards >= 2,
            "needs two shards",
        )?;
        check(
            "block_interval_ms",
            self.block_interval_ms as f64,
            (1..=10_000).contains(&self.block_interval_ms),
            "1 to 10000",
        )?;
        check(
            "max_block_txs",
            self.max_block_txs as f64,
            (1..=1 << 20).contains(&self.max_block_txs),
            "1 to 2^20",
        )?;
        check(
            "accounts_per_shard",
            self.accounts_per_shard as f64,
            (1..=1_000_000).contains(&self.accounts_per_shard),
            "1 to 10^6",
        )?;
        check(
            "hop_ms",
            self.hop_ms,
            self.hop_ms.is_finite() && (0.0..=10_000.0).contains(&self.hop_ms),
            "0 to 10000",
        )?;
        for fault in &self.faults {
            if let Some(shard) = fault.shard()
                && shard >= self.shards
            {
                return Err(ConfigError::FaultShard(*fault, shard, self.shards));
            }
            if let Fault::ClientCrashAfterLock { every }
            | Fault::ReplayAtomixProofs { every }
            | Fault::CrossShardDoubleSpend { every } = *fault
            {
                check("every", every as f64, every > 0, "positive")?;
            }
        }
        for &s in &self.short_shards {
            if s >= self.shards {
                return Err(ConfigError::ShortShard(s, self.shards));
            }
        }
        // A shard not listed as short must hold both leagues: otherwise the league draw falls
        // back to one league and faults that need the believable league silently vanish.
        let needed = self.policy.believable_league_size + self.policy.normal_league_size;
        if self.validators_per_shard < needed {
            return Err(ConfigError::LeaguesDoNotFit {
                validators: self.validators_per_shard,
                needed,
            });
        }
        if !self.short_shards.is_empty()
            && !(MIN_NORMAL_LEAGUE..needed).contains(&self.short_shard_validators)
        {
            return Err(ConfigError::ShortShardSize {
                validators: self.short_shard_validators,
                min: MIN_NORMAL_LEAGUE,
                needed,
            });
        }
        for fault in &self.faults {
            let needs_leagues = matches!(
                fault,
                Fault::Fraudulent { .. }
                    | Fault::Equivocating { .. }
                    | Fault::SubLeaderCrash { .. }
                    | Fault::CommitThenSilent { .. }
            );
            if let Some(shard) = fault.shard()
                && needs_leagues
                && self.short_shards.contains(&shard)
            {
                return Err(ConfigError::FaultNeedsLeagues(*fault, shard));
            }
        }
        if let Some(k) = self.client_threads
            && !(1..=self.shards).contains(&k)
        {
            return Err(ConfigError::Bad {
                name: "client_threads",
                value: f64::from(k),
                why: "1 to the number of shards",
            });
        }
        if let Some(sim) = &self.simulation {
            sim.validate(
                self.shards,
                self.client_threads.unwrap_or(1),
                self.validators_per_shard,
            )?;
        }
        Ok(())
    }

    /// Validators of shard `shard`.
    pub fn validators_of(&self, shard: u32) -> usize {
        if self.short_shards.contains(&shard) {
            self.short_shard_validators
        } else {
            self.validators_per_shard
        }
    }

    /// Whether `shard` has a fraudulent believable validator.
    pub fn fraudulent(&self, shard: u32) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(f, Fault::Fraudulent { shard: s } if *s == shard))
    }
}

#[cfg(test)]
mod tests;
