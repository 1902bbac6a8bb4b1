//! The network and the failures of a demo run in the deterministic simulator (`iosv simulate
//! --config demo.json`): the `"simulation"` section of a demo configuration. `iosv demo` (real
//! time) ignores it.
//!
//! Node ids of the simulated demo: shard `s` is node `s`; the client nodes follow (`shards`,
//! `shards + 1`, … for `client_threads` of them, 1 by default). The
//! links between them take `network` (and the partitions); inside each shard the normal league's
//! finality members talk over links with the same loss and duplication and a latency of one hop
//! (`hop_ms`), jitter in hops; `league_partitions` cut those links inside a league for a while;
//! `crashes` take normal-league members down and back.

use serde::{Deserialize, Serialize};

use super::config::ConfigError;
use crate::sim::config::{NetworkConfig, PartitionConfig};

/// A normal-league member that crashes (its finality member loses its volatile state) and maybe
/// comes back from its durable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberCrash {
    pub shard: u32,
    /// Index in the shard's normal league.
    pub member: u32,
    pub at_ms: u64,
    /// When it comes back (never if absent).
    #[serde(default)]
    pub restart_ms: Option<u64>,
}

/// A partition inside one shard's normal league: during `[start_ms, end_ms)` only members of the
/// same group (indices in the league; members in no group form one more group) exchange
/// finality messages. A split that leaves no side with 2f + 1 members stops finality until it
/// heals; the shard keeps producing, and the height waiting for finality is resumed each round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaguePartition {
    pub shard: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub groups: Vec<Vec<u32>>,
}

impl LeaguePartition {
    /// Whether the partition is on at `now_ms`.
    pub fn is_on(&self, now_ms: u64) -> bool {
        (self.start_ms..self.end_ms).contains(&now_ms)
    }
}

/// The `"simulation"` section of a demo configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSimulation {
    /// Links between the clients and the shards; loss and duplication also on finality links.
    pub network: NetworkConfig,
    pub partitions: Vec<PartitionConfig>,
    /// Partitions inside a shard's normal league (its finality links).
    pub league_partitions: Vec<LeaguePartition>,
    pub crashes: Vec<MemberCrash>,
    /// How long a sender waits for an acknowledgement before sending a packet again (the
    /// clients' and shards' reliable links over a lossy network), in milliseconds.
    pub retransmit_ms: u64,
}

impl Default for DemoSimulation {
    fn default() -> Self {
        DemoSimulation {
            network: NetworkConfig::default(),
            partitions: Vec::new(),
            league_partitions: Vec::new(),
            crashes: Vec::new(),
            retransmit_ms: 50,
        }
    }
}

fn bad(name: &'static str, value: f64, why: &'static str) -> ConfigError {
    ConfigError::Bad { name, value, why }
}

impl DemoSimulation {
    /// Checks the section against a run of `shards` shards and `clients` client nodes whose
    /// normal leagues have at most `normal` members.
    pub fn validate(&self, shards: u32, clients: u32, normal: usize) -> Result<(), ConfigError> {
        let n = &self.network;
        for (name, v, max) in [
            ("simulation.network.latency_ms", n.latency_ms, 60_000.0),
            ("simulation.network.jitter_ms", n.jitter_ms, 60_000.0),
            ("simulation.network.loss", n.loss, 0.5),
            ("simulation.network.duplicate", n.duplicate, 1.0),
        ] {
            if !v.is_finite() || !(0.0..=max).contains(&v) {
                return Err(bad(name, v, "out of range (loss at most 0.5)"));
            }
        }
        if !(1..=60_000).contains(&self.retransmit_ms) {
            return Err(bad(
                "simulation.retransmit_ms",
                self.retransmit_ms as f64,
                "1 ms to a minute",
            ));
        }
        for p in &self.partitions {
            if p.end_ms < p.start_ms || p.groups.iter().flatten().any(|&id| id >= shards + clients)
            {
                return Err(bad(
                    "simulation.partitions",
                    p.start_ms as f64,
                    "end before start, or a node id above the last client node's",
                ));
            }
        }
        for p in &self.league_partitions {
            if p.shard >= shards
                || p.end_ms < p.start_ms
                || p.groups.iter().flatten().any(|&m| m as usize >= normal)
            {
                return Err(bad(
                    "simulation.league_partitions",
                    p.start_ms as f64,
                    "no such shard, end before start, or no such normal-league member",
                ));
            }
        }
        for c in &self.crashes {
            if c.shard >= shards || c.member as usize >= normal {
                return Err(bad(
                    "simulation.crashes",
                    f64::from(c.member),
                    "no such shard or normal-league member",
                ));
            }
            if c.restart_ms.is_some_and(|r| r < c.at_ms) {
                return Err(bad(
                    "simulation.crashes",
                    c.at_ms as f64,
                    "restart before the crash",
                ));
            }
        }
        Ok(())
    }
}
