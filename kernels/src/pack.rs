//! Host-side packing: each signature's SHA-512 input `R ‖ A ‖ M` padded to whole 128-byte blocks
//! (so the kernel runs only the compression function), and its job record (where that input
//! starts, how many blocks, and S).

use crate::{GpuError, MAX_MESSAGE_LEN, SigInput};

/// SHA-512 block size in bytes.
const BLOCK: usize = 128;
/// u32 words per job record: offset, block count, S (8 words). Matches `struct Job` in WGSL.
pub(crate) const JOB_WORDS: usize = 10;

/// Bytes of padded SHA-512 input for a message of `len` bytes: `R ‖ A ‖ M`, the 0x80 byte and the
/// 16-byte length, rounded up to whole blocks.
pub(crate) fn padded_len(len: usize) -> usize {
    (64 + len + 1 + 16).div_ceil(BLOCK) * BLOCK
}

/// Checks the message bound for every item.
pub(crate) fn check_lengths(items: &[SigInput<'_>]) -> Result<(), GpuError> {
    match items
        .iter()
        .position(|item| item.msg.len() > MAX_MESSAGE_LEN)
    {
        Some(index) => Err(GpuError::MessageTooLong {
            index,
            len: items[index].msg.len(),
            max: MAX_MESSAGE_LEN,
        }),
        None => Ok(()),
    }
}

/// Writes the padded inputs of `items` into `input` and their job records into `jobs` (both
/// cleared first). Lengths must have been checked.
pub(crate) fn pack(items: &[SigInput<'_>], input: &mut Vec<u8>, jobs: &mut Vec<u32>) {
    input.clear();
    jobs.clear();
    for item in items {
        let start = input.len();
        let total = padded_len(item.msg.len());
        input.extend_from_slice(&item.sig[..32]);
        input.extend_from_slice(item.pk);
        input.extend_from_slice(item.msg);
        input.push(0x80);
        input.resize(start + total - 16, 0);
        let bits = (64 + item.msg.len() as u128) * 8;
        input.extend_from_slice(&bits.to_be_bytes());
        jobs.push((start / 4) as u32);
        jobs.push((total / BLOCK) as u32);
        for word in item.sig[32..].chunks_exact(4) {
            jobs.push(u32::from_le_bytes([word[0], word[1], word[2], word[3]]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_matches_sha512_block_boundaries() {
        // 64 + len + 17 bytes fit in one block up to len = 47, two blocks up to 175.
        assert_eq!(padded_len(0), 128);
        assert_eq!(padded_len(47), 128);
        assert_eq!(padded_len(48), 256);
        assert_eq!(padded_len(175), 256);
        assert_eq!(padded_len(176), 384);
    }

    #[test]
    fn packed_record_layout() {
        let pk = [2u8; 32];
        let mut sig = [1u8; 64];
        sig[32..].copy_from_slice(&[3u8; 32]);
        let msg = [9u8; 5];
        let items = [SigInput {
            pk: &pk,
            msg: &msg,
            sig: &sig,
        }; 2];
        let (mut input, mut jobs) = (Vec::new(), Vec::new());
        pack(&items, &mut input, &mut jobs);
        assert_eq!(input.len(), 256);
        assert_eq!(&input[..32], &[1u8; 32]);
        assert_eq!(&input[32..64], &[2u8; 32]);
        assert_eq!(&input[64..69], &msg);
        assert_eq!(input[69], 0x80);
        assert_eq!(&input[112..128], &(69u128 * 8).to_be_bytes());
        assert_eq!(jobs.len(), 2 * JOB_WORDS);
        assert_eq!(&jobs[..2], &[0, 1]);
        assert_eq!(&jobs[JOB_WORDS..JOB_WORDS + 2], &[32, 1]);
        assert_eq!(jobs[2], 0x0303_0303);
    }
}
