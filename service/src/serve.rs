//! Starting and stopping the server: listener rules, TLS, limits, health, metrics, shutdown.
//!
//! Invariants:
//! - without TLS the server binds only to a loopback address unless `insecure_listen` is set;
//! - with TLS, clients must present a certificate chaining to the configured client CA (mTLS);
//! - shutdown stops accepting connections and new stream batches, answers everything admitted,
//!   then stops the batcher; nothing admitted is dropped unanswered.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use iosv_engine::sig::Verifier;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::admission::Admission;
use crate::coalesce::{CoalesceConfig, Coalescer};
use crate::metrics::{Metrics, serve_metrics};
use crate::pem::{PemError, read_pem};
use crate::proto::signature_verifier_server::SignatureVerifierServer;
use crate::server::VerifyService;
use crate::wire::WireLimits;

/// PEM files for mutual TLS.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// The CA client certificates must chain to.
    pub client_ca: PathBuf,
}

/// Everything `iosv serve` can set.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    /// Allow a plaintext listener on a non-loopback address.
    pub insecure_listen: bool,
    pub metrics: Option<SocketAddr>,
    /// Most signatures (or transactions) in one request.
    pub max_request_sigs: usize,
    /// Most signatures admitted and unanswered at once.
    pub max_queue_sigs: usize,
    /// Most request bytes admitted and unanswered at once.
    pub max_queue_bytes: usize,
    /// Longest message a signature may be over.
    pub max_message_len: usize,
    /// Signatures per backend batch.
    pub batch: usize,
    /// Longest a signature waits for its backend batch to fill.
    pub max_delay: Duration,
    /// Verification threads.
    pub workers: usize,
    /// Batches one stream may have unanswered.
    pub stream_in_flight: usize,
    /// Requests one connection may have in progress.
    pub per_connection_requests: usize,
    /// Most bytes in one request: the decoder refuses a larger one (OUT_OF_RANGE) from its
    /// length prefix, before buffering it.
    pub max_request_bytes: usize,
}

impl ServeConfig {
    /// Defaults for `listen`: room for 64 batches of 16,384 in the queue, 1,024-signature CPU
    /// batches (the engine's measured sweet spot) leaving within 2 ms, one worker per core.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            tls: None,
            insecure_listen: false,
            metrics: None,
            max_request_sigs: 65_536,
            max_queue_sigs: 1 << 20,
            max_queue_bytes: 512 << 20,
            max_message_len: 64 << 10,
            batch: 1024,
            max_delay: Duration::from_millis(2),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            stream_in_flight: 32,
            per_connection_requests: 256,
            max_request_bytes: 16 << 20,
        }
    }
}

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on {0} without TLS: give --tls-cert, --tls-key and --client-ca, listen on a loopback address, or pass --insecure-listen"
    )]
    PlaintextNotLoopback(SocketAddr),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Pem(#[from] PemError),
    #[error("{0}")]
    Config(String),
    #[error("TLS setup with {files}: {error}")]
    Tls {
        files: String,
        error: tonic::transport::Error,
    },
    #[error("server: {0}")]
    Transport(tonic::transport::Error),
    #[error("metrics endpoint: {0}")]
    Metrics(std::io::Error),
}

/// A running server.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    admission: Arc<Admission>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl ServerHandle {
    /// Signatures admitted and not yet answered.
    pub fn queued_signatures(&self) -> usize {
        self.admission.queued_signatures()
    }

    /// The most signatures ever admitted at once (never above `max_queue_sigs`).
    pub fn peak_queued_signatures(&self) -> usize {
        self.admission.peak_signatures()
    }

    /// Graceful shutdown: stop accepting, answer what was admitted, stop the workers.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(ServeError::Config(format!("the server task failed: {e}"))),
        }
    }

    /// Stops at once, without draining (a crash, for tests of clients).
    pub fn abort(self) {
        self.task.abort();
    }

    /// Sends the shutdown signal without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds and starts the server on the current tokio runtime; returns once it accepts
/// connections.
pub async fn start(config: ServeConfig, verifier: Verifier) -> Result<ServerHandle, ServeError> {
    if config.tls.is_none() && !config.listen.ip().is_loopback() && !config.insecure_listen {
        return Err(ServeError::PlaintextNotLoopback(config.listen));
    }
    if config.max_request_sigs == 0 || config.max_queue_sigs < config.max_request_sigs {
        return Err(ServeError::Config(format!(
            "--max-queue-sigs ({}) must be at least --max-request-sigs ({}), which must be at least 1",
            config.max_queue_sigs, config.max_request_sigs
        )));
    }
    let tls = match &config.tls {
        Some(files) => {
            let cert = read_pem(&files.cert)?;
            let key = read_pem(&files.key)?;
            let ca = read_pem(&files.client_ca)?;
            Some(
                ServerTlsConfig::new()
                    .identity(Identity::from_pem(cert, key))
                    .client_ca_root(Certificate::from_pem(ca))
                    .client_auth_optional(false),
            )
        }
        None => None,
    };
    // Accepted sockets get TCP_NODELAY (below): a verdict is a few small frames that must leave
    // at once (measured without it: ~36 ms p50 at light load, the delayed-ACK stall).
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let metrics_listener = match config.metrics {
        Some(m) => Some(
            TcpListener::bind(m)
                .await
                .map_err(|source| ServeError::Bind { addr: m, source })?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()
        .map_err(ServeError::Metrics)?;

    let admission = Admission::new(config.max_queue_sigs, config.max_queue_bytes);
    let metrics = Metrics::new(Arc::clone(&admission), verifier.clone());
    let coalescer = Arc::new(Coalescer::start(
        verifier,
        CoalesceConfig {
            target: config.batch,
            max_delay: config.max_delay,
            workers: config.workers,
        },
        Arc::clone(&metrics),
    ));
    let (stopping_tx, stopping) = watch::channel(false);
    let service = Arc::new(VerifyService {
        admission: Arc::clone(&admission),
        coalescer: Arc::clone(&coalescer),
        metrics: Arc::clone(&metrics),
        limits: WireLimits {
            max_signatures: config.max_request_sigs,
            max_message_len: config.max_message_len,
        },
        stream_in_flight: config.stream_in_flight,
        stopping,
    });
    let verify = SignatureVerifierServer::new(service)
        .max_decoding_message_size(config.max_request_bytes)
        .max_encoding_message_size(usize::MAX);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<SignatureVerifierServer<Arc<VerifyService>>>()
        .await;

    let mut builder = Server::builder()
        .concurrency_limit_per_connection(config.per_connection_requests)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)));
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).map_err(|error| {
            let files = config.tls.as_ref().map_or(String::new(), |f| {
                format!(
                    "{}, {} and {}",
                    f.cert.display(),
                    f.key.display(),
                    f.client_ca.display()
                )
            });
            ServeError::Tls { files, error }
        })?;
    }
    let router = builder.add_service(health).add_service(verify);

    let (stop, stop_rx) = oneshot::channel::<()>();
    let (metrics_stop_tx, metrics_stop) = watch::channel(false);
    let metrics_task = metrics_listener.map(|l| {
        let metrics = Arc::clone(&metrics);
        let mut metrics_stop = metrics_stop.clone();
        tokio::spawn(serve_metrics(l, metrics, async move {
            let _ = metrics_stop.wait_for(|s| *s).await;
        }))
    });
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = stop_rx.await;
            let _ = stopping_tx.send(true);
            health_reporter
                .set_not_serving::<SignatureVerifierServer<Arc<VerifyService>>>()
                .await;
        };
        let served = router
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                signal,
            )
            .await
            .map_err(ServeError::Transport);
        // Every connection has closed, so every admitted request has been answered; the batcher
        // has nothing left and its threads stop.
        let _ = metrics_stop_tx.send(true);
        if let Some(t) = metrics_task {
            let _ = t.await;
        }
        if let Ok(coalescer) = Arc::try_unwrap(coalescer) {
            tokio::task::spawn_blocking(move || coalescer.shutdown())
                .await
                .map_err(|e| ServeError::Config(format!("stopping the workers: {e}")))?;
        }
        served
    });
    Ok(ServerHandle {
        addr,
        metrics_addr,
        metrics,
        admission,
        stop: Some(stop),
        task,
    })
}

/// Runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn run_until_signal(config: ServeConfig, verifier: Verifier) -> Result<(), ServeError> {
    let backend = verifier.describe();
    let mut handle = start(config.clone(), verifier).await?;
    let scheme = if config.tls.is_some() {
        "mTLS"
    } else {
        "plaintext"
    };
    eprintln!(
        "iosv serve: listening on {} ({scheme}), backend {backend}, batches of {} within {:?}, queue {} signatures",
        handle.addr, config.batch, config.max_delay, config.max_queue_sigs
    );
    if let Some(m) = handle.metrics_addr {
        eprintln!("iosv serve: metrics at {}", crate::metrics::describe(m));
    }
    wait_for_signal().await;
    eprintln!("iosv serve: shutting down (finishing admitted requests)");
    handle.begin_shutdown();
    handle.wait().await?;
    eprintln!("iosv serve: stopped");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// [`run_until_signal`] on a runtime of its own (for the `iosv` binary).
pub fn serve_blocking(config: ServeConfig, verifier: Verifier) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("iosv-serve")
        .build()
        .map_err(|e| ServeError::Config(format!("starting the runtime: {e}")))?;
    runtime.block_on(run_until_signal(config, verifier))
}
