// Stage 2: decode A and R with ZIP-215's rules, exactly as curve25519-dalek's decompress: y is the
// low 255 bits taken mod p (y >= p accepted), x = ±sqrt((y² - 1) / (d y² + 1)) must exist, and
// the sign bit negates x even when x = 0 ("negative zero" accepted); small-order points pass.
// Then the lane's state for the window stage: the table [0..8](-A) and R in cached form, and the
// signed radix-16 digits of k and S (all zero when S, A or R already failed, so that the window
// stage never indexes past a table whatever the bytes were).

struct Decoded {
    ok: bool,
    x: Fe,
    y: Fe,
}

// dalek's sqrt_ratio_i on u = y² - 1, v = d y² + 1, then the sign bit.
fn decompress(words: array<u32, 8>) -> Decoded {
    let y = fe_from_words(words);
    let yy = fe_sqr(y);
    let u = fe_sub(yy, FE_ONE);
    let v = fe_add(fe_mul(yy, FE_D), FE_ONE);
    let v3 = fe_mul(fe_sqr(v), v);
    let v7 = fe_mul(fe_sqr(v3), v);
    var r = fe_mul(fe_mul(u, v3), fe_pow22523(fe_mul(u, v7)));
    let check = fe_mul(v, fe_sqr(r));
    let neg_u = fe_neg(u);
    let correct_sign = fe_eq(check, u);
    let flipped_sign = fe_eq(check, neg_u);
    let flipped_sign_i = fe_eq(check, fe_mul(neg_u, FE_SQRT_M1));
    r = fe_select(r, fe_mul(r, FE_SQRT_M1), flipped_sign || flipped_sign_i);
    // |r|, then the encoded sign: x = -|r| when the sign bit is set, even for r = 0.
    let negate = fe_is_negative(r) != ((words[7] >> 31u) == 1u);
    r = fe_select(r, fe_neg(r), negate);
    return Decoded(correct_sign || flipped_sign, r, y);
}

// Digits d[i] in [-8, 8) (the last one in [-8, 8]) with scalar = sum d[i] 16^i; needs
// scalar < 2^255. Packed four to a word, as `digit` (curve.wgsl) reads them.
fn store_digits(scalar: u32, s: array<u32, 8>) {
    var carry = 0;
    for (var w = 0u; w < 16u; w++) {
        var word = 0u;
        for (var b = 0u; b < 4u; b++) {
            let i = 4u * w + b;
            var d = i32((s[i >> 3u] >> (4u * (i & 7u))) & 15u) + carry;
            carry = (d + 8) >> 4u;
            if (i < 63u) {
                d -= carry << 4u;
            }
            word |= (u32(d) & 0xffu) << (8u * b);
        }
        digits[(16u * scalar + w) * params.stride + lane] = word;
    }
}

// The lane's table [0..8]P in cached form (projective: no inversion per lane, which would cost
// more than the one multiplication per window it saves).
fn build_table(p1: Ext) {
    let c1 = to_cached(p1);
    cached_store(ST_TABLE, cached_identity());
    cached_store(ST_TABLE + 4u, c1);
    var p = p1;
    for (var m = 2u; m <= 8u; m++) {
        p = ext_add(p, c1);
        cached_store(ST_TABLE + 4u * m, to_cached(p));
    }
}

@compute @workgroup_size(64)
fn prepare_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    lane = gid.x;
    if (lane >= params.count) {
        return;
    }
    let job = jobs[lane];
    var f = flags[lane];
    // R is words 0..7 of the input, A words 8..15: decoded by one loop (one copy of the code).
    var decoded: array<Decoded, 2>;
    for (var which = 0u; which < 2u; which++) {
        var words: array<u32, 8>;
        for (var w = 0u; w < 8u; w++) {
            words[w] = input[job.offset + 8u * which + w];
        }
        decoded[which] = decompress(words);
    }
    let r = decoded[0];
    let a = decoded[1];
    f |= select(0u, FLAG_R_OK, r.ok) | select(0u, FLAG_A_OK, a.ok);
    flags[lane] = f;
    let ok = f == FLAGS_DECODED;

    let neg_ax = fe_neg(a.x);
    build_table(Ext(neg_ax, a.y, FE_ONE, fe_mul(neg_ax, a.y)));
    cached_store(ST_RC, to_cached(ext_from_affine(r.x, r.y)));

    var k: array<u32, 8>;
    var s = job.s;
    for (var w = 0u; w < 8u; w++) {
        k[w] = select(0u, scalars[8u * lane + w], ok);
        s[w] = select(0u, s[w], ok);
    }
    store_digits(0u, k);
    store_digits(1u, s);
}
