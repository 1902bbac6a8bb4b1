//! A ledger network: Atomix shards and client gateways as separate processes.
//!
//! Node ids: shards are `0..shards` (node `s` holds shard `s`'s UTXO set, locks, decisions and
//! outcomes, and its roster's CoSi keys), gateways follow (`shards..shards + gateways`). Every
//! transaction of the load — in-shard, cross-shard or forged (a theft only signature
//! verification catches, [`crate::demo::workload`]) — goes through Atomix: lock at each input
//! shard, a CoSi-signed decision back, finish at every shard concerned. A gateway submits its
//! share (arrival `t` goes to gateway `t mod gateways`) open-loop at the load's rate.
//!
//! What every process derives from the [`LedgerSpec`] alone, so that all agree without talking:
//! the shard map, the directory of rosters (public keys in the spec; each shard's seeds only in
//! its own key file) and the load (the demo's generator, seeded by the spec): its genesis outputs
//! per shard and its signed transactions with their arrival times.
//!
//! What this network is not yet (issue 19): a shard is one process standing for its whole
//! roster — it holds all its members' CoSi keys and signs its batches alone (the demo's
//! shared-replica model), where the protocol has believable and normal validators each
//! applying every block themselves.

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::{MemberKey, Registration, Roster};
use iosv_engine::tx::{Transaction, TxId};
use iosv_engine::utxo::ShardState;
use serde::{Deserialize, Serialize};

use super::config::Role;
use crate::atomix::{AtomixShard, AtomixTiming, Directory, ShardInfo, ShardMap};
use crate::demo::config::{DemoConfig, Fault};
use crate::demo::workload::{self, Kind, Workload};
use crate::node::{MICROS_PER_MS, NodeId, Time};

/// Transactions a ledger network's load may hold (every process keeps them all in memory).
pub const MAX_LOAD_TXS: f64 = 2_000_000.0;

/// The numbers of a ledger network: its shape and its load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    pub shards: u32,
    pub gateways: u32,
    /// CoSi roster members per shard (ByzCoin policy: `n − ⌊(n − 1)/3⌋` must sign).
    pub members_per_shard: usize,
    /// Seeds the load (keys of the accounts, genesis outputs, transactions).
    pub seed: u64,
    /// Offered transactions per second, all gateways together.
    pub rate: f64,
    /// How long the load lasts, in seconds.
    pub seconds: f64,
    pub cross_shard_fraction: f64,
    /// Forged transactions (signed by a thief, not by the owner): every shard must refuse them.
    pub invalid_fraction: f64,
    pub accounts_per_shard: usize,
    /// How often a shard signs its queued decisions, in milliseconds.
    pub seal_every_ms: u64,
    /// How often a gateway asks again for what is missing, in milliseconds.
    pub retry_every_ms: u64,
}

impl Default for LedgerParams {
    fn default() -> Self {
        LedgerParams {
            shards: 2,
            gateways: 2,
            members_per_shard: 4,
            seed: 1,
            rate: 1_000.0,
            seconds: 5.0,
            cross_shard_fraction: 0.1,
            invalid_fraction: 0.01,
            accounts_per_shard: 1_000,
            seal_every_ms: 5,
            retry_every_ms: 500,
        }
    }
}

/// A shard's roster members' CoSi seeds, in roster order (secret to the shard's process).
pub type ShardSeeds = Vec<[u8; 32]>;

/// A roster member as the directory lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterEntry {
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
    #[serde(with = "hex::serde")]
    pub proof_of_possession: [u8; 64],
}

/// A ledger network as every member's configuration carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSpec {
    pub params: LedgerParams,
    /// Each shard's CoSi roster, in shard order.
    pub rosters: Vec<Vec<RosterEntry>>,
}

fn in_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<(), String> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("ledger: {name} = {value}: expected {lo} to {hi}"))
    }
}

impl LedgerParams {
    /// Checks every number against what a network can run (before anything is allocated).
    pub fn validate(&self) -> Result<(), String> {
        in_range("shards", self.shards as f64, 1.0, 64.0)?;
        in_range("gateways", self.gateways as f64, 1.0, 64.0)?;
        in_range(
            "members_per_shard",
            self.members_per_shard as f64,
            1.0,
            32.0,
        )?;
        in_range("rate", self.rate, 1.0, 1e6)?;
        in_range("seconds", self.seconds, 0.001, 3_600.0)?;
        in_range(
            "rate × seconds",
            self.rate * self.seconds,
            1.0,
            MAX_LOAD_TXS,
        )?;
        in_range("cross_shard_fraction", self.cross_shard_fraction, 0.0, 1.0)?;
        in_range("invalid_fraction", self.invalid_fraction, 0.0, 1.0)?;
        in_range(
            "cross_shard_fraction + invalid_fraction",
            self.cross_shard_fraction + self.invalid_fraction,
            0.0,
            1.0,
        )?;
        in_range(
            "accounts_per_shard",
            self.accounts_per_shard as f64,
            1.0,
            100_000.0,
        )?;
        in_range("seal_every_ms", self.seal_every_ms as f64, 1.0, 60_000.0)?;
        in_range("retry_every_ms", self.retry_every_ms as f64, 1.0, 600_000.0)?;
        Ok(())
    }

    /// Nodes of the network: shards and gateways.
    pub fn nodes(&self) -> usize {
        (self.shards + self.gateways) as usize
    }

    pub fn timing(&self) -> AtomixTiming {
        AtomixTiming {
            seal_every: self.seal_every_ms * MICROS_PER_MS,
            retry_every: self.retry_every_ms * MICROS_PER_MS,
        }
    }

    /// The demo's load generator configured for this network (no warm-up: every transaction
    /// counts; forged transactions are sent to shard 0, the demo's fraudulent shard).
    fn demo_config(&self) -> DemoConfig {
        DemoConfig {
            shards: self.shards,
            rate: self.rate,
            duration_s: self.seconds,
            warmup_s: 0.0,
            cross_shard_fraction: self.cross_shard_fraction,
            invalid_fraction: self.invalid_fraction,
            accounts_per_shard: self.accounts_per_shard,
            faults: vec![Fault::Fraudulent { shard: 0 }],
            seed: self.seed,
            ..DemoConfig::default()
        }
    }

    /// The load: genesis outputs per shard and the signed transactions in arrival order.
    pub fn workload(&self) -> Workload {
        workload::generate(&self.demo_config(), &|_| {})
    }
}

/// One transaction of a gateway's share.
#[derive(Clone, Debug)]
pub struct Scheduled {
    /// Microseconds after the load's start.
    pub at: Time,
    pub kind: Kind,
    pub tx: Transaction,
}

/// Gateway `gateway`'s share of `load` (arrival `t` goes to gateway `t mod gateways`).
pub fn share(load: &Workload, gateway: u32, gateways: u32) -> Vec<Scheduled> {
    load.arrivals
        .iter()
        .enumerate()
        .filter(|(t, _)| *t as u64 % u64::from(gateways) == u64::from(gateway))
        .map(|(_, a)| Scheduled {
            at: a.at_us,
            kind: a.kind,
            tx: a.tx.clone(),
        })
        .collect()
}

/// Gateway `gateway`'s schedule as a paced client takes it, recording each transaction's time
/// and kind in `scheduled` (for latencies).
pub fn schedule(
    load: &Workload,
    gateway: u32,
    gateways: u32,
    scheduled: &mut std::collections::HashMap<TxId, (Time, Kind)>,
) -> Vec<(Time, Transaction)> {
    share(load, gateway, gateways)
        .into_iter()
        .map(|s| {
            scheduled.insert(s.tx.txid(), (s.at, s.kind));
            (s.at, s.tx)
        })
        .collect()
}

/// The txids of `load`'s forged transactions (none may commit).
pub fn forged(load: &Workload) -> std::collections::BTreeSet<TxId> {
    load.arrivals
        .iter()
        .filter(|a| a.kind == Kind::Invalid)
        .map(|a| a.txid)
        .collect()
}

impl LedgerSpec {
    /// A spec for `params` with fresh roster seeds from the OS: the spec and each shard's seeds.
    pub fn generate(params: LedgerParams) -> Result<(LedgerSpec, Vec<ShardSeeds>), String> {
        params.validate()?;
        let seeds: Vec<ShardSeeds> = (0..params.shards)
            .map(|_| {
                (0..params.members_per_shard)
                    .map(|_| rand::random())
                    .collect()
            })
            .collect();
        let rosters = seeds
            .iter()
            .map(|shard| {
                shard
                    .iter()
                    .map(|seed| {
                        let reg = MemberKey::from_seed(seed).registration();
                        RosterEntry {
                            public_key: reg.public_key,
                            proof_of_possession: reg.proof_of_possession,
                        }
                    })
                    .collect()
            })
            .collect();
        Ok((LedgerSpec { params, rosters }, seeds))
    }

    /// Checks the spec and that node `id` of a roster of `members` can have `role` in it.
    pub fn validate(&self, role: Role, id: NodeId, members: usize) -> Result<(), String> {
        let p = &self.params;
        p.validate()?;
        if members != p.nodes() {
            return Err(format!(
                "ledger: {} shards and {} gateways need {} members, the roster has {members}",
                p.shards,
                p.gateways,
                p.nodes()
            ));
        }
        if self.rosters.len() != p.shards as usize
            || self.rosters.iter().any(|r| r.len() != p.members_per_shard)
        {
            return Err(format!(
                "ledger: expected {} rosters of {} members",
                p.shards, p.members_per_shard
            ));
        }
        let is_shard = id < p.shards;
        match role {
            Role::Shard if !is_shard => Err(format!("node {id} is a gateway's id, not a shard's")),
            Role::Gateway if is_shard => Err(format!("node {id} is a shard's id, not a gateway's")),
            Role::Finality => Err("a finality member is not part of a ledger network".into()),
            _ => Ok(()),
        }
    }

    /// Shard `shard`'s roster, built as every verifier builds it (proofs of possession checked).
    fn roster(&self, shard: u32) -> Result<Roster, String> {
        let regs: Vec<Registration> = self.rosters[shard as usize]
            .iter()
            .map(|e| Registration {
                public_key: e.public_key,
                proof_of_possession: e.proof_of_possession,
            })
            .collect();
        Roster::from_registrations(&regs)
            .map_err(|e| format!("ledger: shard {shard}'s roster does not register: {e}"))
    }

    /// The directory every node verifies proofs against.
    pub fn directory(&self) -> Result<Directory, String> {
        let mut dir = Directory::new();
        for shard in 0..self.params.shards {
            dir.update(ShardInfo::new(
                shard,
                0,
                self.roster(shard)?,
                Policy::ByzCoin,
            ));
        }
        Ok(dir)
    }

    /// Checks that `seeds` are shard `shard`'s roster members' seeds, in order.
    pub fn check_roster_seeds(&self, shard: u32, seeds: &[[u8; 32]]) -> Result<(), String> {
        let roster = &self.rosters[shard as usize];
        if seeds.len() != roster.len() {
            return Err(format!(
                "{} seeds for a roster of {}",
                seeds.len(),
                roster.len()
            ));
        }
        for (i, (seed, entry)) in seeds.iter().zip(roster).enumerate() {
            if MemberKey::from_seed(seed).registration().public_key != entry.public_key {
                return Err(format!("seed {i} is not roster member {i}'s key"));
            }
        }
        Ok(())
    }

    /// Shard `shard` at genesis, signing with `seeds` (its roster's, checked).
    pub fn genesis_shard(
        &self,
        shard: u32,
        seeds: &[[u8; 32]],
        load: &Workload,
    ) -> Result<AtomixShard, String> {
        self.check_roster_seeds(shard, seeds)?;
        let state = ShardState::genesis(&load.genesis[shard as usize])
            .map_err(|e| format!("shard {shard}'s genesis: {e}"))?;
        let keys = seeds.iter().map(MemberKey::from_seed).collect();
        AtomixShard::new(
            shard,
            ShardMap::new(self.params.shards),
            Policy::ByzCoin,
            keys,
            state,
        )
        .map_err(|e| format!("shard {shard}: {e}"))
    }
}
