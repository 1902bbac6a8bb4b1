//! `iosv info`: the CPU's features and the arithmetic backend each verifier runs on.

use iosv_engine::platform::{self, CpuFeatures};
use iosv_engine::sig::decompress::Decompressor;
use serde::Serialize;

use crate::cli::InfoArgs;

#[derive(Serialize)]
struct Info {
    cpu_model: String,
    cores: usize,
    features: CpuFeatures,
    curve_arithmetic: &'static str,
    verifiers: Vec<(&'static str, String)>,
}

pub fn run(args: &InfoArgs) -> anyhow::Result<()> {
    let curve = platform::curve_backend();
    let info = Info {
        cpu_model: platform::cpu_model(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        features: CpuFeatures::detect(),
        curve_arithmetic: curve,
        verifiers: vec![
            ("ed25519 single (cpu)", format!("curve25519-dalek {curve}")),
            (
                "ed25519 batch (cpu)",
                format!(
                    "curve25519-dalek {curve} multiscalar, point decompression {:?}",
                    Decompressor::best()
                ),
            ),
            (
                "ed25519 (gpu)",
                "WGSL kernels on wgpu (`iosv bench gpu` names the adapter)".to_string(),
            ),
        ],
    };
    if args.json {
        println!("{}", serde_json::to_string(&info)?);
        return Ok(());
    }
    let f = &info.features;
    println!(
        "cpu:       {} ({} cores, {})",
        info.cpu_model, info.cores, f.arch
    );
    println!(
        "features:  avx2={} avx512f={} avx512vl={} avx512ifma={} sha={}",
        f.avx2, f.avx512f, f.avx512vl, f.avx512ifma, f.sha_ni
    );
    println!(
        "curve arithmetic (curve25519-dalek): {}",
        info.curve_arithmetic
    );
    for (verifier, backend) in &info.verifiers {
        println!("  {verifier:<22} {backend}");
    }
    Ok(())
}
