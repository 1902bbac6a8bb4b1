//! Differential tests of ZIP-215 verification against the oracle, `ed25519-consensus`.
//!
//! Inputs are signatures made here from known scalars, so that some are valid only because the
//! equation is cofactored (torsion in A or R, small-order A or R in any encoding, A = R), then
//! mutated the ways that split implementations: flipped bits in A, R, S or the message; A or R
//! replaced by a small-order point in a canonical or non-canonical encoding (y ≥ p, "negative zero")
//! or by another non-canonical encoding; S replaced by S + L, L, L + 1, 2²⁵⁶ − 1 or S with its top
//! bit set; empty and 10 KiB messages; a signature made for another message. Every verdict of
//! `verify_single` and of `verify_batch` (batches of 1 to 64 with any mix of valid and invalid
//! signatures, so the bisection runs) must equal the oracle's: one disagreement is a consensus split.

use std::sync::LazyLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use iosv_engine::sig::{
    BatchTuning, KeyCache, SigItem, SigRef, verify_batch, verify_batch_tuned, verify_single,
};
use proptest::prelude::*;
use proptest::sample::Index;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha512};

/// The group order L = 2²⁵² + 27742317777372353535851937790883648493, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// Length of the "long" messages.
const LONG_MSG_LEN: usize = 10 * 1024;

/// Signing keys shared by all generated signatures, so that batches reuse keys (the batch verifier
/// coalesces signatures by public key and caches decompressed keys).
const KEY_POOL: usize = 4;

// ---------------------------------------------------------------------------------------------
// Oracle, engine, and the comparison.

/// The ZIP-215 verdict of `ed25519-consensus`.
fn oracle(item: SigRef<'_>) -> bool {
    ed25519_consensus::VerificationKey::try_from(*item.pk)
        .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(*item.sig), item.msg))
        .is_ok()
}

fn describe(item: SigRef<'_>) -> String {
    let msg = if item.msg.len() > 256 {
        format!(
            "{}… ({} bytes, SHA-512 {})",
            hex::encode(&item.msg[..64]),
            item.msg.len(),
            hex::encode(Sha512::digest(item.msg))
        )
    } else {
        hex::encode(item.msg)
    };
    format!(
        "pk={} sig={} msg={msg}",
        hex::encode(item.pk),
        hex::encode(item.sig)
    )
}

/// Checks `verify_single` on every item and `verify_batch` on all of them together (with a fresh
/// cache, with `shared`, which lives across cases, and with each speed-up combination switched
/// off) against the oracle. Returns the verdicts.
fn check_all(items: &[SigItem], shared: &KeyCache) -> Result<Vec<bool>, String> {
    let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
    let expected: Vec<bool> = refs.iter().map(|&r| oracle(r)).collect();
    for (i, &item) in refs.iter().enumerate() {
        if verify_single(item) != expected[i] {
            return Err(format!(
                "verify_single says {} but the oracle says {} at index {i} of {}: {}",
                !expected[i],
                expected[i],
                refs.len(),
                describe(item)
            ));
        }
    }
    let fresh = KeyCache::new(64);
    let mut runs: Vec<(String, &KeyCache, BatchTuning)> = vec![
        ("fresh cache".into(), &fresh, BatchTuning::default()),
        ("shared cache".into(), shared, BatchTuning::default()),
    ];
    for tuning in tunings()
        .into_iter()
        .filter(|t| *t != BatchTuning::default())
    {
        runs.push((format!("{tuning:?}"), shared, tuning));
    }
    for (which, cache, tuning) in runs {
        let got = if tuning == BatchTuning::default() {
            verify_batch(&refs, cache)
        } else {
            verify_batch_tuned(&refs, cache, tuning)
        };
        if got.len() != refs.len() {
            return Err(format!(
                "verify_batch ({which}) gave {} verdicts for {} signatures",
                got.len(),
                refs.len()
            ));
        }
        for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
            if g != e {
                return Err(format!(
                    "verify_batch ({which}) says {g} but the oracle says {e} at index {i} of {} \
                     (batch verdicts {got:?}, oracle {expected:?}): {}",
                    refs.len(),
                    describe(refs[i])
                ));
            }
        }
    }
    Ok(expected)
}

/// Every combination of the batch verifier's speed-ups: none of them may change a verdict.
fn tunings() -> Vec<BatchTuning> {
    let mut out = Vec::new();
    for key_cache in [true, false] {
        for coalesce_keys in [true, false] {
            for reuse_buffers in [true, false] {
                for simd_decompress in [true, false] {
                    out.push(BatchTuning {
                        key_cache,
                        coalesce_keys,
                        reuse_buffers,
                        simd_decompress,
                    });
                }
            }
        }
    }
    out
}

fn check_one(item: &SigItem, shared: &KeyCache) -> Result<bool, String> {
    check_all(std::slice::from_ref(item), shared).map(|v| v[0])
}

/// A small cache shared by the cases of one test, so keys (valid or not) are met again cached and
/// entries get evicted.
fn shared_cache() -> &'static KeyCache {
    static CACHE: LazyLock<KeyCache> = LazyLock::new(|| KeyCache::new(16));
    &CACHE
}

// ---------------------------------------------------------------------------------------------
// Encodings.

/// `y + p` (p = 2²⁵⁵ − 19) for `y < 19`, with the sign bit `sign`: the non-canonical y encodings
/// that fit in 255 bits.
fn y_plus_p(y: u8, sign: bool) -> [u8; 32] {
    assert!(y < 19);
    let mut bytes = [0xff; 32];
    bytes[0] = 0xed + y;
    bytes[31] = 0x7f | (u8::from(sign) << 7);
    bytes
}

fn decode(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*bytes).decompress()
}

fn encode(point: &EdwardsPoint) -> [u8; 32] {
    point.compress().to_bytes()
}

fn is_canonical(bytes: &[u8; 32]) -> bool {
    decode(bytes).is_some_and(|p| encode(&p) == *bytes)
}

/// Every special encoding used to replace A or R: the 8 canonical small-order encodings, the two
/// "negative zero" encodings (x = 0 with the sign bit set, of the identity and of the point of
/// order 2), and all 38 encodings `y + p` for y < 19 with either sign (they decode when y is on the
/// curve; some are small-order points, some are not).
static SPECIAL_ENCODINGS: LazyLock<Vec<[u8; 32]>> = LazyLock::new(|| {
    let mut out: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(encode).collect();
    for t in &EIGHT_TORSION {
        let mut e = encode(t);
        e[31] |= 0x80;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    for y in 0..19 {
        for sign in [false, true] {
            out.push(y_plus_p(y, sign));
        }
    }
    out
});

/// Every encoding of a small-order point among the special encodings: 8 canonical, 6 not.
static SMALL_ORDER_ENCODINGS: LazyLock<Vec<[u8; 32]>> = LazyLock::new(|| {
    SPECIAL_ENCODINGS
        .iter()
        .filter(|e| decode(e).is_some_and(|p| p.is_small_order()))
        .copied()
        .collect()
});

/// Non-canonical encodings among the special ones that decode to a point of large order.
static NONCANONICAL_LARGE_ORDER: LazyLock<Vec<[u8; 32]>> = LazyLock::new(|| {
    SPECIAL_ENCODINGS
        .iter()
        .filter(|e| decode(e).is_some_and(|p| !p.is_small_order()) && !is_canonical(e))
        .copied()
        .collect()
});

/// Little-endian 256-bit addition, wrapping.
fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Signing from known scalars.

fn scalar_from(tag: &str, seed: u64) -> Scalar {
    let wide: [u8; 64] = Sha512::new()
        .chain_update(tag.as_bytes())
        .chain_update(seed.to_le_bytes())
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// `k = SHA-512(R ‖ A ‖ M) mod L`, computed here independently of the engine.
fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let wide: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(msg)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn signature(r: &[u8; 32], s: &Scalar) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// The signature `(R, S = r + k·a)` over the exact bytes `a_bytes` and `r_bytes`. It is valid under
/// the cofactored equation when `a_bytes` encodes `[a]B + T₁` and `r_bytes` encodes `[r]B + T₂` for
/// small-order `T₁`, `T₂`.
fn sign_raw(a: &Scalar, a_bytes: [u8; 32], r: &Scalar, r_bytes: [u8; 32], msg: Vec<u8>) -> SigItem {
    let k = challenge(&r_bytes, &a_bytes, &msg);
    SigItem {
        pk: a_bytes,
        sig: signature(&r_bytes, &(r + k * a)),
        msg,
    }
}

fn key(index: usize) -> Scalar {
    scalar_from("iosv sig_differential key", index as u64)
}

/// How a generated signature is made. All of these are valid under ZIP-215.
#[derive(Clone, Copy, Debug)]
enum Base {
    /// A = [a]B, R = [r]B.
    Plain,
    /// A = [a]B + T₁, R = [r]B + T₂ (torsion components): valid only cofactored.
    Twisted { ta: usize, tr: usize },
    /// A is a small-order encoding (a ≡ 0), canonical or not; S = r.
    SmallOrderA { enc: Index },
    /// R is a small-order encoding (r ≡ 0), canonical or not; S = k·a over R's exact bytes.
    SmallOrderR { enc: Index },
    /// A and R small-order encodings, S = 0: valid for every message.
    BothSmallOrder { a_enc: Index, r_enc: Index },
    /// A = R = [a]B, S = a + k·a.
    SameAandR,
}

#[derive(Clone, Copy, Debug)]
enum MsgLen {
    Empty,
    Short(usize),
    Long,
}

#[derive(Clone, Copy, Debug)]
struct Spec {
    base: Base,
    key: usize,
    seed: u64,
    msg: MsgLen,
}

fn message(len: MsgLen, seed: u64) -> Vec<u8> {
    let len = match len {
        MsgLen::Empty => 0,
        MsgLen::Short(n) => n,
        MsgLen::Long => LONG_MSG_LEN,
    };
    let mut msg = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut msg);
    msg
}

fn build(spec: &Spec) -> SigItem {
    let msg = message(spec.msg, spec.seed);
    let a = key(spec.key);
    let r = scalar_from("iosv sig_differential nonce", spec.seed);
    let small = &*SMALL_ORDER_ENCODINGS;
    match spec.base {
        Base::Plain => sign_raw(
            &a,
            encode(&EdwardsPoint::mul_base(&a)),
            &r,
            encode(&EdwardsPoint::mul_base(&r)),
            msg,
        ),
        Base::Twisted { ta, tr } => sign_raw(
            &a,
            encode(&(EdwardsPoint::mul_base(&a) + EIGHT_TORSION[ta])),
            &r,
            encode(&(EdwardsPoint::mul_base(&r) + EIGHT_TORSION[tr])),
            msg,
        ),
        Base::SmallOrderA { enc } => sign_raw(
            &Scalar::ZERO,
            small[enc.index(small.len())],
            &r,
            encode(&EdwardsPoint::mul_base(&r)),
            msg,
        ),
        Base::SmallOrderR { enc } => sign_raw(
            &a,
            encode(&EdwardsPoint::mul_base(&a)),
            &Scalar::ZERO,
            small[enc.index(small.len())],
            msg,
        ),
        Base::BothSmallOrder { a_enc, r_enc } => sign_raw(
            &Scalar::ZERO,
            small[a_enc.index(small.len())],
            &Scalar::ZERO,
            small[r_enc.index(small.len())],
            msg,
        ),
        Base::SameAandR => {
            let bytes = encode(&EdwardsPoint::mul_base(&a));
            sign_raw(&a, bytes, &a, bytes, msg)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

#[derive(Clone, Copy, Debug)]
enum Field {
    Pk,
    R,
    S,
    Msg,
}

#[derive(Clone, Copy, Debug)]
enum SValue {
    PlusL,
    L,
    LPlusOne,
    AllOnes,
    HighBitSet,
}

#[derive(Clone, Copy, Debug)]
enum Mutation {
    Flip {
        field: Field,
        bit: Index,
    },
    ReplaceA {
        enc: Index,
    },
    ReplaceR {
        enc: Index,
    },
    ReplaceS(SValue),
    /// A replaced by R's bytes.
    AIsR,
    /// The message replaced by another one (the signature is valid for the original).
    OtherMessage {
        seed: u64,
    },
    EmptyMessage,
    LongMessage,
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

fn mutate(item: &mut SigItem, mutation: Mutation) {
    match mutation {
        Mutation::Flip { field, bit } => match field {
            Field::Pk => flip(&mut item.pk, bit.index(256)),
            Field::R => flip(&mut item.sig[..32], bit.index(256)),
            Field::S => flip(&mut item.sig[32..], bit.index(256)),
            Field::Msg if item.msg.is_empty() => item.msg.push(1 << bit.index(8)),
            Field::Msg => {
                let bits = item.msg.len() * 8;
                flip(&mut item.msg, bit.index(bits));
            }
        },
        Mutation::ReplaceA { enc } => {
            item.pk = SPECIAL_ENCODINGS[enc.index(SPECIAL_ENCODINGS.len())];
        }
        Mutation::ReplaceR { enc } => {
            item.sig[..32].copy_from_slice(&SPECIAL_ENCODINGS[enc.index(SPECIAL_ENCODINGS.len())]);
        }
        Mutation::ReplaceS(value) => {
            let s: [u8; 32] = item.sig[32..].try_into().expect("S is 32 bytes");
            let new = match value {
                SValue::PlusL => add_le(&s, &L),
                SValue::L => L,
                SValue::LPlusOne => add_le(&L, &one()),
                SValue::AllOnes => [0xff; 32],
                SValue::HighBitSet => {
                    let mut t = s;
                    t[31] |= 0x80;
                    t
                }
            };
            item.sig[32..].copy_from_slice(&new);
        }
        Mutation::AIsR => item.pk.copy_from_slice(&item.sig[..32]),
        Mutation::OtherMessage { seed } => {
            let mut other = message(MsgLen::Short(32), seed);
            if other == item.msg {
                other[0] ^= 1;
            }
            item.msg = other;
        }
        Mutation::EmptyMessage => {
            if item.msg.is_empty() {
                item.msg.push(0);
            } else {
                item.msg.clear();
            }
        }
        Mutation::LongMessage => {
            let seed = item.msg.len() as u64;
            item.msg = message(MsgLen::Long, seed ^ 0x5eed);
        }
    }
}

fn one() -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn base() -> impl Strategy<Value = Base> {
    prop_oneof![
        4 => Just(Base::Plain),
        2 => (0..8usize, 0..8usize).prop_map(|(ta, tr)| Base::Twisted { ta, tr }),
        1 => any::<Index>().prop_map(|enc| Base::SmallOrderA { enc }),
        1 => any::<Index>().prop_map(|enc| Base::SmallOrderR { enc }),
        1 => (any::<Index>(), any::<Index>())
            .prop_map(|(a_enc, r_enc)| Base::BothSmallOrder { a_enc, r_enc }),
        1 => Just(Base::SameAandR),
    ]
}

fn msg_len() -> impl Strategy<Value = MsgLen> {
    prop_oneof![
        1 => Just(MsgLen::Empty),
        6 => (1..=64usize).prop_map(MsgLen::Short),
        1 => Just(MsgLen::Long),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (base(), 0..KEY_POOL, any::<u64>(), msg_len()).prop_map(|(base, key, seed, msg)| Spec {
        base,
        key,
        seed,
        msg,
    })
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Pk),
        Just(Field::R),
        Just(Field::S),
        Just(Field::Msg)
    ]
}

fn s_value() -> impl Strategy<Value = SValue> {
    prop_oneof![
        Just(SValue::PlusL),
        Just(SValue::L),
        Just(SValue::LPlusOne),
        Just(SValue::AllOnes),
        Just(SValue::HighBitSet),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (field(), any::<Index>()).prop_map(|(field, bit)| Mutation::Flip { field, bit }),
        3 => any::<Index>().prop_map(|enc| Mutation::ReplaceA { enc }),
        3 => any::<Index>().prop_map(|enc| Mutation::ReplaceR { enc }),
        3 => s_value().prop_map(Mutation::ReplaceS),
        1 => Just(Mutation::AIsR),
        1 => any::<u64>().prop_map(|seed| Mutation::OtherMessage { seed }),
        1 => Just(Mutation::EmptyMessage),
        1 => Just(Mutation::LongMessage),
    ]
}

/// Which items of a batch get mutated: none, one, about a quarter, or all.
fn mutation_mask(n: usize) -> impl Strategy<Value = Vec<bool>> {
    prop_oneof![
        Just(vec![false; n]),
        (0..n).prop_map(move |i| (0..n).map(|j| j == i).collect()),
        prop::collection::vec(prop::bool::weighted(0.25), n),
        Just(vec![true; n]),
    ]
}

type BatchCase = (Vec<(Spec, Mutation)>, Vec<bool>);

fn batch_case() -> impl Strategy<Value = BatchCase> {
    (1..=64usize).prop_flat_map(|n| {
        (
            prop::collection::vec((spec(), mutation()), n),
            mutation_mask(n),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Property tests.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Unmutated generated signatures are all valid, for the oracle and the engine.
    #[test]
    fn generated_signatures_are_valid(spec in spec()) {
        let item = build(&spec);
        let verdict = check_one(&item, shared_cache()).map_err(TestCaseError::fail)?;
        prop_assert!(verdict, "generated signature rejected by the oracle: {}", describe(item.as_ref()));
    }

    #[test]
    fn single_agrees_with_oracle(spec in spec(), mutation in mutation()) {
        let mut item = build(&spec);
        mutate(&mut item, mutation);
        check_one(&item, shared_cache()).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn batch_agrees_with_oracle((specs, mask) in batch_case()) {
        let items: Vec<SigItem> = specs
            .iter()
            .zip(&mask)
            .map(|((spec, mutation), &mutated)| {
                let mut item = build(spec);
                if mutated {
                    mutate(&mut item, *mutation);
                }
                item
            })
            .collect();
        check_all(&items, shared_cache()).map_err(TestCaseError::fail)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive tests over the special encodings.

#[test]
fn special_encodings_are_what_they_claim() {
    // The canonical small-order encodings round-trip and have order dividing 8.
    for t in &EIGHT_TORSION {
        let e = encode(t);
        assert!(is_canonical(&e));
        assert!(decode(&e).expect("decodes").mul_by_cofactor() == EdwardsPoint::default());
    }
    // 6 non-canonical small-order encodings: the identity as negative zero and as y = p + 1 with
    // either sign, the point of order 2 as negative zero, the points of order 4 as y = p.
    let small = &*SMALL_ORDER_ENCODINGS;
    assert_eq!(small.len(), 14, "small-order encodings: {small:02x?}");
    assert_eq!(small.iter().filter(|e| !is_canonical(e)).count(), 6);
    for e in small.iter().filter(|e| !is_canonical(e)) {
        let canonical = encode(&decode(e).expect("decodes"));
        assert_ne!(canonical, *e);
        assert!(small.contains(&canonical));
    }
    let mut negative_zero = encode(&EdwardsPoint::default());
    negative_zero[31] |= 0x80;
    assert!(small.contains(&negative_zero));
    assert!(small.contains(&y_plus_p(1, false)));
    // 8 canonical, 2 negative zeros, then the 38 encodings y + p, which are ≥ p: their low byte is
    // ≥ 0xed and the rest is all ones.
    assert_eq!(SPECIAL_ENCODINGS.len(), 8 + 2 + 38);
    assert!(
        SPECIAL_ENCODINGS[10..]
            .iter()
            .all(|e| e[0] >= 0xed && e[1..31].iter().all(|&b| b == 0xff) && e[31] & 0x7f == 0x7f)
    );
    // L: not canonical, L − 1 is.
    assert!(bool::from(Scalar::from_canonical_bytes(L).is_none()));
    let mut l_minus_one = L;
    l_minus_one[0] -= 1;
    assert!(bool::from(
        Scalar::from_canonical_bytes(l_minus_one).is_some()
    ));
    assert_eq!(Scalar::from_bytes_mod_order(L), Scalar::ZERO);
}

/// Every special encoding as A against every special encoding as R (and a few ordinary ones), with
/// S in {0, 1, L − 1, L, a real signature's S}, on an empty and a non-empty message.
#[test]
fn special_encoding_grid_agrees_with_oracle() {
    let a = key(0);
    let r = scalar_from("grid nonce", 0);
    let a_point = encode(&EdwardsPoint::mul_base(&a));
    let r_point = encode(&EdwardsPoint::mul_base(&r));
    let mut pks: Vec<[u8; 32]> = SPECIAL_ENCODINGS.clone();
    pks.push(a_point);
    pks.push(encode(&(EdwardsPoint::mul_base(&a) + EIGHT_TORSION[3])));
    let mut rs: Vec<[u8; 32]> = SPECIAL_ENCODINGS.clone();
    rs.push(r_point);
    rs.push(a_point);

    let mut l_minus_one = L;
    l_minus_one[0] -= 1;
    let mut items = Vec::new();
    for msg in [Vec::new(), b"zip215".to_vec()] {
        for pk in &pks {
            for r_bytes in &rs {
                let k = challenge(r_bytes, pk, &msg);
                let real_s = (r + k * a).to_bytes();
                for s in [[0u8; 32], one(), l_minus_one, L, real_s] {
                    let mut sig = [0u8; 64];
                    sig[..32].copy_from_slice(r_bytes);
                    sig[32..].copy_from_slice(&s);
                    items.push(SigItem {
                        pk: *pk,
                        msg: msg.clone(),
                        sig,
                    });
                }
            }
        }
    }
    let mut accepted = 0;
    for chunk in items.chunks(61) {
        let verdicts = check_all(chunk, shared_cache()).unwrap_or_else(|e| panic!("{e}"));
        accepted += verdicts.iter().filter(|&&v| v).count();
    }
    // Both small-order with S = 0 is valid for any message: the grid has real accepts.
    assert!(accepted >= 2 * 14 * 14, "only {accepted} accepted");
}

/// A valid signature whose A (or R) is a non-canonical encoding, made over exactly those bytes, and
/// the same signature presented with another encoding of the same point.
#[test]
fn noncanonical_encodings_signed_over_their_exact_bytes() {
    let small = &*SMALL_ORDER_ENCODINGS;
    let a = key(1);
    let a_bytes = encode(&EdwardsPoint::mul_base(&a));
    let mut items = Vec::new();
    for (i, enc) in small.iter().enumerate() {
        let point = decode(enc).expect("decodes");
        let same_point: Vec<[u8; 32]> = small
            .iter()
            .filter(|e| decode(e).expect("decodes") == point)
            .copied()
            .collect();
        let r = scalar_from("noncanonical nonce", i as u64);
        for msg in [Vec::new(), b"non-canonical".to_vec()] {
            // A = this encoding (a ≡ 0): S = r over A's exact bytes.
            let with_a = sign_raw(
                &Scalar::ZERO,
                *enc,
                &r,
                encode(&EdwardsPoint::mul_base(&r)),
                msg.clone(),
            );
            // R = this encoding (r ≡ 0): S = k·a, k over R's exact bytes. Hashing a re-encoded R
            // would make this invalid.
            let with_r = sign_raw(&a, a_bytes, &Scalar::ZERO, *enc, msg.clone());
            for other in &same_point {
                let mut m = with_a.clone();
                m.pk = *other;
                items.push(m);
                let mut m = with_r.clone();
                m.sig[..32].copy_from_slice(other);
                items.push(m);
            }
            let verdicts =
                check_all(&[with_a, with_r], shared_cache()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(verdicts, vec![true, true], "encoding {}", hex::encode(enc));
        }
    }
    for chunk in items.chunks(17) {
        check_all(chunk, shared_cache()).unwrap_or_else(|e| panic!("{e}"));
    }
    // Non-canonical encodings of points of large order, as A and as R of an otherwise valid
    // signature.
    let base = build(&Spec {
        base: Base::Plain,
        key: 2,
        seed: 7,
        msg: MsgLen::Short(32),
    });
    let mut items = Vec::new();
    for enc in NONCANONICAL_LARGE_ORDER.iter() {
        let mut m = base.clone();
        m.pk = *enc;
        items.push(m);
        let mut m = base.clone();
        m.sig[..32].copy_from_slice(enc);
        items.push(m);
    }
    items.push(base);
    check_all(&items, shared_cache()).unwrap_or_else(|e| panic!("{e}"));
}

/// Batches of every size from 1 to 64 where every signature is invalid, and where exactly one is,
/// at each position.
#[test]
fn batches_with_invalid_signatures_at_every_position() {
    let specs: Vec<Spec> = (0..64u64)
        .map(|seed| Spec {
            base: if seed % 5 == 0 {
                Base::Twisted { ta: 1, tr: 6 }
            } else {
                Base::Plain
            },
            key: seed as usize % KEY_POOL,
            seed,
            msg: MsgLen::Short(16),
        })
        .collect();
    let valid: Vec<SigItem> = specs.iter().map(build).collect();
    let invalid: Vec<SigItem> = valid
        .iter()
        .map(|item| {
            let mut m = item.clone();
            m.msg[0] ^= 1;
            m
        })
        .collect();
    let cache = KeyCache::default();
    for n in 1..=64 {
        assert_eq!(
            verify_batch(
                &invalid[..n].iter().map(SigItem::as_ref).collect::<Vec<_>>(),
                &cache
            ),
            vec![false; n],
            "all-invalid batch of {n}"
        );
        check_all(&invalid[..n], shared_cache()).unwrap_or_else(|e| panic!("{e}"));
    }
    for i in 0..64 {
        let mut items = valid.clone();
        items[i] = invalid[i].clone();
        let verdicts = check_all(&items, shared_cache()).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<bool> = (0..64).map(|j| j != i).collect();
        assert_eq!(verdicts, expected, "one invalid at {i}");
    }
}
