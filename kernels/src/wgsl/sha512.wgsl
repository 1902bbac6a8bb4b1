// SHA-512 (FIPS 180-4) on 64-bit words held as vec2<u32>(high, low): portable without
// SHADER_INT64. The host writes each message already padded (0x80, zeros, 128-bit big-endian bit
// length) to whole 128-byte blocks, so the kernel only runs the compression function.

alias U64 = vec2<u32>;

const SHA512_K = array<U64, 80>(
    U64(0x428a2f98u, 0xd728ae22u), U64(0x71374491u, 0x23ef65cdu), U64(0xb5c0fbcfu, 0xec4d3b2fu), U64(0xe9b5dba5u, 0x8189dbbcu),
    U64(0x3956c25bu, 0xf348b538u), U64(0x59f111f1u, 0xb605d019u), U64(0x923f82a4u, 0xaf194f9bu), U64(0xab1c5ed5u, 0xda6d8118u),
    U64(0xd807aa98u, 0xa3030242u), U64(0x12835b01u, 0x45706fbeu), U64(0x243185beu, 0x4ee4b28cu), U64(0x550c7dc3u, 0xd5ffb4e2u),
    U64(0x72be5d74u, 0xf27b896fu), U64(0x80deb1feu, 0x3b1696b1u), U64(0x9bdc06a7u, 0x25c71235u), U64(0xc19bf174u, 0xcf692694u),
    U64(0xe49b69c1u, 0x9ef14ad2u), U64(0xefbe4786u, 0x384f25e3u), U64(0x0fc19dc6u, 0x8b8cd5b5u), U64(0x240ca1ccu, 0x77ac9c65u),
    U64(0x2de92c6fu, 0x592b0275u), U64(0x4a7484aau, 0x6ea6e483u), U64(0x5cb0a9dcu, 0xbd41fbd4u), U64(0x76f988dau, 0x831153b5u),
    U64(0x983e5152u, 0xee66dfabu), U64(0xa831c66du, 0x2db43210u), U64(0xb00327c8u, 0x98fb213fu), U64(0xbf597fc7u, 0xbeef0ee4u),
    U64(0xc6e00bf3u, 0x3da88fc2u), U64(0xd5a79147u, 0x930aa725u), U64(0x06ca6351u, 0xe003826fu), U64(0x14292967u, 0x0a0e6e70u),
    U64(0x27b70a85u, 0x46d22ffcu), U64(0x2e1b2138u, 0x5c26c926u), U64(0x4d2c6dfcu, 0x5ac42aedu), U64(0x53380d13u, 0x9d95b3dfu),
    U64(0x650a7354u, 0x8baf63deu), U64(0x766a0abbu, 0x3c77b2a8u), U64(0x81c2c92eu, 0x47edaee6u), U64(0x92722c85u, 0x1482353bu),
    U64(0xa2bfe8a1u, 0x4cf10364u), U64(0xa81a664bu, 0xbc423001u), U64(0xc24b8b70u, 0xd0f89791u), U64(0xc76c51a3u, 0x0654be30u),
    U64(0xd192e819u, 0xd6ef5218u), U64(0xd6990624u, 0x5565a910u), U64(0xf40e3585u, 0x5771202au), U64(0x106aa070u, 0x32bbd1b8u),
    U64(0x19a4c116u, 0xb8d2d0c8u), U64(0x1e376c08u, 0x5141ab53u), U64(0x2748774cu, 0xdf8eeb99u), U64(0x34b0bcb5u, 0xe19b48a8u),
    U64(0x391c0cb3u, 0xc5c95a63u), U64(0x4ed8aa4au, 0xe3418acbu), U64(0x5b9cca4fu, 0x7763e373u), U64(0x682e6ff3u, 0xd6b2b8a3u),
    U64(0x748f82eeu, 0x5defb2fcu), U64(0x78a5636fu, 0x43172f60u), U64(0x84c87814u, 0xa1f0ab72u), U64(0x8cc70208u, 0x1a6439ecu),
    U64(0x90befffau, 0x23631e28u), U64(0xa4506cebu, 0xde82bde9u), U64(0xbef9a3f7u, 0xb2c67915u), U64(0xc67178f2u, 0xe372532bu),
    U64(0xca273eceu, 0xea26619cu), U64(0xd186b8c7u, 0x21c0c207u), U64(0xeada7dd6u, 0xcde0eb1eu), U64(0xf57d4f7fu, 0xee6ed178u),
    U64(0x06f067aau, 0x72176fbau), U64(0x0a637dc5u, 0xa2c898a6u), U64(0x113f9804u, 0xbef90daeu), U64(0x1b710b35u, 0x131c471bu),
    U64(0x28db77f5u, 0x23047d84u), U64(0x32caab7bu, 0x40c72493u), U64(0x3c9ebe0au, 0x15c9bebcu), U64(0x431d67c4u, 0x9c100d4cu),
    U64(0x4cc5d4beu, 0xcb3e42b6u), U64(0x597f299cu, 0xfc657e2au), U64(0x5fcb6fabu, 0x3ad6faecu), U64(0x6c44198cu, 0x4a475817u),
);

const SHA512_IV = array<U64, 8>(
    U64(0x6a09e667u, 0xf3bcc908u), U64(0xbb67ae85u, 0x84caa73bu), U64(0x3c6ef372u, 0xfe94f82bu), U64(0xa54ff53au, 0x5f1d36f1u),
    U64(0x510e527fu, 0xade682d1u), U64(0x9b05688cu, 0x2b3e6c1fu), U64(0x1f83d9abu, 0xfb41bd6bu), U64(0x5be0cd19u, 0x137e2179u),
);

fn add64(a: U64, b: U64) -> U64 {
    let lo = a.y + b.y;
    let carry = select(0u, 1u, lo < a.y);
    return U64(a.x + b.x + carry, lo);
}

// Rotate right by n, 0 < n < 64, n != 32.
fn rotr64(a: U64, n: u32) -> U64 {
    if (n < 32u) {
        return U64((a.x >> n) | (a.y << (32u - n)), (a.y >> n) | (a.x << (32u - n)));
    }
    let m = n - 32u;
    return U64((a.y >> m) | (a.x << (32u - m)), (a.x >> m) | (a.y << (32u - m)));
}

// Shift right by n, 0 < n < 32.
fn shr64(a: U64, n: u32) -> U64 {
    return U64(a.x >> n, (a.y >> n) | (a.x << (32u - n)));
}

fn bswap32(v: u32) -> u32 {
    return (v << 24u) | ((v & 0xff00u) << 8u) | ((v >> 8u) & 0xff00u) | (v >> 24u);
}

// Compresses `nblocks` blocks of 32 words (little-endian loads of the padded bytes) starting at
// word `base` of `input`, and returns the digest as 16 little-endian u32 words (the 64 bytes in
// order).
fn sha512_digest(base: u32, nblocks: u32) -> array<u32, 16> {
    var h = SHA512_IV;
    var k = SHA512_K;
    for (var blk = 0u; blk < nblocks; blk++) {
        var w: array<U64, 16>;
        let off = base + blk * 32u;
        for (var i = 0u; i < 16u; i++) {
            w[i] = U64(bswap32(input[off + 2u * i]), bswap32(input[off + 2u * i + 1u]));
        }
        var a = h[0];
        var b = h[1];
        var c = h[2];
        var d = h[3];
        var e = h[4];
        var f = h[5];
        var g = h[6];
        var hh = h[7];
        for (var t = 0u; t < 80u; t++) {
            var wt: U64;
            if (t < 16u) {
                wt = w[t];
            } else {
                let w15 = w[(t + 1u) & 15u];
                let w2 = w[(t + 14u) & 15u];
                let s0 = rotr64(w15, 1u) ^ rotr64(w15, 8u) ^ shr64(w15, 7u);
                let s1 = rotr64(w2, 19u) ^ rotr64(w2, 61u) ^ shr64(w2, 6u);
                wt = add64(add64(w[t & 15u], s0), add64(w[(t + 9u) & 15u], s1));
                w[t & 15u] = wt;
            }
            let big_s1 = rotr64(e, 14u) ^ rotr64(e, 18u) ^ rotr64(e, 41u);
            let ch = (e & f) ^ (~e & g);
            let t1 = add64(add64(add64(hh, big_s1), add64(ch, k[t])), wt);
            let big_s0 = rotr64(a, 28u) ^ rotr64(a, 34u) ^ rotr64(a, 39u);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = add64(big_s0, maj);
            hh = g;
            g = f;
            f = e;
            e = add64(d, t1);
            d = c;
            c = b;
            b = a;
            a = add64(t1, t2);
        }
        h[0] = add64(h[0], a);
        h[1] = add64(h[1], b);
        h[2] = add64(h[2], c);
        h[3] = add64(h[3], d);
        h[4] = add64(h[4], e);
        h[5] = add64(h[5], f);
        h[6] = add64(h[6], g);
        h[7] = add64(h[7], hh);
    }
    var out: array<u32, 16>;
    for (var i = 0u; i < 8u; i++) {
        out[2u * i] = bswap32(h[i].x);
        out[2u * i + 1u] = bswap32(h[i].y);
    }
    return out;
}
