// Stage 4: the cofactored equation. Q = [S]B - [k]A after the window stage; the signature holds
// exactly when [8](Q - R) is the identity (X = 0 and Y = Z).

@compute @workgroup_size(64)
fn finish_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    lane = gid.x;
    if (lane >= params.count) {
        return;
    }
    let f = flags[lane];
    if (f != FLAGS_DECODED) {
        return;
    }
    var q = ext_add(ext_load(ST_Q), cached_cneg(cached_load(ST_RC), true));
    for (var n = 0; n < 3; n++) {
        q = ext_dbl(q);
    }
    if (fe_is_zero(q.x) && fe_eq(q.y, q.z)) {
        flags[lane] = f | FLAG_EQUATION;
    }
}
