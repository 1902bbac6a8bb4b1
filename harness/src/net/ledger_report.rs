//! What a ledger network's run comes to, from its nodes' logs and stores: the figures
//! (settled tx/s, latency percentiles, CPU per transaction by role), the frauds co-signers
//! reported and the leaders they convicted, and the checks across the stores
//! ([`super::ledger_check`]) with each live validator's last state root held against its replayed
//! journal. [`super::ledger_launch`] assembles it after a run; [`report_stopped`] assembles it
//! for a network started and stopped by hand (`iosv net report`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::config::load;
use super::ledger::LedgerParams;
use super::ledger_check::{LedgerCheck, check_ledger};
use crate::node::NodeId;

/// Latency percentiles, in milliseconds.
#[derive(Debug, Default, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The nearest-rank `q`-quantile of `sorted` (0 when empty).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Latency {
    fn of(mut samples: Vec<f64>) -> Latency {
        samples.sort_by(f64::total_cmp);
        Latency {
            count: samples.len(),
            p50_ms: percentile(&samples, 0.50),
            p90_ms: percentile(&samples, 0.90),
            p99_ms: percentile(&samples, 0.99),
            max_ms: samples.last().copied().unwrap_or(0.0),
        }
    }
}

/// The figures of one run, from its gateways' settlements.
#[derive(Debug, Default, Serialize)]
pub struct LoadFigures {
    pub offered_tx_per_s: f64,
    pub load_seconds: f64,
    /// Transactions in the load.
    pub transactions: usize,
    /// Distinct transactions settled at their gateway, and how they ended.
    pub settled: usize,
    pub committed: usize,
    pub aborted: usize,
    /// Forged transactions that committed (must be 0).
    pub forged_committed: usize,
    /// Settled transactions per second, from the load's start to the last settlement.
    pub settled_tx_per_s: f64,
    /// Scheduled to settled, every transaction.
    pub latency: Latency,
    pub latency_in_shard: Latency,
    pub latency_cross_shard: Latency,
}

/// How a process network's run went.
#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub shards: u32,
    pub gateways: u32,
    pub members_per_shard: usize,
    /// Every gateway saw its whole share settled before the deadline.
    pub drained: bool,
    pub wall_s: f64,
    pub figures: LoadFigures,
    /// CPU seconds of each process's last life from its start-up's end (the load and ledger
    /// built, listening) to its stop, by node; a killed life's CPU is not known.
    pub cpu_s: Vec<f64>,
    /// CPU seconds each process's last life spent starting up (building the load and its
    /// ledger, replaying its journal), by node.
    pub startup_cpu_s: Vec<f64>,
    /// CPU microseconds per settled transaction after start-up: every shard together, every
    /// gateway together.
    pub shard_cpu_us_per_tx: f64,
    pub gateway_cpu_us_per_tx: f64,
    /// Every validator a process ([`LedgerParams::cosigned`]): the co-signers together.
    pub every_validator: bool,
    pub cosigner_cpu_us_per_tx: f64,
    /// Process starts per node (1 + restarts).
    pub starts: Vec<u32>,
    /// The frauds co-signers reported (their log lines).
    pub frauds: Vec<Value>,
    pub check: LedgerCheck,
}

impl LoadReport {
    pub fn ok(&self) -> bool {
        self.drained && self.check.ok() && self.figures.forged_committed == 0
    }
}

/// A settlement a gateway reported.
pub(super) struct Settled {
    pub(super) txid: String,
    pub(super) committed: bool,
    pub(super) cross_shard: bool,
    pub(super) forged: bool,
    pub(super) latency_ms: f64,
    pub(super) at_ms: f64,
}

pub(super) fn figures(
    params: &LedgerParams,
    transactions: usize,
    settled: &[Settled],
) -> LoadFigures {
    let mut first: HashMap<&str, &Settled> = HashMap::new();
    for s in settled {
        first.entry(s.txid.as_str()).or_insert(s);
    }
    let all: Vec<&Settled> = first.into_values().collect();
    let last_s = all.iter().map(|s| s.at_ms).fold(0.0, f64::max) / 1e3;
    let lat = |keep: &dyn Fn(&Settled) -> bool| {
        Latency::of(
            all.iter()
                .filter(|s| keep(s))
                .map(|s| s.latency_ms)
                .collect(),
        )
    };
    LoadFigures {
        offered_tx_per_s: params.rate,
        load_seconds: params.seconds,
        transactions,
        settled: all.len(),
        committed: all.iter().filter(|s| s.committed).count(),
        aborted: all.iter().filter(|s| !s.committed).count(),
        forged_committed: all.iter().filter(|s| s.forged && s.committed).count(),
        settled_tx_per_s: if last_s > 0.0 {
            all.len() as f64 / last_s
        } else {
            0.0
        },
        latency: lat(&|_| true),
        latency_in_shard: lat(&|s| !s.cross_shard && !s.forged),
        latency_cross_shard: lat(&|s| s.cross_shard),
    }
}

/// The report of a stopped ledger network of `params` whose nodes' configurations are
/// `configs` and whose logs (node by node, every line) are `logs`.
pub fn assemble(
    params: &LedgerParams,
    configs: &[PathBuf],
    logs: &[Vec<Value>],
    drained: bool,
    wall_s: f64,
    starts: Vec<u32>,
) -> Result<LoadReport, String> {
    let nodes = params.nodes();
    if configs.len() != nodes || logs.len() != nodes {
        return Err(format!(
            "{} configurations and {} logs for a {nodes}-node network",
            configs.len(),
            logs.len()
        ));
    }
    let shards = params.shards as usize;
    let gateways = shards..shards + params.gateways as usize;
    let loaded = configs
        .iter()
        .map(|c| load(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut settled = Vec::new();
    let mut cpu_s = vec![0.0; nodes];
    let mut startup_cpu_s = vec![0.0; nodes];
    // The state root each validator's last life reported when it stopped (none if it was
    // killed or is a gateway).
    let mut live_roots: Vec<Option<String>> = vec![None; nodes];
    let mut frauds = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        for v in log {
            match v["event"].as_str() {
                Some("settled") => settled.push(Settled {
                    txid: v["tx"].as_str().unwrap_or_default().to_string(),
                    committed: v["outcome"] == "committed",
                    cross_shard: v["kind"] == "cross_shard",
                    forged: v["kind"] == "forged",
                    latency_ms: v["at_ms"].as_f64().unwrap_or(0.0)
                        - v["scheduled_ms"].as_f64().unwrap_or(0.0),
                    at_ms: v["at_ms"].as_f64().unwrap_or(0.0),
                }),
                Some("started") => startup_cpu_s[i] = v["cpu_s"].as_f64().unwrap_or(0.0),
                Some("stopped") => {
                    cpu_s[i] = v["cpu_s"].as_f64().unwrap_or(0.0) - startup_cpu_s[i];
                    live_roots[i] = v["ledger"]["state_root"].as_str().map(str::to_string);
                }
                Some("fraud") => frauds.push(v.clone()),
                _ => {}
            }
        }
    }
    // A leader is convicted when more of its members than the shard tolerates faulty say so.
    let mut accusers: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for f in &frauds {
        if let (Some(leader), Some(node)) = (f["leader"].as_u64(), f["node"].as_u64()) {
            accusers.entry(leader).or_default().insert(node);
        }
    }
    let tolerated = (params.members_per_shard - 1) / 3;
    let convicted: BTreeSet<NodeId> = accusers
        .iter()
        .filter(|(_, by)| by.len() > tolerated)
        .filter_map(|(&leader, _)| NodeId::try_from(leader).ok())
        .collect();
    let mut check = check_ledger(&loaded, drained, &convicted)?;
    // A live validator and its journal replayed must be the same ledger (a journal that does
    // not replay is a violation already).
    let replayed = |i: usize| -> Option<&String> {
        let node = u32::try_from(i).ok()?;
        if convicted.contains(&node) {
            None
        } else if let Some(shard) = check.history_of.iter().position(|&h| h == node) {
            check.state_roots.get(shard)
        } else {
            check
                .cosigners
                .iter()
                .find(|c| c.node == node)
                .map(|c| &c.state_root)
        }
    };
    let mismatched: Vec<String> = live_roots
        .iter()
        .enumerate()
        .filter_map(|(i, live)| {
            let (live, replayed) = (live.as_ref()?, replayed(i)?);
            (!replayed.is_empty() && replayed != live).then(|| {
                format!("node {i} stopped at state root {live}, its journal replays to {replayed}")
            })
        })
        .collect();
    check.violations.extend(mismatched);
    // The check rebuilt the load; generating (and signing) it again only to count it would
    // double the launcher's work after the run.
    let figures = figures(params, check.transactions, &settled);
    let per_tx = |cpu: f64| {
        if figures.settled == 0 {
            0.0
        } else {
            cpu * 1e6 / figures.settled as f64
        }
    };
    Ok(LoadReport {
        shards: params.shards,
        gateways: params.gateways,
        members_per_shard: params.members_per_shard,
        drained,
        wall_s,
        shard_cpu_us_per_tx: per_tx(cpu_s[..shards].iter().sum()),
        gateway_cpu_us_per_tx: per_tx(cpu_s[gateways.clone()].iter().sum()),
        every_validator: params.cosigned,
        cosigner_cpu_us_per_tx: per_tx(cpu_s[gateways.end..].iter().sum()),
        frauds,
        figures,
        cpu_s,
        startup_cpu_s,
        starts,
        check,
    })
}

/// Reads a log of JSON lines (a missing log is empty; lines that are not JSON are skipped).
fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The report of the ledger network in `dir` (`node-<i>.json`, `.log`, `.redb`), its processes
/// stopped: drained when every gateway logged that its share settled; process starts counted in
/// the logs; the wall time is not known from them (0).
pub fn report_stopped(dir: &Path) -> Result<LoadReport, String> {
    let first = load(&dir.join("node-0.json"))?;
    let params = first
        .config
        .ledger
        .as_ref()
        .ok_or("node-0.json is not part of a ledger network")?
        .params
        .clone();
    let nodes = params.nodes();
    let configs: Vec<PathBuf> = (0..nodes)
        .map(|i| dir.join(format!("node-{i}.json")))
        .collect();
    let logs: Vec<Vec<Value>> = (0..nodes)
        .map(|i| read_lines(&dir.join(format!("node-{i}.log"))))
        .collect();
    let shards = params.shards as usize;
    let drained = logs[shards..shards + params.gateways as usize]
        .iter()
        .all(|log| log.iter().any(|v| v["event"] == "drained"));
    let starts = logs
        .iter()
        .map(|log| log.iter().filter(|v| v["event"] == "started").count() as u32)
        .collect();
    assemble(&params, &configs, &logs, drained, 0.0, starts)
}
