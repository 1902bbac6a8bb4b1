//! Differential tests of point decompression: every decompressor this machine runs
//! (`Decompressor::Ifma` where the CPU has AVX-512 IFMA) must decode every 32-byte string exactly as
//! curve25519-dalek's `CompressedEdwardsY::decompress` does — same verdict, same point. Decoding is
//! consensus-critical: `R` and `A` of every signature go through it.

mod vectors;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use iosv_engine::sig::decompress::Decompressor;
use proptest::prelude::*;

/// Checks `decompressor` against dalek on `encodings`; returns how many decoded.
fn agrees_with_dalek(decompressor: Decompressor, encodings: &[[u8; 32]]) -> usize {
    let mut out = Vec::new();
    decompressor.decompress_into(encodings, &mut out);
    assert_eq!(out.len(), encodings.len());
    let mut valid = 0;
    for (e, got) in encodings.iter().zip(&out) {
        let want = CompressedEdwardsY(*e).decompress();
        assert_eq!(
            got.map(|p| p.compress()),
            want.map(|p| p.compress()),
            "{decompressor:?} on {}",
            hex::encode(e)
        );
        assert_eq!(*got, want, "{decompressor:?} on {}", hex::encode(e));
        valid += usize::from(want.is_some());
    }
    valid
}

fn decompressors() -> Vec<Decompressor> {
    // On a CPU with IFMA the vector path must be in use: it is switched off only when its points
    // fail the start-up comparison with dalek, which is itself a bug to catch here.
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        Decompressor::Ifma.is_available(),
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma"),
        "the CPU has AVX-512 IFMA but the vector decompression failed its check against dalek"
    );
    let all = [Decompressor::Serial, Decompressor::Ifma];
    let available: Vec<_> = all.into_iter().filter(|d| d.is_available()).collect();
    if available.len() < all.len() {
        eprintln!("not available on this CPU, not tested: {all:?} minus {available:?}");
    }
    available
}

#[test]
fn speccheck_keys_and_nonces_decode_as_dalek_does() {
    let cases = vectors::speccheck_cases();
    let mut encodings: Vec<[u8; 32]> = Vec::new();
    for case in &cases {
        encodings.push(case.pk);
        encodings.push(case.sig[..32].try_into().expect("R is 32 bytes"));
    }
    for decompressor in decompressors() {
        assert!(agrees_with_dalek(decompressor, &encodings) > 0);
    }
}

#[test]
fn every_batch_length_decodes_as_dalek_does() {
    // Lengths around the vector width, so padding of a last partial group is covered.
    let points: Vec<[u8; 32]> = (1..=40u64)
        .map(|k| {
            EdwardsPoint::mul_base(&Scalar::from(k * 1_000_003))
                .compress()
                .to_bytes()
        })
        .collect();
    for decompressor in decompressors() {
        for len in 0..=points.len() {
            assert_eq!(agrees_with_dalek(decompressor, &points[..len]), len);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_decode_as_dalek_does(encodings in proptest::collection::vec(any::<[u8; 32]>(), 1..40)) {
        for decompressor in decompressors() {
            agrees_with_dalek(decompressor, &encodings);
        }
    }

    #[test]
    fn points_and_their_noncanonical_twins_decode_as_dalek_does(
        scalars in proptest::collection::vec(any::<u64>(), 1..20),
        flip_sign in any::<bool>(),
    ) {
        // Small y (< 19) have a non-canonical twin y + p; random points rarely do, so add both.
        let mut encodings: Vec<[u8; 32]> = scalars
            .iter()
            .map(|&k| EdwardsPoint::mul_base(&Scalar::from(k)).compress().to_bytes())
            .collect();
        for y in 0u8..19 {
            let mut twin = [0xffu8; 32];
            twin[0] = 0xed + y;
            twin[31] = if flip_sign { 0xff } else { 0x7f };
            encodings.push(twin);
        }
        for decompressor in decompressors() {
            agrees_with_dalek(decompressor, &encodings);
        }
    }
}
