// Bit access to little-endian numbers held in u32 words, shared by the hash stage and the u32
// field.

// Bits [pos, pos + n) of a little-endian number held in u32 words (n <= 32, words beyond the end
// read as zero through the caller's sizing).
fn bits_le(words: ptr<function, array<u32, 16>>, pos: u32, n: u32) -> u32 {
    let w = pos >> 5u;
    let s = pos & 31u;
    var v = (*words)[w] >> s;
    if (s + n > 32u && w + 1u < 16u) {
        v |= (*words)[w + 1u] << (32u - s);
    }
    return v & ((1u << n) - 1u);
}

