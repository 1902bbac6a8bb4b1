// Stage 3: the cofactored equation [8]([S]B - [k]A - R) = 0, one signature per invocation.
// [S]B + [k](-A) by Straus' method with signed radix-16 digits (as curve25519-dalek's
// as_radix_16): tables [1..8](-A) and [1..8]B in Niels form, then per digit from the top four
// doublings and up to two table additions; then - R and three doublings. The point formulas
// (add-2008-hwcd-3 and dbl-2008-hwcd, a = -1, as curve25519-dalek) are complete on the whole
// curve, small-order points included, and run as machine programs (equation_programs.wgsl).

fn load_fe(base: u32) -> Fe {
    var r: Fe;
    for (var j = 0u; j < 20u; j++) {
        r[j] = points[base + j];
    }
    return r;
}

// Digits d[i] in [-8, 8) (the last one in [-8, 8]) with scalar = sum d[i] 16^i; needs scalar < 2^255.
fn radix16(s: array<u32, 8>) -> array<i32, 64> {
    var d: array<i32, 64>;
    for (var i = 0u; i < 64u; i++) {
        d[i] = i32((s[i >> 3u] >> (4u * (i & 7u))) & 15u);
    }
    for (var i = 0u; i < 63u; i++) {
        let carry = (d[i] + 8) >> 4u;
        d[i] -= carry << 4u;
        d[i + 1u] += carry;
    }
    return d;
}

// Steps before the main loop: a table is INIT(_NEG), TO_NIELS, DBL, TO_NIELS, then 6 × (ADD,
// TO_NIELS); then R's Niels form and Q = identity.
const TABLE_STEPS: u32 = 16u;
const PRE_STEPS: u32 = 2u * TABLE_STEPS + 3u;
const MAIN_STEPS: u32 = 64u * 3u;
const NO_STEP: u32 = 0xffffffffu;

struct Step {
    prog: u32,
    pb: u32,
    nb: u32,
    db: u32,
}

fn table_step(j: u32, point: u32, table: u32, negate: bool) -> Step {
    if (j == 0u) {
        return Step(select(PROG_INIT, PROG_INIT_NEG, negate), point, 0u, 0u);
    }
    if (j == 2u) {
        return Step(PROG_DBL, point, 0u, 0u);
    }
    if ((j & 1u) == 1u) {
        // Entry (j - 1) / 2: TO_NIELS after INIT, DBL or an ADD.
        return Step(PROG_TO_NIELS, point, 0u, table + 4u * ((j - 1u) / 2u));
    }
    return Step(PROG_ADD, point, table, 0u);
}

fn digit_step(d: i32, table: u32) -> Step {
    if (d == 0) {
        return Step(NO_STEP, 0u, 0u, 0u);
    }
    let nb = table + 4u * (u32(abs(d)) - 1u);
    return Step(select(PROG_ADD, PROG_SUB, d < 0), REG_Q, nb, 0u);
}

fn step_at(s: u32, kd: ptr<function, array<i32, 64>>, sd: ptr<function, array<i32, 64>>) -> Step {
    if (s < TABLE_STEPS) {
        return table_step(s, REG_A, REG_TA, true);
    }
    if (s < 2u * TABLE_STEPS) {
        return table_step(s - TABLE_STEPS, REG_B, REG_TB, false);
    }
    if (s == 2u * TABLE_STEPS) {
        return Step(PROG_INIT, REG_R, 0u, 0u);
    }
    if (s == 2u * TABLE_STEPS + 1u) {
        return Step(PROG_TO_NIELS, REG_R, 0u, REG_RN);
    }
    if (s == 2u * TABLE_STEPS + 2u) {
        return Step(PROG_IDENTITY, REG_Q, 0u, 0u);
    }
    let m = s - PRE_STEPS;
    if (m < MAIN_STEPS) {
        let j = 63u - m / 3u;
        let kind = m % 3u;
        if (kind == 0u) {
            if (j == 63u) {
                return Step(NO_STEP, 0u, 0u, 0u);
            }
            return Step(PROG_DBL4, REG_Q, 0u, 0u);
        }
        if (kind == 1u) {
            return digit_step((*kd)[j], REG_TA);
        }
        return digit_step((*sd)[j], REG_TB);
    }
    if (m == MAIN_STEPS) {
        return Step(PROG_SUB, REG_Q, REG_RN, 0u);
    }
    return Step(PROG_DBL3, REG_Q, 0u, 0u);
}

fn equation_holds(i: u32, s: array<u32, 8>) -> bool {
    let base = POINT_WORDS * i;
    reg_set(REG_D2, FE_D2);
    reg_set(REG_ONE, FE_ONE);
    reg_set(REG_ZERO, FE_ZERO);
    reg_set(REG_A, load_fe(base));
    reg_set(REG_A + 1u, load_fe(base + 20u));
    reg_set(REG_R, load_fe(base + 40u));
    reg_set(REG_R + 1u, load_fe(base + 60u));
    reg_set(REG_B, FE_BX);
    reg_set(REG_B + 1u, FE_BY);
    var k: array<u32, 8>;
    for (var w = 0u; w < 8u; w++) {
        k[w] = scalars[8u * i + w];
    }
    var kd = radix16(k);
    var sd = radix16(s);
    for (var st = 0u; st < PRE_STEPS + MAIN_STEPS + 2u; st++) {
        let step = step_at(st, &kd, &sd);
        if (step.prog != NO_STEP) {
            exec(step.prog, step.pb, step.nb, step.db);
        }
    }
    return fe_is_zero(reg_get(REG_Q)) && fe_eq(reg_get(REG_Q + 1u), reg_get(REG_Q + 2u));
}

@compute @workgroup_size(64)
fn equation_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.count) {
        return;
    }
    reg_lane = i;
    reg_stride = params.stride;
    let f = flags[i];
    if (f != (FLAG_S_OK | FLAG_A_OK | FLAG_R_OK)) {
        return;
    }
    if (equation_holds(i, jobs[i].s)) {
        flags[i] = f | FLAG_EQUATION;
    }
}
