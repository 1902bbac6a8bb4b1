//! What a member does with its secret key: generate it, prove possession of it, sign with it.

use rand::CryptoRng;

use super::{BlsCosiError, POP_DST, PublicKey, SIG_DST, SecretKey, Signature, verify};

/// Input key material for [`SecretKey::key_gen`]: 32 bytes is its minimum and the IETF draft's
/// recommendation.
const IKM_LEN: usize = 32;

/// A fresh secret key from `rng` (IETF `KeyGen` over 32 random bytes).
pub fn keygen<R: CryptoRng + ?Sized>(rng: &mut R) -> SecretKey {
    let mut ikm = [0u8; IKM_LEN];
    rng.fill_bytes(&mut ikm);
    let sk = SecretKey::key_gen(&ikm, &[]).expect("32 bytes of key material is KeyGen's minimum");
    ikm.fill(0);
    std::hint::black_box(&ikm);
    sk
}

/// The member's signature of `msg`, to be aggregated into a collective signature.
pub fn sign(sk: &SecretKey, msg: &[u8]) -> Signature {
    sk.sign(msg, SIG_DST, &[])
}

/// The proof of possession of `sk`: its signature of its own compressed public key under
/// [`POP_DST`]. Registration in a [`BlsRoster`](super::BlsRoster) requires it.
pub fn proof_of_possession(sk: &SecretKey) -> Signature {
    sk.sign(&sk.sk_to_pk().compress(), POP_DST, &[])
}

/// Checks a proof of possession for a key that already passed key validation.
pub(super) fn check_possession(pk: &PublicKey, pop: &Signature) -> Result<(), BlsCosiError> {
    if verify::pairing_check(POP_DST, pk, &pk.compress(), pop) {
        Ok(())
    } else {
        Err(BlsCosiError::BadProofOfPossession)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn proof_of_possession_binds_the_key() {
        let mut rng = StdRng::seed_from_u64(1);
        let (a, b) = (keygen(&mut rng), keygen(&mut rng));
        assert!(check_possession(&a.sk_to_pk(), &proof_of_possession(&a)).is_ok());
        assert_eq!(
            check_possession(&b.sk_to_pk(), &proof_of_possession(&a)),
            Err(BlsCosiError::BadProofOfPossession)
        );
    }

    #[test]
    fn pop_and_message_domains_are_separate() {
        let mut rng = StdRng::seed_from_u64(2);
        let sk = keygen(&mut rng);
        let pk = sk.sk_to_pk();
        // A message signature over the key's bytes is not a proof of possession, and a proof of
        // possession is not a message signature.
        assert!(check_possession(&pk, &sign(&sk, &pk.compress())).is_err());
        assert!(!verify::pairing_check(
            SIG_DST,
            &pk,
            &pk.compress(),
            &proof_of_possession(&sk)
        ));
        assert!(verify::pairing_check(SIG_DST, &pk, b"m", &sign(&sk, b"m")));
    }

    #[test]
    fn keygen_draws_distinct_keys() {
        let mut rng = StdRng::seed_from_u64(3);
        assert_ne!(
            keygen(&mut rng).sk_to_pk().compress(),
            keygen(&mut rng).sk_to_pk().compress()
        );
    }
}
