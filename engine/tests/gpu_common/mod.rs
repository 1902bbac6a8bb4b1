//! Shared by the `gpu_*` tests: the verifiers under test (or a printed skip), the oracle, and the
//! RFC 8032 and speccheck vectors.
//!
//! Without an adapter the GPU tests print why and pass, unless `IOSV_REQUIRE_GPU=1`, which turns
//! "no adapter" into a failure (CI sets it and installs lavapipe).

#![allow(dead_code)]

use iosv_engine::sig::{Backend, BackendError, SigItem, SigRef, Verifier};

#[path = "../vectors/mod.rs"]
mod vectors;

#[allow(unused_imports)] // not every gpu_* test uses the vectors
pub use vectors::{RFC8032_VECTORS, speccheck_cases};

/// The `gpu` and `auto` verifiers, or `None` (after printing why) when there is no adapter and
/// `IOSV_REQUIRE_GPU` is not `1`.
pub fn gpu_verifiers(test: &str) -> Option<Vec<(&'static str, Verifier)>> {
    match Verifier::new(Backend::Gpu) {
        Ok(gpu) => {
            let auto = Verifier::new(Backend::Auto).expect("auto backend");
            assert_eq!(
                auto.backend(),
                Backend::Auto,
                "auto must use the GPU when gpu does"
            );
            eprintln!(
                "{test}: GPU adapter {}",
                gpu.gpu_adapter().unwrap_or_default()
            );
            Some(vec![("gpu", gpu), ("auto", auto)])
        }
        Err(e @ (BackendError::GpuUnavailable(_) | BackendError::GpuNotBuilt))
            if std::env::var("IOSV_REQUIRE_GPU").as_deref() != Ok("1") =>
        {
            eprintln!(
                "SKIPPED {test}: {e} (set IOSV_REQUIRE_GPU=1 to make a missing GPU a failure)"
            );
            None
        }
        Err(e) => panic!("{test}: IOSV_REQUIRE_GPU=1 but {e}"),
    }
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
pub fn check_backends(label: &str, verifiers: &[(&str, Verifier)], items: &[SigItem]) -> Vec<bool> {
    let refs: Vec<SigRef<'_>> = items.iter().map(SigItem::as_ref).collect();
    let expected: Vec<bool> = refs.iter().map(|&r| oracle(r)).collect();
    let cpu = Verifier::new(Backend::Cpu).expect("cpu backend");
    let mut runs = vec![("cpu", cpu.verify_batch(&refs))];
    for (name, v) in verifiers {
        runs.push((*name, v.verify_batch(&refs)));
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
