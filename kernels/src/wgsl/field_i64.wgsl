// GF(2^255 - 19) for adapters with SHADER_INT64: ten signed limbs in radix 2^25.5 held in i32
// (ref10's representation: limb i holds bits [ceil(25.5 i), ceil(25.5 (i + 1))), 26 bits for even
// i, 25 for odd i), products and column sums in i64. A verification's field work is ~3,400
// multiplications of 100 32x32->64-bit products each, a quarter of the 400 products of the u32
// variant (field_u32.wgsl), and a field element takes ten registers instead of twenty.
//
// Bounds ("carried": |even limb| <= 2^25, |odd limb| <= 2^24, limb 1 a few units more):
// - fe_mul, fe_sqr and fe_carry return carried elements;
// - fe_add and fe_sub do not carry: an operand of fe_mul or fe_sqr may be a sum or difference of
//   up to four carried elements (|limb| <= 2^27), and the point formulas never build more;
//   constants and fe_from_words give unsigned limbs below 2^26 (two carried units);
// - fe_canon, fe_is_zero, fe_eq and fe_is_negative take any such sum.
// With operands below 2^27 a product is below 2^55 (odd x odd limbs counted twice), a column of
// ten below 2^58.4, and the fold of the upper columns (19 times) below 2^62.8 < 2^63.

alias Fe = array<i32, 10>;
const FE_LIMBS: u32 = 10u;

// The unique representative in [0, p), limbs in [0, 2^26) / [0, 2^25) (ref10's fe_tobytes).
fn fe_canon(a_in: Fe) -> Fe {
    var h = fe_carry(a_in);
    // q = 1 exactly when the value is >= p: the carry out of value + 19 at bit 255.
    var q = (19 * h[9] + (1 << 24u)) >> 25u;
    for (var i = 0u; i < 10u; i++) {
        q = (h[i] + q) >> (26u - (i & 1u));
    }
    h[0] += 19 * q;
    for (var i = 0u; i < 9u; i++) {
        let w = 26u - (i & 1u);
        let c = h[i] >> w;
        h[i + 1u] += c;
        h[i] -= c << w;
    }
    h[9] = h[9] & 0x1ffffff;
    return h;
}

// A field element from 8 little-endian u32 words with bit 255 ignored (not reduced: the value is
// below 2^255 and arithmetic is mod p, so y >= p decodes as y - p, as ZIP-215 requires).
fn fe_from_words(w: array<u32, 8>) -> Fe {
    var r: Fe;
    var pos = 0u;
    for (var i = 0u; i < 10u; i++) {
        let width = 26u - (i & 1u);
        let word = pos >> 5u;
        let shift = pos & 31u;
        var v = w[word] >> shift;
        if (shift + width > 32u && word + 1u < 8u) {
            v |= w[word + 1u] << (32u - shift);
        }
        r[i] = i32(v & ((1u << width) - 1u));
        pos += width;
    }
    return r;
}
