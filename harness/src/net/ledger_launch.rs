//! A ledger network under load on this host: `iosv net load`.
//!
//! Writes the network's files (fresh keys), starts the shard processes, waits until each is
//! listening (each first rebuilds the load and its ledger), starts the gateways — whose load
//! clocks start then — applies the planned faults, waits until every gateway has seen its whole
//! share settled (or the deadline), stops everything and checks the shards' stores together
//! ([`super::ledger_check`]). Figures come from the logs: per transaction, its scheduled and
//! settled time on its gateway's load clock (latency: open-loop, queueing included); per
//! process, the CPU time of its last life.
//!
//! [`run_in_process`] runs the same shards and gateways in one process over the real-time
//! runner's channels (no TCP, no stores): the baseline the processes are compared with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::config::{FinalityTiming, LocalNetwork, write_local_network};
use super::faults::LinkFaults;
use super::hosts::Host;
use super::launch::{KillRestart, Window, unix_window};
use super::ledger::{LedgerParams, LedgerSpec, Place, forged, schedule};
use super::ledger_report::{LoadFigures, LoadReport, Settled, assemble, figures};
use super::procs::{Launcher, Proc, drive};
use crate::atomix::{
    AtomixEvent, AtomixNode, ClientNode, CosignerNode, Cosigning, Outcome, ShardMap, ShardNode,
};
use crate::node::{MICROS_PER_MS, NodeId};
use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::MemberKey;

/// What to launch.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    pub exe: PathBuf,
    pub dir: PathBuf,
    /// Where the nodes run (node i on line i mod lines; empty: all here, on loopback), and
    /// `iosv` on the remote ones ([`super::hosts`]).
    pub hosts: Vec<Host>,
    pub remote_exe: Option<PathBuf>,
    pub params: LedgerParams,
    pub base_port: u16,
    /// Delay, jitter, loss and drops on every link.
    pub link: LinkFaults,
    /// Windows after launch in which the first half of the nodes (by id) and the second cannot
    /// reach each other.
    pub partitions: Vec<Window>,
    pub metrics_base_port: Option<u16>,
    pub unsafe_no_fsync: bool,
    pub deadline: Duration,
    pub faults: Vec<KillRestart>,
}

fn read_log(proc: &mut Proc) -> Vec<Value> {
    proc.log_read = 0;
    proc.fresh_lines()
}

/// Runs the plan (see the module documentation).
pub fn launch_load(plan: &LoadPlan) -> Result<LoadReport, String> {
    let params = &plan.params;
    params.validate()?;
    let nodes = params.nodes();
    if let Some(f) = plan.faults.iter().find(|f| f.node >= nodes) {
        return Err(format!(
            "fault on node {} of a {nodes}-node network",
            f.node
        ));
    }
    let launched = std::time::SystemTime::now();
    let network = LocalNetwork {
        nodes,
        base_port: plan.base_port,
        timing: FinalityTiming::default(),
        link: plan.link.clone(),
        halves: plan
            .partitions
            .iter()
            .map(|&w| unix_window(launched, w))
            .collect(),
        metrics_base_port: plan.metrics_base_port,
        unsafe_no_fsync: plan.unsafe_no_fsync,
        ledger: Some(params.clone()),
        hosts: plan.hosts.iter().map(|h| h.ip).collect(),
    };
    let launcher = Launcher::new(plan.exe.clone(), &plan.hosts, plan.remote_exe.clone())?;
    let configs = write_local_network(&plan.dir, &network)?;
    let mut procs = Proc::fresh(&plan.dir, &configs, &plan.hosts);
    launcher.push(&plan.dir, &procs)?;
    let shards = params.shards as usize;
    let gateways = shards..shards + params.gateways as usize;
    let begin = Instant::now();
    let result = start_validators_then_gateways(&launcher, &mut procs, &gateways).and_then(|()| {
        let mut drained = vec![false; nodes];
        drive(
            &launcher,
            &plan.faults,
            plan.deadline,
            &mut procs,
            begin,
            |procs| {
                for i in gateways.clone() {
                    if procs[i]
                        .fresh_lines()
                        .iter()
                        .any(|v| v["event"] == "drained")
                    {
                        drained[i] = true;
                    }
                }
                drained[gateways.clone()].iter().all(|&d| d).then_some(0)
            },
        )
    });
    launcher.stop_all(&mut procs, Duration::from_secs(5));
    let drained = result?.is_some();
    launcher.pull_stores(&plan.dir, &procs)?;
    let wall_s = begin.elapsed().as_secs_f64();
    let logs: Vec<Vec<Value>> = procs.iter_mut().map(read_log).collect();
    let starts = procs.iter().map(|p| p.starts).collect();
    assemble(params, &configs, &logs, drained, wall_s, starts)
}

/// Starts the validators (shards and co-signers), waits (up to a minute) until each says it
/// started, then the gateways.
fn start_validators_then_gateways(
    launcher: &Launcher,
    procs: &mut [Proc],
    gateways: &std::ops::Range<usize>,
) -> Result<(), String> {
    let validators: Vec<usize> = (0..procs.len()).filter(|i| !gateways.contains(i)).collect();
    for &i in &validators {
        launcher.spawn(&mut procs[i])?;
    }
    let until = Instant::now() + Duration::from_secs(60);
    let mut up = vec![false; procs.len()];
    while !validators.iter().all(|&i| up[i]) {
        for &i in &validators {
            let p = &mut procs[i];
            if let Some(child) = p.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "node {i} exited at start ({status}); see {}",
                    p.log.with_extension("err").display()
                ));
            }
            if p.fresh_lines().iter().any(|v| v["event"] == "started") {
                up[i] = true;
            }
        }
        if Instant::now() > until {
            return Err("the validators did not start within a minute".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in procs[gateways.clone()].iter_mut() {
        launcher.spawn(p)?;
    }
    Ok(())
}

/// The same shards and gateways as [`launch_load`] starts, in this process.
#[derive(Debug, Serialize)]
pub struct InProcessLoadReport {
    pub shards: u32,
    pub gateways: u32,
    pub members_per_shard: usize,
    pub drained: bool,
    pub wall_s: f64,
    pub figures: LoadFigures,
    /// This process's CPU microseconds per settled transaction (every node together).
    pub cpu_us_per_tx: f64,
}

/// Runs `params`' shards and gateways on the real-time runner until every transaction settled
/// (or `deadline`).
pub fn run_in_process(
    params: &LedgerParams,
    deadline: Duration,
) -> Result<InProcessLoadReport, String> {
    let (spec, seeds) = LedgerSpec::generate(params.clone())?;
    let load = params.workload();
    let dir = spec.directory()?;
    let map = ShardMap::new(params.shards);
    let timing = params.timing();
    let forged = forged(&load);
    let mut nodes = Vec::with_capacity(params.nodes());
    for shard in 0..params.shards {
        let node = if params.cosigned {
            let cosigning = Cosigning::new(
                params.member_nodes(shard),
                0,
                MemberKey::from_seed(&seeds[shard as usize][0]),
                spec.roster(shard)?,
                Policy::ByzCoin,
                Vec::new(),
                params.round_timeout_ms * MICROS_PER_MS,
            )?;
            let node = ShardNode::new(
                spec.genesis_replica(shard, &load)?,
                dir.clone(),
                timing,
                rand::random(),
            )
            .cosigned(cosigning);
            if params.fraudulent_shard == Some(shard) {
                node.fraudulent()
            } else {
                node
            }
        } else {
            let genesis = spec.genesis_shard(shard, &seeds[shard as usize], &load)?;
            ShardNode::new(genesis, dir.clone(), timing, rand::random())
        };
        nodes.push(AtomixNode::Shard(Box::new(node)));
    }
    let mut scheduled = HashMap::new();
    for g in 0..params.gateways {
        let schedule = schedule(&load, g, params.gateways, &mut scheduled);
        nodes.push(AtomixNode::Client(
            ClientNode::paced(params.shards + g, map, dir.clone(), timing, schedule, 0)
                .with_rosters(params.roster_nodes()),
        ));
    }
    for id in (params.shards + params.gateways)..params.nodes() as NodeId {
        let Some(Place::Cosigner { shard, index }) = params.place(id) else {
            return Err(format!("node {id} is not a co-signer"));
        };
        nodes.push(AtomixNode::Cosigner(Box::new(CosignerNode::new(
            id,
            index,
            MemberKey::from_seed(&seeds[shard as usize][index]),
            spec.genesis_replica(shard, &load)?,
            Vec::new(),
            dir.clone(),
            params.succession(shard),
            rand::random(),
            0,
        )?)));
    }
    let transactions = load.arrivals.len();
    drop(load);
    let cpu_before = super::process::process_cpu_seconds();
    let begin = Instant::now();
    let mut count = 0usize;
    let run = crate::runtime::run_until(nodes, begin, deadline, |r| {
        if matches!(r.output, AtomixEvent::Settled { .. }) {
            count += 1;
        }
        count >= transactions
    });
    let wall_s = begin.elapsed().as_secs_f64();
    let cpu = super::process::process_cpu_seconds() - cpu_before;
    let settled: Vec<Settled> = run
        .records
        .iter()
        .filter_map(|r| match r.output {
            AtomixEvent::Settled { txid, outcome } => {
                let (at, kind) = scheduled.get(&txid).copied()?;
                Some(Settled {
                    txid: txid.to_string(),
                    committed: outcome == Outcome::Committed,
                    cross_shard: kind == crate::demo::workload::Kind::CrossShard,
                    forged: forged.contains(&txid),
                    latency_ms: (r.at as f64 - at as f64) / 1e3,
                    at_ms: r.at as f64 / 1e3,
                })
            }
            _ => None,
        })
        .collect();
    let figures = figures(params, transactions, &settled);
    Ok(InProcessLoadReport {
        shards: params.shards,
        gateways: params.gateways,
        members_per_shard: params.members_per_shard,
        drained: figures.settled >= transactions,
        wall_s,
        cpu_us_per_tx: if figures.settled == 0 {
            0.0
        } else {
            cpu * 1e6 / figures.settled as f64
        },
        figures,
    })
}
