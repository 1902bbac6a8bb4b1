//! Writes the seed corpora, `corpus/<target>/`, from real encodings made through the crates'
//! public APIs: signed transactions, headers of a real MSB chain, snapshots of real sets, fraud
//! proofs built by `fraud::build`, DRP transcripts of in-memory sessions, signed MSBs, bootstrap
//! packages, signature lines, default configurations, and collective signatures, VRF and DLEQ
//! proofs made with the fixture keys.
//!
//! Usage: `seed [CORPUS_DIR]` (default `fuzz/corpus`); each file is named by the SHA-256 of its
//! contents, so re-running adds nothing that is already there. Built by run.sh like the targets
//! (instrumented, so it links libFuzzer's runtime but keeps its own `main`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use iosv_engine::cosi::bls;
use iosv_engine::cosi::schnorr::{self, Topology, run_round};
use iosv_engine::cosi::{Mask, Policy};
use iosv_engine::jsonl::format_line;
use iosv_engine::pvss::dleq::{self, DleqStatement};
use iosv_engine::pvss::generators::{g, h};
use iosv_engine::pvss::point::random_scalar;
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::utxo::{LockId, UtxoSet};
use iosv_engine::vrf;
use iosv_engine::workload::{KeyReuse, TxWorkload, signed_items};
use iosv_fuzz::container::encode_package;
use iosv_fuzz::fixtures;
use iosv_harness::demo::DemoConfig;
use iosv_harness::sim::drp_net::DrpNet as Network;
use iosv_harness::drp::{ServerFault, SessionParams};
use iosv_harness::msb::SignedMsb;
use iosv_harness::pob::ShardingPolicy;
use iosv_harness::sim::SimConfig;
use libfuzzer_sys as _;
use sha2::{Digest, Sha256};

/// The message the crypto target's fixture rosters sign (`fuzz_targets/crypto.rs`).
const MSG: &[u8] = b"iosv-fuzz/cosi-message";

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn add(&mut self, target: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        let name = hex::encode(&Sha256::digest(bytes)[..20]);
        let path = dir.join(name);
        if !path.exists() {
            std::fs::write(&path, bytes).expect("seed written");
            self.written += 1;
        }
    }

    fn add_prefixed(&mut self, target: &str, prefix: &[u8], bytes: &[u8]) {
        self.add(target, &[prefix, bytes].concat());
    }
}

fn transactions(c: &mut Corpus) {
    for (count, inputs, seed) in [(3, 1, 1), (2, 2, 2), (1, 5, 3)] {
        for tx in TxWorkload::generate(count, inputs, KeyReuse::Distinct, seed).txs {
            c.add("tx", &tx);
        }
    }
    // Framed but structurally invalid (zero amount, duplicate input): decode_framed only.
    let input = TxInput {
        prev: OutPoint {
            txid: TxId([7; 32]),
            index: 1,
        },
        owner: [8; 32],
        signature: [9; 64],
    };
    let output = TxOutput {
        amount: 0,
        owner: [1; 32],
    };
    let zero = Transaction {
        inputs: vec![input],
        outputs: vec![output],
    };
    c.add("tx", &zero.encode());
    let duplicate = Transaction {
        inputs: vec![input, input],
        outputs: vec![
            TxOutput {
                amount: 5,
                ..output
            };
            3
        ],
    };
    c.add("tx", &duplicate.encode());
    for proof in &fixtures::fraud().proofs {
        c.add("tx", &proof.accused.bytes);
    }
}

fn headers(c: &mut Corpus) {
    let package = &fixtures::msb().package;
    for header in &package.epoch_headers {
        c.add("header", &header.encode());
    }
    for block in &package.blocks {
        c.add("header", &block.header.encode());
    }
    c.add("header", &fixtures::fraud().valid_header.header.encode());
}

fn snapshots(c: &mut Corpus) {
    let dir = std::env::temp_dir().join(format!("iosv-fuzz-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("seed.snap");
    let mut add = |set: &UtxoSet, shards: u8| {
        set.snapshot_to(&path).expect("snapshot written");
        let bytes = std::fs::read(&path).expect("snapshot read");
        c.add_prefixed("snapshot", &bytes, &[shards]);
    };
    add(&UtxoSet::new(), 0);
    let set = UtxoSet::with_shards(4);
    for n in 0..6u8 {
        let outpoint = OutPoint {
            txid: TxId([n.wrapping_mul(37); 32]),
            index: u32::from(n),
        };
        let output = TxOutput {
            amount: u64::from(n) * 1000 + 1,
            owner: [n; 32],
        };
        set.insert_genesis(outpoint, output)
            .expect("fresh outpoint");
    }
    add(&set, 3);
    let locked = OutPoint {
        txid: TxId([74; 32]),
        index: 2,
    };
    set.lock(LockId([0xaa; 32]), &[locked]).expect("unlocked");
    add(&set, 7);
    let workload = TxWorkload::generate(12, 1, KeyReuse::Distinct, 9);
    let big = UtxoSet::new();
    for (outpoint, output) in &workload.genesis {
        big.insert_genesis(*outpoint, *output)
            .expect("fresh outpoint");
    }
    add(&big, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

fn fraud_proofs(c: &mut Corpus) {
    let fixture = fixtures::fraud();
    for proof in fixture.proofs.iter().chain(&fixture.attempts) {
        let json = serde_json::to_string(proof).expect("serializes");
        c.add("fraud_proof", json.as_bytes());
    }
}

fn drp_transcripts(c: &mut Corpus) {
    let runs: [(u32, u32, u64, Option<ServerFault>); 4] = [
        (4, 4, 1, None),
        (7, 3, 2, None),
        (5, 5, 3, Some(ServerFault::BadEncryptedShare)),
        (6, 3, 4, Some(ServerFault::ForgedDecryptionProof)),
    ];
    for (servers, group_size, seed, fault) in runs {
        let params = SessionParams {
            epoch: seed,
            previous: [seed as u8; 32],
            group_size,
        };
        let mut network = Network::new(servers, params, seed).expect("network set up");
        if let Some(fault) = fault {
            network.server_fault(0, fault);
        }
        network.run();
        let transcript = network.leader().transcript().expect("the session finished");
        transcript
            .verify()
            .expect("an honest leader's transcript verifies");
        let json = serde_json::to_string(transcript).expect("serializes");
        c.add("drp_transcript", json.as_bytes());
    }
}

fn msbs(c: &mut Corpus) {
    let fixture = fixtures::msb();
    for signed in &fixture.msbs {
        c.add(
            "msb",
            serde_json::to_string(signed)
                .expect("serializes")
                .as_bytes(),
        );
        c.add(
            "msb",
            serde_json::to_string_pretty(signed)
                .expect("serializes")
                .as_bytes(),
        );
    }
    // Signed by three of the four (ByzCoin's minimum for four).
    let last = fixture.msbs.last().expect("an MSB");
    let epoch = last.msb.epoch;
    let roster = &fixture.trust.rosters[&epoch];
    let mut three = Mask::full(roster.len());
    three.set(1, false);
    let mut rng = fixtures::rng(5);
    let partial = SignedMsb::sign(
        last.msb.clone(),
        roster,
        &fixture.keys[&epoch],
        &three,
        &mut rng,
    )
    .expect("signed");
    c.add(
        "msb",
        serde_json::to_string(&partial)
            .expect("serializes")
            .as_bytes(),
    );

    let package = encode_package(&fixture.package);
    for mode in [0u8, 0x1f, 0x08, 0x10, 0x16] {
        c.add_prefixed("bootstrap", &[mode], &package);
    }
}

fn jsonl(c: &mut Corpus) {
    let items = signed_items(6, 32, KeyReuse::Distinct, 11);
    let lines: Vec<String> = items.iter().map(|i| format_line(i.as_ref())).collect();
    for line in &lines[..3] {
        // Whole-line seeds: parse_line sees the full line.
        c.add("jsonl", line.as_bytes());
    }
    let mut bad_sig = items[3].clone();
    bad_sig.sig[5] ^= 1;
    let mut stream = lines.join("\n");
    stream.push('\n');
    stream.push_str(&format_line(bad_sig.as_ref()));
    stream.push_str("\r\n{\"pk\":\"00\",\"msg\":\"\",\"sig\":\"00\"}\nnot json\n\n");
    stream.push_str(&lines[4].replace("\"msg\"", "\"extra\":1,\"msg\""));
    c.add_prefixed("jsonl", &[1], stream.as_bytes());
    c.add_prefixed("jsonl", &[2], lines[5].as_bytes());
    let long = signed_items(1, 300, KeyReuse::Distinct, 12);
    c.add_prefixed("jsonl", &[3], format_line(long[0].as_ref()).as_bytes());
}

fn configs(c: &mut Corpus) {
    let demo = DemoConfig::default();
    c.add_prefixed(
        "config",
        &[0],
        serde_json::to_string(&demo).expect("json").as_bytes(),
    );
    c.add_prefixed(
        "config",
        &[0],
        serde_json::to_string_pretty(&demo)
            .expect("json")
            .as_bytes(),
    );
    c.add_prefixed("config", &[0], b"{}");
    for sim in [SimConfig::default(), SimConfig::with_drp()] {
        c.add_prefixed(
            "config",
            &[1],
            serde_json::to_string(&sim).expect("json").as_bytes(),
        );
    }
    let example = r#"{
  "validators": 24, "shards": 3, "delta_ms": 100, "max_views": 3,
  "network": {"latency_ms": 10, "jitter_ms": 5, "loss": 0.0},
  "links": [{"from": 0, "to": 1, "latency_ms": 40, "jitter_ms": 10, "loss": 0.05}],
  "partitions": [{"start_ms": 2500, "end_ms": 3300, "groups": [[0, 1, 2]]}],
  "crashes": [{"node": 5, "at_ms": 1000, "restart_ms": 3300}],
  "faults": [{"node": 7, "behavior": "withhold"}, {"node": 9, "behavior": "late_lottery"}],
  "transepoch": {"batch_size": 1, "sync_ms": 100},
  "workload": {"slot_ms": 50, "tx_per_block": 4, "slice_ms": 100}
}"#;
    c.add_prefixed("config", &[1], example.as_bytes());
    let policy = ShardingPolicy::default();
    c.add_prefixed(
        "config",
        &[2],
        serde_json::to_string(&policy).expect("json").as_bytes(),
    );
    c.add_prefixed(
        "config",
        &[2],
        serde_json::to_string_pretty(&policy)
            .expect("json")
            .as_bytes(),
    );
}

fn crypto(c: &mut Corpus) {
    let mut rng = fixtures::rng(17);
    // 0: Schnorr collective signatures, full and partial, for the fixture roster.
    let schnorr_fixture = fixtures::schnorr();
    let roster = &schnorr_fixture.roster;
    let n = roster.len();
    let mut partial = Mask::full(n);
    partial.set(2, false);
    partial.set(5, false);
    for mask in [Mask::full(n), partial] {
        let sig = run_round(
            roster,
            &schnorr_fixture.keys,
            &mask,
            MSG,
            Topology::Star,
            &mut rng,
        )
        .expect("round completes");
        let bytes = sig.to_bytes();
        schnorr::verify(roster, Policy::ByzCoin, MSG, &bytes).expect("verifies");
        c.add_prefixed("crypto", &[0, n as u8, 2], &bytes);
    }
    // 1: round messages.
    let (nonce, commitment) =
        schnorr::commit(roster, 0, &schnorr_fixture.keys[0], MSG, &mut rng).expect("commit");
    c.add_prefixed("crypto", &[1], &commitment.to_bytes());
    let challenge = schnorr::challenge(roster, &commitment, MSG).expect("challenge");
    c.add_prefixed("crypto", &[1], &challenge.to_bytes());
    let response = schnorr::respond(roster, &schnorr_fixture.keys[0], nonce, &challenge, MSG)
        .expect("response");
    c.add_prefixed("crypto", &[1], &response.to_bytes());
    // 2, 3: BLS.
    let bls_fixture = fixtures::bls();
    let contributions: Vec<(usize, bls::Signature)> = bls_fixture
        .keys
        .iter()
        .enumerate()
        .take(5)
        .map(|(i, sk)| (i, bls::sign(sk, MSG)))
        .collect();
    let collective = bls::CollectiveSignature::aggregate(&bls_fixture.roster, &contributions)
        .expect("aggregate");
    bls::verify(
        &bls_fixture.roster,
        Policy::ByzCoin,
        MSG,
        &collective.to_bytes(),
    )
    .expect("verifies");
    c.add_prefixed("crypto", &[2, 2], &collective.to_bytes());
    c.add_prefixed(
        "crypto",
        &[2, 0],
        &bls_fixture.keys[0].sk_to_pk().compress(),
    );
    c.add_prefixed("crypto", &[2, 0], &contributions[0].1.compress());
    let newcomer = bls::keygen(&mut rng);
    let registration = [
        newcomer.sk_to_pk().compress().as_slice(),
        bls::proof_of_possession(&newcomer).compress().as_slice(),
    ]
    .concat();
    c.add_prefixed("crypto", &[3], &registration);
    // 4: VRF proof ‖ public key ‖ alpha.
    let sk = fixtures::vrf_key();
    for alpha in [&b""[..], b"epoch 7", &[0xff; 40]] {
        let proof = vrf::prove(sk, alpha).to_bytes();
        c.add(
            "crypto",
            &[&[4][..], &proof, sk.public().as_bytes(), alpha].concat(),
        );
    }
    // 5: a point, and DLEQ proof ‖ g1 ‖ h1 ‖ g2 ‖ h2.
    c.add_prefixed("crypto", &[5], &h().to_bytes());
    let x = random_scalar(&mut rng);
    let statement = DleqStatement {
        g1: g(),
        h1: &g() * &x,
        g2: h(),
        h2: &h() * &x,
    };
    let proof = dleq::prove(&x, &statement, &mut rng);
    assert!(dleq::verify(&statement, &proof));
    let points: Vec<u8> = [statement.g1, statement.h1, statement.g2, statement.h2]
        .iter()
        .flat_map(|p| p.to_bytes())
        .collect();
    c.add("crypto", &[&[5][..], &proof.to_bytes(), &points].concat());
    // 6: a Schnorr CoSi registration.
    let registration = schnorr_fixture.keys[3].registration();
    c.add(
        "crypto",
        &[
            &[6][..],
            &registration.public_key,
            &registration.proof_of_possession,
        ]
        .concat(),
    );
}

/// Tokens worth inserting into JSON inputs: every object key (quoted) and every short non-hex
/// string value (enum variants, tags) found in `value`.
fn json_tokens(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                out.insert(format!("\"{key}\""));
                json_tokens(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_tokens(v, out)),
        serde_json::Value::String(s)
            if s.len() <= 32 && !s.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            out.insert(format!("\"{s}\""));
        }
        _ => {}
    }
}

/// Writes `dict/<target>.dict` (libFuzzer's `-dict=` format) for each JSON target, from the keys
/// and short strings of its seeds. `skip` is the number of leading selector bytes.
fn dictionaries(corpus: &Path, dict_dir: &Path) {
    std::fs::create_dir_all(dict_dir).expect("dictionary directory");
    for (target, skip) in [
        ("fraud_proof", 0),
        ("drp_transcript", 0),
        ("msb", 0),
        ("config", 1),
        ("jsonl", 0),
    ] {
        let mut tokens: BTreeSet<String> = ["true", "false", "null", "{}", "[]", "-1", "1e400"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let Ok(files) = std::fs::read_dir(corpus.join(target)) else {
            continue;
        };
        for file in files {
            let bytes = std::fs::read(file.expect("entry").path()).expect("seed read");
            let Some(text) = bytes.get(skip..).and_then(|b| std::str::from_utf8(b).ok()) else {
                continue;
            };
            for line in text.lines().chain(std::iter::once(text)) {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(line) {
                    json_tokens(&value, &mut tokens);
                }
            }
        }
        let dict: String = tokens
            .iter()
            .map(|t| format!("\"{}\"\n", t.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        std::fs::write(dict_dir.join(format!("{target}.dict")), dict).expect("dictionary written");
    }
}

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let mut corpus = Corpus { root, written: 0 };
    let steps: [fn(&mut Corpus); 9] = [
        transactions,
        headers,
        snapshots,
        fraud_proofs,
        drp_transcripts,
        msbs,
        jsonl,
        configs,
        crypto,
    ];
    for step in steps {
        step(&mut corpus);
    }
    let dict_dir = corpus
        .root
        .parent()
        .map_or_else(|| PathBuf::from("dict"), |p| p.join("dict"));
    dictionaries(&corpus.root, &dict_dir);
    println!(
        "{} new seed files under {}",
        corpus.written,
        corpus.root.display()
    );
}
