//! Schnorr CoSi end to end: rounds over trees of several shapes, verification edge cases, batch
//! verdicts against single verdicts, the rogue-key attack against PoP registration, and a
//! differential check against `ed25519-consensus` (a CoSi signature is an Ed25519 signature under
//! the participants' aggregate key).

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use iosv_engine::cosi::schnorr::{
    AggregatePath, CollectiveSignature, CosiError, MemberKey, Registration, Roster, Topology,
    pop_message, run_round, verify, verify_batch,
};
use iosv_engine::cosi::{Mask, MaskError, Policy};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha512};

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

const MSG: &[u8] = b"iosv/test/finalize block 7";

struct Group {
    roster: Roster,
    keys: Vec<MemberKey>,
    rng: StdRng,
}

fn group(n: usize, seed: u64) -> Group {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys: Vec<_> = (0..n).map(|_| MemberKey::generate(&mut rng)).collect();
    let regs: Vec<_> = keys.iter().map(MemberKey::registration).collect();
    Group {
        roster: Roster::from_registrations(&regs).expect("honest registrations"),
        keys,
        rng,
    }
}

fn mask_of(n: usize, present: impl Fn(usize) -> bool) -> Mask {
    let mut mask = Mask::empty(n);
    for i in 0..n {
        mask.set(i, present(i));
    }
    mask
}

/// The first `count` members.
fn first(n: usize, count: usize) -> Mask {
    mask_of(n, |i| i < count)
}

impl Group {
    fn sign(&mut self, participants: &Mask, msg: &[u8], topology: Topology) -> Vec<u8> {
        run_round(
            &self.roster,
            &self.keys,
            participants,
            msg,
            topology,
            &mut self.rng,
        )
        .expect("honest round")
        .to_bytes()
    }
}

/// The oracle's verdict on `V ‖ r` as an Ed25519 signature under `pk`.
fn ed25519_oracle(pk: [u8; 32], sig: &[u8], msg: &[u8]) -> bool {
    let sig: [u8; 64] = sig[..64].try_into().unwrap();
    ed25519_consensus::VerificationKey::try_from(pk)
        .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(sig), msg))
        .is_ok()
}

// ---------------------------------------------------------------------------------------------
// Valid signatures.

#[test]
fn full_participation_over_every_topology() {
    let n = 23;
    let mut g = group(n, 1);
    for topology in [
        Topology::Star,
        Topology::Tree { fanout: 2 },
        Topology::Tree { fanout: 4 },
        Topology::Tree { fanout: 1 },
        Topology::Tree { fanout: 3 },
    ] {
        let sig = g.sign(&Mask::full(n), MSG, topology);
        assert_eq!(sig.len(), 64 + 3);
        assert_eq!(
            verify(&g.roster, Policy::Complete, MSG, &sig),
            Ok(()),
            "{topology:?}"
        );
        let full = g.roster.full_aggregate_key().compress().to_bytes();
        assert!(ed25519_oracle(full, &sig, MSG), "{topology:?}");
    }
}

#[test]
fn absentees_on_both_aggregate_key_paths() {
    let n = 20;
    let mut g = group(n, 2);
    // 5 absent (< half: A' = Σ all − Σ absent), 14 absent (> half: A' = Σ present), exactly half.
    let masks = [
        mask_of(n, |i| i % 4 != 1),
        mask_of(n, |i| i % 10 < 3),
        mask_of(n, |i| i % 2 == 0),
        mask_of(n, |i| i == 19),
    ];
    for (m, mask) in masks.iter().enumerate() {
        for topology in [Topology::Star, Topology::Tree { fanout: 2 }] {
            let sig = g.sign(mask, MSG, topology);
            assert_eq!(CollectiveSignature::decode(n, &sig).unwrap().mask, *mask);
            assert_eq!(
                verify(&g.roster, Policy::Threshold(mask.count()), MSG, &sig),
                Ok(()),
                "mask {m}"
            );
            let sum = g
                .roster
                .aggregate_key_with(mask, AggregatePath::SumPresent)
                .unwrap();
            let sub = g
                .roster
                .aggregate_key_with(mask, AggregatePath::SubtractAbsent)
                .unwrap();
            assert_eq!(sum, sub);
            // The same verdict under either path's key, valid and tampered.
            let mut bad = sig.clone();
            bad[40] ^= 1;
            for a in [sum, sub] {
                let a = a.compress().to_bytes();
                assert!(ed25519_oracle(a, &sig, MSG));
                assert!(!ed25519_oracle(a, &bad, MSG));
            }
            assert!(verify(&g.roster, Policy::Threshold(1), MSG, &bad).is_err());
        }
    }
}

#[test]
fn one_member_roster_is_plain_ed25519() {
    for seed in 0..8u64 {
        let mut g = group(1, 100 + seed);
        let msg = format!("message {seed}").into_bytes();
        let sig = g.sign(&Mask::full(1), &msg, Topology::Star);
        assert_eq!(sig.len(), 65);
        assert_eq!(sig[64], 1);
        assert!(ed25519_oracle(*g.keys[0].public_key(), &sig, &msg));
        assert!(!ed25519_oracle(*g.keys[0].public_key(), &sig, b"other"));
    }
    // And the other way: an ordinary Ed25519 signature by the member, plus its mask, is a CoSi
    // signature of that roster.
    let seed = [42u8; 32];
    let member = MemberKey::from_seed(&seed);
    let roster = Roster::from_registrations(&[member.registration()]).unwrap();
    let plain = ed25519_dalek::Signer::sign(&ed25519_dalek::SigningKey::from_bytes(&seed), MSG);
    let mut sig = plain.to_bytes().to_vec();
    sig.push(1);
    assert_eq!(verify(&roster, Policy::Complete, MSG, &sig), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Refusals.

#[test]
fn mask_claiming_an_absent_signer_fails() {
    let n = 12;
    let mut g = group(n, 3);
    let signed = mask_of(n, |i| i != 5 && i != 9);
    let sig = g.sign(&signed, MSG, Topology::Tree { fanout: 2 });
    assert_eq!(verify(&g.roster, Policy::Threshold(10), MSG, &sig), Ok(()));
    let mut claims = sig.clone();
    claims[64] |= 1 << 5;
    assert_eq!(
        verify(&g.roster, Policy::Threshold(10), MSG, &claims),
        Err(CosiError::EquationFailed)
    );
    // Dropping a real signer's bit fails too.
    let mut drops = sig.clone();
    drops[64] &= !1;
    assert_eq!(
        verify(&g.roster, Policy::Threshold(9), MSG, &drops),
        Err(CosiError::EquationFailed)
    );
}

#[test]
fn threshold_edges() {
    let n = 10;
    let mut g = group(n, 4);
    for t in [1, 4, 10] {
        let exactly = g.sign(&first(n, t), MSG, Topology::Star);
        assert_eq!(
            verify(&g.roster, Policy::Threshold(t), MSG, &exactly),
            Ok(())
        );
        if t > 1 {
            let short = g.sign(&first(n, t - 1), MSG, Topology::Star);
            assert_eq!(
                verify(&g.roster, Policy::Threshold(t), MSG, &short),
                Err(CosiError::PolicyNotMet {
                    signers: t - 1,
                    required: t,
                    members: n
                })
            );
        }
    }
    let nine = g.sign(&first(n, 9), MSG, Topology::Star);
    assert!(matches!(
        verify(&g.roster, Policy::Complete, MSG, &nine),
        Err(CosiError::PolicyNotMet { signers: 9, .. })
    ));
}

#[test]
fn byzcoin_edges() {
    for (n, required) in [(4, 3), (7, 5), (100, 67)] {
        assert_eq!(Policy::ByzCoin.required(n), required);
        let mut g = group(n, n as u64);
        // Spread the signers so masks are not just prefixes.
        let spread = |count: usize| mask_of(n, move |i| (i * 37) % n < count);
        let exactly = g.sign(&spread(required), MSG, Topology::Tree { fanout: 4 });
        assert_eq!(verify(&g.roster, Policy::ByzCoin, MSG, &exactly), Ok(()));
        let short = g.sign(&spread(required - 1), MSG, Topology::Tree { fanout: 4 });
        assert_eq!(
            verify(&g.roster, Policy::ByzCoin, MSG, &short),
            Err(CosiError::PolicyNotMet {
                signers: required - 1,
                required,
                members: n
            })
        );
    }
}

#[test]
fn tampering_fails() {
    let n = 9;
    let mut g = group(n, 5);
    let sig = g.sign(&Mask::full(n), MSG, Topology::Tree { fanout: 2 });
    let check = |s: &[u8], msg: &[u8]| verify(&g.roster, Policy::Threshold(1), msg, s);
    assert_eq!(check(&sig, MSG), Ok(()));
    assert_eq!(
        check(&sig, b"another block"),
        Err(CosiError::EquationFailed)
    );

    for byte in [0, 13, 31] {
        for bit in [0, 6] {
            let mut v = sig.clone();
            v[byte] ^= 1 << bit;
            assert!(
                matches!(
                    check(&v, MSG),
                    Err(CosiError::EquationFailed | CosiError::CommitmentNotAPoint)
                ),
                "V byte {byte} bit {bit}"
            );
            let mut r = sig.clone();
            r[32 + byte] ^= 1 << bit;
            assert!(
                matches!(
                    check(&r, MSG),
                    Err(CosiError::EquationFailed | CosiError::NonCanonicalResponse)
                ),
                "r byte {byte} bit {bit}"
            );
        }
    }
    for i in 0..n {
        let mut m = sig.clone();
        m[64 + (i >> 3)] ^= 1 << (i & 7);
        assert_eq!(
            check(&m, MSG),
            Err(CosiError::EquationFailed),
            "mask bit {i}"
        );
    }
}

#[test]
fn r_at_or_above_l_is_refused() {
    let n = 3;
    let mut g = group(n, 6);
    let sig = g.sign(&Mask::full(n), MSG, Topology::Star);
    let r = Scalar::from_canonical_bytes(sig[32..64].try_into().unwrap()).unwrap();
    // r + L: the same residue, non-canonical (r < L < 2²⁵³, so r + L fits in 32 bytes).
    let mut plus_l = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(r.as_bytes()[i]) + u16::from(L[i]) + carry;
        plus_l[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
    for bad_r in [plus_l, L, [0xff; 32]] {
        let mut s = sig.clone();
        s[32..64].copy_from_slice(&bad_r);
        assert_eq!(
            verify(&g.roster, Policy::Complete, MSG, &s),
            Err(CosiError::NonCanonicalResponse)
        );
    }
}

#[test]
fn mask_bits_past_the_roster_and_wrong_lengths() {
    let n = 10;
    let mut g = group(n, 7);
    let sig = g.sign(&Mask::full(n), MSG, Topology::Star);
    assert_eq!(sig.len(), 66);
    let mut past = sig.clone();
    past[65] |= 1 << 5; // bit 13
    assert_eq!(
        verify(&g.roster, Policy::Complete, MSG, &past),
        Err(CosiError::BadMask(MaskError::BitPastRoster {
            bit: 13,
            members: 10
        }))
    );
    for len in [0, 32, 64, 65, 67, 200] {
        let mut s = sig.clone();
        s.resize(len, 0xff);
        assert_eq!(
            verify(&g.roster, Policy::Complete, MSG, &s),
            Err(CosiError::WrongLength {
                members: 10,
                expected: 66,
                got: len
            })
        );
    }
    // A signature for another roster size does not fit this one.
    let mut small = group(8, 8);
    let other = small.sign(&Mask::full(8), MSG, Topology::Star);
    assert!(matches!(
        verify(&g.roster, Policy::Threshold(1), MSG, &other),
        Err(CosiError::WrongLength { got: 65, .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Batch verification.

/// Signatures of several masks and messages, with corruptions of every kind mixed in.
fn batch_inputs(g: &mut Group, count: usize, corrupt_every: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let n = g.roster.len();
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(count);
    for i in 0..count {
        let msg = format!("block {i}").into_bytes();
        let mask = match i % 3 {
            0 => Mask::full(n),
            1 => mask_of(n, |j| j % 5 != 0),
            _ => mask_of(n, |j| j % 3 == 0),
        };
        let mut sig = g.sign(&mask, &msg, Topology::Tree { fanout: 4 });
        if corrupt_every > 0 && i % corrupt_every == corrupt_every - 1 {
            match (i / corrupt_every) % 6 {
                0 => sig[40] ^= 0x10,
                1 => sig[3] ^= 0x01,
                2 => sig[64] ^= 0x02,
                3 => sig[32..64].copy_from_slice(&L),
                4 => sig.push(0),
                _ => sig = items[0].1.clone(), // another message's signature
            }
        }
        items.push((msg, sig));
    }
    items
}

#[test]
fn batch_verdicts_equal_single_verdicts() {
    let mut g = group(16, 9);
    for (count, corrupt_every) in [(0, 0), (1, 0), (1, 1), (7, 0), (40, 0), (40, 5), (40, 1)] {
        let items = batch_inputs(&mut g, count, corrupt_every);
        for policy in [Policy::Threshold(5), Policy::ByzCoin] {
            let single: Vec<bool> = items
                .iter()
                .map(|(m, s)| verify(&g.roster, policy, m, s).is_ok())
                .collect();
            let batch = verify_batch(&g.roster, policy, &items, &mut g.rng);
            assert_eq!(
                batch, single,
                "{count} items, corrupt every {corrupt_every}"
            );
            if policy == Policy::Threshold(5) && count > 0 {
                // Every uncorrupted signature meets this policy; every corrupted one fails.
                assert_eq!(single.iter().all(|&ok| ok), corrupt_every == 0);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn batch_agrees_with_single_on_random_corruptions(
        seed in any::<u64>(),
        flips in proptest::collection::vec((0usize..24, 0usize..66, 0u8..8), 0..6),
    ) {
        let mut g = group(10, seed);
        let mut items = batch_inputs(&mut g, 24, 0);
        for (item, byte, bit) in flips {
            let sig = &mut items[item].1;
            sig[byte] ^= 1 << bit;
        }
        let single: Vec<bool> = items
            .iter()
            .map(|(m, s)| verify(&g.roster, Policy::Threshold(3), m, s).is_ok())
            .collect();
        let batch = verify_batch(&g.roster, Policy::Threshold(3), &items, &mut g.rng);
        prop_assert_eq!(batch, single);
    }
}

// ---------------------------------------------------------------------------------------------
// The rogue-key attack: with PoP registration the rogue key cannot join. (Without PoP it forges
// everyone's signature: shown by the unit test `cosi::schnorr::rogue_key_tests`, the only place
// a roster can be built without PoP.)

#[test]
fn rogue_key_cannot_register_with_pop() {
    let honest = group(5, 10);
    let mut rng = StdRng::seed_from_u64(11);
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    let y = Scalar::from_bytes_mod_order_wide(&wide);
    let rogue = (EdwardsPoint::mul_base(&y) - honest.roster.full_aggregate_key())
        .compress()
        .to_bytes();

    // The best the attacker can do: sign the rogue key's PoP message with the secret it knows.
    let msg = pop_message(&rogue);
    let nonce = Scalar::from_bytes_mod_order_wide(&Sha512::digest(&msg).into());
    let r_bytes = EdwardsPoint::mul_base(&nonce).compress().to_bytes();
    let k = {
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(rogue);
        h.update(&msg);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    };
    let mut forged = [0u8; 64];
    forged[..32].copy_from_slice(&r_bytes);
    forged[32..].copy_from_slice((nonce + k * y).as_bytes());

    let mut builder = Roster::builder();
    for key in &honest.keys {
        builder.register(&key.registration()).unwrap();
    }
    for pop in [forged, honest.keys[0].proof_of_possession(), [0; 64]] {
        assert_eq!(
            builder.register(&Registration {
                public_key: rogue,
                proof_of_possession: pop
            }),
            Err(CosiError::BadProofOfPossession { index: 5 })
        );
    }
    assert_eq!(builder.len(), 5);
}
