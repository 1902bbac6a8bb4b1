//! Shared by the `gpu_*` tests: the verifiers under test (or a printed skip), the oracle, and the
//! RFC 8032 and speccheck vectors.
//!
//! Without an adapter the GPU tests print why and pass, unless `IOSV_REQUIRE_GPU=1`, which turns
//! "no adapter" into a failure (CI sets it and installs lavapipe).

#![allow(dead_code)]

use iosv_engine::sig::backend::{FieldChoice, FieldVariant, KernelConfig};
use iosv_engine::sig::{Backend, BackendError, SigItem, SigRef, Verifier};

#[path = "../vectors/mod.rs"]
mod vectors;

#[allow(unused_imports)] // not every gpu_* test uses the vectors
pub use vectors::{RFC8032_VECTORS, speccheck_cases};

/// Every GPU kernel variant an adapter may select (each field; the window stage in one dispatch
/// with the default chunk, and split over several dispatches with small chunks, so that a batch
/// takes several chunks in flight), then `auto` with the default kernels; or `None` (after printing why)
/// when there is no adapter and `IOSV_REQUIRE_GPU` is not `1`. A variant the adapter cannot run
/// (the i64 field without SHADER_INT64) is skipped with a message, unless `IOSV_REQUIRE_GPU=1`
/// (CI's lavapipe runs both fields).
pub fn gpu_verifiers(test: &str) -> Option<Vec<(String, Verifier)>> {
    let required = std::env::var("IOSV_REQUIRE_GPU").as_deref() == Ok("1");
    let mut out = Vec::new();
    for field in [FieldVariant::U32, FieldVariant::I64] {
        for (windows_per_dispatch, max_chunk) in
            [(64, KernelConfig::default().max_chunk), (8, 4096)]
        {
            let config = KernelConfig {
                field: FieldChoice::Exactly(field),
                windows_per_dispatch,
                max_chunk,
            };
            let name = format!("gpu-{}-w{windows_per_dispatch}", field.name());
            match Verifier::with_gpu_kernels(Backend::Gpu, config) {
                Ok(v) => {
                    eprintln!("{test}: {name} on {}", v.gpu_adapter().unwrap_or_default());
                    out.push((name, v));
                }
                Err(e @ (BackendError::GpuUnavailable(_) | BackendError::GpuNotBuilt))
                    if !required =>
                {
                    eprintln!(
                        "SKIPPED {test} {name}: {e} (set IOSV_REQUIRE_GPU=1 to make this a failure)"
                    );
                }
                Err(e) => panic!("{test}: IOSV_REQUIRE_GPU=1 but {name}: {e}"),
            }
        }
    }
    if out.is_empty() {
        return None;
    }
    let auto = Verifier::new(Backend::Auto).expect("auto backend");
    assert_eq!(
        auto.backend(),
        Backend::Auto,
        "auto must use the GPU when gpu does"
    );
    out.push(("auto".to_string(), auto));
    Some(out)
}

/// The ZIP-215 verdict of `ed25519-consensus`.
pub fn oracle(item: SigRef<'_>) -> bool {
    ed25519_consensus::VerificationKey::try_from(*item.pk)
        .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(*item.sig), item.msg))
        .is_ok()
}

pub fn describe(item: SigRef<'_>) -> String {
    let msg = if item.msg.len() > 128 {
        format!(
            "{}… ({} bytes)",
            hex::encode(&item.msg[..64]),
            item.msg.len()
        )
    } else {
        hex::encode(item.msg)
    };
    format!(
        "pk={} sig={} msg={msg}",
        hex::encode(item.pk),
        hex::encode(item.sig)
    )
}

/// Checks every backend's verdicts on `items` (as one batch) against the CPU's single
/// verification and the oracle; returns the verdicts.
pub fn check_backends(
    label: &str,
    verifiers: &[(String, Verifier)],
    items: &[SigItem],
) -> Vec<bool> {
    let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
    let expected: Vec<bool> = refs.iter().map(|&r| oracle(r)).collect();
    let cpu = Verifier::new(Backend::Cpu).expect("cpu backend");
    let mut runs = vec![("cpu", cpu.verify_batch(&refs))];
    for (name, v) in verifiers {
        runs.push((name.as_str(), v.verify_batch(&refs)));
    }
    for (name, got) in &runs {
        assert_eq!(
            got.len(),
            refs.len(),
            "{label}: {name} gave a wrong number of verdicts"
        );
        for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                g,
                e,
                "{label}: backend {name} says {g}, the oracle {e}, at index {i} of {}: {}",
                refs.len(),
                describe(refs[i])
            );
        }
    }
    expected
}
