//! `iosv serve`: the signature verification service (see `iosv_service`). Runs until SIGINT or
//! SIGTERM, then stops accepting, answers everything admitted and exits 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use iosv_engine::sig::{Backend, Verifier};
use iosv_service::{ServeConfig, TlsFiles};

use super::backend::BackendSpec;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Without TLS only a loopback address is accepted (unless
    /// --insecure-listen).
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Verification backend: cpu, gpu or auto.
    #[arg(long, default_value = "cpu")]
    pub backend: BackendSpec,
    /// mTLS: the server's certificate chain (PEM); with --tls-key and --client-ca.
    #[arg(long, requires_all = ["tls_key", "client_ca"])]
    pub tls_cert: Option<PathBuf>,
    /// mTLS: the server's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// mTLS: clients must present a certificate chaining to this CA (PEM).
    #[arg(long, requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Serve plaintext on a non-loopback address (anyone who can reach it can use it).
    #[arg(long)]
    pub insecure_listen: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Most signatures (or transactions) in one request.
    #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1..=4_194_304))]
    pub max_request_sigs: u32,
    /// Most signatures admitted and not yet answered; requests over it get RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 1_048_576, value_parser = clap::value_parser!(u32).range(1..=67_108_864))]
    pub max_queue_sigs: u32,
    /// Most request bytes admitted and not yet answered, in MiB.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_queue_mib: u32,
    /// Largest request, in MiB (refused from its length prefix, before it is buffered).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_request_mib: u32,
    /// Longest message a signature may be over, in bytes.
    #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1..=16_777_216))]
    pub max_message_bytes: u32,
    /// Signatures per backend batch [default: 1,024 on the CPU, 16,384 with gpu, 8,192 with
    /// auto].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub batch: Option<u32>,
    /// Longest a signature waits for its backend batch to fill, in milliseconds [default: 2 on
    /// the CPU, 5 with gpu or auto].
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub max_delay_ms: Option<u32>,
    /// Verification threads [default: one per core; 4 with gpu].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub workers: Option<u32>,
    /// Batches one VerifyStream may have unanswered before the server stops reading it.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub stream_in_flight: u32,
    /// Requests one connection may have in progress.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub connection_requests: u32,
}

impl ServeArgs {
    pub fn config(&self, backend: Backend) -> anyhow::Result<ServeConfig> {
        let mut config = ServeConfig::new(self.listen);
        config.tls = match (&self.tls_cert, &self.tls_key, &self.client_ca) {
            (Some(cert), Some(key), Some(ca)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: ca.clone(),
            }),
            (None, None, None) => None,
            _ => anyhow::bail!("mTLS needs all of --tls-cert, --tls-key and --client-ca"),
        };
        config.insecure_listen = self.insecure_listen;
        config.metrics = self.metrics;
        config.max_request_sigs = self.max_request_sigs as usize;
        config.max_queue_sigs = self.max_queue_sigs as usize;
        config.max_queue_bytes = (self.max_queue_mib as usize) << 20;
        config.max_message_len = self.max_message_bytes as usize;
        config.max_request_bytes = (self.max_request_mib as usize) << 20;
        let on_cpu = backend == Backend::Cpu;
        config.batch = self.batch.map_or(
            match backend {
                Backend::Gpu => 16_384,
                Backend::Auto => 8_192,
                _ => 1_024,
            },
            |b| b as usize,
        );
        config.max_delay =
            Duration::from_millis(u64::from(self.max_delay_ms.unwrap_or(if on_cpu {
                2
            } else {
                5
            })));
        if let Some(w) = self.workers {
            config.workers = w as usize;
        } else if backend == Backend::Gpu {
            config.workers = 4;
        }
        config.stream_in_flight = self.stream_in_flight as usize;
        config.per_connection_requests = self.connection_requests as usize;
        Ok(config)
    }
}

pub fn run(args: &ServeArgs) -> anyhow::Result<bool> {
    let backend = match &args.backend {
        BackendSpec::Local(b) => *b,
        BackendSpec::Remote(endpoints) => {
            anyhow::bail!(
                "iosv serve verifies itself: --backend remote:{} is not allowed (cpu, gpu or auto)",
                endpoints.join(",")
            )
        }
    };
    let verifier = Verifier::new(backend)?;
    let config = args.config(verifier.backend())?;
    iosv_service::serve::serve_blocking(config, verifier)?;
    Ok(true)
}
