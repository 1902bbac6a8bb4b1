//! A remote verifier for the engine: the pipeline (or anything holding a
//! [`iosv_engine::sig::Verifier`]) sends its batches to one or more `iosv serve` endpoints.
//!
//! Trust and availability rules:
//! - endpoints are used in turn (round robin); one that fails (unreachable, shedding, past the
//!   deadline, a malformed answer) is skipped for `retry_after` and the batch goes to the next;
//! - when no endpoint answers, the batch is verified on the local CPU: a batch always gets
//!   verdicts, and they are always the engine's;
//! - with `spot_check > 0`, that fraction of every answer (at least one signature) is verified
//!   again locally; a single disagreement marks the endpoint untrusted for the rest of the
//!   client's life, is recorded in [`RemoteStats::mismatches`] and logged, and the whole batch is
//!   verified locally instead. A remote verdict that disagrees with a spot check is never used.
//!
//! The calls block: the client runs its own small tokio runtime, so it is called from ordinary
//! threads (the pipeline's workers), never from inside an async task; dropping it is safe anywhere.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use iosv_engine::sig::{Backend, ExternalVerifier, SigRef, Verifier, verify_single};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use thiserror::Error;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::proto::signature_verifier_client::SignatureVerifierClient;
use crate::wire::{PackedBatch, verdicts_as_bools};

/// PEM files for a client of an mTLS server.
#[derive(Clone, Debug)]
pub struct ClientTls {
    /// The CA the server's certificate must chain to.
    pub ca: PathBuf,
    /// This client's certificate chain and key.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The name to expect in the server's certificate (default: the endpoint's host).
    pub domain: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port` (or full `http://` / `https://` URIs).
    pub endpoints: Vec<String>,
    pub tls: Option<ClientTls>,
    /// Deadline of each remote call; past it the batch goes elsewhere.
    pub timeout: Duration,
    /// Fraction of remote verdicts re-verified locally (0 to 1).
    pub spot_check: f64,
    /// How long a failed endpoint is skipped.
    pub retry_after: Duration,
    /// Most signatures per remote call (larger batches are split).
    pub max_request_sigs: usize,
}

impl ClientConfig {
    pub fn new(endpoints: Vec<String>) -> Self {
        Self {
            endpoints,
            tls: None,
            timeout: Duration::from_secs(2),
            spot_check: 0.0,
            retry_after: Duration::from_secs(1),
            max_request_sigs: 16_384,
        }
    }
}

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("no endpoints given")]
    NoEndpoints,
    #[error("endpoint `{0}`: {1}")]
    Endpoint(String, String),
    #[error(transparent)]
    Pem(#[from] crate::pem::PemError),
    #[error("spot-check fraction {0} is not within 0 to 1")]
    SpotCheck(f64),
    #[error("starting the client runtime: {0}")]
    Runtime(std::io::Error),
}

/// One disagreement between an endpoint and the local CPU.
#[derive(Clone, Debug, Serialize)]
pub struct Mismatch {
    pub endpoint: String,
    /// Position in the remote call's batch.
    pub index: usize,
    pub remote_said_valid: bool,
}

/// What the client has done so far.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RemoteStats {
    /// Signatures whose verdicts came from an endpoint.
    pub remote_signatures: u64,
    /// Signatures verified locally because no endpoint answered (or one was caught lying).
    pub fallback_signatures: u64,
    /// Remote verdicts re-verified locally.
    pub spot_checked: u64,
    /// Remote calls that failed and went to another endpoint or the local CPU.
    pub failed_calls: u64,
    /// Calls answered `RESOURCE_EXHAUSTED`.
    pub shed_calls: u64,
    /// Every disagreement caught by a spot check.
    pub mismatches: Vec<Mismatch>,
    /// Endpoints no longer trusted.
    pub untrusted: Vec<String>,
}

struct Remote {
    name: String,
    client: SignatureVerifierClient<Channel>,
    untrusted: AtomicBool,
    skip_until: Mutex<Option<Instant>>,
}

impl Remote {
    fn usable(&self, now: Instant) -> bool {
        !self.untrusted.load(Ordering::Acquire)
            && self
                .skip_until
                .lock()
                .expect("skip lock")
                .is_none_or(|t| now >= t)
    }
}

/// The client. Implements [`ExternalVerifier`]; wrap it with [`RemoteVerifier::into_verifier`].
pub struct RemoteVerifier {
    /// Always `Some` until drop, which shuts it down without blocking (so the client may be
    /// dropped anywhere, async tasks included).
    runtime: Option<tokio::runtime::Runtime>,
    remotes: Vec<Remote>,
    next: AtomicUsize,
    local: Verifier,
    config: ClientConfig,
    remote_signatures: AtomicU64,
    fallback_signatures: AtomicU64,
    spot_checked: AtomicU64,
    failed_calls: AtomicU64,
    shed_calls: AtomicU64,
    mismatches: Mutex<Vec<Mismatch>>,
}

/// A channel to `endpoint` (connected lazily: an endpoint down at start is only skipped).
pub(crate) fn channel(endpoint: &str, tls: Option<&ClientTls>) -> Result<Channel, ClientError> {
    let uri = if endpoint.contains("://") {
        endpoint.to_string()
    } else if tls.is_some() {
        format!("https://{endpoint}")
    } else {
        format!("http://{endpoint}")
    };
    let bad =
        |e: &dyn std::fmt::Display| ClientError::Endpoint(endpoint.to_string(), e.to_string());
    let mut ep = Endpoint::from_shared(uri)
        .map_err(|e| bad(&e))?
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(crate::pem::read_pem(&tls.ca)?))
            .identity(Identity::from_pem(
                crate::pem::read_pem(&tls.cert)?,
                crate::pem::read_pem(&tls.key)?,
            ));
        if let Some(domain) = &tls.domain {
            config = config.domain_name(domain.clone());
        }
        ep = ep.tls_config(config).map_err(|e| bad(&e))?;
    }
    Ok(ep.connect_lazy())
}

impl RemoteVerifier {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        if config.endpoints.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        if !(0.0..=1.0).contains(&config.spot_check) {
            return Err(ClientError::SpotCheck(config.spot_check));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("iosv-remote")
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        let remotes = {
            let _inside = runtime.enter();
            config
                .endpoints
                .iter()
                .map(|e| {
                    Ok(Remote {
                        name: e.clone(),
                        client: SignatureVerifierClient::new(channel(e, config.tls.as_ref())?)
                            .max_decoding_message_size(64 << 20),
                        untrusted: AtomicBool::new(false),
                        skip_until: Mutex::new(None),
                    })
                })
                .collect::<Result<Vec<_>, ClientError>>()?
        };
        Ok(Self {
            runtime: Some(runtime),
            remotes,
            next: AtomicUsize::new(0),
            local: Verifier::new(Backend::Cpu).expect("the CPU backend always opens"),
            config,
            remote_signatures: AtomicU64::new(0),
            fallback_signatures: AtomicU64::new(0),
            spot_checked: AtomicU64::new(0),
            failed_calls: AtomicU64::new(0),
            shed_calls: AtomicU64::new(0),
            mismatches: Mutex::new(Vec::new()),
        })
    }

    /// A [`Verifier`] whose verdicts come from this client.
    pub fn into_verifier(self: std::sync::Arc<Self>) -> Verifier {
        Verifier::external(self)
    }

    pub fn stats(&self) -> RemoteStats {
        RemoteStats {
            remote_signatures: self.remote_signatures.load(Ordering::Relaxed),
            fallback_signatures: self.fallback_signatures.load(Ordering::Relaxed),
            spot_checked: self.spot_checked.load(Ordering::Relaxed),
            failed_calls: self.failed_calls.load(Ordering::Relaxed),
            shed_calls: self.shed_calls.load(Ordering::Relaxed),
            mismatches: self.mismatches.lock().expect("mismatch lock").clone(),
            untrusted: self
                .remotes
                .iter()
                .filter(|r| r.untrusted.load(Ordering::Acquire))
                .map(|r| r.name.clone())
                .collect(),
        }
    }

    /// The next usable endpoint after the last one used, if any.
    fn pick(&self, tried: &[bool]) -> Option<usize> {
        let now = Instant::now();
        let n = self.remotes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| !tried[i] && self.remotes[i].usable(now))
    }

    /// Verdicts for one remote-sized chunk.
    fn verify_chunk(&self, items: &[SigRef<'_>]) -> Vec<bool> {
        let request = PackedBatch::encode(items);
        let mut tried = vec![false; self.remotes.len()];
        while let Some(i) = self.pick(&tried) {
            tried[i] = true;
            let remote = &self.remotes[i];
            let mut call = tonic::Request::new(request.clone());
            call.set_timeout(self.config.timeout);
            let mut client = remote.client.clone();
            let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
            let answer = runtime.block_on(async {
                tokio::time::timeout(self.config.timeout, client.verify_batch(call)).await
            });
            let failure = match answer {
                Ok(Ok(response)) => match verdicts_as_bools(response.get_ref(), items.len()) {
                    Ok(verdicts) => {
                        if self.spot_check_passes(remote, items, &verdicts) {
                            self.remote_signatures
                                .fetch_add(items.len() as u64, Ordering::Relaxed);
                            return verdicts;
                        }
                        continue;
                    }
                    Err(why) => {
                        // An answer that breaks the protocol is as bad as a wrong one.
                        tracing::error!(endpoint = %remote.name, %why, "malformed answer: endpoint no longer trusted");
                        remote.untrusted.store(true, Ordering::Release);
                        continue;
                    }
                },
                Ok(Err(status)) => {
                    if status.code() == tonic::Code::ResourceExhausted {
                        self.shed_calls.fetch_add(1, Ordering::Relaxed);
                    }
                    format!("{}: {}", status.code(), status.message())
                }
                Err(_) => format!("no answer within {:?}", self.config.timeout),
            };
            self.failed_calls.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(endpoint = %remote.name, %failure, "remote call failed");
            *remote.skip_until.lock().expect("skip lock") =
                Some(Instant::now() + self.config.retry_after);
        }
        self.fallback_signatures
            .fetch_add(items.len() as u64, Ordering::Relaxed);
        self.local.verify_batch(items)
    }

    /// Re-verifies a sample of `verdicts` locally; on any disagreement marks `remote` untrusted,
    /// records it and returns false.
    fn spot_check_passes(&self, remote: &Remote, items: &[SigRef<'_>], verdicts: &[bool]) -> bool {
        if self.config.spot_check <= 0.0 || items.is_empty() {
            return true;
        }
        let k =
            ((items.len() as f64 * self.config.spot_check).ceil() as usize).clamp(1, items.len());
        let mut rng = rand::rngs::SmallRng::from_os_rng();
        let indices: Vec<usize> = if k == items.len() {
            (0..k).collect()
        } else {
            (0..k).map(|_| rng.random_range(0..items.len())).collect()
        };
        self.spot_checked.fetch_add(k as u64, Ordering::Relaxed);
        let mut honest = true;
        for index in indices {
            if verify_single(items[index]) != verdicts[index] {
                honest = false;
                tracing::error!(endpoint = %remote.name, index, remote_said_valid = verdicts[index],
                    "spot check disagrees with the endpoint: endpoint no longer trusted");
                self.mismatches
                    .lock()
                    .expect("mismatch lock")
                    .push(Mismatch {
                        endpoint: remote.name.clone(),
                        index,
                        remote_said_valid: verdicts[index],
                    });
            }
        }
        if !honest {
            remote.untrusted.store(true, Ordering::Release);
        }
        honest
    }
}

impl Drop for RemoteVerifier {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl ExternalVerifier for RemoteVerifier {
    fn verify_batch(&self, items: &[SigRef<'_>]) -> Vec<bool> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.config.max_request_sigs.max(1)) {
            out.extend(self.verify_chunk(chunk));
        }
        out
    }

    fn describe(&self) -> String {
        format!(
            "remote {} (local CPU fallback{})",
            self.config.endpoints.join(","),
            if self.config.spot_check > 0.0 {
                format!(", spot check {:.2}%", 100.0 * self.config.spot_check)
            } else {
                String::new()
            }
        )
    }
}
