// Stage 1: k = SHA-512(R ‖ A ‖ M) mod L over the bytes as given, and the S < L check.

const SC_MASK: i32 = 0x1fff;

// L = 2^252 + c, as little-endian u32 words, and c in 13-bit limbs.
const L_WORDS = array<u32, 8>(0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu, 0u, 0u, 0u, 0x10000000u);
const L_LIMBS = array<i32, 20>(5101, 1966, 1687, 1222, 1409, 3691, 3038, 7124, 7929, 166, 0, 0, 0, 0, 0, 0, 0, 0, 0, 512);
const C_LIMBS = array<i32, 10>(5101, 1966, 1687, 1222, 1409, 3691, 3038, 7124, 7929, 166);

// Signed carry over 21 limbs; limb 20 keeps the sign of the whole value.
fn sc_carry(acc: ptr<function, array<i32, 21>>) {
    for (var j = 0; j < 20; j++) {
        let c = (*acc)[j] >> 13u;
        (*acc)[j] = (*acc)[j] & SC_MASK;
        (*acc)[j + 1] += c;
    }
}

// The 512-bit little-endian number in `h` reduced mod L, as 8 little-endian words. Horner's rule
// in radix 2^13 from the top: acc = acc * 2^13 + digit, then with q = floor(acc / 2^252),
// acc - q L = (acc mod 2^252) - q c lies in (-L, L), so one conditional addition of L ends each
// step in [0, L).
fn sc_reduce512(h: array<u32, 16>) -> array<u32, 8> {
    var words = h;
    var cl = C_LIMBS;
    var ll = L_LIMBS;
    var acc: array<i32, 21>;
    for (var i = 39; i >= 0; i--) {
        for (var j = 20; j > 0; j--) {
            acc[j] = acc[j - 1];
        }
        acc[0] = i32(bits_le(&words, 13u * u32(i), 13u));
        let q = (acc[19] >> 5u) + (acc[20] << 8u);
        acc[19] = acc[19] & 0x1f;
        acc[20] = 0;
        for (var j = 0; j < 10; j++) {
            acc[j] -= q * cl[j];
        }
        sc_carry(&acc);
        if (acc[20] < 0) {
            for (var j = 0; j < 20; j++) {
                acc[j] += ll[j];
            }
            sc_carry(&acc);
        }
    }
    var out: array<u32, 8>;
    for (var j = 0u; j < 20u; j++) {
        let v = u32(acc[j]);
        let pos = 13u * j;
        let w = pos >> 5u;
        let s = pos & 31u;
        out[w] |= v << s;
        if (s + 13u > 32u && w + 1u < 8u) {
            out[w + 1u] |= v >> (32u - s);
        }
    }
    return out;
}

fn s_is_canonical(s: array<u32, 8>) -> bool {
    var l = L_WORDS;
    for (var i = 7; i >= 0; i--) {
        if (s[i] != l[i]) {
            return s[i] < l[i];
        }
    }
    return false;
}

@compute @workgroup_size(64)
fn hash_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.count) {
        return;
    }
    let job = jobs[i];
    let k = sc_reduce512(sha512_digest(job.offset, job.nblocks));
    for (var w = 0u; w < 8u; w++) {
        scalars[8u * i + w] = k[w];
    }
    flags[i] = select(0u, FLAG_S_OK, s_is_canonical(job.s));
}
