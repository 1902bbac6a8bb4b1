//! Fraud proofs, in the form they travel in (serde JSON), then `FraudProof::verify`.
//!
//! Each input is checked three ways: as given; with its header re-signed by the fixture proposer
//! (mutated headers would otherwise stop at the signature check); and with its header replaced by
//! the fixture's *valid* block's signed header. Properties: no panic; a proof that parses
//! round-trips through JSON; a verified proof names its own claim's kind, the header's proposer
//! and hash, and the accused transaction's txid; and no proof ever verifies against the valid
//! block (soundness).

#![no_main]

use iosv_engine::fraud::{FraudProof, SignedHeader};
use iosv_engine::tx::Transaction;
use libfuzzer_sys::fuzz_target;

fn check(proof: &FraudProof, how: &str) {
    let valid = &iosv_fuzz::fixtures::fraud().valid_header;
    let verdict = proof.verify();
    iosv_fuzz::trace(|| match &verdict {
        Ok(p) => format!("{how}: proven {:?}", p.kind),
        Err(e) => {
            // The message up to its first number or hex value: the kind of refusal.
            let e = e.to_string();
            let end = e.find(|c: char| c.is_ascii_digit()).unwrap_or(e.len());
            format!("{how}: {}", &e[..end])
        }
    });
    match verdict {
        Ok(proven) => {
            assert!(
                proof.header.header != valid.header,
                "a proof convicted the valid block: {proof:?}"
            );
            assert_eq!(proven.kind, proof.claim.kind());
            assert_eq!(proven.proposer, proof.header.header.proposer);
            assert_eq!(proven.header_hash, proof.header.header.hash());
            let tx = Transaction::decode_framed(&proof.accused.bytes).expect("accused decodes");
            assert_eq!(proven.txid, tx.txid());
            assert_eq!(proven.index, proof.accused.inclusion.index);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some(text) = iosv_fuzz::text(data) else {
        return;
    };
    let Ok(proof) = serde_json::from_str::<FraudProof>(text) else {
        return;
    };
    let json = serde_json::to_string(&proof).expect("a parsed proof serializes");
    let back: FraudProof = serde_json::from_str(&json).expect("and parses back");
    assert_eq!(back, proof);
    check(&proof, "as given");

    let fixtures = iosv_fuzz::fixtures::fraud();
    let resigned = SignedHeader::sign(
        proof.header.header.clone(),
        iosv_fuzz::fixtures::fraud_proposer(),
    );
    if resigned != proof.header {
        check(
            &FraudProof {
                header: resigned,
                ..proof.clone()
            },
            "re-signed",
        );
    }
    if proof.header != fixtures.valid_header {
        check(
            &FraudProof {
                header: fixtures.valid_header.clone(),
                ..proof
            },
            "valid header",
        );
    }
});
