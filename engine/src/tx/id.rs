//! Transaction identifiers and the message each input signs.
//!
//! `txid = SHA-512(TXID_DOMAIN || encoding without signatures)[..32]`. Leaving the signatures out
//! makes the txid non-malleable: re-encoding or replacing a signature (Ed25519 signatures are not
//! unique under every verification rule) cannot change the id that outpoints refer to. Everything
//! else, including each input's `owner`, is committed to.
//!
//! Every input signs the txid's 32 bytes. Since the txid covers the whole transaction except the
//! signatures, each signature commits to all inputs, all outputs and all owners — everything but the
//! signatures themselves, which cannot sign over themselves.

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha512};

use super::encoding::{Signatures, write_transaction};
use super::error::SignError;
use super::types::{Transaction, TxId};

/// Domain tag prefixed to the txid preimage. No other iosv hash domain tag is a prefix of it (or
/// vice versa), so a txid preimage can never be read as another object's preimage.
pub const TXID_DOMAIN: &[u8] = crate::domain::TXID;

/// The first 32 bytes of a finished SHA-512.
pub(crate) fn truncated_512(hasher: Sha512) -> [u8; 32] {
    let digest = hasher.finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest[..32]);
    out
}

impl Transaction {
    /// The identifier outpoints use to refer to this transaction's outputs. Independent of the
    /// input signatures; changes when any other field changes.
    pub fn txid(&self) -> TxId {
        let mut hasher = Sha512::new();
        Digest::update(&mut hasher, TXID_DOMAIN);
        write_transaction(self, &mut hasher, Signatures::Omit);
        TxId(truncated_512(hasher))
    }

    /// The message every input's signature is over: the txid's bytes.
    pub fn signing_hash(&self) -> [u8; 32] {
        self.txid().0
    }

    /// Signs input `i` with `keys[i]`, first setting every input's `owner` to its key's public key
    /// (owners are part of the signed message, so they are set before it is computed).
    pub fn sign(&mut self, keys: &[SigningKey]) -> Result<(), SignError> {
        if keys.len() != self.inputs.len() {
            return Err(SignError::KeyCountMismatch {
                inputs: self.inputs.len(),
                keys: keys.len(),
            });
        }
        for (input, key) in self.inputs.iter_mut().zip(keys) {
            input.owner = key.verifying_key().to_bytes();
        }
        let message = self.signing_hash();
        for (input, key) in self.inputs.iter_mut().zip(keys) {
            input.signature = key.sign(&message).to_bytes();
        }
        Ok(())
    }

    /// One `(public key, message, signature)` triple per input, in input order, for a signature
    /// verifier. The message is computed once and shared by all inputs.
    pub fn signature_checks(&self) -> impl Iterator<Item = ([u8; 32], [u8; 32], [u8; 64])> + '_ {
        let message = self.signing_hash();
        self.inputs
            .iter()
            .map(move |input| (input.owner, message, input.signature))
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, VerifyingKey};

    use super::*;
    use crate::tx::encoding::INPUT_ENCODED_LEN;
    use crate::tx::{OutPoint, TxInput, TxOutput};

    fn unsigned(inputs: u8) -> Transaction {
        Transaction {
            inputs: (0..inputs)
                .map(|i| TxInput {
                    prev: OutPoint {
                        txid: TxId([i; 32]),
                        index: u32::from(i),
                    },
                    owner: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
            outputs: vec![TxOutput {
                amount: 5,
                owner: [7; 32],
            }],
        }
    }

    fn keys(n: u8) -> Vec<SigningKey> {
        (0..n)
            .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
            .collect()
    }

    /// The txid recomputed from the wire encoding by cutting out the signature bytes.
    fn reference_txid(tx: &Transaction) -> [u8; 32] {
        let wire = tx.encode();
        let mut preimage = TXID_DOMAIN.to_vec();
        preimage.extend(&wire[..3]);
        for i in 0..tx.inputs.len() {
            let start = 3 + i * INPUT_ENCODED_LEN;
            preimage.extend(&wire[start..start + INPUT_ENCODED_LEN - 64]);
        }
        preimage.extend(&wire[3 + tx.inputs.len() * INPUT_ENCODED_LEN..]);
        let digest = Sha512::digest(&preimage);
        digest[..32].try_into().unwrap()
    }

    #[test]
    fn txid_matches_reference_construction() {
        let mut tx = unsigned(3);
        tx.sign(&keys(3)).unwrap();
        assert_eq!(tx.txid().0, reference_txid(&tx));
        assert_eq!(tx.signing_hash(), tx.txid().0);
    }

    #[test]
    fn signing_does_not_change_txid_but_owners_do() {
        let mut tx = unsigned(2);
        let mut owned = tx.clone();
        for input in &mut owned.inputs {
            input.owner = [0xaa; 32];
        }
        assert_eq!(tx.txid(), unsigned(2).txid());
        tx.sign(&keys(2)).unwrap();
        assert_ne!(tx.txid(), unsigned(2).txid(), "owners were set by sign");
        let mut resigned = tx.clone();
        resigned.inputs[0].signature = [0x55; 64];
        assert_eq!(resigned.txid(), tx.txid());
        assert_ne!(owned.txid(), unsigned(2).txid());
    }

    #[test]
    fn signatures_verify_strictly() {
        let mut tx = unsigned(3);
        let keys = keys(3);
        tx.sign(&keys).unwrap();
        let checks: Vec<_> = tx.signature_checks().collect();
        assert_eq!(checks.len(), 3);
        for ((pk, msg, sig), key) in checks.into_iter().zip(&keys) {
            assert_eq!(pk, key.verifying_key().to_bytes());
            let vk = VerifyingKey::from_bytes(&pk).unwrap();
            vk.verify_strict(&msg, &Signature::from_bytes(&sig))
                .unwrap();
        }
    }

    #[test]
    fn sign_requires_one_key_per_input() {
        let mut tx = unsigned(2);
        assert_eq!(
            tx.sign(&keys(3)),
            Err(SignError::KeyCountMismatch { inputs: 2, keys: 3 })
        );
        assert_eq!(
            tx,
            unsigned(2),
            "a failed sign leaves the transaction alone"
        );
    }
}
