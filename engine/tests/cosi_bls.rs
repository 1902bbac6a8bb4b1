//! BLS collective signatures: participation, policies, tampering, strict decoding, proofs of
//! possession against rogue keys, and batch verdicts against single verdicts.

use std::sync::LazyLock;

use blst::BLST_ERROR;
use blst::min_pk::{AggregatePublicKey, AggregateSignature};
use iosv_engine::cosi::bls::{
    BlsCosiError, BlsRoster, CollectiveSignature, POP_DST, PUBLIC_KEY_LEN, PublicKey, SIG_DST,
    SIGNATURE_LEN, SecretKey, Signature, keygen, proof_of_possession, sign, verify, verify_batch,
    verify_member,
};
use iosv_engine::cosi::{Mask, MaskError, Policy};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

struct Committee {
    sks: Vec<SecretKey>,
    roster: BlsRoster,
}

impl Committee {
    fn new(n: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let sks: Vec<SecretKey> = (0..n).map(|_| keygen(&mut rng)).collect();
        let mut roster = BlsRoster::new();
        for (i, sk) in sks.iter().enumerate() {
            let index = roster
                .register(
                    &sk.sk_to_pk().compress(),
                    &proof_of_possession(sk).compress(),
                )
                .unwrap();
            assert_eq!(index, i);
        }
        Self { sks, roster }
    }

    fn n(&self) -> usize {
        self.sks.len()
    }

    fn collective(&self, msg: &[u8], signers: &[usize]) -> CollectiveSignature {
        let parts: Vec<(usize, Signature)> = signers
            .iter()
            .map(|&i| (i, sign(&self.sks[i], msg)))
            .collect();
        CollectiveSignature::aggregate(&self.roster, &parts).unwrap()
    }

    fn sign_bytes(&self, msg: &[u8], signers: &[usize]) -> Vec<u8> {
        self.collective(msg, signers).to_bytes()
    }
}

fn mask(n: usize, members: impl IntoIterator<Item = usize>) -> Mask {
    let mut m = Mask::empty(n);
    for i in members {
        m.set(i, true);
    }
    m
}

fn range(r: std::ops::Range<usize>) -> Vec<usize> {
    r.collect()
}

/// Member keys shared by the tests that only read them.
static COMMITTEE: LazyLock<Committee> = LazyLock::new(|| Committee::new(24, 0xb15));

#[test]
fn full_participation_verifies() {
    let c = &*COMMITTEE;
    let sig = c.sign_bytes(b"block 1", &range(0..c.n()));
    assert_eq!(sig.len(), SIGNATURE_LEN + 3);
    for policy in [Policy::Complete, Policy::ByzCoin, Policy::Threshold(1)] {
        assert_eq!(verify(&c.roster, policy, b"block 1", &sig), Ok(()));
    }
}

#[test]
fn partial_participation_verifies_on_both_aggregation_paths() {
    let c = &*COMMITTEE;
    let n = c.n();
    // 20 of 24 present: few absent, the key is `full − Σ absent`.
    let few_absent: Vec<usize> = (0..n).filter(|i| i % 6 != 1).collect();
    // 5 of 24 present: most absent, the key is `Σ present`.
    let most_absent = vec![0, 3, 7, 19, 23];
    // Exactly half absent, and a single signer.
    let half: Vec<usize> = (0..n).filter(|i| i % 2 == 0).collect();
    for signers in [few_absent, most_absent, half, vec![11]] {
        let m = mask(n, signers.iter().copied());
        let by_sum = c.roster.aggregate_key_by_sum(&m).unwrap();
        let by_sub = c.roster.aggregate_key_by_subtraction(&m).unwrap();
        assert_eq!(by_sum.compress(), by_sub.compress());
        assert_eq!(c.roster.aggregate_key(&m).unwrap(), by_sum);

        let sig = c.sign_bytes(b"block 2", &signers);
        let policy = Policy::Threshold(signers.len());
        assert_eq!(verify(&c.roster, policy, b"block 2", &sig), Ok(()));
        // The same check by blst's own aggregation of the signers' keys.
        let pks: Vec<PublicKey> = signers.iter().map(|&i| c.sks[i].sk_to_pk()).collect();
        let refs: Vec<&PublicKey> = pks.iter().collect();
        let decoded = CollectiveSignature::decode(n, &sig).unwrap();
        assert_eq!(
            decoded
                .signature()
                .fast_aggregate_verify(true, b"block 2", SIG_DST, &refs),
            BLST_ERROR::BLST_SUCCESS
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn aggregation_paths_agree_and_signers_verify(bits in any::<u32>()) {
        let c = &*COMMITTEE;
        let signers: Vec<usize> = (0..c.n()).filter(|i| bits & (1 << i) != 0).collect();
        prop_assume!(!signers.is_empty());
        let m = mask(c.n(), signers.iter().copied());
        prop_assert_eq!(
            c.roster.aggregate_key_by_sum(&m).unwrap(),
            c.roster.aggregate_key_by_subtraction(&m).unwrap()
        );
        let sig = c.sign_bytes(b"prop", &signers);
        prop_assert_eq!(verify(&c.roster, Policy::Threshold(1), b"prop", &sig), Ok(()));
        prop_assert_eq!(
            verify(&c.roster, Policy::Threshold(signers.len() + 1), b"prop", &sig),
            Err(BlsCosiError::PolicyNotMet {
                members: c.n(),
                signers: signers.len(),
                required: signers.len() + 1
            })
        );
    }
}

#[test]
fn mask_claiming_an_absent_signer_fails() {
    let c = &*COMMITTEE;
    let n = c.n();
    let signed = c.collective(b"block 3", &range(0..16));
    // Claims member 16 too, who did not sign.
    let claimed = CollectiveSignature::from_parts(*signed.signature(), mask(n, 0..17));
    assert_eq!(
        verify(&c.roster, Policy::ByzCoin, b"block 3", &claimed.to_bytes()),
        Err(BlsCosiError::VerificationFailed)
    );
    // Leaves out member 15, who did sign.
    let omitted = CollectiveSignature::from_parts(*signed.signature(), mask(n, 0..15));
    assert_eq!(
        verify(
            &c.roster,
            Policy::Threshold(15),
            b"block 3",
            &omitted.to_bytes()
        ),
        Err(BlsCosiError::VerificationFailed)
    );
    // Swaps a signer for an absent member: same count, wrong set.
    let swapped =
        CollectiveSignature::from_parts(*signed.signature(), mask(n, (1..17).chain([20])));
    assert_eq!(
        verify(
            &c.roster,
            Policy::Threshold(16),
            b"block 3",
            &swapped.to_bytes()
        ),
        Err(BlsCosiError::VerificationFailed)
    );
}

#[test]
fn threshold_edges() {
    let c = Committee::new(10, 7);
    let seven = c.sign_bytes(b"m", &range(0..7));
    let six = c.sign_bytes(b"m", &range(3..9));
    let all = c.sign_bytes(b"m", &range(0..10));
    let nine = c.sign_bytes(b"m", &range(1..10));

    assert_eq!(
        verify(&c.roster, Policy::Threshold(7), b"m", &seven),
        Ok(())
    );
    assert_eq!(
        verify(&c.roster, Policy::Threshold(7), b"m", &six),
        Err(BlsCosiError::PolicyNotMet {
            members: 10,
            signers: 6,
            required: 7
        })
    );
    // ByzCoin with n = 10 tolerates f = 3 and needs n − f = 7.
    assert_eq!(Policy::ByzCoin.required(10), 7);
    assert_eq!(verify(&c.roster, Policy::ByzCoin, b"m", &seven), Ok(()));
    assert_eq!(
        verify(&c.roster, Policy::ByzCoin, b"m", &six),
        Err(BlsCosiError::PolicyNotMet {
            members: 10,
            signers: 6,
            required: 7
        })
    );
    assert_eq!(verify(&c.roster, Policy::Complete, b"m", &all), Ok(()));
    assert_eq!(
        verify(&c.roster, Policy::Complete, b"m", &nine),
        Err(BlsCosiError::PolicyNotMet {
            members: 10,
            signers: 9,
            required: 10
        })
    );
    // A threshold above the roster can never be met; a threshold of 0 still needs a signer.
    assert!(matches!(
        verify(&c.roster, Policy::Threshold(11), b"m", &all),
        Err(BlsCosiError::PolicyNotMet { .. })
    ));
    let mut nobody = all.clone();
    nobody[SIGNATURE_LEN..].fill(0);
    assert_eq!(
        verify(&c.roster, Policy::Threshold(0), b"m", &nobody),
        Err(BlsCosiError::PolicyNotMet {
            members: 10,
            signers: 0,
            required: 1
        })
    );

    // ByzCoin with n = 4 (f = 1) needs 3.
    let c4 = Committee::new(4, 8);
    assert_eq!(
        verify(
            &c4.roster,
            Policy::ByzCoin,
            b"m",
            &c4.sign_bytes(b"m", &[0, 2, 3])
        ),
        Ok(())
    );
    assert!(matches!(
        verify(
            &c4.roster,
            Policy::ByzCoin,
            b"m",
            &c4.sign_bytes(b"m", &[0, 2])
        ),
        Err(BlsCosiError::PolicyNotMet {
            signers: 2,
            required: 3,
            ..
        })
    ));
}

#[test]
fn wrong_message_fails() {
    let c = &*COMMITTEE;
    let sig = c.sign_bytes(b"block 4", &range(0..20));
    assert_eq!(
        verify(&c.roster, Policy::ByzCoin, b"block 5", &sig),
        Err(BlsCosiError::VerificationFailed)
    );
    assert_eq!(
        verify(&c.roster, Policy::ByzCoin, b"", &sig),
        Err(BlsCosiError::VerificationFailed)
    );
}

#[test]
fn every_tampered_byte_is_refused() {
    let c = &*COMMITTEE;
    let sig = c.sign_bytes(b"block 6", &range(0..20));
    assert_eq!(verify(&c.roster, Policy::ByzCoin, b"block 6", &sig), Ok(()));
    let mut rng = StdRng::seed_from_u64(66);
    for i in 0..sig.len() {
        for _ in 0..2 {
            let mut bad = sig.clone();
            bad[i] ^= 1 << rng.random_range(0..8);
            assert!(
                verify(&c.roster, Policy::Threshold(1), b"block 6", &bad).is_err(),
                "byte {i} tampered"
            );
        }
    }
}

#[test]
fn wrong_lengths_and_malformed_masks_are_refused() {
    let c = &*COMMITTEE;
    let sig = c.sign_bytes(b"block 7", &range(0..24));
    let expected = SIGNATURE_LEN + 3;
    for len in [
        0,
        1,
        SIGNATURE_LEN,
        expected - 1,
        expected + 1,
        2 * expected,
    ] {
        let mut bad = sig.clone();
        bad.resize(len, 0xff);
        assert_eq!(
            verify(&c.roster, Policy::Complete, b"block 7", &bad),
            Err(BlsCosiError::Length {
                members: 24,
                expected,
                got: len
            })
        );
    }
    // The same signature against a roster of another size.
    let c25 = Committee::new(25, 9);
    assert!(matches!(
        verify(&c25.roster, Policy::Threshold(1), b"block 7", &sig),
        Err(BlsCosiError::Length { .. })
    ));

    let c10 = Committee::new(10, 10);
    let mut past = c10.sign_bytes(b"block 7", &range(0..10));
    past[SIGNATURE_LEN + 1] |= 0b1000_0000;
    assert_eq!(
        verify(&c10.roster, Policy::Threshold(1), b"block 7", &past),
        Err(BlsCosiError::Mask(MaskError::BitPastRoster {
            bit: 15,
            members: 10
        }))
    );
}

/// A compressed encoding of some point on the curve (G1 when `len` is 48, G2 when 96) that lies
/// outside the prime-order subgroup.
fn point_outside_subgroup(len: usize, decodes: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(len as u64);
    loop {
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        // Compressed flag, not infinity; a leading coordinate byte below p's (0x1a).
        bytes[0] = 0x80 | (bytes[0] & 0x20) | (bytes[0] & 0x0f);
        if len == 96 {
            bytes[48] &= 0x0f;
        }
        if decodes(&bytes) {
            return bytes;
        }
    }
}

#[test]
fn points_outside_the_subgroups_are_refused() {
    let c = &*COMMITTEE;
    let sig = point_outside_subgroup(SIGNATURE_LEN, |b| Signature::uncompress(b).is_ok());
    let mut bytes = c.sign_bytes(b"block 8", &range(0..24));
    bytes[..SIGNATURE_LEN].copy_from_slice(&sig);
    assert_eq!(
        verify(&c.roster, Policy::Complete, b"block 8", &bytes),
        Err(BlsCosiError::SignatureNotInGroup)
    );

    let pk = point_outside_subgroup(PUBLIC_KEY_LEN, |b| PublicKey::uncompress(b).is_ok());
    let mut roster = BlsRoster::new();
    assert_eq!(
        roster.register(&pk, &proof_of_possession(&c.sks[0]).compress()),
        Err(BlsCosiError::PublicKeyNotInGroup)
    );
    assert!(roster.is_empty());
}

#[test]
fn bad_proofs_of_possession_are_refused() {
    let c = Committee::new(3, 11);
    let mut rng = StdRng::seed_from_u64(12);
    let sk = keygen(&mut rng);
    let pk = sk.sk_to_pk().compress();
    let mut roster = c.roster.clone();

    // Someone else's proof.
    let theirs = proof_of_possession(&c.sks[0]).compress();
    // The key's bytes signed as a message (wrong domain).
    let wrong_domain = sign(&sk, &pk).compress();
    // A proof of possession of the wrong bytes.
    let wrong_bytes = sk.sign(&pk[..47], POP_DST, &[]).compress();
    let mut flipped = proof_of_possession(&sk).compress();
    flipped[40] ^= 0x04;
    let short = &proof_of_possession(&sk).compress()[..95];
    for pop in [
        &theirs[..],
        &wrong_domain,
        &wrong_bytes,
        &flipped,
        short,
        &[],
    ] {
        assert_eq!(
            roster.register(&pk, pop),
            Err(BlsCosiError::BadProofOfPossession)
        );
    }
    assert_eq!(roster.len(), 3);
    assert_eq!(
        roster.register(&pk, &proof_of_possession(&sk).compress()),
        Ok(3)
    );
    assert_eq!(roster.index_of(&pk), Some(3));
}

#[test]
fn rogue_key_cannot_register() {
    let c = Committee::new(3, 13);
    let mut rng = StdRng::seed_from_u64(14);
    let x = keygen(&mut rng);
    // pk_evil = g^x − Σ honest pks: with it in the roster, Σ all keys = g^x.
    let honest: Vec<PublicKey> = c.sks.iter().map(SecretKey::sk_to_pk).collect();
    let honest_refs: Vec<&PublicKey> = honest.iter().collect();
    let mut evil = AggregatePublicKey::from_public_key(&x.sk_to_pk());
    evil.sub_aggregate(&AggregatePublicKey::aggregate(&honest_refs, false).unwrap());
    let pk_evil = evil.to_public_key();
    assert!(pk_evil.validate().is_ok(), "a valid-looking key");

    // Without possession checks the attack works: x alone signs for the honest members.
    let forged = sign(&x, b"steal");
    let mut everyone = honest_refs.clone();
    everyone.push(&pk_evil);
    assert_eq!(
        forged.fast_aggregate_verify(true, b"steal", SIG_DST, &everyone),
        BLST_ERROR::BLST_SUCCESS
    );

    // The attacker knows no secret key of pk_evil, so no proof it can make verifies.
    let mut roster = c.roster.clone();
    let attempts = [
        x.sign(&pk_evil.compress(), POP_DST, &[]),
        proof_of_possession(&x),
        forged,
    ];
    for pop in attempts {
        assert_eq!(
            roster.register(&pk_evil.compress(), &pop.compress()),
            Err(BlsCosiError::BadProofOfPossession)
        );
    }
    assert_eq!(roster.len(), 3);
    assert_eq!(roster.index_of(&pk_evil.compress()), None);
}

#[test]
fn member_signatures_are_checked_before_aggregation() {
    let c = &*COMMITTEE;
    let good = sign(&c.sks[4], b"block 9");
    assert_eq!(verify_member(&c.roster, 4, b"block 9", &good), Ok(()));
    assert_eq!(
        verify_member(&c.roster, 5, b"block 9", &good),
        Err(BlsCosiError::VerificationFailed)
    );
    assert_eq!(
        verify_member(&c.roster, 4, b"block 10", &good),
        Err(BlsCosiError::VerificationFailed)
    );
    assert_eq!(
        verify_member(&c.roster, 24, b"block 9", &good),
        Err(BlsCosiError::MemberOutOfRange {
            index: 24,
            members: 24
        })
    );
}

/// `r − sk`, with `r` the group order: the key whose public key is `−pk`.
fn negate(sk: &SecretKey) -> SecretKey {
    const R: [u8; 32] = [
        0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8,
        0x05, 0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
        0x00, 0x01,
    ];
    let s = sk.to_bytes();
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for ((o, &r), &s) in out.iter_mut().zip(&R).zip(&s).rev() {
        let d = i16::from(r) - i16::from(s) - borrow;
        borrow = i16::from(d < 0);
        *o = d.rem_euclid(256) as u8;
    }
    SecretKey::from_bytes(&out).unwrap()
}

fn add(a: &Signature, b: &Signature) -> Signature {
    let mut sum = AggregateSignature::from_signature(a);
    sum.add_signature(b, false).unwrap();
    sum.to_signature()
}

/// Two invalid signatures whose errors cancel: `σ₁ + δ` and `σ₂ − δ`. A batch without random
/// coefficients would accept them.
fn cancelling_pair(c: &Committee, signers: &[usize]) -> [(Vec<u8>, Vec<u8>); 2] {
    let delta_sk = keygen(&mut StdRng::seed_from_u64(15));
    let delta = sign(&delta_sk, b"delta");
    let minus_delta = sign(&negate(&delta_sk), b"delta");
    let one = c.collective(b"pair 1", signers);
    let two = c.collective(b"pair 2", signers);
    let one = CollectiveSignature::from_parts(add(one.signature(), &delta), one.mask().clone());
    let two =
        CollectiveSignature::from_parts(add(two.signature(), &minus_delta), two.mask().clone());
    [
        (b"pair 1".to_vec(), one.to_bytes()),
        (b"pair 2".to_vec(), two.to_bytes()),
    ]
}

fn single_verdicts(roster: &BlsRoster, policy: Policy, items: &[(Vec<u8>, Vec<u8>)]) -> Vec<bool> {
    items
        .iter()
        .map(|(m, s)| verify(roster, policy, m, s).is_ok())
        .collect()
}

#[test]
fn cancelling_errors_do_not_pass_a_batch() {
    let c = &*COMMITTEE;
    let pair = cancelling_pair(c, &range(0..20));
    assert_eq!(
        single_verdicts(&c.roster, Policy::ByzCoin, &pair),
        vec![false, false]
    );
    // With all coefficients 1 the sums match: that is what the random coefficients defend against.
    let sum = add(
        CollectiveSignature::decode(24, &pair[0].1)
            .unwrap()
            .signature(),
        CollectiveSignature::decode(24, &pair[1].1)
            .unwrap()
            .signature(),
    );
    let honest = add(
        c.collective(b"pair 1", &range(0..20)).signature(),
        c.collective(b"pair 2", &range(0..20)).signature(),
    );
    assert_eq!(sum, honest);
    for _ in 0..4 {
        assert_eq!(
            verify_batch(&c.roster, Policy::ByzCoin, &pair, &mut rand::rng()),
            vec![false, false]
        );
    }
}

#[test]
fn batch_verdicts_equal_single_verdicts() {
    let c = &*COMMITTEE;
    let n = c.n();
    let policy = Policy::Threshold(12);
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = (0..24)
        .map(|k| {
            let msg = format!("block {k}").into_bytes();
            let signers: Vec<usize> = (0..n).filter(|i| (i + k) % 5 != 0).collect();
            let sig = c.sign_bytes(&msg, &signers);
            (msg, sig)
        })
        .collect();
    assert!(
        single_verdicts(&c.roster, policy, &items)
            .iter()
            .all(|&v| v)
    );
    assert_eq!(
        verify_batch(&c.roster, policy, &items, &mut rand::rng()),
        vec![true; items.len()]
    );

    // Wrong message.
    items[1].0 = b"another block".to_vec();
    // Signatures of two items swapped.
    let (a, b) = (items[5].1.clone(), items[6].1.clone());
    items[5].1 = b;
    items[6].1 = a;
    // Mask claims an absent signer.
    let mut claimed = items[9].1.clone();
    let absent = (0..n).find(|i| (i + 9) % 5 == 0).unwrap();
    claimed[SIGNATURE_LEN + (absent >> 3)] |= 1 << (absent & 7);
    items[9].1 = claimed;
    // Too few signers for the policy.
    items[12].1 = c.sign_bytes(&items[12].0, &range(0..11));
    // Malformed bytes.
    items[15].1.truncate(50);
    // Signature flipped.
    items[17].1[10] ^= 0x20;
    // Errors that cancel in a plain sum.
    let [p, q] = cancelling_pair(c, &range(0..20));
    items[20] = p;
    items[23] = q;

    let single = single_verdicts(&c.roster, policy, &items);
    let bad: Vec<usize> = (0..items.len()).filter(|&i| !single[i]).collect();
    assert_eq!(bad, vec![1, 5, 6, 9, 12, 15, 17, 20, 23]);
    for _ in 0..3 {
        assert_eq!(
            verify_batch(&c.roster, policy, &items, &mut rand::rng()),
            single
        );
    }
    // Sub-batches of every size, including the empty and the single one.
    for len in 0..8 {
        let slice = &items[len * 2..len * 3];
        assert_eq!(
            verify_batch(&c.roster, policy, slice, &mut rand::rng()),
            single_verdicts(&c.roster, policy, slice)
        );
    }
    // Every item invalid.
    let all_bad: Vec<_> = bad.iter().map(|&i| items[i].clone()).collect();
    assert_eq!(
        verify_batch(&c.roster, policy, &all_bad, &mut rand::rng()),
        vec![false; all_bad.len()]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn batch_matches_single_on_random_corruptions(
        corrupt in prop::collection::vec(0u8..4, 1..8),
        seed in any::<u64>(),
    ) {
        let c = &*COMMITTEE;
        let policy = Policy::ByzCoin;
        let items: Vec<(Vec<u8>, Vec<u8>)> = corrupt
            .iter()
            .enumerate()
            .map(|(k, &kind)| {
                let msg = format!("prop block {k}").into_bytes();
                let mut sig = c.sign_bytes(&msg, &range(k..k + 18));
                match kind {
                    1 => sig[SIGNATURE_LEN] ^= 1 << (k % 8),
                    2 => sig[k * 7 % SIGNATURE_LEN] ^= 0x01,
                    3 => return (b"other".to_vec(), sig),
                    _ => {}
                }
                (msg, sig)
            })
            .collect();
        let mut rng = StdRng::seed_from_u64(seed);
        prop_assert_eq!(
            verify_batch(&c.roster, policy, &items, &mut rng),
            single_verdicts(&c.roster, policy, &items)
        );
    }
}
