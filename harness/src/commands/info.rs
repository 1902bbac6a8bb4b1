//! `iosv info`: the CPU's features and the arithmetic backend each verifier runs on.

use clap::Args;
use iosv_engine::platform::{self, CpuFeatures};
use iosv_engine::sig::decompress::Decompressor;
use serde::Serialize;

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also open the GPU adapter and print its features, the limits that shape the kernels and
    /// the kernel variant it gets (exits 2 without an adapter).
    #[arg(long)]
    pub gpu: bool,
}

#[derive(Serialize)]
struct Info {
    cpu_model: String,
    cores: usize,
    features: CpuFeatures,
    curve_arithmetic: &'static str,
    verifiers: Vec<(&'static str, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gpu: Option<GpuInfo>,
}

#[derive(Serialize)]
struct GpuInfo {
    capabilities: iosv_kernels::AdapterCapabilities,
    field: &'static str,
    windows_per_dispatch: u32,
    max_chunk: usize,
}

fn gpu_info() -> anyhow::Result<GpuInfo> {
    let gpu = iosv_kernels::GpuVerifier::new()?;
    Ok(GpuInfo {
        capabilities: gpu.capabilities().clone(),
        field: gpu.field().name(),
        windows_per_dispatch: gpu.config().windows_per_dispatch,
        max_chunk: gpu.max_chunk(),
    })
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
                "WGSL kernels on wgpu (`iosv info --gpu` names the adapter)".to_string(),
            ),
        ],
        gpu: if args.gpu { Some(gpu_info()?) } else { None },
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
    if let Some(g) = &info.gpu {
        let c = &g.capabilities;
        let a = &c.adapter;
        println!(
            "gpu:       {} ({}, {}, {} {})",
            a.name, a.device_type, a.backend, a.driver, a.driver_info
        );
        println!("  features: {}", c.features.join(" "));
        println!(
            "  limits:   storage binding {} B, buffer {} B, {} workgroups per dimension, {} invocations per workgroup, uniform offset alignment {}",
            c.max_storage_buffer_binding_size,
            c.max_buffer_size,
            c.max_compute_workgroups_per_dimension,
            c.max_compute_invocations_per_workgroup,
            c.min_uniform_buffer_offset_alignment
        );
        println!(
            "  kernels:  {} field, {} windows per dispatch, chunks of up to {} signatures",
            g.field, g.windows_per_dispatch, g.max_chunk
        );
    }
    Ok(())
}
