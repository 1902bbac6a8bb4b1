//! The rogue-key attack, and why proofs of possession stop it.
//!
//! Without PoP, an attacker who sees the honest keys `A_1 … A_{n−1}` announces
//! `A_evil = y·B − Σ A_i` for a `y` it knows. The full roster's aggregate key is then `y·B`, so the
//! attacker alone produces a signature that verifies as signed by every member. With PoP, `A_evil`
//! cannot join: signing for it needs its discrete log, which nobody knows.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::*;
use crate::cosi::{Mask, Policy};
use crate::sig::zip215;

const MSG: &[u8] = b"iosv/test/finalize block 42";

struct Attack {
    honest: Vec<MemberKey>,
    /// The attacker's real secret `y`.
    attacker: MemberKey,
    rogue_key: [u8; 32],
}

fn attack(n_honest: usize) -> Attack {
    let mut rng = StdRng::seed_from_u64(0xbad);
    let honest: Vec<_> = (0..n_honest)
        .map(|_| MemberKey::generate(&mut rng))
        .collect();
    let attacker = MemberKey::generate(&mut rng);
    let honest_sum: EdwardsPoint = honest
        .iter()
        .map(|k| EdwardsPoint::mul_base(k.scalar()))
        .sum();
    let rogue = EdwardsPoint::mul_base(attacker.scalar()) - honest_sum;
    Attack {
        honest,
        attacker,
        rogue_key: rogue.compress().to_bytes(),
    }
}

/// A "collective" signature by everyone, made with the attacker's `y` alone: an Ed25519 signature
/// under `y·B` with a full mask.
fn forge(attacker: &MemberKey, members: usize, rng: &mut StdRng) -> Vec<u8> {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    let v = Scalar::from_bytes_mod_order_wide(&wide);
    let v_bytes = EdwardsPoint::mul_base(&v).compress().to_bytes();
    let c = zip215::challenge(&v_bytes, attacker.public_key(), MSG);
    let r = v + c * attacker.scalar();
    CollectiveSignature {
        v: v_bytes,
        r: r.to_bytes(),
        mask: Mask::full(members),
    }
    .to_bytes()
}

#[test]
fn without_pop_the_rogue_key_forges_everyones_signature() {
    let a = attack(6);
    let mut keys: Vec<[u8; 32]> = a.honest.iter().map(|k| *k.public_key()).collect();
    keys.push(a.rogue_key);
    let roster = Roster::new_without_pop_for_tests(&keys).expect("rogue key is a valid point");
    assert_eq!(
        roster.full_aggregate_key().compress().as_bytes(),
        a.attacker.public_key()
    );
    let sig = forge(&a.attacker, roster.len(), &mut StdRng::seed_from_u64(1));
    // Verifies as signed by all 7 members, under the strictest policy, though 6 never took part.
    assert_eq!(verify(&roster, Policy::Complete, MSG, &sig), Ok(()));
    assert_eq!(
        verify_batch(
            &roster,
            Policy::Complete,
            &[(MSG, &sig)],
            &mut StdRng::seed_from_u64(2)
        ),
        vec![true]
    );
}

#[test]
fn with_pop_the_rogue_key_cannot_register() {
    let a = attack(6);
    let mut builder = Roster::builder();
    for k in &a.honest {
        builder.register(&k.registration()).unwrap();
    }
    let index = a.honest.len();
    // Everything the attacker can sign: its own key's PoP, an Ed25519 signature by `y` over the
    // rogue key's PoP message, the honest members' PoPs, and junk.
    let mut attempts = vec![
        a.attacker.proof_of_possession(),
        a.attacker.sign(&pop_message(&a.rogue_key)),
        [0u8; 64],
    ];
    attempts.extend(a.honest.iter().map(MemberKey::proof_of_possession));
    for pop in attempts {
        assert_eq!(
            builder.register(&Registration {
                public_key: a.rogue_key,
                proof_of_possession: pop,
            }),
            Err(CosiError::BadProofOfPossession { index })
        );
    }

    // Registering its real key instead, the forgery fails: the aggregate is no longer `y·B`.
    builder.register(&a.attacker.registration()).unwrap();
    let roster = builder.build().unwrap();
    let sig = forge(&a.attacker, roster.len(), &mut StdRng::seed_from_u64(1));
    assert_eq!(
        verify(&roster, Policy::Complete, MSG, &sig),
        Err(CosiError::EquationFailed)
    );
}
