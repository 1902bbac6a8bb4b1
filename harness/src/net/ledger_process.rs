//! A ledger node process (`iosv node` with role `shard` or `gateway`): one Atomix node over the
//! TCP transport, with its store.
//!
//! A **shard** rebuilds itself at start from the load's genesis and its journal
//! ([`crate::atomix::journal`]), then runs; after every input the journal entries it made are
//! committed before any of the input's messages leaves. A **gateway** reads (or, at its first
//! start, records — once its connections to the roster are up) when the load began and submits
//! its share of the load when the load's clock reaches each transaction; restarted, it asks again about every transaction it had submitted
//! (shards answer repeats with what they recorded) and goes on with the schedule.
//!
//! The log, one JSON object per line: `started`; per transaction, `ended` (a shard) or `settled`
//! (a gateway, with its scheduled and settled time on the load's clock, for latencies);
//! `drained` when a gateway saw its whole share settled; `stopped` with the node's totals, the
//! transport's counters and CPU time.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam::channel;
use iosv_engine::tx::TxId;
use serde_json::json;

use super::config::{LoadedNode, Role};
use super::journal_store::JournalStore;
use super::ledger::{Place, schedule};
use super::process::{Until, Wired, log_line, process_cpu_seconds, wire};
use crate::atomix::{
    AtomixEvent, AtomixNode, ClientNode, CosignerNode, Cosigning, ShardMap, ShardNode, replay,
};
use crate::demo::workload::Kind;
use crate::node::MICROS_PER_MS;
use crate::runtime::Drive;
use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::MemberKey;

/// How long a gateway's first start waits for its connections before its load begins.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The node's own CoSi key (the one seed of its key file, checked when the file was loaded).
fn own_cosi_key(loaded: &LoadedNode) -> Result<MemberKey, String> {
    match loaded.cosi_seeds.as_slice() {
        [seed] => Ok(MemberKey::from_seed(seed)),
        seeds => Err(format!(
            "a co-signed shard's node holds its own CoSi key alone, not {}",
            seeds.len()
        )),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::InShard => "in_shard",
        Kind::CrossShard => "cross_shard",
        Kind::Invalid => "forged",
    }
}

/// Runs the shard or gateway of `loaded` until `until` or `terminate` (see the module
/// documentation).
pub fn run_ledger_node(
    loaded: &LoadedNode,
    until: Until,
    terminate: &AtomicBool,
    log: &mut dyn Write,
) -> Result<(), String> {
    let config = &loaded.config;
    let spec = config
        .ledger
        .as_ref()
        .ok_or("a ledger node needs the ledger section")?;
    let params = &spec.params;
    let began = Instant::now();
    let (mut store, recovered) = JournalStore::open_with(&loaded.store, !config.unsafe_no_fsync)
        .map_err(|e| e.to_string())?;
    let load = params.workload();
    let dir = spec.directory()?;
    let map = ShardMap::new(params.shards);
    let timing = params.timing();
    let id = config.id;
    // For a gateway: its share's schedule, by txid, and how far into the load it starts.
    let mut scheduled: HashMap<TxId, (u64, Kind)> = HashMap::new();
    let mut clock_offset = 0u64;
    let node = match config.role {
        Role::Shard if params.cosigned => {
            let genesis = spec.genesis_replica(id, &load)?;
            let shard = replay(genesis, &recovered.entries, &dir)
                .map_err(|e| format!("shard {id} does not replay its journal: {e}"))?;
            let cosigning = Cosigning::new(
                params.member_nodes(id),
                0,
                own_cosi_key(loaded)?,
                spec.roster(id)?,
                Policy::ByzCoin,
                recovered.entries.clone(),
                params.round_timeout_ms * MICROS_PER_MS,
            )?;
            let node = ShardNode::incarnation_of(
                shard,
                dir.clone(),
                timing,
                rand::random(),
                recovered.incarnation,
            )
            .journaled()
            .cosigned(cosigning);
            let node = if params.fraudulent_shard == Some(id) {
                node.fraudulent()
            } else {
                node
            };
            AtomixNode::Shard(Box::new(node))
        }
        Role::Shard => {
            let genesis = spec.genesis_shard(id, &loaded.cosi_seeds, &load)?;
            let shard = replay(genesis, &recovered.entries, &dir)
                .map_err(|e| format!("shard {id} does not replay its journal: {e}"))?;
            AtomixNode::Shard(Box::new(
                ShardNode::incarnation_of(
                    shard,
                    dir.clone(),
                    timing,
                    rand::random(),
                    recovered.incarnation,
                )
                .journaled(),
            ))
        }
        Role::Cosigner => {
            let Some(Place::Cosigner { shard, index }) = params.place(id) else {
                return Err(format!("node {id} is not a co-signer of this ledger"));
            };
            let genesis = spec.genesis_replica(shard, &load)?;
            let replica = replay(genesis, &recovered.entries, &dir)
                .map_err(|e| format!("co-signer {id} does not replay its journal: {e}"))?;
            AtomixNode::Cosigner(Box::new(
                CosignerNode::new(
                    id,
                    index,
                    own_cosi_key(loaded)?,
                    replica,
                    recovered.entries.clone(),
                    dir.clone(),
                    params.succession(shard),
                    rand::random(),
                    recovered.incarnation,
                )?
                .journaled(),
            ))
        }
        Role::Gateway => {
            // Built below, once the transport is up and the load's clock is known.
            AtomixNode::Client(ClientNode::paced(
                id,
                map,
                dir.clone(),
                timing,
                Vec::new(),
                0,
            ))
        }
        Role::Finality => return Err("a finality member is not a ledger node".into()),
    };
    let Wired {
        transport,
        inbox,
        mut net,
        counters,
        metrics_addr,
    } = wire(loaded, recovered.incarnation)?;
    let node = match node {
        AtomixNode::Client(_) => {
            let origin = match recovered.origin_unix_ms {
                Some(origin) => origin,
                None => {
                    // The load's clock starts when the roster is connected both ways (or after
                    // CONNECT_WAIT): a shard's dialer backing off from a gateway that was not
                    // up yet would otherwise hold the load's first responses.
                    let peers = (config.members.len() - 1) as u64;
                    let until = Instant::now() + CONNECT_WAIT;
                    while Instant::now() < until && !terminate.load(Ordering::Acquire) {
                        let s = net.stats();
                        if s.dialed >= peers && s.accepted >= peers {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let now = unix_ms();
                    store.set_origin(now).map_err(|e| e.to_string())?;
                    now
                }
            };
            clock_offset = unix_ms().saturating_sub(origin) * 1_000;
            let schedule = schedule(&load, id - params.shards, params.gateways, &mut scheduled);
            AtomixNode::Client(
                ClientNode::paced(id, map, dir, timing, schedule, clock_offset)
                    .with_rosters(params.roster_nodes()),
            )
        }
        shard => shard,
    };
    drop(load);
    log_line(
        log,
        json!({"event": "started", "node": id, "role": config.role,
               "incarnation": recovered.incarnation,
               "replayed_entries": recovered.entries.len(),
               "clock_offset_ms": clock_offset / 1_000,
               "start_s": began.elapsed().as_secs_f64(), "cpu_s": process_cpu_seconds(),
               "listen": config.listen.to_string(),
               "metrics": metrics_addr.map(|a| format!("http://{a}/metrics"))}),
    );
    let (out_tx, out_rx) = channel::unbounded();
    let stopped = Arc::new(AtomicBool::new(false));
    let store_error: Arc<Mutex<Option<String>>> = Default::default();
    let start_at = Instant::now();
    let roster = config.members.len() as u32;
    let runner = {
        let counters = Arc::clone(&counters);
        let stopped = Arc::clone(&stopped);
        let store_error = Arc::clone(&store_error);
        std::thread::Builder::new()
            .name("iosv-node".into())
            .spawn(move || {
                let drive = Drive {
                    start: start_at,
                    limit: until.duration,
                    roster,
                    stopped: &stopped,
                };
                drive.node(node, &inbox, transport, &out_tx, |n: &mut AtomixNode| {
                    let entries = match n {
                        AtomixNode::Shard(shard) => shard.take_journal(),
                        AtomixNode::Cosigner(cosigner) => cosigner.take_journal(),
                        AtomixNode::Client(_) => return true,
                    };
                    let began = Instant::now();
                    match store.append(&entries) {
                        Ok(true) => {
                            counters.record_commit(began.elapsed());
                            true
                        }
                        Ok(false) => true,
                        Err(e) => {
                            *store_error.lock().expect("not poisoned") = Some(e.to_string());
                            false
                        }
                    }
                })
            })
            .map_err(|e| format!("start the node thread: {e}"))?
    };
    let mut settled: BTreeSet<TxId> = BTreeSet::new();
    let (mut ended, mut decided, mut refused) = (0u64, 0u64, 0u64);
    let mut drained = false;
    loop {
        if terminate.load(Ordering::Acquire) {
            stopped.store(true, Ordering::Release);
        }
        let record = match out_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(r) => r,
            Err(channel::RecvTimeoutError::Timeout) => continue,
            Err(channel::RecvTimeoutError::Disconnected) => break,
        };
        let clock_ms = (record.at + clock_offset) as f64 / 1e3;
        match record.output {
            AtomixEvent::Ended { txid, outcome, .. } => {
                ended += 1;
                counters.transactions_ended.store(ended, Ordering::Relaxed);
                log_line(
                    log,
                    json!({"event": "ended", "node": id, "tx": txid.to_string(),
                           "outcome": outcome.as_str(), "at_ms": clock_ms}),
                );
            }
            AtomixEvent::Decided { .. } => decided += 1,
            AtomixEvent::Settled { txid, outcome } => {
                if !settled.insert(txid) {
                    continue;
                }
                counters
                    .transactions_ended
                    .store(settled.len() as u64, Ordering::Relaxed);
                let (at, kind) = scheduled.get(&txid).copied().unwrap_or((0, Kind::InShard));
                log_line(
                    log,
                    json!({"event": "settled", "node": id, "tx": txid.to_string(),
                           "outcome": outcome.as_str(), "kind": kind_name(kind),
                           "scheduled_ms": at as f64 / 1e3, "at_ms": clock_ms}),
                );
                if !drained && settled.len() == scheduled.len() {
                    drained = true;
                    log_line(
                        log,
                        json!({"event": "drained", "node": id, "settled": settled.len(),
                               "at_ms": clock_ms}),
                    );
                }
            }
            AtomixEvent::Certified { .. } => {}
            AtomixEvent::Fraud {
                leader,
                index,
                txid,
                reason,
                successor,
                ..
            } => log_line(
                log,
                json!({"event": "fraud", "node": id, "leader": leader, "index": index,
                       "tx": txid.map(|t| t.to_string()), "reason": reason,
                       "successor": successor, "at_ms": clock_ms}),
            ),
            AtomixEvent::Refused { reason, .. } => {
                refused += 1;
                // The first few in full; every one is counted.
                if refused <= 20 {
                    log_line(
                        log,
                        json!({"event": "refused", "node": id, "reason": reason, "at_ms": clock_ms}),
                    );
                }
            }
        }
    }
    let node = runner
        .join()
        .map_err(|_| "the node thread panicked".to_string())?;
    net.shutdown();
    let ledger = match node {
        AtomixNode::Shard(s) => {
            let mut shard = s.into_shard();
            let state = shard.state_mut();
            json!({"utxos": state.len(), "locks": state.lock_count(),
                   "total_value": state.total_value().to_string(),
                   "state_root": hex::encode(state.root())})
        }
        AtomixNode::Client(c) => json!({"submitted": c.transactions().len()}),
        AtomixNode::Cosigner(c) => {
            let (applied, fraud) = (c.applied(), c.fraud().map(str::to_string));
            let mut replica = c.into_replica();
            let state = replica.state_mut();
            json!({"utxos": state.len(), "locks": state.lock_count(),
                   "total_value": state.total_value().to_string(),
                   "state_root": hex::encode(state.root()),
                   "applied": applied, "fraud": fraud})
        }
    };
    let store_error = store_error.lock().expect("not poisoned").clone();
    log_line(
        log,
        json!({"event": "stopped", "node": id, "role": config.role, "ended": ended,
               "decided": decided, "settled": settled.len(), "refused": refused,
               "ledger": ledger, "net": net.stats(), "store_error": store_error,
               "store_commits": counters.store_commits.load(Ordering::Relaxed),
               "store_commit_s": counters.store_commit_nanos.load(Ordering::Relaxed) as f64 / 1e9,
               "seconds": start_at.elapsed().as_secs_f64(), "cpu_s": process_cpu_seconds()}),
    );
    match store_error {
        Some(e) => Err(format!("stopped: {e}")),
        None => Ok(()),
    }
}
