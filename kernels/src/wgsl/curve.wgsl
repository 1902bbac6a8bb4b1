// Points of edwards25519 (-x² + y² = 1 + d x² y²) in registers, and the lane's state in storage.
// Written once over the field interface (Fe, FE_LIMBS, fe_add, fe_sub, fe_mul, fe_sqr, ...), so
// both field variants (field_u32.wgsl, field_i64.wgsl) run the same formulas.
//
// Extended coordinates (X : Y : Z : T) with x = X/Z, y = Y/Z, T = XY/Z; the "cached" form of an
// addend is (Y + X, Y - X, 2Z, 2dT). The formulas are curve25519-dalek's (add-2008-hwcd-3 and
// dbl-2008-hwcd with a = -1): complete on the whole curve, small-order points included, so no
// input can take them off their happy path. Every operand of fe_mul / fe_sqr below is a sum or
// difference of at most four carried elements (the i64 field's bound).

struct Ext {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

struct Cached {
    ypx: Fe,
    ymx: Fe,
    z2: Fe,
    t2d: Fe,
}

fn ext_identity() -> Ext {
    return Ext(FE_ZERO, FE_ONE, FE_ONE, FE_ZERO);
}

fn ext_from_affine(x: Fe, y: Fe) -> Ext {
    return Ext(x, y, FE_ONE, fe_mul(x, y));
}

fn to_cached(p: Ext) -> Cached {
    return Cached(fe_add(p.y, p.x), fe_sub(p.y, p.x), fe_add(p.z, p.z), fe_mul(p.t, FE_D2));
}

// The identity in cached form: adding it changes nothing (digit 0 of a window).
fn cached_identity() -> Cached {
    return Cached(FE_ONE, FE_ONE, fe_add(FE_ONE, FE_ONE), FE_ZERO);
}

fn fe_select(a: Fe, b: Fe, take_b: bool) -> Fe {
    var r: Fe;
    for (var j = 0u; j < FE_LIMBS; j++) {
        r[j] = select(a[j], b[j], take_b);
    }
    return r;
}

// -c when `negate` (swap Y + X and Y - X, negate 2dT), branch-free.
fn cached_cneg(c: Cached, negate: bool) -> Cached {
    return Cached(
        fe_select(c.ypx, c.ymx, negate),
        fe_select(c.ymx, c.ypx, negate),
        c.z2,
        fe_select(c.t2d, fe_neg(c.t2d), negate),
    );
}

// A sum or double before its last four multiplications ("completed" coordinates): the point is
// (E F : G H : F G : E H). Converting to (X : Y : Z) alone costs three multiplications, with T
// four; a doubling never reads T, so a chain of doublings computes T only at its end.
struct Completed {
    e: Fe,
    f: Fe,
    g: Fe,
    h: Fe,
}

// X, Y, Z of the point; T left zero (for a point that only a doubling will read).
fn to_proj(c: Completed) -> Ext {
    return Ext(fe_mul(c.e, c.f), fe_mul(c.g, c.h), fe_mul(c.f, c.g), FE_ZERO);
}

fn to_ext(c: Completed) -> Ext {
    return Ext(fe_mul(c.e, c.f), fe_mul(c.g, c.h), fe_mul(c.f, c.g), fe_mul(c.e, c.h));
}

// p + q before the final multiplications (4 multiplications; 3 when q is affine, Z = 1 and its
// z2 = 2, as every base-table entry is).
fn add_completed(p: Ext, q: Cached, affine: bool) -> Completed {
    let a = fe_mul(fe_sub(p.y, p.x), q.ymx);
    let b = fe_mul(fe_add(p.y, p.x), q.ypx);
    let c = fe_mul(p.t, q.t2d);
    var d: Fe;
    if (affine) {
        d = fe_add(p.z, p.z);
    } else {
        d = fe_mul(p.z, q.z2);
    }
    return Completed(fe_sub(b, a), fe_sub(d, c), fe_add(d, c), fe_add(b, a));
}

// 2p before the final multiplications (4 squarings; reads X, Y, Z only).
fn dbl_completed(p: Ext) -> Completed {
    let a = fe_sqr(p.x);
    let b = fe_sqr(p.y);
    let zz = fe_sqr(p.z);
    let c = fe_add(zz, zz);
    let e = fe_sub(fe_sub(fe_sqr(fe_add(p.x, p.y)), a), b);
    let g = fe_sub(b, a);
    return Completed(e, fe_sub(g, c), g, fe_sub(fe_neg(a), b));
}

// p + q (8 multiplications).
fn ext_add(p: Ext, q: Cached) -> Ext {
    return to_ext(add_completed(p, q, false));
}

// 2p (4 squarings, 4 multiplications).
fn ext_dbl(p: Ext) -> Ext {
    return to_ext(dbl_completed(p));
}

// The lane's state (bindings.wgsl): element e, limb j at state[(e * FE_LIMBS + j) * stride + lane].
const ST_Q: u32 = 0u;
const ST_RC: u32 = 4u;
const ST_TABLE: u32 = 8u;

var<private> lane: u32;

fn st_load(e: u32) -> Fe {
    var r: Fe;
    let stride = params.stride;
    var at = e * FE_LIMBS * stride + lane;
    for (var j = 0u; j < FE_LIMBS; j++) {
        r[j] = state[at];
        at += stride;
    }
    return r;
}

fn st_store(e: u32, v: Fe) {
    let stride = params.stride;
    var at = e * FE_LIMBS * stride + lane;
    for (var j = 0u; j < FE_LIMBS; j++) {
        state[at] = v[j];
        at += stride;
    }
}

fn ext_load(e: u32) -> Ext {
    return Ext(st_load(e), st_load(e + 1u), st_load(e + 2u), st_load(e + 3u));
}

fn ext_store(e: u32, p: Ext) {
    st_store(e, p.x);
    st_store(e + 1u, p.y);
    st_store(e + 2u, p.z);
    st_store(e + 3u, p.t);
}

fn cached_load(e: u32) -> Cached {
    return Cached(st_load(e), st_load(e + 1u), st_load(e + 2u), st_load(e + 3u));
}

fn cached_store(e: u32, c: Cached) {
    st_store(e, c.ypx);
    st_store(e + 1u, c.ymx);
    st_store(e + 2u, c.z2);
    st_store(e + 3u, c.t2d);
}

// Entry m of [0..8]B (cached), from the shared base table.
fn base_load(m: u32) -> Cached {
    var c: array<Fe, 4>;
    var at = m * 4u * FE_LIMBS;
    for (var k = 0u; k < 4u; k++) {
        for (var j = 0u; j < FE_LIMBS; j++) {
            c[k][j] = base_table[at];
            at++;
        }
    }
    return Cached(c[0], c[1], c[2], c[3]);
}

// Signed digit j (of 64) of k (`scalar` 0) or S (1), from the packed digit bytes.
fn digit(scalar: u32, j: u32) -> i32 {
    let word = digits[(16u * scalar + (j >> 2u)) * params.stride + lane];
    return i32(word << (24u - 8u * (j & 3u))) >> 24u;
}
