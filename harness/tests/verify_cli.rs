//! End-to-end tests of `iosv verify`: the real binary, fed JSON lines on standard input (or from a
//! file), checked line by line against the oracle, `ed25519-consensus`.
//!
//! The contract under test: exactly one output line per input line, in input order; `{"valid":true}`
//! or `{"valid":false}` with the ZIP-215 verdict for a well-formed line, `{"error":"…"}` for any
//! other line (not JSON, bad hex, wrong lengths, missing or extra fields, empty, over-long); the
//! same output whatever the thread count, batch size or input source; exit code 0 on success and 2
//! when the input cannot be opened (the GPU backends are tested in verify_gpu.rs).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use iosv_engine::jsonl::{MAX_LINE_LEN, MAX_MSG_LEN};
use iosv_engine::sig::SigItem;
use iosv_engine::workload::{KeyReuse, signed_items};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha512};

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// What the output line for one input line must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Valid(bool),
    Error,
}

/// The ZIP-215 verdict of `ed25519-consensus`.
fn oracle(item: &SigItem) -> bool {
    ed25519_consensus::VerificationKey::try_from(item.pk)
        .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(item.sig), &item.msg))
        .is_ok()
}

/// The input line for `item`, written here rather than with the engine's formatter.
fn line(item: &SigItem) -> Vec<u8> {
    format!(
        "{{\"pk\":\"{}\",\"msg\":\"{}\",\"sig\":\"{}\"}}",
        hex::encode(item.pk),
        hex::encode(&item.msg),
        hex::encode(item.sig)
    )
    .into_bytes()
}

/// An input being built: lines (without terminators) and what each must give.
#[derive(Default)]
struct Input {
    lines: Vec<(Vec<u8>, Expect)>,
}

impl Input {
    fn sig(&mut self, item: &SigItem) {
        self.lines.push((line(item), Expect::Valid(oracle(item))));
    }

    fn error(&mut self, text: impl Into<Vec<u8>>) {
        self.lines.push((text.into(), Expect::Error));
    }

    /// The bytes: every line ended by `\n`.
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (text, _) in &self.lines {
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        out
    }

    fn expected(&self) -> Vec<Expect> {
        self.lines.iter().map(|(_, e)| *e).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary.

fn iosv_verify(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iosv"))
        .arg("verify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start iosv");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    // Write from another thread: the binary writes output while it reads, so writing everything
    // before reading could fill both pipes.
    let writer = std::thread::spawn(move || {
        // A binary that exits early closes the pipe; the exit code then tells what happened.
        let _ = pipe.write_all(&data);
    });
    let output = child.wait_with_output().expect("wait for iosv");
    writer.join().expect("stdin writer");
    output
}

/// Runs `iosv verify` and requires exit code 0; returns standard output.
fn verify_ok(args: &[&str], stdin: &[u8]) -> String {
    let output = iosv_verify(args, stdin);
    assert_eq!(
        output.status.code(),
        Some(0),
        "iosv verify {args:?} failed; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("output is UTF-8")
}

/// Checks that `stdout` has exactly one line per expectation, each of the expected kind.
fn check_output(label: &str, stdout: &str, input: &Input) {
    assert!(
        stdout.is_empty() || stdout.ends_with('\n'),
        "{label}: output does not end with a newline"
    );
    let got: Vec<&str> = stdout.lines().collect();
    let expected = input.expected();
    assert_eq!(
        got.len(),
        expected.len(),
        "{label}: {} output lines for {} input lines",
        got.len(),
        expected.len()
    );
    for (i, (out, want)) in got.iter().zip(&expected).enumerate() {
        let ok = match want {
            Expect::Valid(true) => *out == r#"{"valid":true}"#,
            Expect::Valid(false) => *out == r#"{"valid":false}"#,
            Expect::Error => is_error_line(out),
        };
        let shown = &input.lines[i].0[..input.lines[i].0.len().min(300)];
        assert!(
            ok,
            "{label}: line {} gave {out:?}, expected {want:?}; input line: {:?}",
            i + 1,
            String::from_utf8_lossy(shown)
        );
    }
}

/// `{"error":"<non-empty message>"}` and nothing else.
fn is_error_line(out: &str) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(out) else {
        return false;
    };
    map.len() == 1
        && map
            .get("error")
            .and_then(|v| v.as_str())
            .is_some_and(|m| !m.is_empty())
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "iosv-verify-cli-{}-{name}.jsonl",
        std::process::id()
    ));
    std::fs::write(&path, contents).expect("write temp file");
    path
}

// ---------------------------------------------------------------------------------------------
// Building inputs.

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let wide: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(msg)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn y_plus_p(y: u8, sign: bool) -> [u8; 32] {
    let mut bytes = [0xff; 32];
    bytes[0] = 0xed + y;
    bytes[31] = 0x7f | (u8::from(sign) << 7);
    bytes
}

/// Small-order encodings (canonical, "negative zero", y ≥ p) and other non-canonical encodings.
fn special_encodings() -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|t| t.compress().to_bytes())
        .collect();
    let mut negative_zero = EdwardsPoint::default().compress().to_bytes();
    negative_zero[31] |= 0x80;
    out.push(negative_zero);
    let mut order_two = EIGHT_TORSION[4].compress().to_bytes();
    order_two[31] |= 0x80;
    out.push(order_two);
    for y in 0..19 {
        out.push(y_plus_p(y, false));
        out.push(y_plus_p(y, true));
    }
    out
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// A mutated copy of `item` (which may still be valid: the oracle decides).
fn mutated(item: &SigItem, other: &SigItem, specials: &[[u8; 32]], rng: &mut StdRng) -> SigItem {
    let mut m = item.clone();
    match rng.random_range(0..11) {
        0 => flip(&mut m.pk, rng.random_range(0..256)),
        1 => flip(&mut m.sig[..32], rng.random_range(0..256)),
        2 => flip(&mut m.sig[32..], rng.random_range(0..256)),
        3 if !m.msg.is_empty() => {
            let bits = m.msg.len() * 8;
            flip(&mut m.msg, rng.random_range(0..bits));
        }
        3 => m.msg.push(1),
        4 => m.pk = specials[rng.random_range(0..specials.len())],
        5 => m.sig[..32].copy_from_slice(&specials[rng.random_range(0..specials.len())]),
        6 => {
            // S + L, L, L + 1, 2²⁵⁶ − 1, S with its top bit set.
            let mut s: [u8; 32] = m.sig[32..].try_into().expect("S is 32 bytes");
            match rng.random_range(0..5) {
                0 => {
                    let mut carry = 0u16;
                    for (b, l) in s.iter_mut().zip(L) {
                        let sum = u16::from(*b) + u16::from(l) + carry;
                        *b = sum as u8;
                        carry = sum >> 8;
                    }
                }
                1 => s = L,
                2 => {
                    s = L;
                    s[0] += 1;
                }
                3 => s = [0xff; 32],
                _ => s[31] |= 0x80,
            }
            m.sig[32..].copy_from_slice(&s);
        }
        7 => m.msg = other.msg.clone(),
        8 => m.msg.clear(),
        9 => m.pk.copy_from_slice(&m.sig[..32]),
        _ => m.msg = vec![0xab; 10 * 1024],
    }
    m
}

/// Signatures valid only under ZIP-215's cofactored rules: small-order A (any encoding) with
/// S = r, and small-order R (any encoding) with S = k·a over R's exact bytes.
fn zip215_only(seed: u64, specials: &[[u8; 32]]) -> Vec<SigItem> {
    let small: Vec<[u8; 32]> = specials
        .iter()
        .filter(|e| {
            curve25519_dalek::edwards::CompressedEdwardsY(**e)
                .decompress()
                .is_some_and(|p| p.is_small_order())
        })
        .copied()
        .collect();
    assert_eq!(small.len(), 14, "small-order encodings");
    let mut out = Vec::new();
    for (i, enc) in small.iter().enumerate() {
        let r = Scalar::from(seed * 1000 + i as u64 + 1);
        let a = Scalar::from(seed * 1000 + i as u64 + 7);
        let msg = format!("zip215 {seed} {i}").into_bytes();
        let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(r.as_bytes());
        out.push(SigItem {
            pk: *enc,
            msg: msg.clone(),
            sig,
        });
        let a_bytes = EdwardsPoint::mul_base(&a).compress().to_bytes();
        let k = challenge(enc, &a_bytes, &msg);
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(enc);
        sig[32..].copy_from_slice((k * a).as_bytes());
        out.push(SigItem {
            pk: a_bytes,
            msg,
            sig,
        });
    }
    out
}

/// Malformed lines built around the fields of a valid `item`.
fn malformed(item: &SigItem) -> Vec<Vec<u8>> {
    let pk = hex::encode(item.pk);
    let msg = hex::encode(&item.msg);
    let sig = hex::encode(item.sig);
    let obj = |pk: &str, msg: &str, sig: &str| {
        format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\",\"sig\":\"{sig}\"}}").into_bytes()
    };
    let mut bad_hex_pk = pk.clone();
    bad_hex_pk.replace_range(10..11, "g");
    let mut bad_hex_sig = sig.clone();
    bad_hex_sig.replace_range(0..1, "z");
    vec![
        b"not json".to_vec(),
        b"{".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        b"\"pk\"".to_vec(),
        Vec::new(),
        b"   ".to_vec(),
        b"\r".to_vec(),
        obj(&bad_hex_pk, &msg, &sig),
        obj(&pk, &msg, &bad_hex_sig),
        obj(&pk, "0g", &sig),
        obj(&pk, "abc", &sig),
        obj(&pk[..62], &msg, &sig),
        obj(&format!("{pk}00"), &msg, &sig),
        obj(&pk[..63], &msg, &sig),
        obj(&pk, &msg, &sig[..126]),
        obj(&pk, &msg, &format!("{sig}00")),
        obj("", &msg, &sig),
        obj(&pk, &msg, ""),
        format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\"}}").into_bytes(),
        format!("{{\"msg\":\"{msg}\",\"sig\":\"{sig}\"}}").into_bytes(),
        format!("{{\"pk\":\"{pk}\",\"sig\":\"{sig}\"}}").into_bytes(),
        format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\",\"sig\":\"{sig}\",\"extra\":1}}").into_bytes(),
        format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\",\"sig\":\"{sig}\",\"pk2\":\"{pk}\"}}")
            .into_bytes(),
        format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\",\"sig\":null}}").into_bytes(),
        format!(
            "{{\"pk\":\"{pk}\",\"msg\":{},\"sig\":\"{sig}\"}}",
            item.msg.len()
        )
        .into_bytes(),
        format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\",\"sig\":\"{sig}\"}} trailing").into_bytes(),
        format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\",\"sig\":\"{sig}\"}}{{}}").into_bytes(),
        [b"{\"pk\":\"\xff\xfe".as_slice(), pk.as_bytes(), b"\"}"].concat(),
    ]
}

/// A few thousand lines: valid signatures, mutated ones, ZIP-215-only ones, malformed lines and
/// CRLF-terminated lines, shuffled.
fn mixed_input(seed: u64) -> Input {
    let mut rng = StdRng::seed_from_u64(seed);
    let specials = special_encodings();
    let zipf = KeyReuse::Zipf {
        accounts: 40,
        exponent: 1.0,
    };
    let mut valid = signed_items(1500, 32, zipf, seed);
    valid.extend(signed_items(40, 0, KeyReuse::Distinct, seed + 1));
    valid.extend(signed_items(10, 10 * 1024, zipf, seed + 2));

    let mut input = Input::default();
    for (i, item) in valid.iter().enumerate() {
        if i % 2 == 0 {
            input.sig(item);
        } else {
            let other = &valid[(i * 7 + 3) % valid.len()];
            input.sig(&mutated(item, other, &specials, &mut rng));
        }
    }
    for item in zip215_only(seed, &specials) {
        input.sig(&item);
    }
    for i in 0..20 {
        for bad in malformed(&valid[i * 3]) {
            input.error(bad);
        }
    }
    // CRLF line endings: the `\r` is part of the line terminator, not of the line.
    for item in valid.iter().take(30) {
        let mut text = line(item);
        text.push(b'\r');
        input.lines.push((text, Expect::Valid(oracle(item))));
    }
    input.lines.shuffle(&mut rng);
    input
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn mixed_input_matches_oracle_for_every_thread_and_batch_setting() {
    let input = mixed_input(11);
    assert!(input.lines.len() > 2000, "{} lines", input.lines.len());
    let valid = input
        .expected()
        .iter()
        .filter(|e| **e == Expect::Valid(true))
        .count();
    let invalid = input
        .expected()
        .iter()
        .filter(|e| **e == Expect::Valid(false))
        .count();
    assert!(
        valid > 500 && invalid > 500,
        "valid {valid}, invalid {invalid}"
    );

    let bytes = input.bytes();
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        for batch in [Some("1"), Some("7"), None] {
            let mut args = vec!["--threads", threads];
            if let Some(b) = batch {
                args.extend(["--batch", b]);
            }
            let stdout = verify_ok(&args, &bytes);
            check_output(&format!("{args:?}"), &stdout, &input);
            outputs.push(stdout);
        }
    }
    let stdout = verify_ok(&[], &bytes);
    check_output("default settings", &stdout, &input);
    // Error messages included, every setting gives the same bytes.
    for out in &outputs {
        assert!(*out == stdout, "outputs differ between settings");
    }
}

#[test]
fn line_over_the_limit_gets_an_error_and_later_lines_are_judged() {
    let items = signed_items(12, 32, KeyReuse::Distinct, 21);
    let long_items = signed_items(3, MAX_MSG_LEN, KeyReuse::Distinct, 22);
    let mut input = Input::default();
    input.sig(&items[0]);
    // Over 200 KiB: a well-formed line whose message is far over the limit.
    let huge = SigItem {
        msg: vec![0x5a; 100 * 1024],
        ..items[1].clone()
    };
    let huge_line = line(&huge);
    assert!(huge_line.len() > 200 * 1024 && huge_line.len() > MAX_LINE_LEN);
    input.error(huge_line.clone());
    input.sig(&items[2]);
    // Not JSON at all, 300 KiB of it.
    input.error(vec![b'x'; 300 * 1024]);
    input.sig(&items[3]);
    let mut bad = items[4].clone();
    bad.sig[40] ^= 1;
    input.sig(&bad);
    // A message of exactly the largest size is judged.
    input.sig(&long_items[0]);
    // Two long lines in a row, then a valid one.
    input.error(huge_line.clone());
    input.error(huge_line);
    for item in &items[5..] {
        input.sig(item);
    }
    let bytes = input.bytes();
    for args in [
        vec!["--threads", "1", "--batch", "1"],
        vec!["--threads", "2", "--batch", "2"],
        vec!["--threads", "2", "--batch", "7"],
        vec![],
    ] {
        let stdout = verify_ok(&args, &bytes);
        check_output(&format!("long lines {args:?}"), &stdout, &input);
    }

    // An over-long last line without a newline.
    let mut tail = Input::default();
    tail.sig(&items[0]);
    tail.error(vec![b'{'; 250 * 1024]);
    let mut bytes = tail.bytes();
    bytes.pop();
    let stdout = verify_ok(&["--threads", "1"], &bytes);
    check_output("over-long last line", &stdout, &tail);
}

#[test]
fn last_line_without_newline_is_judged() {
    let items = signed_items(3, 32, KeyReuse::Distinct, 31);
    let mut input = Input::default();
    for item in &items {
        input.sig(item);
    }
    let mut bytes = input.bytes();
    bytes.pop();
    let stdout = verify_ok(&["--threads", "2", "--batch", "2"], &bytes);
    check_output("no final newline", &stdout, &input);
}

#[test]
fn exit_codes() {
    let items = signed_items(5, 32, KeyReuse::Distinct, 41);
    let mut input = Input::default();
    for item in &items {
        input.sig(item);
    }
    let output = iosv_verify(&[], &input.bytes());
    assert_eq!(output.status.code(), Some(0));

    let missing = std::env::temp_dir().join(format!(
        "iosv-verify-cli-{}-does-not-exist.jsonl",
        std::process::id()
    ));
    let output = iosv_verify(&[missing.to_str().expect("UTF-8 path")], b"");
    assert_eq!(
        output.status.code(),
        Some(2),
        "missing input file; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "output for a missing file");
    assert!(!output.stderr.is_empty(), "no message for a missing file");
}

#[test]
fn backend_auto_gives_the_same_output_as_cpu() {
    let input = mixed_input(51);
    let bytes = input.bytes();
    let cpu = verify_ok(&["--backend", "cpu", "--threads", "2"], &bytes);
    check_output("--backend cpu", &cpu, &input);
    let auto = verify_ok(&["--backend", "auto", "--threads", "2"], &bytes);
    assert!(
        auto == cpu,
        "--backend auto output differs from --backend cpu"
    );
}

#[test]
fn empty_input_gives_empty_output() {
    for args in [vec![], vec!["--threads", "1", "--batch", "1"]] {
        let stdout = verify_ok(&args, b"");
        assert!(stdout.is_empty(), "output for empty input: {stdout:?}");
    }
    let path = temp_file("empty", b"");
    let stdout = verify_ok(&[path.to_str().expect("UTF-8 path")], b"");
    std::fs::remove_file(&path).expect("remove temp file");
    assert!(stdout.is_empty(), "output for an empty file: {stdout:?}");
}

#[test]
fn file_input_gives_the_same_output_as_stdin() {
    let input = mixed_input(61);
    let bytes = input.bytes();
    let from_stdin = verify_ok(&["--threads", "2", "--batch", "7"], &bytes);
    check_output("stdin", &from_stdin, &input);

    let path = temp_file("mixed", &bytes);
    let path_arg = path.to_str().expect("UTF-8 path");
    let from_file = verify_ok(&[path_arg, "--threads", "2", "--batch", "7"], b"");
    let from_file_default = verify_ok(&[path_arg], b"");
    std::fs::remove_file(&path).expect("remove temp file");
    assert!(
        from_file == from_stdin,
        "file output differs from stdin output"
    );
    assert!(
        from_file_default == from_stdin,
        "file output (default settings) differs"
    );

    let from_dash = verify_ok(&["-", "--threads", "1"], &bytes);
    assert!(
        from_dash == from_stdin,
        "`-` output differs from stdin output"
    );
}
