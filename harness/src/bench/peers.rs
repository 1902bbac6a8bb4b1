//! The peers the engine is measured against, each taking the same raw bytes as the engine (key
//! decompression included) and returning one verdict per signature.

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use iosv_engine::sig::SigRef;
use rand_core_06::SeedableRng;

/// ed25519-dalek 3, one `verify` per signature (its default rules, not ZIP-215: a speed peer).
pub fn dalek_verify(items: &[SigRef<'_>]) -> Vec<bool> {
    items
        .iter()
        .map(|it| {
            VerifyingKey::from_bytes(it.pk)
                .map(|vk| vk.verify(it.msg, &Signature::from_bytes(it.sig)).is_ok())
                .unwrap_or(false)
        })
        .collect()
}

/// ed25519-dalek 3 `verify_batch`; on a failed batch, falls back to one `verify` per signature so it
/// still yields a verdict each (our inputs are valid, so the fallback does not run in benchmarks).
pub fn dalek_verify_batch(items: &[SigRef<'_>]) -> Vec<bool> {
    let keys: Result<Vec<VerifyingKey>, _> = items
        .iter()
        .map(|it| VerifyingKey::from_bytes(it.pk))
        .collect();
    if let Ok(keys) = keys {
        let msgs: Vec<&[u8]> = items.iter().map(|it| it.msg).collect();
        let sigs: Vec<Signature> = items
            .iter()
            .map(|it| Signature::from_bytes(it.sig))
            .collect();
        if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
            return vec![true; items.len()];
        }
    }
    dalek_verify(items)
}

/// ed25519-consensus's batch verifier (ZIP-215, the oracle); per-signature fallback on failure.
pub fn consensus_batch(items: &[SigRef<'_>]) -> Vec<bool> {
    let mut batch = ed25519_consensus::batch::Verifier::new();
    for it in items {
        batch.queue((
            ed25519_consensus::VerificationKeyBytes::from(*it.pk),
            ed25519_consensus::Signature::from(*it.sig),
            it.msg,
        ));
    }
    let rng = rand_chacha_03::ChaCha20Rng::from_rng(rand_core_06::OsRng).expect("OS randomness");
    if batch.verify(rng).is_ok() {
        return vec![true; items.len()];
    }
    items.iter().map(|it| consensus_single(*it)).collect()
}

/// ed25519-consensus, one signature.
pub fn consensus_single(it: SigRef<'_>) -> bool {
    ed25519_consensus::VerificationKey::try_from(*it.pk)
        .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(*it.sig), it.msg))
        .is_ok()
}
