//! The believable-first demo in the deterministic simulator (`iosv simulate --config demo.json`):
//! the same shards, rounds, clients, audits, fraud handling, finality and Atomix as the real-time
//! run, on one virtual clock, over the simulated network, with one trace.
//!
//! Nodes (`crate::node::Node`s on `crate::sim::Simulator`): shard `s` is node `s` — its
//! `DemoShard` (the shared-replica model of `demo::shard`: believable production, normal-league
//! sampling, penalties, its side of Atomix) running a round every `block_interval_ms`; the clients
//! are node `shards`, releasing the workload by virtual time, every quarter interval, and running
//! the Atomix clients. Between them, the configured latency, jitter, loss, duplication and
//! partitions (`simulation` in the configuration). Each shard's normal league finalizes over its
//! own simulated links (one hop of latency, the same loss and duplication, jitter in hops; see
//! `DemoShard::use_finality_links`), where configured members crash and restart and configured
//! league partitions cut the links for the rounds that start while they are on
//! (`DemoShard::use_league_partitions`). The league's simulator keeps its own clock (a
//! finality attempt happens within the round that makes it), so the cut is set per attempt.
//!
//! Clients and shards talk over reliable links (`run::link`: sequence numbers, acknowledgements,
//! retransmission after `retransmit_ms`, duplicates dropped), as validators would over TCP: a
//! lost packet costs latency, never a transaction. Finality messages have no such layer: the
//! protocol itself survives their loss (view changes, catch-up).
//!
//! Determinism: everything a node does is a function of its inputs and the seed (the shards' and
//! clients' maps that decide an order are ordered maps); the trace records every packet and each
//! shard's state root after every round, so two runs of one seed compare byte for byte.
//!
//! Not modelled here (see the issue tracker): validators as separate nodes of this simulator
//! (a shard's validators share its node, as in the real-time demo), crashes of whole shards.
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::clients::Clients;
use super::nodes::{Clock, Context, DemoEvent, DemoNode};
use super::{ClientsEnd, invariants, setup};
use crate::atomix::{Directory, ShardMap};
use crate::demo::config::DemoConfig;
use crate::demo::report::Invariants;
use crate::demo::shard::DemoShard;
use crate::demo::workload;
use crate::node::MICROS_PER_MS;
use crate::pob::Reputation;
use crate::sim::config::PartitionConfig;
use crate::sim::network::{LinkModel, SimNetwork};
use crate::sim::{Happening, Simulator};

/// What a simulated demo did and whether its invariants held.
#[derive(Clone, Debug, Serialize)]
pub struct SimDemoReport {
    pub seed: u64,
    pub shards: u32,
    /// Virtual seconds the run took (load and drain).
    pub virtual_s: f64,
    pub sent: u64,
    /// Transactions finalized (in-shard and cross-shard).
    pub finalized: u64,
    pub blocks: u64,
    pub finality_heights: u64,
    pub pbft_heights: u64,
    /// Finality attempts that missed their deadline and were resumed (a league cut without a
    /// quorum, crashes).
    pub finality_retries: u64,
    /// Frauds injected and caught (by sampling or by re-check).
    pub frauds_injected: u64,
    pub frauds_caught: u64,
    /// Audits that gave no verdict in time (a block lost on a league link, a crashed auditor).
    pub verdicts_missing: u64,
    pub trace_lines: u64,
    pub trace_sha256: String,
    pub errors: Vec<String>,
    /// Whether every invariant held and nothing failed (as in `iosv demo --json`).
    pub invariants_ok: bool,
    pub invariants: Invariants,
}

impl SimDemoReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.invariants.ok()
    }
}

/// Runs `cfg` in the simulator with `seed` (in place of the configuration's), writing the trace
/// to `trace`.
pub fn run<W: Write>(cfg: &DemoConfig, seed: u64, trace: W) -> anyhow::Result<SimDemoReport> {
    let mut cfg = cfg.clone();
    cfg.seed = seed;
    cfg.validate()?;
    let sim_cfg = cfg.simulation.clone().unwrap_or_default();
    let map = ShardMap::new(cfg.shards);
    let load = workload::generate(&cfg, &|_| {});
    let sent = load.arrivals.len() as u64;
    let reputation = Arc::new(Mutex::new(Reputation::new()));
    let mut shards = setup::shards(&cfg, map, load.genesis, &reputation, None)?;
    for c in &sim_cfg.crashes {
        let normal = shards[c.shard as usize].normal_len();
        anyhow::ensure!(
            (c.member as usize) < normal,
            "simulation.crashes: shard {} has {normal} normal-league members (0 to {}); there is \
             no member {}",
            c.shard,
            normal.saturating_sub(1),
            c.member
        );
    }
    for p in &sim_cfg.league_partitions {
        let normal = shards[p.shard as usize].normal_len();
        if let Some(m) = p.groups.iter().flatten().find(|&&m| m as usize >= normal) {
            anyhow::bail!(
                "simulation.league_partitions: shard {} has {normal} normal-league members (0 \
                 to {}); there is no member {m}",
                p.shard,
                normal.saturating_sub(1),
            );
        }
    }
    for (i, shard) in shards.iter_mut().enumerate() {
        let mine = sim_cfg
            .league_partitions
            .iter()
            .filter(|p| p.shard as usize == i)
            .cloned()
            .collect();
        shard.use_league_partitions(mine);
    }
    let supply_before: u128 = shards.iter().map(DemoShard::value).sum();
    let mut dir = Directory::new();
    for s in &shards {
        dir.update(s.atomix.info().clone());
    }
    let hop_us = (cfg.hop_ms * MICROS_PER_MS as f64).max(1.0);
    let finality_link = LinkModel {
        latency: 1,
        jitter: (sim_cfg.network.jitter_ms * MICROS_PER_MS as f64 / hop_us).round() as u64,
        loss: sim_cfg.network.loss,
        duplicate: sim_cfg.network.duplicate,
    };
    for (i, s) in shards.iter_mut().enumerate() {
        s.use_finality_links(finality_link, seed ^ (0x51_u64 << 32) ^ i as u64);
    }
    let round_us = cfg.block_interval_ms * MICROS_PER_MS;
    let ctx = Arc::new(Context {
        dir: dir.clone(),
        reputation: Arc::clone(&reputation),
        round_us,
        tick_us: (round_us / 4).max(MICROS_PER_MS),
        retransmit_us: sim_cfg.retransmit_ms * MICROS_PER_MS,
        shards: cfg.shards,
        clients: cfg.client_threads.unwrap_or(1),
        pool: None,
        clock: Clock::Input,
    });
    let clients = ctx
        .split_arrivals(load.arrivals)
        .into_iter()
        .map(|part| Clients::new(&cfg, map, part.into_iter()))
        .collect();
    let nodes = DemoNode::network(shards, clients, ctx);
    let partitions = sim_cfg
        .partitions
        .iter()
        .map(PartitionConfig::partition)
        .collect();
    let link = sim_cfg.network.link_model()?;
    let net = SimNetwork::new(link, BTreeMap::new(), partitions, seed);
    let mut sim = Simulator::new(nodes, net, trace);
    for (k, c) in sim_cfg.crashes.iter().enumerate() {
        sim.schedule_external(c.at_ms * MICROS_PER_MS, 2 * k as u64);
        if let Some(r) = c.restart_ms {
            sim.schedule_external(r * MICROS_PER_MS, 2 * k as u64 + 1);
        }
    }
    let load_end = ((cfg.duration_s + cfg.warmup_s) * 1e6) as u64;
    let deadline = load_end + super::drain_limit(&cfg).as_micros() as u64;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    while sim.step(deadline, &mut out)? {
        for happening in out.drain(..) {
            match happening {
                Happening::External { tag, .. } => {
                    let c = sim_cfg.crashes[(tag / 2) as usize];
                    let restart = tag % 2 == 1;
                    let what = if restart {
                        "restart normal member"
                    } else {
                        "crash normal member"
                    };
                    sim.drive_node(c.shard, what, &mut Vec::new(), |n, _, _| {
                        if let DemoNode::Shard { shard, .. } = n {
                            if restart {
                                shard.restart_normal_member(c.member);
                            } else {
                                shard.crash_normal_member(c.member);
                            }
                        }
                    })?;
                }
                Happening::Output {
                    output: DemoEvent::Error(e),
                    ..
                } => errors.push(e),
                Happening::Output { .. } => {}
            }
        }
        if sim.now() >= load_end && settled(&mut sim) {
            break;
        }
    }
    let virtual_s = sim.now() as f64 / 1e6;
    let (trace_lines, trace_sha256) = (sim.trace().lines(), sim.trace().digest_hex());
    let (nodes, mut writer) = sim.into_parts();
    writer.flush()?;
    let mut shards = Vec::new();
    let mut clients = Vec::new();
    for node in nodes {
        match node {
            DemoNode::Shard { shard, .. } => shards.push(*shard),
            DemoNode::Clients { clients: c, .. } => clients.push(*c),
        }
    }
    let ended = ClientsEnd::of(clients, sent);
    let cross_finals = ended.cross.finals.len() as u64;
    let checks = invariants(&cfg, &mut shards, &ended, supply_before);
    Ok(SimDemoReport {
        seed,
        shards: cfg.shards,
        virtual_s,
        sent,
        finalized: shards
            .iter()
            .map(|s| s.stats.finals.len() as u64)
            .sum::<u64>()
            + cross_finals,
        blocks: shards.iter().map(|s| s.stats.blocks).sum(),
        finality_heights: shards.iter().map(|s| s.stats.finality_heights).sum(),
        pbft_heights: shards.iter().map(|s| s.stats.pbft_heights).sum(),
        finality_retries: shards.iter().map(|s| s.stats.finality_retries).sum(),
        frauds_injected: shards.iter().map(|s| s.stats.frauds_injected).sum(),
        frauds_caught: shards
            .iter()
            .map(|s| s.stats.frauds_detected_by_sampling + s.stats.frauds_detected_by_recheck)
            .sum(),
        verdicts_missing: shards.iter().map(|s| s.stats.verdicts_missing).sum(),
        trace_lines,
        trace_sha256,
        invariants_ok: errors.is_empty() && checks.ok(),
        errors,
        invariants: checks,
    })
}

/// Whether the clients released everything and nothing is left anywhere: no transaction in a
/// shard, no cross-shard transaction in flight, no packet unacknowledged.
fn settled<W: Write>(sim: &mut Simulator<DemoNode, W>) -> bool {
    (0..sim.nodes()).all(|i| match sim.node_mut(i) {
        Some(DemoNode::Shard { shard, link, .. }) => shard.idle() && link.unacked() == 0,
        Some(DemoNode::Clients { clients, link, .. }) => {
            clients.all_sent() && clients.settled() && link.unacked() == 0
        }
        None => true,
    })
}
