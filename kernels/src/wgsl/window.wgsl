// Stage 3: the windows of [S]B + [k](-A) by Straus' method with signed radix-16 digits, from the
// top window down: per window four doublings (none before the top one), then one addition from
// the lane's table [0..8](-A) and one from the shared affine table [0..8]B, each negated for a
// negative digit. Digit 0 adds the identity, so every lane runs the same instructions (no
// divergence). T is computed only where the next operation reads it: after the fourth doubling
// and the first addition, and after the second addition of the last window (for `finish`):
// per window 16 squarings and 27 multiplications instead of 32.
// A dispatch runs windows `params.first` down to `params.last`; Q is loaded from the state
// unless the dispatch starts at the top, and stored at the end, so the host may run all 64
// windows in one dispatch or split them over several (the code is the same either way).

@compute @workgroup_size(64)
fn window_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    lane = gid.x;
    if (lane >= params.count) {
        return;
    }
    var q: Ext;
    if (params.first == 63u) {
        q = ext_identity();
    } else {
        q = ext_load(ST_Q);
    }
    for (var j = i32(params.first); j >= i32(params.last); j--) {
        if (j != 63) {
            for (var n = 0; n < 4; n++) {
                let c = dbl_completed(q);
                q = to_proj(c);
                if (n == 3) {
                    q.t = fe_mul(c.e, c.h);
                }
            }
        }
        // One loop for both additions: one copy of add_completed in the compiled code.
        for (var which = 0u; which < 2u; which++) {
            let d = digit(which, u32(j));
            let m = min(u32(abs(d)), 8u);
            var c: Cached;
            if (which == 0u) {
                c = cached_load(ST_TABLE + 4u * m);
            } else {
                c = base_load(m);
            }
            let sum = add_completed(q, cached_cneg(c, d < 0), which == 1u);
            q = to_proj(sum);
            if (which == 0u || j == 0) {
                q.t = fe_mul(sum.e, sum.h);
            }
        }
    }
    ext_store(ST_Q, q);
}
