// Stage 3: the windows of [S]B + [k](-A) by Straus' method with signed radix-16 digits, from the
// top window down: per window four doublings (none before the top one), then one addition from
// the lane's table [0..8](-A) and one from the shared table [0..8]B, each negated for a negative
// digit. Digit 0 adds the identity, so every lane runs the same instructions (no divergence).
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
                q = ext_dbl(q);
            }
        }
        // One loop for both additions: one copy of ext_add in the compiled code.
        for (var which = 0u; which < 2u; which++) {
            let d = digit(which, u32(j));
            let m = min(u32(abs(d)), 8u);
            var c: Cached;
            if (which == 0u) {
                c = cached_load(ST_TABLE + 4u * m);
            } else {
                c = base_load(m);
            }
            q = ext_add(q, cached_cneg(c, d < 0));
        }
    }
    ext_store(ST_Q, q);
}
