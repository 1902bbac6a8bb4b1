// Stage 2: decode A and R with ZIP-215's rules, exactly as curve25519-dalek's decompress: y is the
// low 255 bits taken mod p (y >= p accepted), x = ±sqrt((y² - 1) / (d y² + 1)) must exist, and
// the sign bit negates x even when x = 0 ("negative zero" accepted). Small-order points pass.
// The field work (sqrt_ratio_i's r = u v³ (u v⁷)^((p-5)/8) and its checks) is PROG_DECOMPRESS.

// Decodes the point whose encoding is at `input[src..src + 8]` into slot `slot` (0: A, 1: R) of
// signature i's points (x then y), and says whether it is a curve point.
fn decompress_into(i: u32, slot: u32, src: u32) -> bool {
    var words: array<u32, 8>;
    for (var w = 0u; w < 8u; w++) {
        words[w] = input[src + w];
    }
    let y = fe_from_words(words);
    reg_set(REG_Y, y);
    exec(PROG_DECOMPRESS, 0u, 0u, 0u);
    let check = reg_get(REG_CHECK);
    let correct_sign = fe_eq(check, reg_get(REG_U));
    let flipped_sign = fe_eq(check, reg_get(REG_NEG_U));
    let flipped_sign_i = fe_eq(check, reg_get(REG_NEG_U_I));
    var r = reg_get(REG_R);
    if (flipped_sign || flipped_sign_i) {
        r = reg_get(REG_R_I);
    }
    // |r|, then the encoded sign: x = -|r| when the sign bit is set, even for r = 0.
    let negate = fe_is_negative(r) != ((words[7] >> 31u) == 1u);
    if (negate) {
        r = fe_neg(r);
    }
    let base = POINT_WORDS * i + 40u * slot;
    for (var j = 0u; j < 20u; j++) {
        points[base + j] = r[j];
        points[base + 20u + j] = y[j];
    }
    return correct_sign || flipped_sign;
}

@compute @workgroup_size(64)
fn decompress_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.count) {
        return;
    }
    reg_lane = i;
    reg_stride = params.stride;
    reg_set(REG_D, FE_D);
    reg_set(REG_ONE, FE_ONE);
    reg_set(REG_ZERO, FE_ZERO);
    reg_set(REG_SQRT_M1, FE_SQRT_M1);
    let off = jobs[i].offset;
    var f = flags[i];
    // R is words 0..7 of the input, A words 8..15.
    if (decompress_into(i, 0u, off + 8u)) {
        f |= FLAG_A_OK;
    }
    if (decompress_into(i, 1u, off)) {
        f |= FLAG_R_OK;
    }
    flags[i] = f;
}
