//! PVSS and DLEQ: honest round trips, forgeries, tampering, batch-versus-single agreement and the
//! decoding rules for points and scalars.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use iosv_engine::pvss::dleq::{self, DleqProof, DleqStatement};
use iosv_engine::pvss::generators::{g, h};
use iosv_engine::pvss::point::{random_nonzero_scalar, scalar_from_bytes};
use iosv_engine::pvss::{
    DealTranscript, DecryptedShare, KeyPair, Point, PvssError, deal, deal_secret, decrypt_share,
    recover, recover_verified, verify_decrypted_share, verify_decrypted_shares,
    verify_encrypted_shares,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn keys(n: usize, rng: &mut StdRng) -> (Vec<KeyPair>, Vec<Point>) {
    let pairs: Vec<KeyPair> = (0..n).map(|_| KeyPair::generate(rng)).collect();
    let publics = pairs.iter().map(|k| *k.public()).collect();
    (pairs, publics)
}

fn decrypt_all(
    pairs: &[KeyPair],
    transcript: &DealTranscript,
    rng: &mut StdRng,
) -> Vec<DecryptedShare> {
    pairs
        .iter()
        .enumerate()
        .map(|(k, pair)| decrypt_share(pair, k as u32 + 1, transcript, rng).unwrap())
        .collect()
}

/// All `k`-element subsets of `0..n`, as index lists.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    fn walk(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            walk(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    walk(0, n, k, &mut current, &mut out);
    out
}

#[test]
fn honest_round_trip_for_several_sizes() {
    let mut rng = StdRng::seed_from_u64(10);
    for (n, t) in [
        (1, 1),
        (2, 1),
        (3, 1),
        (3, 3),
        (4, 2),
        (5, 3),
        (7, 7),
        (10, 4),
    ] {
        let (pairs, publics) = keys(n, &mut rng);
        let (transcript, secret) = deal(&publics, t, &mut rng).unwrap();
        let expected = EdwardsPoint::mul_base(&secret);
        assert_eq!(transcript.commitments[0], &h() * &secret);
        verify_encrypted_shares(&transcript, &publics).unwrap();

        let shares = decrypt_all(&pairs, &transcript, &mut rng);
        for share in &shares {
            verify_decrypted_share(&transcript, &publics, share).unwrap();
            // S_i = p(i)·G matches X_i = p(i)·H: same exponent, checked through the proofs.
        }
        assert_eq!(
            verify_decrypted_shares(&transcript, &publics, &shares),
            vec![true; n]
        );

        let pairs_of = |picked: &[usize]| -> Vec<(u32, Point)> {
            picked
                .iter()
                .map(|&k| (shares[k].index, shares[k].share))
                .collect()
        };
        // Every t-subset (or a sample of them when there are many) recovers s·G.
        for picked in subsets(n, t).into_iter().take(40) {
            assert_eq!(recover(&pairs_of(&picked), t).unwrap(), expected);
        }
        assert_eq!(
            recover_verified(&transcript, &publics, &shares).unwrap(),
            expected
        );

        // t − 1 shares are not enough, and interpolating them as if they were gives another point.
        if t > 1 {
            let fewer = pairs_of(&(0..t - 1).collect::<Vec<_>>());
            assert_eq!(
                recover(&fewer, t),
                Err(PvssError::NotEnoughShares {
                    have: t - 1,
                    need: t
                })
            );
            assert_ne!(recover(&fewer, t - 1).unwrap(), expected);
            assert_eq!(
                recover_verified(&transcript, &publics, &shares[..t - 1]),
                Err(PvssError::NotEnoughShares {
                    have: t - 1,
                    need: t
                })
            );
        }

        // Transcripts and shares survive JSON.
        let json = serde_json::to_string(&transcript).unwrap();
        assert_eq!(
            serde_json::from_str::<DealTranscript>(&json).unwrap(),
            transcript
        );
        let json = serde_json::to_string(&shares[0]).unwrap();
        assert_eq!(
            serde_json::from_str::<DecryptedShare>(&json).unwrap(),
            shares[0]
        );
    }
}

#[test]
fn any_t_of_n_recover_the_same_secret() {
    let mut rng = StdRng::seed_from_u64(11);
    let (n, t) = (6, 4);
    let (pairs, publics) = keys(n, &mut rng);
    let secret = Scalar::from(123_456_789u64);
    let transcript = deal_secret(&secret, &publics, t, &mut rng).unwrap();
    let shares = decrypt_all(&pairs, &transcript, &mut rng);
    let expected = EdwardsPoint::mul_base(&secret);
    for picked in subsets(n, t) {
        let mut chosen: Vec<(u32, Point)> = picked
            .iter()
            .map(|&k| (shares[k].index, shares[k].share))
            .collect();
        assert_eq!(recover(&chosen, t).unwrap(), expected);
        chosen.reverse();
        assert_eq!(recover(&chosen, t).unwrap(), expected);
    }
}

/// A verifier that trusts the challenge stored beside the proof (what this crate must not be).
fn stored_challenge_verifier(s: &DleqStatement, p: &DleqProof, c: &Scalar) -> bool {
    let e = |q: &Point| *q.as_edwards();
    e(&s.g1) * p.r == e(&p.a1) + e(&s.h1) * c && e(&s.g2) * p.r == e(&p.a2) + e(&s.h2) * c
}

#[test]
fn forged_proof_with_chosen_challenge_is_rejected() {
    let mut rng = StdRng::seed_from_u64(12);
    let x = random_nonzero_scalar(&mut rng);
    let g2 = Point::mul_base(&random_nonzero_scalar(&mut rng));
    // A false statement: log_H(h1) = x but log_g2(h2) = x + 1.
    let statement = DleqStatement {
        g1: h(),
        h1: &h() * &x,
        g2,
        h2: &g2 * &(x + Scalar::ONE),
    };
    // The forger fixes c and r first, then solves for the commitments.
    let c = random_nonzero_scalar(&mut rng);
    let r = random_nonzero_scalar(&mut rng);
    let e = |q: &Point| *q.as_edwards();
    let forged = DleqProof {
        a1: Point::from_edwards(e(&statement.g1) * r - e(&statement.h1) * c).unwrap(),
        a2: Point::from_edwards(e(&statement.g2) * r - e(&statement.h2) * c).unwrap(),
        r,
    };
    assert!(stored_challenge_verifier(&statement, &forged, &c));
    assert!(!dleq::verify(&statement, &forged));
    assert_eq!(
        dleq::verify_batch(&[(statement, forged)], &mut rng),
        vec![false]
    );

    // The same forgery inside a PVSS transcript: a wrong encrypted share with a forged proof.
    let (_, publics) = keys(4, &mut rng);
    let (mut transcript, _) = deal(&publics, 2, &mut rng).unwrap();
    let index = 3u32;
    let x_i = transcript.share_commitment(index).unwrap();
    let y_i = publics[index as usize - 1];
    let fake_share = &y_i * &random_nonzero_scalar(&mut rng);
    let forged = DleqProof {
        a1: Point::from_edwards(e(&h()) * r - e(&x_i) * c).unwrap(),
        a2: Point::from_edwards(e(&y_i) * r - e(&fake_share) * c).unwrap(),
        r,
    };
    transcript.encrypted_shares[index as usize - 1] = fake_share;
    transcript.proofs[index as usize - 1] = forged;
    assert_eq!(
        verify_encrypted_shares(&transcript, &publics),
        Err(PvssError::InvalidEncryptedShares {
            indices: vec![index]
        })
    );
}

/// A transcript built by hand: commitments to `coefficients`, but participant `bad`'s share (if
/// any) encrypted from `other` and proven with its own (consistent with `Y_i` only) witness.
fn manual_deal(
    coefficients: &[Scalar],
    other: &[Scalar],
    bad: Option<u32>,
    publics: &[Point],
    rng: &mut StdRng,
) -> DealTranscript {
    let eval = |cs: &[Scalar], i: u64| {
        cs.iter()
            .rev()
            .fold(Scalar::ZERO, |acc, a| acc * Scalar::from(i) + a)
    };
    let mut transcript = DealTranscript {
        threshold: coefficients.len() as u32,
        commitments: coefficients.iter().map(|a| &h() * a).collect(),
        encrypted_shares: Vec::new(),
        proofs: Vec::new(),
    };
    for (k, y) in publics.iter().enumerate() {
        let i = k as u32 + 1;
        let poly = if Some(i) == bad { other } else { coefficients };
        let share = eval(poly, i.into());
        let statement = DleqStatement {
            g1: h(),
            // X_i = p(i)·H for the committed polynomial.
            h1: &h() * &eval(coefficients, i.into()),
            g2: *y,
            h2: y * &share,
        };
        transcript.encrypted_shares.push(statement.h2);
        transcript.proofs.push(dleq::prove(&share, &statement, rng));
    }
    transcript
}

#[test]
fn share_from_a_wrong_polynomial_is_detected() {
    let mut rng = StdRng::seed_from_u64(13);
    let (_, publics) = keys(5, &mut rng);
    let coefficients: Vec<Scalar> = (0..3).map(|_| random_nonzero_scalar(&mut rng)).collect();
    let other: Vec<Scalar> = (0..3).map(|_| random_nonzero_scalar(&mut rng)).collect();

    let honest = manual_deal(&coefficients, &other, None, &publics, &mut rng);
    verify_encrypted_shares(&honest, &publics).unwrap();
    for bad in 1..=5u32 {
        let cheating = manual_deal(&coefficients, &other, Some(bad), &publics, &mut rng);
        assert_eq!(
            verify_encrypted_shares(&cheating, &publics),
            Err(PvssError::InvalidEncryptedShares { indices: vec![bad] })
        );
    }

    // Splicing another deal's share and proof is caught too.
    let (a, _) = deal(&publics, 3, &mut rng).unwrap();
    let (b, _) = deal(&publics, 3, &mut rng).unwrap();
    let mut spliced = a.clone();
    spliced.encrypted_shares[1] = b.encrypted_shares[1];
    spliced.proofs[1] = b.proofs[1];
    spliced.encrypted_shares[4] = b.encrypted_shares[4];
    spliced.proofs[4] = b.proofs[4];
    assert_eq!(
        verify_encrypted_shares(&spliced, &publics),
        Err(PvssError::InvalidEncryptedShares {
            indices: vec![2, 5]
        })
    );
    // So is a changed commitment: every share then disagrees.
    let mut recommitted = a.clone();
    recommitted.commitments[2] = &recommitted.commitments[2] + &g();
    assert_eq!(
        verify_encrypted_shares(&recommitted, &publics),
        Err(PvssError::InvalidEncryptedShares {
            indices: vec![1, 2, 3, 4, 5]
        })
    );
}

#[test]
fn tampered_decrypted_share_is_detected() {
    let mut rng = StdRng::seed_from_u64(14);
    let (n, t) = (5, 3);
    let (pairs, publics) = keys(n, &mut rng);
    let (transcript, secret) = deal(&publics, t, &mut rng).unwrap();
    let shares = decrypt_all(&pairs, &transcript, &mut rng);

    // A different share point with the original proof.
    let mut moved = shares[0];
    moved.share = &moved.share + &g();
    // A different share point with a fresh proof over the wrong statement.
    let mut reproven = shares[1];
    reproven.share = &reproven.share * &Scalar::from(2u64);
    reproven.proof = dleq::prove(
        pairs[1].secret(),
        &DleqStatement {
            g1: g(),
            h1: publics[1],
            g2: reproven.share,
            h2: transcript.encrypted_shares[1],
        },
        &mut rng,
    );
    // Someone else's share under another index.
    let mut relabelled = shares[2];
    relabelled.index = 4;
    // An out-of-range index.
    let mut out_of_range = shares[3];
    out_of_range.index = 9;

    for bad in [moved, reproven, relabelled] {
        assert_eq!(
            verify_decrypted_share(&transcript, &publics, &bad),
            Err(PvssError::InvalidDecryptedShare { index: bad.index })
        );
    }
    assert_eq!(
        verify_decrypted_share(&transcript, &publics, &out_of_range),
        Err(PvssError::IndexOutOfRange {
            index: 9,
            participants: n
        })
    );
    let mixed = vec![
        moved,
        shares[1],
        reproven,
        relabelled,
        shares[3],
        out_of_range,
    ];
    assert_eq!(
        verify_decrypted_shares(&transcript, &publics, &mixed),
        vec![false, true, false, false, true, false]
    );
    // Only 2 valid shares among them: not enough.
    assert_eq!(
        recover_verified(&transcript, &publics, &mixed),
        Err(PvssError::NotEnoughShares { have: 2, need: 3 })
    );
    // Adding one more honest share (and a duplicate) recovers the secret despite the bad ones.
    let mut enough = mixed.clone();
    enough.push(shares[1]);
    enough.push(shares[4]);
    assert_eq!(
        recover_verified(&transcript, &publics, &enough).unwrap(),
        EdwardsPoint::mul_base(&secret)
    );
}

/// Honest items, then corruptions of the kinds a cheater could try, at the positions in `bad`.
fn corrupted_items(
    count: usize,
    bad: &[usize],
    rng: &mut StdRng,
) -> Vec<(DleqStatement, DleqProof)> {
    (0..count)
        .map(|k| {
            let x = random_nonzero_scalar(rng);
            let g2 = Point::mul_base(&random_nonzero_scalar(rng));
            let g1 = if k % 3 == 0 { g() } else { h() };
            let mut statement = DleqStatement {
                g1,
                h1: &g1 * &x,
                g2,
                h2: &g2 * &x,
            };
            let mut proof = dleq::prove(&x, &statement, rng);
            if bad.contains(&k) {
                match k % 4 {
                    0 => proof.r += Scalar::ONE,
                    1 => std::mem::swap(&mut proof.a1, &mut proof.a2),
                    2 => statement.h2 = &statement.h2 + &g(),
                    _ => statement.h1 = &statement.h1 * &Scalar::from(3u64),
                }
            }
            (statement, proof)
        })
        .collect()
}

#[test]
fn batch_verdicts_equal_single_verdicts() {
    let mut rng = StdRng::seed_from_u64(15);
    let bad = [0usize, 3, 7, 8, 19];
    let items = corrupted_items(20, &bad, &mut rng);
    let single: Vec<bool> = items.iter().map(|(s, p)| dleq::verify(s, p)).collect();
    let expected: Vec<bool> = (0..20).map(|k| !bad.contains(&k)).collect();
    assert_eq!(single, expected);
    assert_eq!(dleq::verify_batch(&items, &mut rng), single);
    // All bad, none bad.
    let all_bad: Vec<usize> = (0..9).collect();
    let items = corrupted_items(9, &all_bad, &mut rng);
    assert_eq!(dleq::verify_batch(&items, &mut rng), vec![false; 9]);
    let items = corrupted_items(9, &[], &mut rng);
    assert_eq!(dleq::verify_batch(&items, &mut rng), vec![true; 9]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn batch_matches_single_for_any_corruption(
        seed in any::<u64>(),
        mask in proptest::collection::vec(any::<bool>(), 1..24),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let bad: Vec<usize> =
            mask.iter().enumerate().filter(|(_, b)| **b).map(|(k, _)| k).collect();
        let items = corrupted_items(mask.len(), &bad, &mut rng);
        let single: Vec<bool> = items.iter().map(|(s, p)| dleq::verify(s, p)).collect();
        let expected: Vec<bool> = mask.iter().map(|b| !b).collect();
        prop_assert_eq!(&single, &expected);
        prop_assert_eq!(dleq::verify_batch(&items, &mut rng), single);
    }
}

/// L, the prime-order subgroup's order, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for k in 0..32 {
        let sum = u16::from(a[k]) + u16::from(b[k]) + carry;
        out[k] = sum as u8;
        carry = sum >> 8;
    }
    out
}

#[test]
fn non_canonical_scalars_are_rejected() {
    let mut rng = StdRng::seed_from_u64(16);
    let x = random_nonzero_scalar(&mut rng);
    let statement = DleqStatement {
        g1: g(),
        h1: Point::mul_base(&x),
        g2: h(),
        h2: &h() * &x,
    };
    let proof = dleq::prove(&x, &statement, &mut rng);
    let bytes = proof.to_bytes();
    assert_eq!(DleqProof::from_bytes(&bytes), Ok(proof));

    let r: [u8; 32] = bytes[64..].try_into().unwrap();
    for bad_r in [add_le(&r, &L), L, [0xff; 32]] {
        let mut bad = bytes;
        bad[64..].copy_from_slice(&bad_r);
        assert_eq!(
            DleqProof::from_bytes(&bad),
            Err(PvssError::NonCanonicalScalar)
        );
        assert_eq!(
            scalar_from_bytes(&bad_r),
            Err(PvssError::NonCanonicalScalar)
        );
    }
    for len in [0usize, 95, 97, 128] {
        let mut bad = bytes.to_vec();
        bad.resize(len, 0);
        assert_eq!(
            DleqProof::from_bytes(&bad),
            Err(PvssError::ProofLength(len))
        );
    }

    // The same through serde: r + L in JSON is refused.
    let mut json: serde_json::Value = serde_json::to_value(proof).unwrap();
    json["r"] = hex::encode(add_le(&r, &L)).into();
    assert!(serde_json::from_value::<DleqProof>(json).is_err());
}

#[test]
fn small_order_and_torsion_points_are_rejected() {
    let mut rng = StdRng::seed_from_u64(17);
    let x = random_nonzero_scalar(&mut rng);
    let statement = DleqStatement {
        g1: g(),
        h1: Point::mul_base(&x),
        g2: h(),
        h2: &h() * &x,
    };
    let proof = dleq::prove(&x, &statement, &mut rng);
    let good = proof.to_bytes();

    for (k, t) in EIGHT_TORSION.iter().enumerate() {
        let small = t.compress().to_bytes();
        let expected = if k == 0 {
            PvssError::IdentityPoint
        } else {
            PvssError::TorsionPoint
        };
        assert_eq!(Point::from_bytes(&small), Err(expected.clone()));
        assert_eq!(Point::from_edwards(*t), Err(expected));
        if k == 0 {
            continue;
        }
        // A valid point plus a small-order component: on the curve, but not in the subgroup.
        let mixed = ED25519_BASEPOINT_POINT + t;
        assert_eq!(
            Point::from_bytes(&mixed.compress().to_bytes()),
            Err(PvssError::TorsionPoint)
        );
        for slot in [0usize, 1] {
            for bad_point in [small, mixed.compress().to_bytes()] {
                let mut bad = good;
                bad[32 * slot..32 * slot + 32].copy_from_slice(&bad_point);
                assert!(DleqProof::from_bytes(&bad).is_err());
            }
        }
    }
    // A non-canonical encoding (y = p + 1, another spelling of the identity's y = 1).
    let mut y = [0xffu8; 32];
    y[0] = 0xee;
    y[31] = 0x7f;
    assert_eq!(Point::from_bytes(&y), Err(PvssError::NonCanonicalPoint));
    // Not a point at all (no x for y = 2).
    let mut two = [0u8; 32];
    two[0] = 2;
    assert_eq!(Point::from_bytes(&two), Err(PvssError::NotAPoint));

    // Through serde: a transcript carrying a torsion point does not deserialize.
    let (_, publics) = keys(3, &mut rng);
    let (transcript, _) = deal(&publics, 2, &mut rng).unwrap();
    let mut json: serde_json::Value = serde_json::to_value(&transcript).unwrap();
    let mixed = (*transcript.encrypted_shares[0].as_edwards() + EIGHT_TORSION[3]).compress();
    json["encrypted_shares"][0] = hex::encode(mixed.to_bytes()).into();
    assert!(serde_json::from_value::<DealTranscript>(json.clone()).is_err());
    json["encrypted_shares"][0] = "zz".into();
    assert!(serde_json::from_value::<DealTranscript>(json).is_err());
}

#[test]
fn malformed_inputs_give_typed_errors() {
    let mut rng = StdRng::seed_from_u64(18);
    let (pairs, publics) = keys(4, &mut rng);
    for t in [0usize, 5] {
        assert_eq!(
            deal(&publics, t, &mut rng).map(|_| ()),
            Err(PvssError::ThresholdOutOfRange {
                threshold: t,
                participants: 4
            })
        );
    }
    assert_eq!(
        deal_secret(&Scalar::ZERO, &publics, 2, &mut rng).map(|_| ()),
        Err(PvssError::ZeroSecret)
    );
    let (transcript, _) = deal(&publics, 2, &mut rng).unwrap();
    assert_eq!(
        verify_encrypted_shares(&transcript, &publics[..3]),
        Err(PvssError::LengthMismatch {
            what: "encrypted shares",
            expected: 3,
            got: 4
        })
    );
    let mut short = transcript.clone();
    short.commitments.pop();
    assert_eq!(
        verify_encrypted_shares(&short, &publics),
        Err(PvssError::LengthMismatch {
            what: "commitments",
            expected: 2,
            got: 1
        })
    );
    let mut wrong_t = transcript.clone();
    wrong_t.threshold = 9;
    assert!(matches!(
        verify_encrypted_shares(&wrong_t, &publics),
        Err(PvssError::ThresholdOutOfRange { .. })
    ));
    for index in [0u32, 5, u32::MAX] {
        assert!(matches!(
            decrypt_share(&pairs[0], index, &transcript, &mut rng),
            Err(PvssError::IndexOutOfRange { .. })
        ));
        assert!(transcript.share_commitment(index).is_err());
    }

    let p = Point::mul_base(&Scalar::from(5u64));
    assert_eq!(recover(&[(0, p), (1, p)], 2), Err(PvssError::ZeroIndex));
    assert_eq!(
        recover(&[(3, p), (3, p)], 2),
        Err(PvssError::DuplicateIndex(3))
    );
    assert!(matches!(
        recover(&[(1, p)], 0),
        Err(PvssError::ThresholdOutOfRange { .. })
    ));
    assert_eq!(
        recover(&[], 1),
        Err(PvssError::NotEnoughShares { have: 0, need: 1 })
    );
    // t = 1: every share is the secret itself.
    assert_eq!(recover(&[(7, p)], 1).unwrap(), *p.as_edwards());
}
