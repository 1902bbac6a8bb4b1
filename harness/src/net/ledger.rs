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
//! Two models of a shard. By default one process stands for its whole roster — it holds all its
//! members' CoSi keys and signs its batches alone (the demo's shared-replica model). With
//! [`LedgerParams::cosigned`] every validator is a process: the shard's node is its leader
//! (roster member 0, the believable validator that decides), and the other members are
//! co-signer processes (ids after the gateways, shard by shard) that apply every entry of the
//! leader's journal to their own replica and co-sign, each with its own key, only what they
//! checked ([`crate::atomix::cosigning`]).

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::{MemberKey, Registration, Roster};
use iosv_engine::tx::{Transaction, TxId};
use iosv_engine::utxo::ShardState;
use serde::{Deserialize, Serialize};

use super::config::Role;
use std::collections::BTreeMap;

use crate::atomix::{AtomixShard, AtomixTiming, Directory, ShardInfo, ShardMap, Succession};
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
    /// Every validator a process: a shard's node is its leader (roster member 0, which
    /// decides) holding only its own CoSi key, and each other roster member is a co-signer
    /// process applying every entry of the leader's journal to its own replica and signing
    /// what it checked ([`crate::atomix::cosigning`]). Off: one process per shard holds its
    /// whole roster's keys (the demo's shared-replica model).
    #[serde(default)]
    pub cosigned: bool,
    /// With `cosigned`, how long a co-signing round waits for the members, in milliseconds.
    #[serde(default = "default_round_timeout_ms")]
    pub round_timeout_ms: u64,
    /// This shard's leader decides without checking signatures (a fraudulent believable
    /// validator); its co-signers must catch it.
    #[serde(default)]
    pub fraudulent_shard: Option<u32>,
}

fn default_round_timeout_ms() -> u64 {
    50
}

/// Where a node of a ledger network stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The node of shard `0` (its leader, roster member 0, when co-signed).
    Shard(u32),
    /// Gateway `0` (counted from 0).
    Gateway(u32),
    /// Roster member `index` (1..) of shard `shard`, a co-signer.
    Cosigner { shard: u32, index: usize },
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
            cosigned: false,
            round_timeout_ms: default_round_timeout_ms(),
            fraudulent_shard: None,
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
        in_range(
            "round_timeout_ms",
            self.round_timeout_ms as f64,
            1.0,
            600_000.0,
        )?;
        if let Some(shard) = self.fraudulent_shard
            && shard >= self.shards
        {
            return Err(format!(
                "ledger: fraudulent_shard {shard} of {} shards",
                self.shards
            ));
        }
        in_range("nodes", self.nodes() as f64, 1.0, 1_000.0)?;
        Ok(())
    }

    /// Co-signer processes per shard (none unless `cosigned`).
    fn cosigners_per_shard(&self) -> usize {
        if self.cosigned {
            self.members_per_shard - 1
        } else {
            0
        }
    }

    /// Processes in the network: shards, gateways, then co-signers shard by shard.
    pub fn nodes(&self) -> usize {
        (self.shards + self.gateways) as usize + self.shards as usize * self.cosigners_per_shard()
    }

    /// Where node `id` stands, if it is one of the network's.
    pub fn place(&self, id: NodeId) -> Option<Place> {
        let (shards, gateways) = (self.shards, self.gateways);
        if id < shards {
            return Some(Place::Shard(id));
        }
        if id < shards + gateways {
            return Some(Place::Gateway(id - shards));
        }
        let k = (id - shards - gateways) as usize;
        let per = self.cosigners_per_shard();
        (per > 0 && k < shards as usize * per).then(|| Place::Cosigner {
            shard: (k / per) as u32,
            index: k % per + 1,
        })
    }

    /// The node of roster member `index` of `shard`: the shard's own node for member 0 (and for
    /// every member when not `cosigned`).
    pub fn member_node(&self, shard: u32, index: usize) -> NodeId {
        let per = self.cosigners_per_shard();
        if index == 0 || per == 0 {
            return shard;
        }
        self.shards + self.gateways + (shard as usize * per + index - 1) as NodeId
    }

    /// The roster-ordered nodes of `shard`'s members (with `cosigned`).
    pub fn member_nodes(&self, shard: u32) -> Vec<NodeId> {
        (0..self.members_per_shard)
            .map(|i| self.member_node(shard, i))
            .collect()
    }

    /// Who may lead `shard` after a conviction, and who hears of it (the gateways).
    pub fn succession(&self, shard: u32) -> Succession {
        Succession {
            roster_nodes: self.member_nodes(shard),
            clients: (self.shards..self.shards + self.gateways).collect(),
            timing: self.timing(),
            round_timeout: self.round_timeout_ms * MICROS_PER_MS,
        }
    }

    /// Every shard's members' nodes, for a gateway to weigh conviction notices (none when the
    /// shards are not co-signed: no member can give notice).
    pub fn roster_nodes(&self) -> BTreeMap<u32, Vec<NodeId>> {
        if !self.cosigned {
            return BTreeMap::new();
        }
        (0..self.shards)
            .map(|s| (s, self.member_nodes(s)))
            .collect()
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
                "ledger: {} shards, {} gateways and {} co-signers need {} members, the roster has {members}",
                p.shards,
                p.gateways,
                p.nodes() - (p.shards + p.gateways) as usize,
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
        let expected = match p.place(id) {
            Some(Place::Shard(_)) => Role::Shard,
            Some(Place::Gateway(_)) => Role::Gateway,
            Some(Place::Cosigner { .. }) => Role::Cosigner,
            None => return Err(format!("ledger: node {id} is not one of its nodes")),
        };
        if role != expected {
            return Err(format!(
                "node {id} is a {expected:?}'s id, not a {role:?}'s"
            ));
        }
        Ok(())
    }

    /// Shard `shard`'s roster, built as every verifier builds it (proofs of possession checked).
    pub fn roster(&self, shard: u32) -> Result<Roster, String> {
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

    /// Checks that `seed` is roster member `index` of `shard`'s key.
    pub fn check_member_seed(
        &self,
        shard: u32,
        index: usize,
        seed: &[u8; 32],
    ) -> Result<(), String> {
        let entry = self.rosters[shard as usize]
            .get(index)
            .ok_or_else(|| format!("shard {shard} has no roster member {index}"))?;
        if MemberKey::from_seed(seed).registration().public_key != entry.public_key {
            return Err(format!(
                "the seed is not shard {shard}'s roster member {index}'s key"
            ));
        }
        Ok(())
    }

    /// Shard `shard` at genesis as a replica holding no roster keys (a co-signed shard's
    /// leader or co-signer, or a check rebuilding a journal).
    pub fn genesis_replica(&self, shard: u32, load: &Workload) -> Result<AtomixShard, String> {
        let state = ShardState::genesis(&load.genesis[shard as usize])
            .map_err(|e| format!("shard {shard}'s genesis: {e}"))?;
        Ok(AtomixShard::replica(
            shard,
            ShardMap::new(self.params.shards),
            Policy::ByzCoin,
            self.roster(shard)?,
            state,
        ))
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
