//! Eight-lane arithmetic mod p = 2²⁵⁵ − 19 on AVX-512 IFMA, and Edwards point decompression with it.
//!
//! A field element is five 51-bit limbs, each limb a 512-bit vector holding that limb of eight
//! elements. `vpmadd52{lo,hi}uq` multiply the low 52 bits of two limbs and add the low or high half
//! of the 104-bit product to an accumulator, so every limb fed to a multiplication must be below
//! 2⁵²: every operation here ends with a carry pass that leaves its limbs below 2⁵¹ + 2¹⁴.
//!
//! Bounds (limbs below 2⁵² in): a product column holds at most five low halves and five high
//! halves, so a column is below 15·2⁵² < 2⁵⁶; folding the upper five columns back with 2²⁵⁵ ≡ 19
//! keeps every column below 20·2⁵⁶ < 2⁶¹, inside a 64-bit lane.
//!
//! Decompression follows curve25519-dalek's `CompressedEdwardsY::decompress` step for step (the
//! same `sqrt_ratio_i`, the same choice of root, the same handling of non-canonical `y`), so the
//! decoded point is the same for every 32-byte input; `tests` in the parent module and
//! `engine/tests/decompress_backends.rs` check that against dalek.

use core::arch::x86_64::*;

const MASK51: u64 = (1 << 51) - 1;

/// Edwards `d = −121665/121666`, little-endian.
pub const EDWARDS_D_BYTES: [u8; 32] = [
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
];

/// `√−1 = 2^((p−1)/4)`, little-endian.
pub const SQRT_M1_BYTES: [u8; 32] = [
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b,
];

/// Number of elements one vector operation handles.
pub const LANES: usize = 8;

/// Vectors decompressed together: their exponentiations are independent chains of ~265
/// multiplications, interleaved so that one fills the other's latency.
pub const GROUPS: usize = 2;

/// Encodings one call to [`Ifma::decompress`] takes.
pub const BATCH: usize = LANES * GROUPS;

/// Whether this CPU runs the instructions this module uses.
pub fn available() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma")
}

/// The 51-bit limbs of an encoding, the top bit (the sign of x) ignored; not reduced mod p, as in
/// dalek's `FieldElement::from_bytes` (ZIP-215 accepts non-canonical `y`).
pub fn limbs_from_bytes(bytes: &[u8; 32]) -> [u64; 5] {
    let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3));
    [
        w0 & MASK51,
        ((w0 >> 51) | (w1 << 13)) & MASK51,
        ((w1 >> 38) | (w2 << 26)) & MASK51,
        ((w2 >> 25) | (w3 << 39)) & MASK51,
        (w3 >> 12) & MASK51,
    ]
}

#[cfg(test)]
/// Canonical limbs (each below 2⁵¹, value below p) back to the 32-byte little-endian encoding.
pub fn bytes_from_limbs(limbs: &[u64; 5]) -> [u8; 32] {
    let words = [
        limbs[0] | (limbs[1] << 51),
        (limbs[1] >> 13) | (limbs[2] << 38),
        (limbs[2] >> 26) | (limbs[3] << 25),
        (limbs[3] >> 39) | (limbs[4] << 12),
    ];
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// A decoded point in affine coordinates with `t = x·y`, each as canonical 51-bit limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coordinates {
    pub x: [u64; 5],
    pub y: [u64; 5],
    pub t: [u64; 5],
}

/// Proof that the CPU has AVX-512F and AVX-512 IFMA; only [`Ifma::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Ifma(());

impl Ifma {
    pub fn detect() -> Option<Self> {
        available().then_some(Self(()))
    }

    /// Decompresses [`BATCH`] encodings at once: `None` where the bytes are not a curve point.
    pub fn decompress(self, encodings: &[[u8; 32]; BATCH]) -> [Option<Coordinates>; BATCH] {
        let groups: [[[u8; 32]; LANES]; GROUPS] =
            core::array::from_fn(|g| core::array::from_fn(|lane| encodings[g * LANES + lane]));
        // SAFETY: an `Ifma` exists only where `available()` found both CPU features.
        let decoded = unsafe { decompress_groups(&groups) };
        core::array::from_fn(|i| decoded[i / LANES][i % LANES])
    }

    /// `a·b mod p` lane by lane, canonical (for tests of the arithmetic).
    #[cfg(test)]
    pub fn mul(self, a: &[[u64; 5]; LANES], b: &[[u64; 5]; LANES]) -> [[u64; 5]; LANES] {
        // SAFETY: as in `decompress`.
        unsafe { mul_lanes(a, b) }
    }

    /// `a² mod p` lane by lane, canonical (for tests of the arithmetic).
    #[cfg(test)]
    pub fn square(self, a: &[[u64; 5]; LANES]) -> [[u64; 5]; LANES] {
        // SAFETY: as in `decompress`.
        unsafe { square_lanes(a) }
    }
}

/// Eight field elements, limb-major.
#[derive(Clone, Copy)]
struct Fe8([__m512i; 5]);

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn splat(limbs: [u64; 5]) -> Fe8 {
    Fe8(limbs.map(|l| _mm512_set1_epi64(l as i64)))
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn load(lanes: &[[u64; 5]; LANES]) -> Fe8 {
    let mut out = [_mm512_setzero_si512(); 5];
    for (k, limb) in out.iter_mut().enumerate() {
        let column: [u64; LANES] = core::array::from_fn(|lane| lanes[lane][k]);
        // SAFETY: `column` is 64 readable bytes; the load is unaligned.
        *limb = unsafe { _mm512_loadu_si512(column.as_ptr().cast()) };
    }
    Fe8(out)
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn store(a: &Fe8) -> [[u64; 5]; LANES] {
    let mut out = [[0u64; 5]; LANES];
    for (k, limb) in a.0.iter().enumerate() {
        let mut column = [0u64; LANES];
        // SAFETY: `column` is 64 writable bytes; the store is unaligned.
        unsafe { _mm512_storeu_si512(column.as_mut_ptr().cast(), *limb) };
        for (lane, value) in column.into_iter().enumerate() {
            out[lane][k] = value;
        }
    }
    out
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn times19(x: __m512i) -> __m512i {
    _mm512_add_epi64(
        x,
        _mm512_add_epi64(_mm512_slli_epi64::<1>(x), _mm512_slli_epi64::<4>(x)),
    )
}

/// One parallel carry pass: limbs below 2⁶¹ in, below 2⁵¹ + 2¹⁴ out.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn carry(r: [__m512i; 5]) -> Fe8 {
    let mask = _mm512_set1_epi64(MASK51 as i64);
    let c = r.map(|x| _mm512_srli_epi64::<51>(x));
    let low = r.map(|x| _mm512_and_si512(x, mask));
    Fe8([
        _mm512_add_epi64(low[0], times19(c[4])),
        _mm512_add_epi64(low[1], c[0]),
        _mm512_add_epi64(low[2], c[1]),
        _mm512_add_epi64(low[3], c[2]),
        _mm512_add_epi64(low[4], c[3]),
    ])
}

/// Folds product columns into five limbs: column `k` is `lo[k] + 2·hi[k−1]` (the high half of a
/// 51-bit-radix product sits 52 bits up, one limb and one bit), and column `k + 5` counts 19 times
/// in limb `k`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fold_columns(lo: [__m512i; 9], hi: [__m512i; 9]) -> Fe8 {
    let z = _mm512_setzero_si512();
    let column = |k: usize| {
        let l = if k < 9 { lo[k] } else { z };
        let h = if k >= 1 { hi[k - 1] } else { z };
        _mm512_add_epi64(l, _mm512_slli_epi64::<1>(h))
    };
    let r: [__m512i; 5] =
        core::array::from_fn(|k| _mm512_add_epi64(column(k), times19(column(k + 5))));
    carry(r)
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul(a: &Fe8, b: &Fe8) -> Fe8 {
    let z = _mm512_setzero_si512();
    let mut lo = [z; 9];
    let mut hi = [z; 9];
    for i in 0..5 {
        for j in 0..5 {
            lo[i + j] = _mm512_madd52lo_epu64(lo[i + j], a.0[i], b.0[j]);
            hi[i + j] = _mm512_madd52hi_epu64(hi[i + j], a.0[i], b.0[j]);
        }
    }
    fold_columns(lo, hi)
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn square(a: &Fe8) -> Fe8 {
    let z = _mm512_setzero_si512();
    // Cross products aᵢaⱼ (i < j) count twice: accumulated once, doubled after.
    let mut cross_lo = [z; 9];
    let mut cross_hi = [z; 9];
    let mut lo = [z; 9];
    let mut hi = [z; 9];
    for i in 0..5 {
        lo[2 * i] = _mm512_madd52lo_epu64(lo[2 * i], a.0[i], a.0[i]);
        hi[2 * i] = _mm512_madd52hi_epu64(hi[2 * i], a.0[i], a.0[i]);
        for j in i + 1..5 {
            cross_lo[i + j] = _mm512_madd52lo_epu64(cross_lo[i + j], a.0[i], a.0[j]);
            cross_hi[i + j] = _mm512_madd52hi_epu64(cross_hi[i + j], a.0[i], a.0[j]);
        }
    }
    for k in 0..9 {
        lo[k] = _mm512_add_epi64(lo[k], _mm512_slli_epi64::<1>(cross_lo[k]));
        hi[k] = _mm512_add_epi64(hi[k], _mm512_slli_epi64::<1>(cross_hi[k]));
    }
    fold_columns(lo, hi)
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn add(a: &Fe8, b: &Fe8) -> Fe8 {
    carry(core::array::from_fn(|k| _mm512_add_epi64(a.0[k], b.0[k])))
}

/// `a − b`, computed as `a + 4p − b` so that no lane goes negative (limbs of `b` are below 2⁵²).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn sub(a: &Fe8, b: &Fe8) -> Fe8 {
    let four_p = |k: usize| -> i64 {
        if k == 0 {
            (4 * ((1u64 << 51) - 19)) as i64
        } else {
            (4 * MASK51) as i64
        }
    };
    carry(core::array::from_fn(|k| {
        _mm512_sub_epi64(
            _mm512_add_epi64(a.0[k], _mm512_set1_epi64(four_p(k))),
            b.0[k],
        )
    }))
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn neg(a: &Fe8) -> Fe8 {
    sub(&splat([0; 5]), a)
}

/// The unique representative below p, each limb below 2⁵¹.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn canonical(a: &Fe8) -> Fe8 {
    let mask = _mm512_set1_epi64(MASK51 as i64);
    let mut l = a.0;
    // Two sequential carry passes leave every limb below 2⁵¹, so the value is below 2²⁵⁵ < 2p.
    for _ in 0..2 {
        for k in 0..4 {
            let c = _mm512_srli_epi64::<51>(l[k]);
            l[k] = _mm512_and_si512(l[k], mask);
            l[k + 1] = _mm512_add_epi64(l[k + 1], c);
        }
        let c = _mm512_srli_epi64::<51>(l[4]);
        l[4] = _mm512_and_si512(l[4], mask);
        l[0] = _mm512_add_epi64(l[0], times19(c));
    }
    // q = 1 exactly when value ≥ p, i.e. when value + 19 reaches 2²⁵⁵.
    let mut q = _mm512_srli_epi64::<51>(_mm512_add_epi64(l[0], _mm512_set1_epi64(19)));
    for limb in &l[1..] {
        q = _mm512_srli_epi64::<51>(_mm512_add_epi64(*limb, q));
    }
    l[0] = _mm512_add_epi64(l[0], times19(q));
    for k in 0..4 {
        let c = _mm512_srli_epi64::<51>(l[k]);
        l[k] = _mm512_and_si512(l[k], mask);
        l[k + 1] = _mm512_add_epi64(l[k + 1], c);
    }
    l[4] = _mm512_and_si512(l[4], mask);
    Fe8(l)
}

/// Lanes where `a = b` in the field.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn equal(a: &Fe8, b: &Fe8) -> __mmask8 {
    let (a, b) = (canonical(a), canonical(b));
    let mut m: __mmask8 = 0xff;
    for k in 0..5 {
        m &= _mm512_cmpeq_epi64_mask(a.0[k], b.0[k]);
    }
    m
}

/// `b` in the lanes of `mask`, `a` elsewhere.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn select(mask: __mmask8, a: &Fe8, b: &Fe8) -> Fe8 {
    Fe8(core::array::from_fn(|k| {
        _mm512_mask_blend_epi64(mask, a.0[k], b.0[k])
    }))
}

/// `x²ⁿ` for each of `N` independent elements, interleaved so that one element's multiplications
/// fill the latency of the other's.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn square_n_each<const N: usize>(a: &[Fe8; N], n: u32) -> [Fe8; N] {
    let mut x = *a;
    for _ in 0..n {
        for e in x.iter_mut() {
            *e = square(e);
        }
    }
    x
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_each<const N: usize>(a: &[Fe8; N], b: &[Fe8; N]) -> [Fe8; N] {
    let mut out = *a;
    for i in 0..N {
        out[i] = mul(&a[i], &b[i]);
    }
    out
}

/// `a^((p−5)/8) = a^(2²⁵² − 3)` for each element, by dalek's addition chain.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn pow_p58_each<const N: usize>(a: &[Fe8; N]) -> [Fe8; N] {
    let t0 = square_n_each(a, 1); // 2
    let t1 = square_n_each(&t0, 2); // 8
    let t2 = mul_each(a, &t1); // 9
    let t3 = mul_each(&t0, &t2); // 11
    let t4 = square_n_each(&t3, 1); // 22
    let t5 = mul_each(&t2, &t4); // 2⁵ − 1
    let t7 = mul_each(&square_n_each(&t5, 5), &t5); // 2¹⁰ − 1
    let t9 = mul_each(&square_n_each(&t7, 10), &t7); // 2²⁰ − 1
    let t11 = mul_each(&square_n_each(&t9, 20), &t9); // 2⁴⁰ − 1
    let t13 = mul_each(&square_n_each(&t11, 10), &t7); // 2⁵⁰ − 1
    let t15 = mul_each(&square_n_each(&t13, 50), &t13); // 2¹⁰⁰ − 1
    let t17 = mul_each(&square_n_each(&t15, 100), &t15); // 2²⁰⁰ − 1
    let t19 = mul_each(&square_n_each(&t17, 50), &t13); // 2²⁵⁰ − 1
    mul_each(a, &square_n_each(&t19, 2)) // 2²⁵² − 3
}

/// One vector's decompression up to the exponentiation: `sqrt_ratio_i(u, v)` as in dalek, with
/// `u = y² − 1`, `v = d·y² + 1`.
#[derive(Clone, Copy)]
struct Pending {
    y: Fe8,
    sign: __mmask8,
    u: Fe8,
    v: Fe8,
    /// `u·v³`, the factor of the root besides the power.
    uv3: Fe8,
    /// `u·v⁷`, raised to `(p − 5)/8`.
    uv7: Fe8,
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn start(encodings: &[[u8; 32]; LANES]) -> Pending {
    let one = splat([1, 0, 0, 0, 0]);
    let d = splat(limbs_from_bytes(&EDWARDS_D_BYTES));
    let y = load(&encodings.map(|e| limbs_from_bytes(&e)));
    let sign: __mmask8 = encodings
        .iter()
        .enumerate()
        .fold(0, |m, (lane, e)| m | ((e[31] >> 7) << lane));
    let yy = square(&y);
    let u = sub(&yy, &one);
    let v = add(&mul(&yy, &d), &one);
    let v3 = mul(&square(&v), &v);
    let v7 = mul(&square(&v3), &v);
    Pending {
        y,
        sign,
        u,
        v,
        uv3: mul(&u, &v3),
        uv7: mul(&u, &v7),
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn finish(p: &Pending, power: &Fe8) -> [Option<Coordinates>; LANES] {
    let sqrt_m1 = splat(limbs_from_bytes(&SQRT_M1_BYTES));
    let r = mul(&p.uv3, power);
    let check = mul(&p.v, &square(&r));
    let neg_u = neg(&p.u);
    let correct_sign = equal(&check, &p.u);
    let flipped_sign = equal(&check, &neg_u);
    let flipped_sign_i = equal(&check, &mul(&neg_u, &sqrt_m1));
    let r = select(flipped_sign | flipped_sign_i, &r, &mul(&sqrt_m1, &r));
    // The non-negative root, then the sign the encoding asks for.
    let negative = _mm512_test_epi64_mask(canonical(&r).0[0], _mm512_set1_epi64(1));
    let r = select(negative, &r, &neg(&r));
    let valid = correct_sign | flipped_sign;
    let x = select(p.sign, &r, &neg(&r));
    let t = mul(&x, &p.y);
    let (x, y, t) = (
        store(&canonical(&x)),
        store(&canonical(&p.y)),
        store(&canonical(&t)),
    );
    core::array::from_fn(|lane| {
        (valid >> lane & 1 == 1).then(|| Coordinates {
            x: x[lane],
            y: y[lane],
            t: t[lane],
        })
    })
}

/// Decompresses `GROUPS` vectors of eight encodings, their exponentiations interleaved.
#[target_feature(enable = "avx512f,avx512ifma")]
fn decompress_groups(
    encodings: &[[[u8; 32]; LANES]; GROUPS],
) -> [[Option<Coordinates>; LANES]; GROUPS] {
    let pending: [Pending; GROUPS] = core::array::from_fn(|g| start(&encodings[g]));
    let power = pow_p58_each(&pending.map(|p| p.uv7));
    core::array::from_fn(|g| finish(&pending[g], &power[g]))
}

#[cfg(test)]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_lanes(a: &[[u64; 5]; LANES], b: &[[u64; 5]; LANES]) -> [[u64; 5]; LANES] {
    store(&canonical(&mul(&load(a), &load(b))))
}

#[cfg(test)]
#[target_feature(enable = "avx512f,avx512ifma")]
fn square_lanes(a: &[[u64; 5]; LANES]) -> [[u64; 5]; LANES] {
    store(&canonical(&square(&load(a))))
}
