//! A node process's Prometheus metrics: OpenMetrics text at `GET /metrics` on the configuration's
//! `metrics` address, served by the verification service's endpoint
//! (`iosv_service::metrics::serve_openmetrics`, prometheus-client).
//!
//! Everything is read at scrape time from its owner — the transport's counters, the node's
//! progress, the store's commit counters — so a scrape can never disagree with the node's own
//! report. Metrics:
//! - `iosv_node_finalized_height` (gauge: heights finalized), `iosv_node_transactions_ended`
//!   (gauge: a shard's ended transactions, a gateway's settled ones), `iosv_node_incarnation`
//!   (gauge);
//! - `iosv_net_frames_total{direction="sent"|"received"}`;
//! - `iosv_net_dropped_messages_total{reason="queue_full"|"in_flight"|"oversized"|"emulated_drop"|"partitioned"}`;
//! - `iosv_net_connections_total{outcome="dialed"|"accepted"|"refused"|"bad_frame"}`;
//! - `iosv_store_commits_total`, `iosv_store_commit_seconds_total` (counters: mean commit time is
//!   their ratio).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::transport::NetCounters;

/// What the node process counts besides the transport.
#[derive(Debug, Default)]
pub struct NodeCounters {
    pub finalized_height: AtomicU64,
    /// Transactions this node ended (a shard) or saw settled (a gateway).
    pub transactions_ended: AtomicU64,
    pub incarnation: AtomicU64,
    pub store_commits: AtomicU64,
    /// Nanoseconds spent in store commits.
    pub store_commit_nanos: AtomicU64,
}

impl NodeCounters {
    /// Counts one durable store commit that took `took`.
    pub fn record_commit(&self, took: std::time::Duration) {
        self.store_commits.fetch_add(1, Ordering::Relaxed);
        self.store_commit_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Live {
    net: Arc<NetCounters>,
    node: Arc<NodeCounters>,
}

fn family(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, u64)],
) -> Result<(), std::fmt::Error> {
    let mut e = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, n) in values {
        let labels = [(label, *value)];
        ConstCounter::new(*n).encode(e.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (name, help, value) in [
            (
                "node_finalized_height",
                "Heights this node has finalized",
                load(&self.node.finalized_height),
            ),
            (
                "node_transactions_ended",
                "Transactions this node ended (a shard) or saw settled (a gateway) since it started",
                load(&self.node.transactions_ended),
            ),
            (
                "node_incarnation",
                "How many times this node restarted from its store",
                load(&self.node.incarnation),
            ),
        ] {
            let gauge = ConstGauge::new(value as i64);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let n = self.net.snapshot();
        family(
            &mut encoder,
            "net_frames",
            "Frames written to and read from peers",
            "direction",
            &[("sent", n.sent), ("received", n.received)],
        )?;
        family(
            &mut encoder,
            "net_dropped_messages",
            "Messages that did not reach a peer, by why",
            "reason",
            &[
                ("queue_full", n.dropped_full),
                ("in_flight", n.lost_in_flight),
                ("oversized", n.oversized),
                ("emulated_drop", n.emulated_drops),
                ("partitioned", n.partitioned),
            ],
        )?;
        family(
            &mut encoder,
            "net_connections",
            "Connections by outcome",
            "outcome",
            &[
                ("dialed", n.dialed),
                ("accepted", n.accepted),
                ("refused", n.refused),
                ("bad_frame", n.bad_frames),
            ],
        )?;
        let commits = ConstCounter::new(load(&self.node.store_commits));
        commits.encode(encoder.encode_descriptor(
            "store_commits",
            "Durable store commits",
            None,
            MetricType::Counter,
        )?)?;
        let seconds = ConstCounter::new(load(&self.node.store_commit_nanos) as f64 / 1e9);
        seconds.encode(encoder.encode_descriptor(
            "store_commit_seconds",
            "Time spent in durable store commits",
            None,
            MetricType::Counter,
        )?)?;
        Ok(())
    }
}

/// The metrics registry of a node process.
pub fn registry(net: Arc<NetCounters>, node: Arc<NodeCounters>) -> Arc<Registry> {
    let mut registry = Registry::with_prefix("iosv");
    registry.register_collector(Box::new(Live { net, node }));
    Arc::new(registry)
}

/// Renders `registry` as OpenMetrics text.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    out
}

/// Serves `registry` at `http://addr/metrics` on a thread of its own (a one-thread tokio runtime)
/// for the rest of the process. Returns the bound address.
pub fn serve(addr: SocketAddr, registry: Arc<Registry>) -> Result<SocketAddr, String> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("metrics on {addr}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("metrics on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("metrics on {addr}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("metrics runtime: {e}"))?;
    std::thread::Builder::new()
        .name("iosv-metrics".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let render = Arc::new(move || render(&registry));
                let _ = iosv_service::metrics::serve_openmetrics(
                    listener,
                    render,
                    std::future::pending(),
                )
                .await;
            });
        })
        .map_err(|e| format!("metrics thread: {e}"))?;
    Ok(bound)
}
