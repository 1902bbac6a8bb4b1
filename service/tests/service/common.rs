//! Helpers: servers on 127.0.0.1 ephemeral ports, signatures with known verdicts, a PKI made at
//! test time, and slow or lying verifiers to put behind a real server.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use iosv_engine::sig::{ExternalVerifier, SigItem, SigRef, Verifier, verify_single};
use iosv_service::proto::signature_verifier_client::SignatureVerifierClient;
use iosv_service::wire::PackedBatch;
use iosv_service::{ServeConfig, ServerHandle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tonic::transport::Channel;

pub fn config() -> ServeConfig {
    let mut c = ServeConfig::new("127.0.0.1:0".parse().unwrap());
    c.workers = 2;
    c.batch = 256;
    c.max_delay = Duration::from_millis(1);
    c
}

pub fn cpu() -> Verifier {
    Verifier::new(iosv_engine::sig::Backend::Cpu).unwrap()
}

pub async fn start(config: ServeConfig, verifier: Verifier) -> ServerHandle {
    iosv_service::start(config, verifier)
        .await
        .expect("server starts")
}

pub async fn client(handle: &ServerHandle) -> SignatureVerifierClient<Channel> {
    SignatureVerifierClient::connect(format!("http://{}", handle.addr))
        .await
        .expect("connects")
}

/// `n` signatures: valid ones, and (about `bad` of them) mutated ones of every kind: a flipped
/// message, key or R bit, a non-canonical S, an all-zero key, random bytes.
pub fn signatures(n: usize, bad: f64, seed: u64) -> Vec<SigItem> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys: Vec<SigningKey> = (0..16)
        .map(|_| SigningKey::from_bytes(&rng.random()))
        .collect();
    (0..n)
        .map(|_| {
            let key = &keys[rng.random_range(0..keys.len())];
            let len = rng.random_range(0..80);
            let msg: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let mut item = SigItem {
                pk: key.verifying_key().to_bytes(),
                sig: key.sign(&msg).to_bytes(),
                msg,
            };
            if rng.random_bool(bad) {
                match rng.random_range(0..6) {
                    0 if !item.msg.is_empty() => item.msg[0] ^= 1,
                    1 => item.pk[rng.random_range(0..32)] ^= 1 << rng.random_range(0..8),
                    2 => item.sig[rng.random_range(0..32)] ^= 1 << rng.random_range(0..8),
                    3 => item.sig[63] |= 0xf0,
                    4 => item.pk = [0; 32],
                    _ => rng.fill(&mut item.sig[..]),
                }
            }
            item
        })
        .collect()
}

pub fn refs(items: &[SigItem]) -> Vec<SigRef<'_>> {
    items.iter().map(SigItem::as_ref).collect()
}

pub fn request(items: &[SigItem]) -> iosv_service::proto::SignatureBatch {
    PackedBatch::encode(&refs(items))
}

/// The oracle: the engine's single-signature rules.
pub fn expected(items: &[SigItem]) -> Vec<bool> {
    items.iter().map(|i| verify_single(i.as_ref())).collect()
}

/// Verifies on the CPU after sleeping `delay` per batch: a server that is slow on purpose.
pub struct Slow(pub Duration);

impl ExternalVerifier for Slow {
    fn verify_batch(&self, items: &[SigRef<'_>]) -> Vec<bool> {
        std::thread::sleep(self.0);
        items.iter().map(|i| verify_single(*i)).collect()
    }
    fn describe(&self) -> String {
        "slow cpu".into()
    }
}

pub fn slow(delay: Duration) -> Verifier {
    Verifier::external(Arc::new(Slow(delay)))
}

/// Says every signature is valid: a lying server.
pub struct Liar;

impl ExternalVerifier for Liar {
    fn verify_batch(&self, items: &[SigRef<'_>]) -> Vec<bool> {
        vec![true; items.len()]
    }
    fn describe(&self) -> String {
        "liar".into()
    }
}

/// A CA, a server certificate for `localhost` and a client certificate it signed, and a client
/// certificate from another CA; PEM files in a fresh directory.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = std::env::temp_dir().join(format!("iosv-pki-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let write = |file: &str, text: String| std::fs::write(dir.join(file), text).unwrap();
        let new_ca = |cn: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, cn);
            let cert = params.self_signed(&key).unwrap();
            (cert, Issuer::new(params, key))
        };
        let (ca_cert, ca) = new_ca("iosv test CA");
        let (other_ca_cert, other_ca) = new_ca("someone else's CA");
        let leaf = |names: Vec<String>, issuer: &Issuer<'_, KeyPair>| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, issuer)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        write("ca.pem", ca_cert.pem());
        write("other-ca.pem", other_ca_cert.pem());
        let (cert, key) = leaf(vec!["localhost".into()], &ca);
        write("server.pem", cert);
        write("server.key", key);
        let (cert, key) = leaf(vec!["client".into()], &ca);
        write("client.pem", cert);
        write("client.key", key);
        let (cert, key) = leaf(vec!["intruder".into()], &other_ca);
        write("intruder.pem", cert);
        write("intruder.key", key);
        Self { dir }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server on a runtime of its own, so that killing it ends every task and connection at once,
/// as a crashed process would.
pub struct Isolated {
    pub addr: std::net::SocketAddr,
    kill: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Isolated {
    pub fn start(config: ServeConfig, verifier: Verifier) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (kill, killed) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let handle = runtime.block_on(start(config, verifier));
            addr_tx.send(handle.addr).unwrap();
            let _ = killed.recv();
            // No drain, no goodbye: every task and socket of the server goes now.
            runtime.shutdown_background();
            std::mem::forget(handle);
        });
        Self {
            addr: addr_rx.recv().unwrap(),
            kill: Some(kill),
            thread: Some(thread),
        }
    }

    pub fn kill(mut self) {
        drop(self.kill.take());
        self.thread.take().unwrap().join().unwrap();
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        drop(self.kill.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
