// A register machine for field arithmetic: straight-line programs (generated into
// *_programs.wgsl by kernels/tools/gen_programs.py) run by one loop with one call site each of
// fe_mul, fe_sqr, fe_add and fe_sub (straight-line code from field_ops.wgsl).
//
// Why: shader compilers inline every function call. Written as ordinary functions, point
// additions and doublings paste whole field multiplications at every call site and the equation
// stage grows past 100,000 instructions: lavapipe's LLVM compiled it for over ten minutes. Through
// this loop each stage holds one copy of each field operation and compiles in seconds.
//
// Why no loops inside the operations: Mesa 22's lavapipe (llvmpipe) caps the loop iterations of
// an invocation near 65,535 and silently leaves loops early beyond that (measured: the machine
// loop stopped after ~253 squarings of 20-limb loops). A verification runs ~6,500 instructions,
// each now loop-free, so only this loop counts.
//
// Registers live in the `scratch` storage buffer (NREG field elements per invocation, laid out
// so that neighbouring invocations touch neighbouring words), keeping private memory small.
// Instruction word: op (bits 0-2), dst (3-9), a (10-16), b (17-23); repeated squarings are
// repeated instructions. Registers 116-119, 120-123 and 124-127 are relative to the `db`, `pb`
// and `nb` bases of `exec`.

const OP_MUL: u32 = 0u;
const OP_SQR: u32 = 1u;
const OP_ADD: u32 = 2u;

// reg_get, reg_set and the register addressing are in field_ops.wgsl (generated).

fn reloc(r: u32, pb: u32, nb: u32, db: u32) -> u32 {
    var out = r;
    out = select(out, db + r - 116u, r >= 116u && r < 120u);
    out = select(out, pb + r - 120u, r >= 120u && r < 124u);
    out = select(out, nb + r - 124u, r >= 124u);
    return out;
}

fn exec(prog: u32, pb: u32, nb: u32, db: u32) {
    let end = PROG_END[prog];
    for (var pc = PROG_START[prog]; pc < end; pc++) {
        let word = PROGRAM[pc];
        let op = word & 7u;
        let dst = reloc((word >> 3u) & 127u, pb, nb, db);
        let a = reg_get(reloc((word >> 10u) & 127u, pb, nb, db));
        let b = reg_get(reloc((word >> 17u) & 127u, pb, nb, db));
        var r: Fe;
        if (op == OP_MUL) {
            r = fe_mul(a, b);
        } else if (op == OP_SQR) {
            r = fe_sqr(a);
        } else if (op == OP_ADD) {
            r = fe_add(a, b);
        } else {
            r = fe_sub(a, b);
        }
        reg_set(dst, r);
    }
}
