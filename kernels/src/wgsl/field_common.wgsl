// Field operations written once over either variant's interface (Fe, FE_LIMBS, fe_sub,
// fe_canon).

fn fe_neg(a: Fe) -> Fe {
    return fe_sub(FE_ZERO, a);
}

fn fe_is_zero(a: Fe) -> bool {
    let r = fe_canon(a);
    var acc = 0;
    for (var i = 0u; i < FE_LIMBS; i++) {
        acc |= r[i];
    }
    return acc == 0;
}

fn fe_eq(a: Fe, b: Fe) -> bool {
    return fe_is_zero(fe_sub(a, b));
}

// The low bit of the canonical representative ("negative" in RFC 8032's sense).
fn fe_is_negative(a: Fe) -> bool {
    return (fe_canon(a)[0] & 1) == 1;
}
