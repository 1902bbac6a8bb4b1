// Buffers shared by the three stages; each stage uses the ones it needs. Per signature i:
// - jobs[i]: where its padded SHA-512 input R ‖ A ‖ M starts in `input` (in u32 words) and how
//   many 128-byte blocks it has, and S as 8 little-endian words;
// - scalars[8i..8i+8]: k = SHA-512(R ‖ A ‖ M) mod L, little-endian words (written by `hash`);
// - points[80i..80i+80]: A.x, A.y, R.x, R.y as 20-limb field elements (written by `decompress`);
// - flags[i]: FLAG_S_OK | FLAG_A_OK | FLAG_R_OK | FLAG_EQUATION, each stage setting its own bits.
// - scratch: the field registers of the decompress and equation stages (see machine.wgsl).
// The host reads `flags` back; a signature is valid exactly when all four bits are set.

struct Job {
    offset: u32,
    nblocks: u32,
    s: array<u32, 8>,
}

struct Params {
    count: u32,
    // Invocations per register row in `scratch` (the chunk's capacity).
    stride: u32,
    pad1: u32,
    pad2: u32,
}

const FLAG_S_OK: u32 = 1u;
const FLAG_A_OK: u32 = 2u;
const FLAG_R_OK: u32 = 4u;
const FLAG_EQUATION: u32 = 8u;
const POINT_WORDS: u32 = 80u;

@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read> jobs: array<Job>;
@group(0) @binding(2) var<storage, read_write> scalars: array<u32>;
@group(0) @binding(3) var<storage, read_write> points: array<i32>;
@group(0) @binding(4) var<storage, read_write> flags: array<u32>;
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> scratch: array<i32>;
