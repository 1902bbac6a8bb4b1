//! Host-side packing: each signature's SHA-512 input `R ‖ A ‖ M` padded to whole 128-byte blocks
//! (so the kernel runs only the compression function), and its job record (where that input
//! starts, how many blocks, and S). Packing writes straight into the upload buffer's mapped view
//! (no intermediate copy) and runs on several threads for large chunks.

use wgpu::WriteOnly;

use crate::{GpuError, MAX_MESSAGE_LEN, SigInput};

/// SHA-512 block size in bytes.
const BLOCK: usize = 128;
/// u32 words per job record: offset, block count, S (8 words). Matches `struct Job` in WGSL.
pub(crate) const JOB_WORDS: usize = 10;
/// Bytes per job record.
pub(crate) const JOB_BYTES: usize = JOB_WORDS * 4;
/// Fewest signatures worth a packing thread of their own: below this, spawning costs more than
/// the packing (~100 ns per signature).
const PACK_PER_THREAD: usize = 16_384;

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

/// Longest padded record: a message of [`MAX_MESSAGE_LEN`] bytes.
const MAX_RECORD: usize = (64 + MAX_MESSAGE_LEN + 1 + 16).div_ceil(BLOCK) * BLOCK;

/// Writes the padded inputs of `items` into `input` (exactly their total padded length, every
/// byte written) and their job records into `jobs` (exactly `JOB_BYTES` per item); `base` is the
/// byte offset of `input` within the device buffer. Lengths must have been checked. Each record
/// is assembled in a stack buffer and written once (the destination is write-only mapped
/// memory, where scattered small writes are slow).
fn pack_serial(
    items: &[SigInput<'_>],
    mut input: WriteOnly<'_, [u8]>,
    mut jobs: WriteOnly<'_, [u8]>,
    base: usize,
) {
    let mut record = [0u8; MAX_RECORD];
    let mut at = 0;
    for (n, item) in items.iter().enumerate() {
        let total = padded_len(item.msg.len());
        let len = item.msg.len();
        record[..32].copy_from_slice(&item.sig[..32]);
        record[32..64].copy_from_slice(item.pk);
        record[64..64 + len].copy_from_slice(item.msg);
        record[64 + len] = 0x80;
        record[65 + len..total - 16].fill(0);
        let bits = (64 + len as u128) * 8;
        record[total - 16..total].copy_from_slice(&bits.to_be_bytes());
        input
            .slice(at..at + total)
            .copy_from_slice(&record[..total]);
        let mut job = [0u8; JOB_BYTES];
        job[..4].copy_from_slice(&(((base + at) / 4) as u32).to_le_bytes());
        job[4..8].copy_from_slice(&((total / BLOCK) as u32).to_le_bytes());
        job[8..].copy_from_slice(&item.sig[32..]);
        jobs.slice(n * JOB_BYTES..(n + 1) * JOB_BYTES)
            .copy_from_slice(&job);
        at += total;
    }
}

/// A thread's part of the input and job views.
struct SendPart<'a>(WriteOnly<'a, [u8]>, WriteOnly<'a, [u8]>);

// SAFETY: a `WriteOnly<[u8]>` is an exclusive, write-only borrow of mapped staging memory, as
// sendable as `&mut [u8]`; wgpu only declares `Send` for sized targets (`T: Send` bounds `T:
// Sized`). Each part covers a disjoint range (made by `split_at`) and the scope joins every
// thread before the views are dropped.
unsafe impl Send for SendPart<'_> {}

impl<'a> SendPart<'a> {
    fn into_inner(self) -> (WriteOnly<'a, [u8]>, WriteOnly<'a, [u8]>) {
        (self.0, self.1)
    }
}

/// [`pack_serial`] over up to `threads` threads, each packing a contiguous run of items into its
/// own part of `input` and `jobs`.
pub(crate) fn pack(
    items: &[SigInput<'_>],
    input: WriteOnly<'_, [u8]>,
    jobs: WriteOnly<'_, [u8]>,
    threads: usize,
) {
    let parts = threads.min(items.len() / PACK_PER_THREAD).max(1);
    if parts == 1 {
        pack_serial(items, input, jobs, 0);
        return;
    }
    let per = items.len().div_ceil(parts);
    std::thread::scope(|scope| {
        let (mut input, mut jobs) = (input, jobs);
        let mut base = 0;
        for run in items.chunks(per) {
            let bytes: usize = run.iter().map(|i| padded_len(i.msg.len())).sum();
            let (mine, rest) = input.split_at(bytes);
            let (my_jobs, rest_jobs) = jobs.split_at(run.len() * JOB_BYTES);
            input = rest;
            jobs = rest_jobs;
            let part = SendPart(mine, my_jobs);
            scope.spawn(move || {
                let (mine, my_jobs) = part.into_inner();
                pack_serial(run, mine, my_jobs, base)
            });
            base += bytes;
        }
    });
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

    fn packed(items: &[SigInput<'_>], threads: usize) -> (Vec<u8>, Vec<u8>) {
        let bytes = items.iter().map(|i| padded_len(i.msg.len())).sum();
        // Garbage first: packing must write every byte.
        let mut input = vec![0xa5u8; bytes];
        let mut jobs = vec![0xa5u8; items.len() * JOB_BYTES];
        pack(
            items,
            WriteOnly::from(&mut input[..]),
            WriteOnly::from(&mut jobs[..]),
            threads,
        );
        (input, jobs)
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
        let (input, jobs) = packed(&items, 1);
        assert_eq!(input.len(), 256);
        assert_eq!(&input[..32], &[1u8; 32]);
        assert_eq!(&input[32..64], &[2u8; 32]);
        assert_eq!(&input[64..69], &msg);
        assert_eq!(input[69], 0x80);
        assert!(input[70..112].iter().all(|&b| b == 0));
        assert_eq!(&input[112..128], &(69u128 * 8).to_be_bytes());
        let words: Vec<u32> = jobs
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(words.len(), 2 * JOB_WORDS);
        assert_eq!(&words[..2], &[0, 1]);
        assert_eq!(&words[JOB_WORDS..JOB_WORDS + 2], &[32, 1]);
        assert_eq!(words[2], 0x0303_0303);
    }

    #[test]
    fn threaded_packing_equals_serial() {
        let pk = [7u8; 32];
        let sig = [5u8; 64];
        let msgs: Vec<Vec<u8>> = (0..3 * PACK_PER_THREAD + 17)
            .map(|i| vec![i as u8; i % 300])
            .collect();
        let items: Vec<SigInput<'_>> = msgs
            .iter()
            .map(|m| SigInput {
                pk: &pk,
                msg: m,
                sig: &sig,
            })
            .collect();
        assert_eq!(packed(&items, 1), packed(&items, 4));
    }
}
