// Exponentiations shared by the stages that need them, over the field interface: the square
// root in decompression and the inversion that makes the base table affine.

fn fe_sqn(a: Fe, n: u32) -> Fe {
    var r = a;
    for (var i = 0u; i < n; i++) {
        r = fe_sqr(r);
    }
    return r;
}

// z^((p - 5) / 8) = z^(2^252 - 3), ref10's addition chain.
fn fe_pow22523(z: Fe) -> Fe {
    var t0 = fe_sqr(z);
    var t1 = fe_sqn(t0, 2u);
    t1 = fe_mul(z, t1);
    t0 = fe_mul(t0, t1);
    t0 = fe_sqr(t0);
    t0 = fe_mul(t1, t0);
    t1 = fe_sqn(t0, 5u);
    t0 = fe_mul(t1, t0);
    t1 = fe_sqn(t0, 10u);
    t1 = fe_mul(t1, t0);
    var t2 = fe_sqn(t1, 20u);
    t1 = fe_mul(t2, t1);
    t1 = fe_sqn(t1, 10u);
    t0 = fe_mul(t1, t0);
    t1 = fe_sqn(t0, 50u);
    t1 = fe_mul(t1, t0);
    t2 = fe_sqn(t1, 100u);
    t1 = fe_mul(t2, t1);
    t1 = fe_sqn(t1, 50u);
    t0 = fe_mul(t1, t0);
    t0 = fe_sqn(t0, 2u);
    return fe_mul(t0, z);
}

// 1 / z = z^(p - 2), with p - 2 = 8 (2^252 - 3) + 3 (z = 0 gives 0).
fn fe_invert(z: Fe) -> Fe {
    return fe_mul(fe_sqn(fe_pow22523(z), 3u), fe_mul(fe_sqr(z), z));
}
