//! `iosv serve`: a signature verification service that validators offload to, its client, and
//! its load generator.
//!
//! Layout (the path of a request, in order):
//! - [`proto`]: the gRPC messages and service, generated at build time from
//!   `proto/iosv_verify.proto` (protox; no system `protoc`);
//! - [`wire`]: the packed batch layout, checked before anything else touches it;
//! - [`admission`]: the bounded queue (over it: `RESOURCE_EXHAUSTED` at once);
//! - [`coalesce`]: batching across clients by size and deadline, and the verification workers;
//! - [`server`]: the request handlers; [`serve`]: listener, TLS, health, shutdown;
//! - [`metrics`]: Prometheus text at `/metrics`;
//! - [`client`]: a remote verifier for the engine (balancing, local fallback, spot checks);
//! - [`load`]: the open-loop load generator (`iosv load`).
//!
//! Verdicts follow the engine's ZIP-215 rules exactly: the service runs the engine's
//! [`iosv_engine::sig::Verifier`], and the client re-verifies a sample of what it is told.

pub mod admission;
pub mod client;
pub mod coalesce;
pub mod load;
pub mod metrics;
pub mod pem;
pub mod serve;
pub mod server;
pub mod wire;

/// Generated from `proto/iosv_verify.proto`.
#[allow(clippy::all, missing_docs)]
pub mod proto {
    tonic::include_proto!("iosv.verify.v1");
}

pub use client::{ClientConfig, ClientTls, RemoteStats, RemoteVerifier};
pub use load::{LoadConfig, LoadReport};
pub use serve::{ServeConfig, ServeError, ServerHandle, TlsFiles, run_until_signal, start};
