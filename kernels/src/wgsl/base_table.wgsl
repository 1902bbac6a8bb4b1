// Fills the shared base table [0..8]B once per device (one invocation), in affine cached form
// (Y + X, Y - X, 2, 2dXY with Z = 1): adding an affine entry saves the multiplication by Z
// (add_completed's `affine`), one per window.

fn base_put(m: u32, p: Ext) {
    let zinv = fe_invert(p.z);
    let x = fe_mul(p.x, zinv);
    let y = fe_mul(p.y, zinv);
    let parts = array<Fe, 4>(fe_add(y, x), fe_sub(y, x), fe_add(FE_ONE, FE_ONE), fe_mul(fe_mul(x, y), FE_D2));
    var at = m * 4u * FE_LIMBS;
    for (var k = 0u; k < 4u; k++) {
        for (var j = 0u; j < FE_LIMBS; j++) {
            base_table[at] = parts[k][j];
            at++;
        }
    }
}

@compute @workgroup_size(1)
fn base_table_main() {
    let b = ext_from_affine(FE_BX, FE_BY);
    let c1 = to_cached(b);
    base_put(0u, ext_identity());
    base_put(1u, b);
    var p = b;
    for (var m = 2u; m <= 8u; m++) {
        p = ext_add(p, c1);
        base_put(m, p);
    }
}
