//! Smoke test of the kernels on known answers: RFC 8032 §7.1 vectors (valid), the same with one
//! bit flipped in A, R, S or M (invalid), S ≥ L (invalid), and small-order A and R with S = 0
//! (valid under ZIP-215 only). The engine's `gpu_*` tests hold the kernels to the CPU and the
//! oracle on far more inputs; this one localizes a kernel bug without the engine.
//!
//! Without an adapter the test prints why and passes, unless `IOSV_REQUIRE_GPU=1`.

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use iosv_kernels::{FieldChoice, FieldVariant, GpuError, GpuVerifier, KernelConfig, SigInput};
use sha2::{Digest, Sha512};

/// Every kernel variant an adapter may select, and the window stage split over several dispatches.
fn configs() -> Vec<KernelConfig> {
    let mut out = Vec::new();
    for field in [FieldVariant::U32, FieldVariant::I64] {
        for windows_per_dispatch in [64, 5] {
            out.push(KernelConfig {
                field: FieldChoice::Exactly(field),
                windows_per_dispatch,
                ..KernelConfig::default()
            });
        }
    }
    out
}

fn verifier(config: KernelConfig) -> Option<GpuVerifier> {
    let started = std::time::Instant::now();
    match GpuVerifier::with_config(config) {
        Ok(v) => {
            eprintln!(
                "{config:?}: {:?}, opened in {:.1} s",
                v.adapter(),
                started.elapsed().as_secs_f64()
            );
            Some(v)
        }
        Err(GpuError::Unsupported(why)) => {
            eprintln!("SKIPPED {config:?}: {why}");
            None
        }
        Err(GpuError::NoAdapter) if std::env::var("IOSV_REQUIRE_GPU").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: no GPU adapter (set IOSV_REQUIRE_GPU=1 to make this a failure)");
            None
        }
        Err(e) => panic!("GPU verifier: {e}"),
    }
}

struct Case {
    pk: [u8; 32],
    msg: Vec<u8>,
    sig: [u8; 64],
    valid: bool,
}

fn arr<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).expect("hex").try_into().expect("length")
}

const RFC: [(&str, &str, &str); 3] = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (pk, msg, sig) in RFC {
        let base = Case {
            pk: arr(pk),
            msg: hex::decode(msg).expect("hex"),
            sig: arr(sig),
            valid: true,
        };
        let mut flipped_pk = Case {
            valid: false,
            ..clone(&base)
        };
        flipped_pk.pk[3] ^= 0x10;
        let mut flipped_r = Case {
            valid: false,
            ..clone(&base)
        };
        flipped_r.sig[7] ^= 1;
        let mut flipped_s = Case {
            valid: false,
            ..clone(&base)
        };
        flipped_s.sig[40] ^= 4;
        let mut other_msg = Case {
            valid: false,
            ..clone(&base)
        };
        other_msg.msg.push(0);
        // S + L: same scalar, not canonical.
        let mut s_plus_l = Case {
            valid: false,
            ..clone(&base)
        };
        let l = arr::<32>("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
        let mut carry = 0u16;
        for (byte, l) in s_plus_l.sig[32..].iter_mut().zip(l) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        out.extend([base, flipped_pk, flipped_r, flipped_s, other_msg, s_plus_l]);
    }
    // A = R = the identity (y = 1), S = 0: valid for any message under the cofactored equation.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&identity);
    out.push(Case {
        pk: identity,
        msg: b"small order".to_vec(),
        sig,
        valid: true,
    });
    // The same with A as "negative zero" (x = 0, sign bit set): still a valid encoding.
    let mut negative_zero = identity;
    negative_zero[31] |= 0x80;
    out.push(Case {
        pk: negative_zero,
        msg: Vec::new(),
        sig,
        valid: true,
    });
    // y = 2 is not on the curve: A does not decode.
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    out.push(Case {
        pk: off_curve,
        msg: Vec::new(),
        sig,
        valid: false,
    });
    out
}

fn clone(c: &Case) -> Case {
    Case {
        pk: c.pk,
        msg: c.msg.clone(),
        sig: c.sig,
        valid: c.valid,
    }
}

#[test]
fn known_answers() {
    for config in configs() {
        if let Some(gpu) = verifier(config) {
            known_answers_on(&gpu);
        }
    }
}

fn known_answers_on(gpu: &GpuVerifier) {
    let cases = cases();
    let inputs: Vec<SigInput<'_>> = cases
        .iter()
        .map(|c| SigInput {
            pk: &c.pk,
            msg: &c.msg,
            sig: &c.sig,
        })
        .collect();
    let outputs = gpu.stage_outputs(&inputs).expect("stage outputs");
    let (flags, scalars) = (&outputs.flags, &outputs.scalars);
    for (i, c) in cases.iter().enumerate() {
        let mut h = Sha512::new();
        h.update(&c.sig[..32]);
        h.update(c.pk);
        h.update(&c.msg);
        let wide: [u8; 64] = h.finalize().into();
        let k = Scalar::from_bytes_mod_order_wide(&wide).to_bytes();
        let got: Vec<u8> = scalars[8 * i..8 * i + 8]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(got, k, "k of case {i}");
        let r: [u8; 32] = c.sig[..32].try_into().expect("R");
        let s: [u8; 32] = c.sig[32..].try_into().expect("S");
        let expected = u32::from(Scalar::from_canonical_bytes(s).is_some().unwrap_u8())
            | u32::from(CompressedEdwardsY(c.pk).decompress().is_some()) << 1
            | u32::from(CompressedEdwardsY(r).decompress().is_some()) << 2;
        assert_eq!(flags[i] & 7, expected, "S/A/R flags of case {i}");
    }
    let got = gpu.verify(&inputs).expect("GPU batch");
    let expected: Vec<bool> = cases.iter().map(|c| c.valid).collect();
    assert_eq!(got, expected);
    let (timed, split) = gpu.verify_timed(&inputs).expect("timed GPU batch");
    assert_eq!(timed, expected);
    if let Some(stages) = split.gpu_stages {
        assert!(
            stages.window > std::time::Duration::ZERO,
            "the GPU's timestamps must bracket the window stage: {stages:?}"
        );
    }
    eprintln!("time split: {split:?}");
}
