//! Point decompression (points/s, one thread): curve25519-dalek one point at a time against the
//! engine's eight-lane AVX-512 IFMA decompression, on the same 4,096 encodings (the `R` halves of
//! real signatures, so every one decodes). Batch verification decompresses every `R` it checks.
//!
//! ```text
//! cargo bench -p iosv-benches --bench decompress
//! ```

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use iosv_benches::{sig_batch, sig_workload};
use iosv_engine::sig::decompress::Decompressor;
use iosv_engine::workload::KeyReuse;

const POINTS: usize = 4096;

fn decompress(c: &mut Criterion) {
    let workload = sig_workload(KeyReuse::Distinct);
    let encodings: Vec<[u8; 32]> = sig_batch(&workload, POINTS)
        .iter()
        .map(|item| item.sig[..32].try_into().expect("R is 32 bytes"))
        .collect();
    let mut group = c.benchmark_group("decompress");
    group.throughput(Throughput::Elements(POINTS as u64));
    let mut out = Vec::with_capacity(POINTS);
    for decompressor in [Decompressor::Serial, Decompressor::Ifma] {
        if !decompressor.is_available() {
            eprintln!("{decompressor:?} is not available on this CPU: skipped");
            continue;
        }
        group.bench_function(BenchmarkId::new(format!("{decompressor:?}"), POINTS), |b| {
            b.iter(|| {
                decompressor.decompress_into(&encodings, &mut out);
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = decompress
}
criterion_main!(benches);
