//! The service's Prometheus metrics (OpenMetrics text at `GET /metrics` on `--metrics ADDR`).
//!
//! Counters and histograms are updated where the events happen; the queue depth and the CPU/GPU
//! split are read from their owners (the admission counters, the verifier) at each scrape, so
//! they can never drift from the truth.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use iosv_engine::sig::Verifier;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::admission::Admission;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: &'static str,
}

/// Everything the server counts.
#[derive(Debug)]
pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub signatures: Family<VerdictLabels, Counter>,
    pub shed_signatures: Counter,
    pub backend_batch: Histogram,
    pub queue_wait: Histogram,
    pub latency: Family<MethodLabels, Histogram>,
    registry: Registry,
}

/// Seconds histogram buckets: 50 µs … ~26 s, doubling.
fn seconds_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(50e-6, 2.0, 20)
}

fn seconds_histogram() -> Histogram {
    Histogram::new(seconds_buckets())
}

impl Metrics {
    pub fn new(admission: Arc<Admission>, verifier: Verifier) -> Arc<Self> {
        let requests = Family::<RequestLabels, Counter>::default();
        let signatures = Family::<VerdictLabels, Counter>::default();
        let shed_signatures = Counter::default();
        let backend_batch = Histogram::new(exponential_buckets(1.0, 2.0, 22));
        let queue_wait = seconds_histogram();
        let latency = Family::<MethodLabels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        let mut registry = Registry::with_prefix("iosv");
        registry.register(
            "requests",
            "Requests by method and outcome (ok, shed, invalid_argument, cancelled, unavailable)",
            requests.clone(),
        );
        registry.register(
            "signatures",
            "Signatures answered, by verdict",
            signatures.clone(),
        );
        registry.register(
            "shed_signatures",
            "Signatures in requests refused for lack of queue room (RESOURCE_EXHAUSTED)",
            shed_signatures.clone(),
        );
        registry.register(
            "backend_batch_signatures",
            "Signatures per batch handed to the verification backend",
            backend_batch.clone(),
        );
        registry.register(
            "queue_wait_seconds",
            "Time from admission to the start of a request's first backend batch",
            queue_wait.clone(),
        );
        registry.register(
            "request_seconds",
            "Time from a request's arrival to its answer, by method",
            latency.clone(),
        );
        registry.register_collector(Box::new(LiveState {
            admission,
            verifier,
        }));
        Arc::new(Self {
            requests,
            signatures,
            shed_signatures,
            backend_batch,
            queue_wait,
            latency,
            registry,
        })
    }

    pub fn request(&self, method: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&RequestLabels { method, outcome })
            .inc();
    }

    pub fn observe_latency(&self, method: &'static str, elapsed: Duration) {
        self.latency
            .get_or_create(&MethodLabels { method })
            .observe(elapsed.as_secs_f64());
    }

    pub fn verdicts(&self, valid: u64, invalid: u64, malformed: u64) {
        for (verdict, n) in [
            ("valid", valid),
            ("invalid", invalid),
            ("malformed", malformed),
        ] {
            if n > 0 {
                self.signatures
                    .get_or_create(&VerdictLabels { verdict })
                    .inc_by(n);
            }
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Values read at scrape time: queue depth and the verifier's CPU/GPU split.
struct LiveState {
    admission: Arc<Admission>,
    verifier: Verifier,
}

impl std::fmt::Debug for LiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveState")
            .field("admission", &self.admission)
            .field("verifier", &self.verifier.describe())
            .finish()
    }
}

impl Collector for LiveState {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let a = &self.admission;
        for (name, help, value) in [
            (
                "queue_signatures",
                "Signatures admitted and not yet answered",
                a.queued_signatures(),
            ),
            (
                "queue_bytes",
                "Request bytes admitted and not yet answered",
                a.queued_bytes(),
            ),
            (
                "queue_peak_signatures",
                "The most signatures admitted at once since the server started",
                a.peak_signatures(),
            ),
            (
                "queue_capacity_signatures",
                "The most signatures the queue admits (--max-queue-sigs)",
                a.max_signatures(),
            ),
        ] {
            let gauge = ConstGauge::new(value as i64);
            let e = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(e)?;
        }
        let split = self.verifier.split();
        let mut e = encoder.encode_descriptor(
            "backend_signatures",
            "Signatures verified, by the side that verified them",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (side, n) in [("cpu", split.cpu), ("gpu", split.gpu)] {
            let labels = [("side", side)];
            ConstCounter::new(n).encode(e.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Serves `GET /metrics` on `addr` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_openmetrics(listener, Arc::new(move || metrics.render()), shutdown).await
}

/// Serves `GET /metrics` with the text `render` gives at each scrape (OpenMetrics) until
/// `shutdown` resolves: the one metrics endpoint of the service and of `iosv node`.
pub async fn serve_openmetrics(
    listener: tokio::net::TcpListener,
    render: Arc<dyn Fn() -> String + Send + Sync>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = Arc::clone(&render);
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The address a metrics listener bound to (for logs and tests).
pub fn describe(addr: SocketAddr) -> String {
    format!("http://{addr}/metrics")
}
