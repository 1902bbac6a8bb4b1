//! Shared workload generators for the benchmarks.
//!
//! The seeds and message length match `iosv bench sigverify` (harness/src/bench/sigverify.rs), so a
//! criterion run and an `iosv bench` run measure the same signatures.

use iosv_engine::sig::SigItem;
use iosv_engine::workload::{KeyReuse, SigWorkload};

/// Message length in bytes of every generated signature.
pub const MSG_LEN: usize = 32;

/// Seed of the account keys in a [`KeyReuse::Zipf`] workload.
pub const KEY_SEED: u64 = 7;

/// The key distributions the benchmarks run over, with the names used in benchmark ids.
pub const KEY_SETS: [(&str, KeyReuse); 2] = [
    ("distinct", KeyReuse::Distinct),
    ("zipf-10000", KeyReuse::SKEWED_10K),
];

/// A workload whose batches all draw from the same accounts.
pub fn sig_workload(reuse: KeyReuse) -> SigWorkload {
    SigWorkload::new(reuse, MSG_LEN, KEY_SEED)
}

/// The batch of `batch` valid signatures used at that batch size (seeded by the size).
pub fn sig_batch(workload: &SigWorkload, batch: usize) -> Vec<SigItem> {
    workload.generate(batch, batch as u64)
}
