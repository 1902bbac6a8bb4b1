//! One node process: a finality member over the TCP transport, its state in its store.
//!
//! Start: open the store (which commits the new incarnation), rebuild the member from its
//! durable state and finalized log, bind the listener, start the transport, and run the member
//! with the real-time event loop. After every input the member's durable state and new
//! finalities are committed before that input's messages are queued (the loop's checkpoint), so
//! a process killed at any moment — SIGKILL included — restarts from its store without having
//! said anything it forgot. Behind the others it catches up through the protocol's own catch-up
//! (finalities with their certificates, each checked against the roster).
//!
//! What a finality-only network finalizes: each member proposes, per height, a stand-in for the
//! shard's block headers — `SHA-256(NET_PROPOSAL ‖ member ‖ height)` — until the demo's shard
//! roles run as processes too.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam::channel;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::channel::{Identity, Members};
use super::config::LoadedNode;
use super::metrics::{NodeCounters, registry, serve as serve_metrics};
use super::store::FinalityStore;
use super::transport::{Endpoint, NetConfig, NetHandle, NetStats, TcpTransport, start};
use crate::finality::{Member, Node as FinalityNode, Proposal, ProposalSource};
use crate::runtime::{Drive, Envelope};

/// When a node process stops by itself (it also stops when killed).
#[derive(Clone, Copy, Debug)]
pub struct Until {
    /// Stop once this many heights are finalized (0: no such limit).
    pub heights: u64,
    /// Stop after this long.
    pub duration: Duration,
}

/// How a node process ended.
#[derive(Debug)]
pub struct ProcessReport {
    pub incarnation: u64,
    /// Heights finalized when it started (from its store) and when it stopped.
    pub recovered_heights: u64,
    pub heights: u64,
    pub net: NetStats,
    pub store_error: Option<String>,
}

/// CPU time (user + system) this process used so far, in seconds.
pub(super) fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// The value member `member` proposes at `height` (see the module documentation).
pub fn stand_in_proposal(member: u32, height: u64) -> Proposal {
    let mut h = Sha256::new();
    h.update(crate::domain::NET_PROPOSAL);
    h.update(member.to_le_bytes());
    h.update(height.to_le_bytes());
    Proposal {
        height,
        headers: vec![h.finalize().into()],
    }
}

/// A node's transport, inbox and metrics, started.
pub(super) struct Wired<M> {
    pub transport: TcpTransport<M>,
    pub inbox: channel::Receiver<Envelope<M>>,
    pub net: NetHandle,
    pub counters: Arc<NodeCounters>,
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Binds the node's listener, starts its transport to the roster and, if configured, its
/// metrics endpoint.
pub(super) fn wire<M>(loaded: &LoadedNode, incarnation: u64) -> Result<Wired<M>, String>
where
    M: serde::de::DeserializeOwned + Send + 'static,
{
    let config = &loaded.config;
    let members = Members::new(&loaded.public_keys())?;
    let endpoint = Endpoint {
        identity: Identity {
            id: config.id,
            key: ed25519_dalek::SigningKey::from_bytes(&loaded.seed),
        },
        members,
        addrs: loaded.addrs(),
    };
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| format!("listen on {}: {e}", config.listen))?;
    let (transport, inbox, net) = start(
        listener,
        endpoint,
        NetConfig::for_members(config.members.len()),
        config.link.clone(),
    )
    .map_err(|e| format!("transport: {e}"))?;
    let counters = Arc::new(NodeCounters::default());
    counters.incarnation.store(incarnation, Ordering::Relaxed);
    let metrics_addr = match config.metrics {
        Some(addr) => Some(serve_metrics(
            addr,
            registry(net.counters(), Arc::clone(&counters)),
        )?),
        None => None,
    };
    Ok(Wired {
        transport,
        inbox,
        net,
        counters,
        metrics_addr,
    })
}

/// Writes `value` as one line of the node's log, flushed (a launcher reads it while we run).
pub(super) fn log_line(log: &mut dyn Write, value: serde_json::Value) {
    let _ = writeln!(log, "{value}");
    let _ = log.flush();
}

/// Runs the node of `loaded` until `until` or until `terminate` is set (by a signal handler),
/// writing one JSON line per event to `log` (started, finalized heights with their value's
/// digest, stopped with the transport's counters).
pub fn run_finality_member(
    loaded: &LoadedNode,
    until: Until,
    terminate: &AtomicBool,
    log: &mut dyn Write,
) -> Result<ProcessReport, String> {
    let config = &loaded.config;
    let (mut store, recovered) = FinalityStore::open_with(&loaded.store, !config.unsafe_no_fsync)
        .map_err(|e| e.to_string())?;
    let recovered_heights = recovered.finalized.len() as u64;
    let inner = FinalityNode::recover_from_seed(
        config.id,
        loaded.roster.clone(),
        &loaded.seed,
        config.finality.config(),
        recovered.durable,
        recovered.finalized,
    );
    let proposals: ProposalSource =
        Arc::new(|member, height| Some(stand_in_proposal(member, height)));
    // A fresh nonce seed per start from the OS; the incarnation keeps streams apart as well.
    let member = Member::incarnation_of(inner, rand::random(), recovered.incarnation, proposals);
    let roster_size = config.members.len() as u32;
    let Wired {
        transport,
        inbox,
        mut net,
        counters,
        metrics_addr,
    } = wire(loaded, recovered.incarnation)?;
    let line = log_line;
    line(
        log,
        json!({"event": "started", "node": config.id, "incarnation": recovered.incarnation,
               "recovered_heights": recovered_heights, "listen": config.listen.to_string(),
               "metrics": metrics_addr.map(|a| format!("http://{a}/metrics"))}),
    );
    let (out_tx, out_rx) = channel::unbounded();
    let stopped = Arc::new(AtomicBool::new(false));
    let store_error: Arc<std::sync::Mutex<Option<String>>> = Default::default();
    let start_at = Instant::now();
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
                    roster: roster_size,
                    stopped: &stopped,
                };
                drive.node(member, &inbox, transport, &out_tx, |m: &mut Member| {
                    let began = Instant::now();
                    match store.save(&m.state().durable(), m.finalized()) {
                        Ok(committed) => {
                            if committed {
                                counters.record_commit(began.elapsed());
                            }
                            counters
                                .finalized_height
                                .store(m.finalized().len() as u64, Ordering::Relaxed);
                            true
                        }
                        Err(e) => {
                            *store_error.lock().expect("not poisoned") = Some(e.to_string());
                            false
                        }
                    }
                })
            })
            .map_err(|e| format!("start the node thread: {e}"))?
    };
    let mut heights = recovered_heights;
    loop {
        if terminate.load(Ordering::Acquire) {
            stopped.store(true, Ordering::Release);
        }
        let record = match out_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(r) => r,
            Err(channel::RecvTimeoutError::Timeout) => continue,
            Err(channel::RecvTimeoutError::Disconnected) => break,
        };
        let f = &record.output;
        heights = heights.max(f.height + 1);
        line(
            log,
            json!({"event": "finalized", "node": config.id, "height": f.height, "view": f.view,
                   "digest": hex::encode(f.proposal.digest()), "at_ms": record.at / 1000}),
        );
        if until.heights > 0 && heights >= until.heights {
            stopped.store(true, Ordering::Release);
        }
    }
    let member = runner
        .join()
        .map_err(|_| "the node thread panicked".to_string())?;
    net.shutdown();
    let report = ProcessReport {
        incarnation: recovered.incarnation,
        recovered_heights,
        heights: member.finalized().len() as u64,
        net: net.stats(),
        store_error: store_error.lock().expect("not poisoned").clone(),
    };
    line(
        log,
        json!({"event": "stopped", "node": config.id, "heights": report.heights,
               "net": report.net, "store_error": report.store_error,
               "seconds": start_at.elapsed().as_secs_f64(), "cpu_s": process_cpu_seconds()}),
    );
    Ok(report)
}
