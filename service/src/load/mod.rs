//! `iosv load`: open-loop load against one or more servers.
//!
//! Requests leave on a fixed schedule (request `i` at `start + i · batch / rate`) whatever the
//! server does, and each latency is measured from the scheduled time, so a slow server shows up
//! as latency and shedding rather than as a lower offered rate (no coordinated omission). Every
//! answer is compared with the verdicts the generator knows: the signatures are its own, valid
//! ones mixed with known-invalid (wrong message) and known-malformed (non-canonical `S`) ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ed25519_dalek::{Signer, SigningKey};
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::client::{ClientError, ClientTls, channel};
use crate::proto::signature_verifier_client::SignatureVerifierClient;
use crate::proto::{SignatureBatch, Verdict};

#[derive(Clone, Debug)]
pub struct LoadConfig {
    pub targets: Vec<String>,
    pub tls: Option<ClientTls>,
    /// Offered signatures per second.
    pub rate: f64,
    pub duration: Duration,
    /// Signatures per request.
    pub batch: usize,
    /// Connections per target.
    pub connections: usize,
    /// Share of signatures that must fail (half wrong message, half non-canonical S).
    pub bad_fraction: f64,
    /// Deadline of each request.
    pub timeout: Duration,
    pub seed: u64,
    /// Send batches over one `VerifyStream` per connection instead of unary `VerifyBatch` calls.
    pub stream: bool,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub targets: Vec<String>,
    pub batch: usize,
    pub connections: usize,
    /// Whether batches went over `VerifyStream`.
    pub stream: bool,
    pub duration_s: f64,
    pub offered_sigs_per_s: f64,
    /// Signatures answered with correct verdicts per second of the run (schedule start to the
    /// last answer).
    pub achieved_sigs_per_s: f64,
    pub requests_sent: u64,
    pub requests_ok: u64,
    pub requests_shed: u64,
    pub signatures_shed: u64,
    pub requests_failed: u64,
    /// Requests the generator could not send on time because too many were outstanding.
    pub requests_not_sent: u64,
    /// Verdicts that differ from the known ones (must be 0).
    pub wrong_verdicts: u64,
    pub signatures_ok: u64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_p999: f64,
    pub latency_ms_max: f64,
    /// The first failure messages seen (at most 5).
    pub failures: Vec<String>,
}

mod stream;

/// A pre-built request and the verdicts it must get.
pub(crate) struct Prepared {
    pub request: SignatureBatch,
    pub expected: Bytes,
}

/// Most signatures generated for the pool (requests reuse pool batches in turn).
const POOL_SIGNATURES: usize = 1 << 16;
const MESSAGE_LEN: usize = 64;
const KEYS: usize = 1024;

fn prepare(config: &LoadConfig) -> Vec<Prepared> {
    let mut rng = ChaCha20Rng::seed_from_u64(config.seed);
    let keys: Vec<SigningKey> = (0..KEYS)
        .map(|_| SigningKey::from_bytes(&rng.random()))
        .collect();
    let batches = (POOL_SIGNATURES / config.batch.max(1)).clamp(2, 64);
    (0..batches)
        .map(|_| {
            let mut pks = Vec::with_capacity(config.batch * 32);
            let mut sigs = Vec::with_capacity(config.batch * 64);
            let mut messages = Vec::with_capacity(config.batch * MESSAGE_LEN);
            let mut ends = Vec::with_capacity(config.batch);
            let mut expected = Vec::with_capacity(config.batch);
            for _ in 0..config.batch {
                let key = &keys[rng.random_range(0..KEYS)];
                let mut message = [0u8; MESSAGE_LEN];
                rng.fill(&mut message[..]);
                let mut sig = key.sign(&message).to_bytes();
                let mut verdict = Verdict::Valid;
                if rng.random_bool(config.bad_fraction) {
                    if rng.random_bool(0.5) {
                        message[0] ^= 1;
                        verdict = Verdict::Invalid;
                    } else {
                        // S + L: same scalar, non-canonical encoding (S < 2^253, so no overflow
                        // past 2^256).
                        add_group_order(&mut sig[32..]);
                        verdict = Verdict::Malformed;
                    }
                }
                pks.extend_from_slice(key.verifying_key().as_bytes());
                sigs.extend_from_slice(&sig);
                messages.extend_from_slice(&message);
                ends.push(messages.len() as u32);
                expected.push(verdict as u8);
            }
            Prepared {
                request: SignatureBatch {
                    public_keys: pks.into(),
                    signatures: sigs.into(),
                    messages: messages.into(),
                    message_ends: ends,
                },
                expected: expected.into(),
            }
        })
        .collect()
}

/// `s += L` (little-endian, 32 bytes).
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
}

/// What the answers said, shared by the tasks of a run.
pub(crate) struct Recorder {
    start: Instant,
    ok: AtomicU64,
    shed: AtomicU64,
    shed_sigs: AtomicU64,
    failed: AtomicU64,
    wrong: AtomicU64,
    sigs_ok: AtomicU64,
    last_answer_ns: AtomicU64,
    latencies: std::sync::Mutex<Histogram<u64>>,
    failures: std::sync::Mutex<Vec<String>>,
}

impl Recorder {
    fn new(start: Instant) -> Self {
        Self {
            start,
            ok: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            shed_sigs: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            wrong: AtomicU64::new(0),
            sigs_ok: AtomicU64::new(0),
            last_answer_ns: AtomicU64::new(0),
            latencies: std::sync::Mutex::new(
                Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds"),
            ),
            failures: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Verdicts arrived for `p`, scheduled at `scheduled`: compared with the known ones.
    fn answered(&self, p: &Prepared, got: &[u8], scheduled: Instant) {
        let done = Instant::now();
        let n = p.expected.len() as u64;
        if got == &p.expected[..] {
            self.ok.fetch_add(1, Ordering::Relaxed);
            self.sigs_ok.fetch_add(n, Ordering::Relaxed);
        } else {
            let wrong = if got.len() == p.expected.len() {
                got.iter()
                    .zip(p.expected.iter())
                    .filter(|(a, b)| a != b)
                    .count()
            } else {
                p.expected.len()
            };
            self.wrong.fetch_add(wrong as u64, Ordering::Relaxed);
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.note(format!("{wrong} wrong verdicts in one answer"));
        }
        let micros = done.duration_since(scheduled).as_micros() as u64;
        let _ = self
            .latencies
            .lock()
            .expect("latency lock")
            .record(micros.max(1));
        self.last_answer_ns.fetch_max(
            done.duration_since(self.start).as_nanos() as u64,
            Ordering::Relaxed,
        );
    }

    /// An error status (RESOURCE_EXHAUSTED counts as shed) for a request of `n` signatures.
    fn refused(&self, code: tonic::Code, message: &str, n: u64) {
        if code == tonic::Code::ResourceExhausted {
            self.shed.fetch_add(1, Ordering::Relaxed);
            self.shed_sigs.fetch_add(n, Ordering::Relaxed);
        } else {
            self.failed(format!("{code}: {message}"));
        }
    }

    fn failed(&self, message: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.note(message);
    }

    fn note(&self, message: String) {
        let mut f = self.failures.lock().expect("failure lock");
        if f.len() < 5 {
            f.push(message);
        }
    }

    fn report(&self, config: &LoadConfig, total: u64, not_sent: u64) -> LoadReport {
        let elapsed = Duration::from_nanos(self.last_answer_ns.load(Ordering::Relaxed))
            .max(config.duration)
            .as_secs_f64();
        let h = self.latencies.lock().expect("latency lock");
        let ms = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(q) as f64 / 1000.0
            }
        };
        let sigs_ok = self.sigs_ok.load(Ordering::Relaxed);
        LoadReport {
            targets: config.targets.clone(),
            batch: config.batch,
            connections: config.connections,
            stream: config.stream,
            duration_s: config.duration.as_secs_f64(),
            offered_sigs_per_s: config.rate,
            achieved_sigs_per_s: sigs_ok as f64 / elapsed,
            requests_sent: total - not_sent,
            requests_ok: self.ok.load(Ordering::Relaxed),
            requests_shed: self.shed.load(Ordering::Relaxed),
            signatures_shed: self.shed_sigs.load(Ordering::Relaxed),
            requests_failed: self.failed.load(Ordering::Relaxed),
            requests_not_sent: not_sent,
            wrong_verdicts: self.wrong.load(Ordering::Relaxed),
            signatures_ok: sigs_ok,
            latency_ms_p50: ms(0.5),
            latency_ms_p99: ms(0.99),
            latency_ms_p999: ms(0.999),
            latency_ms_max: if h.is_empty() {
                0.0
            } else {
                h.max() as f64 / 1000.0
            },
            failures: self.failures.lock().expect("failure lock").clone(),
        }
    }
}

/// The schedule of a run: request `i` leaves at `start + i · interval`; at most `max_outstanding`
/// unanswered (so a stalled server cannot make the generator's memory grow: enough for the whole
/// timeout at the offered rate, at least 64).
pub(crate) struct Schedule {
    pub interval: Duration,
    pub total: u64,
    pub max_outstanding: usize,
}

impl Schedule {
    fn of(config: &LoadConfig) -> Self {
        let interval = Duration::from_secs_f64(config.batch as f64 / config.rate);
        Self {
            interval,
            total: (config.duration.as_secs_f64() / interval.as_secs_f64()).floor() as u64,
            max_outstanding: ((config.timeout.as_secs_f64() / interval.as_secs_f64()).ceil()
                as usize)
                .clamp(64, 1 << 16),
        }
    }
}

/// Runs the load; blocks (own runtime).
pub fn run(config: &LoadConfig) -> Result<LoadReport, ClientError> {
    if config.targets.is_empty() {
        return Err(ClientError::NoEndpoints);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("iosv-load")
        .build()
        .map_err(ClientError::Runtime)?;
    let pool = Arc::new(prepare(config));
    let clients = {
        let _inside = runtime.enter();
        let mut clients = Vec::new();
        for target in &config.targets {
            for _ in 0..config.connections.max(1) {
                clients.push(
                    SignatureVerifierClient::new(channel(target, config.tls.as_ref())?)
                        .max_decoding_message_size(64 << 20),
                );
            }
        }
        clients
    };
    Ok(runtime.block_on(async {
        if config.stream {
            stream::drive(config, pool, clients).await
        } else {
            drive(config, pool, clients).await
        }
    }))
}

/// Unary requests: one task per request.
async fn drive(
    config: &LoadConfig,
    pool: Arc<Vec<Prepared>>,
    clients: Vec<SignatureVerifierClient<tonic::transport::Channel>>,
) -> LoadReport {
    let schedule = Schedule::of(config);
    let outstanding = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let recorder = Arc::new(Recorder::new(start));
    let mut not_sent = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..schedule.total {
        let scheduled = start + schedule.interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        if outstanding.load(Ordering::Acquire) >= schedule.max_outstanding {
            not_sent += 1;
            continue;
        }
        outstanding.fetch_add(1, Ordering::AcqRel);
        let pool = Arc::clone(&pool);
        let mut client = clients[i as usize % clients.len()].clone();
        let (recorder, outstanding) = (Arc::clone(&recorder), Arc::clone(&outstanding));
        let timeout = config.timeout;
        tasks.spawn(async move {
            let p = &pool[i as usize % pool.len()];
            let mut request = tonic::Request::new(p.request.clone());
            request.set_timeout(timeout);
            match tokio::time::timeout(timeout, client.verify_batch(request)).await {
                Ok(Ok(response)) => recorder.answered(p, &response.get_ref().verdicts, scheduled),
                Ok(Err(status)) => {
                    recorder.refused(status.code(), status.message(), p.expected.len() as u64)
                }
                Err(_) => recorder.failed(format!("no answer within {timeout:?}")),
            }
            outstanding.fetch_sub(1, Ordering::AcqRel);
        });
        // Reap finished tasks as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    recorder.report(config, schedule.total, not_sent)
}

/// The same signatures through an in-process [`iosv_engine::sig::Verifier`] on `threads`
/// threads for the configured duration, in the generator's batch size: the rate the service is
/// measured against. Returns signatures per second and the number of wrong verdicts.
pub fn in_process(
    config: &LoadConfig,
    verifier: &iosv_engine::sig::Verifier,
    threads: usize,
) -> (f64, u64) {
    use crate::wire::{PackedBatch, WireLimits};
    let pool = prepare(config);
    let limits = WireLimits {
        max_signatures: usize::MAX,
        max_message_len: usize::MAX,
    };
    let batches: Vec<(PackedBatch, Vec<bool>)> = pool
        .iter()
        .map(|p| {
            let batch = PackedBatch::check(p.request.clone(), limits).expect("own layout");
            let valid = p
                .expected
                .iter()
                .map(|&v| v == Verdict::Valid as u8)
                .collect();
            (batch, valid)
        })
        .collect();
    let done = AtomicU64::new(0);
    let wrong = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads.max(1) {
            let (batches, done, wrong) = (&batches, &done, &wrong);
            s.spawn(move || {
                let mut i = t;
                while start.elapsed() < config.duration {
                    let (batch, valid) = &batches[i % batches.len()];
                    let refs: Vec<_> = (0..batch.len()).map(|k| batch.get(k)).collect();
                    let got = verifier.verify_batch(&refs);
                    let bad = got.iter().zip(valid).filter(|(a, b)| a != b).count();
                    wrong.fetch_add(bad as u64, Ordering::Relaxed);
                    done.fetch_add(refs.len() as u64, Ordering::Relaxed);
                    i += threads;
                }
            });
        }
    });
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    (rate, wrong.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_the_group_order_breaks_canonicity() {
        let mut sig = [0u8; 64];
        sig[32] = 5;
        assert!(iosv_engine::sig::zip215::canonical_s(&sig).is_some());
        add_group_order(&mut sig[32..]);
        assert!(iosv_engine::sig::zip215::canonical_s(&sig).is_none());
    }

    #[test]
    fn the_pool_has_the_verdicts_it_claims() {
        let config = LoadConfig {
            targets: vec![],
            tls: None,
            rate: 1.0,
            duration: Duration::from_secs(1),
            batch: 64,
            connections: 1,
            bad_fraction: 0.3,
            timeout: Duration::from_secs(1),
            seed: 7,
            stream: false,
        };
        let pool = prepare(&config);
        let verifier = iosv_engine::sig::Verifier::new(iosv_engine::sig::Backend::Cpu).unwrap();
        for p in pool.iter().take(4) {
            let batch = crate::wire::PackedBatch::check(
                p.request.clone(),
                crate::wire::WireLimits {
                    max_signatures: 1 << 20,
                    max_message_len: 1 << 20,
                },
            )
            .unwrap();
            let refs: Vec<_> = (0..batch.len()).map(|i| batch.get(i)).collect();
            let ok = verifier.verify_batch(&refs);
            let mut verdicts = vec![0u8; refs.len()];
            let mut malformed = Vec::new();
            crate::wire::fill_verdicts(&batch, 0, &ok, &mut verdicts, &mut malformed);
            assert_eq!(&verdicts[..], &p.expected[..]);
        }
    }
}
