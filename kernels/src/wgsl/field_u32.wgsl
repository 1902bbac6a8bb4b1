// GF(2^255 - 19) on 20 signed 13-bit limbs in i32 (260 bits): value = sum(limb[i] * 2^(13 i)).
//
// Why 13 bits: a product of two limbs is below 2^26 and a column of the schoolbook product sums at
// most 20 of them, below 2^30.4, so a whole product accumulates in i32 with no carry handling and
// no 64-bit integers (SHADER_INT64 is not portable: Metal and WebGPU lack it).
//
// Invariant ("lightly carried"): every Fe passed to fe_mul / fe_sqr has limbs in [-2, 2^13 + 2]
// (limb 0 in [0, 2^13)). fe_mul, fe_sqr, fe_add, fe_sub and fe_neg all return lightly carried
// elements; 2^260 = 32 * 2^255 = 32 * 19 = 608 (mod p) folds the top carry back into limb 0.
// Limbs are signed so that subtraction needs no bias: carries use arithmetic shifts.

alias Fe = array<i32, 20>;
const FE_LIMBS: u32 = 20u;

const FE_ZERO: Fe = Fe(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
const FE_ONE: Fe = Fe(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
// d = -121665/121666, 2d, sqrt(-1), the basepoint B = (x, y) and 2d*x*y (its Niels T).
const FE_D: Fe = Fe(6307, 6859, 4740, 5787, 5982, 3157, 1287, 2472, 4106, 3, 6694, 3827, 1943, 928, 3635, 8142, 2927, 1905, 219, 164);
const FE_D2: Fe = Fe(4441, 5527, 1289, 3383, 3773, 6315, 2574, 4944, 20, 7, 5196, 7655, 3886, 1856, 7270, 8092, 5855, 3810, 438, 72);
const FE_SQRT_M1: Fe = Fe(176, 4213, 2514, 7222, 3150, 4668, 5311, 213, 792, 6522, 5609, 7159, 2451, 1664, 3245, 7137, 4033, 1026, 201, 87);
const FE_BX: Fe = Fe(5402, 6446, 6179, 3162, 3221, 5081, 5270, 3090, 3271, 841, 5911, 7085, 799, 4721, 6914, 2687, 3438, 5790, 6733, 66);
const FE_BY: Fe = Fe(1624, 4915, 6553, 3276, 1638, 4915, 6553, 3276, 1638, 4915, 6553, 3276, 1638, 4915, 6553, 3276, 1638, 4915, 6553, 204);

const LIMB_MASK: i32 = 0x1fff;

// fe_carry, fe_add, fe_sub, fe_mul and fe_sqr are straight-line code in field_u32_ops.wgsl
// (generated): lavapipe caps an invocation's loop iterations, so field operations must not loop.

// The unique representative in [0, p), limbs in [0, 2^13). Input lightly carried.
fn fe_canon(a: Fe) -> Fe {
    var r = a;
    // Three signed passes leave every limb in [0, 2^13): value in [0, 2^260).
    for (var round = 0; round < 3; round++) {
        for (var i = 0; i < 19; i++) {
            let c = r[i] >> 13u;
            r[i] = r[i] & LIMB_MASK;
            r[i + 1] += c;
        }
        let top = r[19] >> 13u;
        r[19] = r[19] & LIMB_MASK;
        r[0] += top * 608;
    }
    // Fold bits 255 and up (2^255 = 19) twice: value below 2^255.
    for (var round = 0; round < 2; round++) {
        let q = r[19] >> 8u;
        r[19] = r[19] & 0xff;
        r[0] += q * 19;
        for (var i = 0; i < 19; i++) {
            let c = r[i] >> 13u;
            r[i] = r[i] & LIMB_MASK;
            r[i + 1] += c;
        }
    }
    // Subtract p once if value >= p, i.e. if value + 19 reaches 2^255.
    var t = r;
    t[0] += 19;
    for (var i = 0; i < 19; i++) {
        let c = t[i] >> 13u;
        t[i] = t[i] & LIMB_MASK;
        t[i + 1] += c;
    }
    // Branch-free: keep r or take t.
    let reduce = (t[19] >> 8u) != 0;
    t[19] = t[19] & 0xff;
    for (var i = 0; i < 20; i++) {
        r[i] = select(r[i], t[i], reduce);
    }
    return r;
}

// A field element from 8 little-endian u32 words with bit 255 ignored (not reduced: the value is
// below 2^255 and arithmetic is mod p, so y >= p decodes as y - p, as ZIP-215 requires).
fn fe_from_words(src: array<u32, 8>) -> Fe {
    var words: array<u32, 16>;
    for (var i = 0u; i < 8u; i++) {
        words[i] = src[i];
    }
    words[7] &= 0x7fffffffu;
    var r: Fe;
    for (var i = 0u; i < 20u; i++) {
        r[i] = i32(bits_le(&words, 13u * i, 13u));
    }
    return r;
}
