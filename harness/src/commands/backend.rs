//! `--backend cpu|gpu|auto|remote:ADDR[,ADDR…]`: where a command verifies its signatures, and the
//! client options of a remote backend (an `iosv serve` service, with local CPU fallback and
//! optional spot checks; see `iosv_service::client`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use iosv_engine::sig::Verifier;
use iosv_service::{ClientConfig, ClientTls, RemoteVerifier};

pub use crate::backend_spec::BackendSpec;

/// A fraction flag (spot checks, bad signatures): finite, within [0, 1].
pub(crate) fn fraction(text: &str) -> Result<f64, String> {
    let f: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a fraction"))?;
    if !(0.0..=1.0).contains(&f) {
        return Err(format!("{text} is outside 0 to 1"));
    }
    Ok(f)
}

/// Options of a remote backend's client.
#[derive(Args, Debug, Clone)]
pub struct RemoteArgs {
    /// Remote backend: fraction of remote verdicts re-verified on the local CPU (0 to 1); a
    /// disagreement marks that endpoint untrusted and is reported.
    #[arg(long, default_value_t = 0.01, value_parser = fraction)]
    pub spot_check: f64,
    /// Remote backend: deadline of each remote call in milliseconds; past it the batch goes to
    /// another endpoint or the local CPU.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub remote_timeout_ms: u64,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
}

/// A client's mTLS files (remote backend, `iosv load`).
#[derive(Args, Debug, Clone, Default)]
pub struct ClientTlsArgs {
    /// mTLS to the service: the CA its certificate chains to (with --remote-cert and
    /// --remote-key).
    #[arg(long, requires_all = ["remote_cert", "remote_key"])]
    pub remote_ca: Option<PathBuf>,
    /// mTLS to the service: this client's certificate (PEM).
    #[arg(long, requires = "remote_ca")]
    pub remote_cert: Option<PathBuf>,
    /// mTLS to the service: this client's private key (PEM).
    #[arg(long, requires = "remote_ca")]
    pub remote_key: Option<PathBuf>,
    /// mTLS to the service: the server name to expect in its certificate (default: the
    /// endpoint's host).
    #[arg(long)]
    pub remote_domain: Option<String>,
}

impl ClientTlsArgs {
    pub fn files(&self) -> Option<ClientTls> {
        Some(ClientTls {
            ca: self.remote_ca.clone()?,
            cert: self.remote_cert.clone()?,
            key: self.remote_key.clone()?,
            domain: self.remote_domain.clone(),
        })
    }
}

impl Default for RemoteArgs {
    /// The flags' defaults.
    fn default() -> Self {
        Self {
            spot_check: 0.01,
            remote_timeout_ms: 2000,
            tls: ClientTlsArgs::default(),
        }
    }
}

impl RemoteArgs {
    /// One line of what a remote client did (for a command's report).
    pub fn describe_stats(stats: &iosv_service::RemoteStats) -> String {
        format!(
            "remote: {} signatures verified remotely, {} locally (fallback), {} spot-checked, {} failed calls ({} shed), {} mismatches{}",
            stats.remote_signatures,
            stats.fallback_signatures,
            stats.spot_checked,
            stats.failed_calls,
            stats.shed_calls,
            stats.mismatches.len(),
            if stats.untrusted.is_empty() {
                String::new()
            } else {
                format!(", untrusted: {}", stats.untrusted.join(","))
            }
        )
    }

    pub fn tls(&self) -> Option<ClientTls> {
        self.tls.files()
    }
}

/// The verifier `spec` names, and the remote client when there is one (for its statistics).
pub fn open(
    spec: &BackendSpec,
    remote: &RemoteArgs,
) -> anyhow::Result<(Verifier, Option<Arc<RemoteVerifier>>)> {
    match spec {
        BackendSpec::Local(backend) => Ok((Verifier::new(*backend)?, None)),
        BackendSpec::Remote(endpoints) => {
            let mut config = ClientConfig::new(endpoints.clone());
            config.spot_check = remote.spot_check;
            config.timeout = Duration::from_millis(remote.remote_timeout_ms);
            config.tls = remote.tls();
            let client = Arc::new(RemoteVerifier::new(config)?);
            Ok((Arc::clone(&client).into_verifier(), Some(client)))
        }
    }
}
