//! The simulation's configuration (serde JSON): validators, shards, Δ, the network, partitions,
//! crashes, faults, TransEpoch and the shard workload. Every field has a default; unknown fields
//! are an error, so a typo does not silently run a different simulation. `iosv simulate
//! --print-config` prints the defaults. An example:
//!
//! ```json
//! {
//!   "validators": 24, "shards": 3, "delta_ms": 100, "max_views": 3,
//!   "network": {"latency_ms": 10, "jitter_ms": 5, "loss": 0.0, "duplicate": 0.0},
//!   "links": [{"from": 0, "to": 1, "latency_ms": 40, "jitter_ms": 10, "loss": 0.05}],
//!   "partitions": [{"start_ms": 2500, "end_ms": 3300, "groups": [[0, 1, 2]]}],
//!   "crashes": [{"node": 5, "at_ms": 1000, "restart_ms": 3300}],
//!   "faults": [{"node": 7, "behavior": "withhold"}, {"node": 9, "behavior": "late_lottery"}],
//!   "transepoch": {"batch_size": 1, "sync_ms": 100},
//!   "workload": {"slot_ms": 50, "tx_per_block": 4, "slice_ms": 100}
//! }
//! ```
//!
//! Behaviours: `honest`, `withhold`, `invalid_lottery`, `duplicate_lottery`, `late_lottery`,
//! `wrong_epoch_lottery`, `corrupt_announcement`. Nodes in no group of a partition form one more
//! group together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::network::{LinkModel, Partition};
use crate::config_kind::{self, ConfigKind};
use crate::epoch::{Behavior, EpochParams};
use crate::node::{MICROS_PER_MS, NodeId};

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Always `"simulation"` (see [`crate::config_kind`]); may be left out.
    pub kind: ConfigKind,
    pub validators: u32,
    pub shards: u32,
    /// Δ in milliseconds.
    pub delta_ms: u64,
    /// Epoch length in milliseconds (default: 24Δ).
    pub epoch_len_ms: Option<u64>,
    /// Views an epoch may try (each 4Δ).
    pub max_views: u32,
    pub network: NetworkConfig,
    pub links: Vec<LinkConfig>,
    pub partitions: Vec<PartitionConfig>,
    pub crashes: Vec<CrashConfig>,
    pub faults: Vec<FaultConfig>,
    pub transepoch: TransEpochConfig,
    pub workload: WorkloadConfig,
    /// Which protocol the elected leader runs for the epoch's randomness.
    pub randomness: RandomnessKind,
}

/// The epoch randomness protocol of a simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RandomnessKind {
    /// The pre-DRP placeholder: a leader-signed value certified by two thirds (fast, predictable).
    #[default]
    Placeholder,
    /// The Distributed Randomness Protocol (`crate::drp`): PVSS dealings, a CoSi-signed choice,
    /// DLEQ-checked decryption. Needs Δ to cover about nine one-way message delays.
    Drp,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            kind: ConfigKind::Simulation,
            validators: 16,
            shards: 2,
            delta_ms: 100,
            epoch_len_ms: None,
            max_views: 3,
            network: NetworkConfig::default(),
            links: Vec::new(),
            partitions: Vec::new(),
            crashes: Vec::new(),
            faults: Vec::new(),
            transepoch: TransEpochConfig::default(),
            workload: WorkloadConfig::default(),
            randomness: RandomnessKind::Placeholder,
        }
    }
}

impl SimConfig {
    /// Parses a configuration from JSON (unknown fields refused, defaults filled in) and checks
    /// it ([`SimConfig::validate`]).
    pub fn from_json(text: &str) -> Result<SimConfig, ConfigError> {
        if !text.trim_start().starts_with('{') {
            return Err(ConfigError::Parse(
                "a configuration is a JSON object".into(),
            ));
        }
        let cfg: SimConfig =
            serde_json::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// What `iosv simulate` runs without `--config`: the default system with the real DRP, and a
    /// Δ of 400 ms so that a DRP session (about nine one-way delays of 10 ± 5 ms, plus the leader's
    /// phase timers) fits in a candidate's window.
    pub fn with_drp() -> SimConfig {
        SimConfig {
            delta_ms: 400,
            randomness: RandomnessKind::Drp,
            ..SimConfig::default()
        }
    }
}

/// The default link.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    pub latency_ms: f64,
    pub jitter_ms: f64,
    pub loss: f64,
    /// Probability that a delivered message arrives twice (absent: 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicate: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            latency_ms: 10.0,
            jitter_ms: 5.0,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// An override for the directed link `from → to`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    pub from: NodeId,
    pub to: NodeId,
    pub latency_ms: f64,
    #[serde(default)]
    pub jitter_ms: f64,
    #[serde(default)]
    pub loss: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicate: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    pub start_ms: u64,
    pub end_ms: u64,
    pub groups: Vec<Vec<NodeId>>,
}

impl PartitionConfig {
    /// The partition in simulator units.
    pub fn partition(&self) -> Partition {
        Partition {
            start: self.start_ms * MICROS_PER_MS,
            end: self.end_ms * MICROS_PER_MS,
            groups: self.groups.clone(),
        }
    }
}

impl NetworkConfig {
    /// The link in simulator units, checked (loss and duplication in [0, 1], times finite and
    /// non-negative).
    pub fn link_model(&self) -> Result<LinkModel, ConfigError> {
        link(self.latency_ms, self.jitter_ms, self.loss, self.duplicate)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashConfig {
    pub node: NodeId,
    pub at_ms: u64,
    /// When it comes back (never if absent).
    #[serde(default)]
    pub restart_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    pub node: NodeId,
    pub behavior: Behavior,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransEpochConfig {
    /// Validators moved out of / into a shard per batch (default: a sixth of a shard). A third of
    /// a shard or more is refused.
    pub batch_size: Option<u32>,
    /// How long a joining validator takes to sync its new shard, in milliseconds.
    pub sync_ms: u64,
}

impl Default for TransEpochConfig {
    fn default() -> Self {
        Self {
            batch_size: None,
            sync_ms: 100,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// A shard commits a block every slot.
    pub slot_ms: u64,
    pub tx_per_block: u32,
    /// Width of a time slice in the throughput series.
    pub slice_ms: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            slot_ms: 50,
            tx_per_block: 4,
            slice_ms: 100,
        }
    }
}

/// Why a configuration cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Kind(String),
    #[error("need at least 4 validators, got {0}")]
    TooFewValidators(u32),
    #[error(
        "need between 1 and validators/4 shards (at least 4 members each), got {shards} for {validators}"
    )]
    Shards { shards: u32, validators: u32 },
    #[error("node {0} named in the configuration is not a validator")]
    UnknownNode(NodeId),
    #[error("node {0} has two faults")]
    TwoFaults(NodeId),
    #[error("{0} must be positive")]
    Zero(&'static str),
    #[error("{0} must be a finite non-negative number (loss and duplicate at most 1)")]
    BadNumber(&'static str),
    #[error("partition {0} ends before it starts")]
    PartitionOrder(usize),
    #[error("crash of node {0} restarts before it crashes")]
    CrashOrder(NodeId),
    #[error(transparent)]
    Params(#[from] crate::epoch::ParamsError),
    #[error("node {0}: the corrupt_announcement fault exists only with the placeholder protocol")]
    FaultNeedsPlaceholder(NodeId),
    #[error("{name} = {value} is outside {min} to {max}")]
    OutOfRange {
        name: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    #[error(
        "epochs = {epochs}: the run would keep about {estimate_mb} MB, over the budget of 512 MiB; \
         this configuration fits 1 to {fit} epochs (fewer validators or workload.tx_per_block fit more)"
    )]
    Budget {
        epochs: u64,
        estimate_mb: u64,
        fit: u64,
    },
    #[error("not a simulation configuration: {0}")]
    Parse(String),
}

fn micros(ms: f64, name: &'static str) -> Result<u64, ConfigError> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(ConfigError::BadNumber(name));
    }
    Ok((ms * MICROS_PER_MS as f64).round() as u64)
}

fn link(
    latency_ms: f64,
    jitter_ms: f64,
    loss: f64,
    duplicate: f64,
) -> Result<LinkModel, ConfigError> {
    if !(0.0..=1.0).contains(&loss) {
        return Err(ConfigError::BadNumber("loss"));
    }
    if !(0.0..=1.0).contains(&duplicate) {
        return Err(ConfigError::BadNumber("duplicate"));
    }
    Ok(LinkModel {
        latency: micros(latency_ms, "latency_ms")?,
        jitter: micros(jitter_ms, "jitter_ms")?,
        loss,
        duplicate,
    })
}

/// Most validators a simulation holds (each keeps a roster and its messages; see
/// [`SimConfig::memory_estimate`]).
pub const MAX_VALIDATORS: u64 = 1024;
/// Longest Δ: a minute (an epoch is 24Δ by default).
pub const MAX_DELTA_MS: u64 = 60_000;
/// Most views per epoch.
pub const MAX_VIEWS: u64 = 64;
/// Most transactions per shard block of the workload.
pub const MAX_TX_PER_BLOCK: u64 = 100_000;
/// Memory a simulation may plan to use for what it records (trace records, blocks, messages):
/// runs whose [`SimConfig::memory_estimate`] is above it are refused before they start.
pub const MEMORY_BUDGET_BYTES: f64 = 512.0 * 1024.0 * 1024.0;

impl SimConfig {
    /// An upper estimate of the bytes a run of `epochs` epochs keeps, from measurements on the
    /// development machine (2026-12-04, `/usr/bin/time` maximum RSS): about 5 KB per pair of
    /// validators per epoch (16 validators: 1.3 MB per epoch; 64: 10 MB) and about 800 bytes per
    /// workload transaction (400 per block: 110 MB per epoch), plus a fixed 16 MB.
    pub fn memory_estimate(&self, epochs: u64) -> f64 {
        let params = self.epoch_params();
        let slot_us = (self.workload.slot_ms.max(1) * MICROS_PER_MS) as f64;
        let slots_per_epoch = params.epoch_len as f64 / slot_us;
        let txs_per_epoch =
            slots_per_epoch * f64::from(self.shards) * f64::from(self.workload.tx_per_block);
        let v = f64::from(self.validators);
        16.0 * 1024.0 * 1024.0 + epochs as f64 * (5_000.0 * v * v + 800.0 * txs_per_epoch)
    }

    /// Refuses a run of `epochs` epochs whose [`SimConfig::memory_estimate`] is over
    /// [`MEMORY_BUDGET_BYTES`].
    pub fn check_budget(&self, epochs: u64) -> Result<(), ConfigError> {
        let estimate = self.memory_estimate(epochs);
        let per_epoch = self.memory_estimate(1) - self.memory_estimate(0);
        let fit = ((MEMORY_BUDGET_BYTES - self.memory_estimate(0)) / per_epoch).floor();
        if epochs == 0 {
            return Err(ConfigError::OutOfRange {
                name: "epochs",
                value: 0,
                min: 1,
                max: fit.clamp(0.0, u64::MAX as f64) as u64,
            });
        }
        if estimate > MEMORY_BUDGET_BYTES {
            return Err(ConfigError::Budget {
                epochs,
                estimate_mb: (estimate / 1e6).round() as u64,
                fit: fit.clamp(0.0, u64::MAX as f64) as u64,
            });
        }
        Ok(())
    }

    pub fn epoch_params(&self) -> EpochParams {
        let delta = self.delta_ms * MICROS_PER_MS;
        EpochParams {
            delta,
            epoch_len: self
                .epoch_len_ms
                .map_or(24 * delta, |ms| ms.saturating_mul(MICROS_PER_MS)),
            max_views: self.max_views,
        }
    }

    pub fn behavior_of(&self, node: NodeId) -> Behavior {
        self.faults
            .iter()
            .find(|f| f.node == node)
            .map_or(Behavior::Honest, |f| f.behavior)
    }

    /// Checks the configuration and returns the default link, the link overrides and the
    /// partitions in simulator units.
    #[allow(clippy::type_complexity)]
    pub fn network_model(
        &self,
    ) -> Result<
        (
            LinkModel,
            BTreeMap<(NodeId, NodeId), LinkModel>,
            Vec<Partition>,
        ),
        ConfigError,
    > {
        self.validate()?;
        let n = &self.network;
        let default = n.link_model()?;
        let mut links = BTreeMap::new();
        for l in &self.links {
            links.insert(
                (l.from, l.to),
                link(l.latency_ms, l.jitter_ms, l.loss, l.duplicate)?,
            );
        }
        let partitions = self
            .partitions
            .iter()
            .map(PartitionConfig::partition)
            .collect();
        Ok((default, links, partitions))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        config_kind::expect(self.kind, ConfigKind::Simulation).map_err(ConfigError::Kind)?;
        let v = self.validators;
        if v < 4 {
            return Err(ConfigError::TooFewValidators(v));
        }
        for (name, value, max) in [
            ("validators", u64::from(v), MAX_VALIDATORS),
            ("delta_ms", self.delta_ms, MAX_DELTA_MS),
            ("max_views", u64::from(self.max_views), MAX_VIEWS),
            (
                "workload.tx_per_block",
                u64::from(self.workload.tx_per_block),
                MAX_TX_PER_BLOCK,
            ),
        ] {
            if value > max {
                return Err(ConfigError::OutOfRange {
                    name,
                    value,
                    min: 0,
                    max,
                });
            }
        }
        if self.shards == 0 || self.shards > v / 4 {
            return Err(ConfigError::Shards {
                shards: self.shards,
                validators: v,
            });
        }
        for (name, value) in [
            ("delta_ms", self.delta_ms),
            ("workload.slot_ms", self.workload.slot_ms),
            ("workload.slice_ms", self.workload.slice_ms),
            ("transepoch.sync_ms", self.transepoch.sync_ms),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        self.epoch_params().validate()?;
        if self.randomness == RandomnessKind::Drp
            && let Some(f) = self
                .faults
                .iter()
                .find(|f| f.behavior == Behavior::CorruptAnnouncement)
        {
            return Err(ConfigError::FaultNeedsPlaceholder(f.node));
        }
        let known = |node: NodeId| {
            if node < v {
                Ok(())
            } else {
                Err(ConfigError::UnknownNode(node))
            }
        };
        for l in &self.links {
            known(l.from)?;
            known(l.to)?;
        }
        for (i, p) in self.partitions.iter().enumerate() {
            if p.end_ms < p.start_ms {
                return Err(ConfigError::PartitionOrder(i));
            }
            p.groups.iter().flatten().try_for_each(|&n| known(n))?;
        }
        for c in &self.crashes {
            known(c.node)?;
            if c.restart_ms.is_some_and(|r| r < c.at_ms) {
                return Err(ConfigError::CrashOrder(c.node));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            known(f.node)?;
            if self.faults[..i].iter().any(|g| g.node == f.node) {
                return Err(ConfigError::TwoFaults(f.node));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses_and_validates() {
        let doc = include_str!("config.rs");
        let start = doc.find("```json").expect("example") + "```json".len();
        let end = start + doc[start..].find("```").expect("end of example");
        let json: String = doc[start..end]
            .lines()
            .map(|l| l.trim_start().trim_start_matches("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        let cfg: SimConfig = serde_json::from_str(&json).expect("example parses");
        cfg.validate().expect("example is valid");
        assert_eq!(cfg.behavior_of(7), Behavior::Withhold);
        assert_eq!(cfg.behavior_of(8), Behavior::Honest);
    }

    #[test]
    fn invalid_configurations_are_typed_errors() {
        let base = SimConfig::default();
        let with = |f: &dyn Fn(&mut SimConfig)| {
            let mut c = base.clone();
            f(&mut c);
            c.network_model().err()
        };
        assert_eq!(
            with(&|c| c.validators = 3),
            Some(ConfigError::TooFewValidators(3))
        );
        assert!(matches!(
            with(&|c| c.shards = 5),
            Some(ConfigError::Shards { .. })
        ));
        assert_eq!(
            with(&|c| c.delta_ms = 0),
            Some(ConfigError::Zero("delta_ms"))
        );
        assert_eq!(
            with(&|c| c.network.loss = 1.5),
            Some(ConfigError::BadNumber("loss"))
        );
        assert_eq!(
            with(&|c| c.network.latency_ms = f64::NAN),
            Some(ConfigError::BadNumber("latency_ms"))
        );
        assert!(matches!(
            with(&|c| c.epoch_len_ms = Some(100)),
            Some(ConfigError::Params(_))
        ));
        assert_eq!(
            with(&|c| c.faults.push(FaultConfig {
                node: 16,
                behavior: Behavior::Withhold
            })),
            Some(ConfigError::UnknownNode(16))
        );
        assert_eq!(
            with(&|c| c.crashes.push(CrashConfig {
                node: 1,
                at_ms: 5,
                restart_ms: Some(4)
            })),
            Some(ConfigError::CrashOrder(1))
        );
        assert_eq!(base.network_model().err(), None);
    }
}
