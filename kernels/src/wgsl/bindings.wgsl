// Buffers shared by the stages; each stage uses the ones it needs. Per signature (lane) i of a
// chunk whose capacity is `params.stride`:
// - jobs[i]: where its padded SHA-512 input R ‖ A ‖ M starts in `input` (in u32 words), how many
//   128-byte blocks it has, and S as 8 little-endian words;
// - scalars[8i..8i+8]: k = SHA-512(R ‖ A ‖ M) mod L, little-endian words (written by `hash`);
// - digits[w * stride + i], w < 32: k's (w < 16) and S's (w >= 16) signed radix-16 digits, four
//   bytes per word, all zero when the signature already failed (written by `prepare`);
// - state[(e * FE_LIMBS + j) * stride + i]: limb j of field element e of the lane's state: the
//   running point Q (elements 0-3), R in cached form (4-7) and the table [0..8](-A) in
//   cached form (8-43). Neighbouring lanes touch neighbouring words (coalesced on a GPU);
// - flags[i]: FLAG_S_OK | FLAG_A_OK | FLAG_R_OK | FLAG_EQUATION, each stage setting its bits.
// - base_table: [0..8]B in cached form, shared by all lanes (written once by `base_table_main`).
// The host reads `flags` back; a signature is valid exactly when all four bits are set.
// `params` comes at a dynamic offset: each window dispatch has its own window range.

struct Job {
    offset: u32,
    nblocks: u32,
    s: array<u32, 8>,
}

struct Params {
    count: u32,
    stride: u32,
    // Windows this dispatch runs, from `first` down to `last` (inclusive), of 63..0.
    first: u32,
    last: u32,
}

const FLAG_S_OK: u32 = 1u;
const FLAG_A_OK: u32 = 2u;
const FLAG_R_OK: u32 = 4u;
const FLAG_EQUATION: u32 = 8u;
const FLAGS_DECODED: u32 = 7u;

@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read> jobs: array<Job>;
@group(0) @binding(2) var<storage, read_write> scalars: array<u32>;
@group(0) @binding(3) var<storage, read_write> state: array<i32>;
@group(0) @binding(4) var<storage, read_write> flags: array<u32>;
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> digits: array<u32>;
@group(0) @binding(7) var<storage, read_write> base_table: array<i32>;
