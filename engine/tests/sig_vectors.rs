//! Known-answer tests of ZIP-215 Ed25519 verification: the RFC 8032 §7.1 vectors and the
//! ed25519-speccheck edge cases, each judged by `verify_single`, by `verify_batch` (alone and in
//! a batch with others) and by the oracle, `ed25519-consensus`. All three must agree on every input.
//!
//! The speccheck file is `tests/vectors/ed25519-speccheck-cases.json` (source and licence in that
//! folder's README); set `IOSV_VECTORS_DIR` to read it from another directory. A missing file
//! fails the test.

use ed25519_dalek::{Signer, SigningKey};
use iosv_engine::sig::{KeyCache, SigItem, SigRef, verify_batch, verify_single};

mod vectors;

use vectors::{RFC8032_VECTORS, RfcVector, decode, speccheck_cases};

/// The ZIP-215 verdict of `ed25519-consensus`.
fn oracle(item: SigRef<'_>) -> bool {
    ed25519_consensus::VerificationKey::try_from(*item.pk)
        .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(*item.sig), item.msg))
        .is_ok()
}

fn describe(item: SigRef<'_>) -> String {
    format!(
        "pk={} msg={} sig={}",
        hex::encode(item.pk),
        hex::encode(item.msg),
        hex::encode(item.sig)
    )
}

/// Judges `item` alone three ways and checks they agree; returns the common verdict.
fn agreed_verdict(label: &str, item: SigRef<'_>) -> bool {
    let expected = oracle(item);
    let single = verify_single(item);
    let batch = verify_batch(&[item], &KeyCache::default());
    assert_eq!(
        single,
        expected,
        "{label}: verify_single disagrees with the oracle on {}",
        describe(item)
    );
    assert_eq!(
        batch,
        vec![expected],
        "{label}: verify_batch disagrees with the oracle on {}",
        describe(item)
    );
    expected
}

/// Judges `items` in one batch (and, with fresh keys, in a second batch with a warm cache) and
/// checks every verdict against the oracle.
fn check_batch(label: &str, items: &[SigItem]) {
    let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
    let expected: Vec<bool> = refs.iter().map(|&r| oracle(r)).collect();
    let cache = KeyCache::default();
    for round in ["cold cache", "warm cache"] {
        let got = verify_batch(&refs, &cache);
        assert_eq!(got.len(), refs.len(), "{label}: one verdict per signature");
        for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                g,
                e,
                "{label} ({round}): verify_batch disagrees with the oracle at index {i}: {}",
                describe(refs[i])
            );
        }
    }
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// Copies of `item` with one bit flipped, in the public key, in R, in S and in the message (when
/// there is one), at a few positions each, including the sign bits of A and R and the top bit of S.
fn one_bit_flips(item: &SigItem) -> Vec<(String, SigItem)> {
    let mut out = Vec::new();
    for bit in [0, 1, 100, 254, 255] {
        let mut m = item.clone();
        flip(&mut m.pk, bit);
        out.push((format!("pk bit {bit}"), m));
        let mut m = item.clone();
        flip(&mut m.sig, bit);
        out.push((format!("R bit {bit}"), m));
        let mut m = item.clone();
        flip(&mut m.sig, 256 + bit);
        out.push((format!("S bit {bit}"), m));
    }
    if !item.msg.is_empty() {
        let bits = item.msg.len() * 8;
        for bit in [0, bits / 2, bits - 1] {
            let mut m = item.clone();
            flip(&mut m.msg, bit);
            out.push((format!("msg bit {bit}"), m));
        }
    }
    out
}

#[test]
fn rfc8032_vectors_are_transcribed_exactly() {
    for v in &RFC8032_VECTORS {
        let key = SigningKey::from_bytes(&decode(v.name, v.secret));
        let item = v.item();
        assert_eq!(
            key.verifying_key().to_bytes(),
            item.pk,
            "{}: public key",
            v.name
        );
        assert_eq!(
            key.sign(&item.msg).to_bytes(),
            item.sig,
            "{}: signature",
            v.name
        );
    }
    assert_eq!(RFC8032_VECTORS[3].item().msg.len(), 1023);
}

#[test]
fn rfc8032_vectors_are_valid() {
    for v in &RFC8032_VECTORS {
        let item = v.item();
        assert!(
            agreed_verdict(v.name, item.as_ref()),
            "{}: rejected",
            v.name
        );
    }
    let all: Vec<SigItem> = RFC8032_VECTORS.iter().map(RfcVector::item).collect();
    check_batch("all RFC 8032 vectors", &all);
}

#[test]
fn rfc8032_vectors_with_one_bit_flipped_are_invalid() {
    for v in &RFC8032_VECTORS {
        let item = v.item();
        let mut mutated = Vec::new();
        for (what, m) in one_bit_flips(&item) {
            let label = format!("{} with {what} flipped", v.name);
            assert!(!agreed_verdict(&label, m.as_ref()), "{label}: accepted");
            mutated.push(m);
        }
        // The mutations together with the valid original, so the batch has to bisect.
        mutated.push(item);
        check_batch(&format!("{} and its one-bit mutations", v.name), &mutated);
    }
}

#[test]
fn speccheck_cases_agree_with_oracle_alone() {
    let cases = speccheck_cases();
    let mut accepted = 0;
    for (i, item) in cases.iter().enumerate() {
        if agreed_verdict(&format!("speccheck case {i}"), item.as_ref()) {
            accepted += 1;
        }
    }
    // The suite mixes cases ZIP-215 accepts and cases it rejects: a sanity check that the file is
    // the real one and the oracle is wired up, not a constant verdict.
    assert!(accepted > 0, "no speccheck case accepted");
    assert!(accepted < cases.len(), "every speccheck case accepted");
}

#[test]
fn speccheck_cases_agree_with_oracle_in_one_batch() {
    let cases = speccheck_cases();
    let valid: Vec<SigItem> = RFC8032_VECTORS.iter().map(RfcVector::item).collect();

    let mut mixed = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        mixed.push(case.clone());
        mixed.push(valid[i % valid.len()].clone());
    }
    check_batch("speccheck cases interleaved with valid signatures", &mixed);

    let mut grouped = valid.clone();
    grouped.extend(cases.iter().cloned());
    grouped.extend(valid.iter().cloned());
    check_batch("speccheck cases between valid signatures", &grouped);

    check_batch("speccheck cases only", &cases);
}
