//! The vector field arithmetic against big-integer arithmetic, and the vector decompression against
//! dalek on edge-case encodings (differential tests over random and vector inputs are in
//! `engine/tests/decompress_backends.rs`).

use curve25519_dalek::edwards::CompressedEdwardsY;
use num_bigint::BigUint;
use proptest::prelude::*;

use super::ifma::{self, Ifma, LANES, bytes_from_limbs, limbs_from_bytes};
use super::{Decompressor, layout};

fn p() -> BigUint {
    (BigUint::from(1u8) << 255u32) - BigUint::from(19u8)
}

fn big(limbs: &[u64; 5]) -> BigUint {
    limbs.iter().rev().fold(BigUint::from(0u8), |acc, &l| {
        (acc << 51u32) + BigUint::from(l)
    })
}

fn ifma() -> Option<Ifma> {
    let found = Ifma::detect();
    if found.is_none() {
        eprintln!("this CPU has no AVX-512 IFMA: vector arithmetic not exercised");
    }
    found
}

/// Any limbs below 2⁵¹ (values up to 2²⁵⁵ − 1, non-canonical ones included).
fn limbs() -> impl Strategy<Value = [u64; 5]> {
    prop_oneof![
        proptest::array::uniform5(0u64..1 << 51),
        Just([(1 << 51) - 1; 5]),
        Just([
            (1 << 51) - 19,
            (1 << 51) - 1,
            (1 << 51) - 1,
            (1 << 51) - 1,
            (1 << 51) - 1
        ]),
        Just([0; 5]),
        Just([1, 0, 0, 0, 0]),
    ]
}

#[test]
fn constants_are_d_and_sqrt_minus_one() {
    let d = BigUint::from_bytes_le(&ifma::EDWARDS_D_BYTES);
    let minus = |x: u32| p() - BigUint::from(x);
    assert_eq!(d * BigUint::from(121_666u32) % p(), minus(121_665));
    let i = BigUint::from_bytes_le(&ifma::SQRT_M1_BYTES);
    assert_eq!(&i * &i % p(), minus(1));
}

#[test]
fn limbs_round_trip_canonical_bytes() {
    let mut bytes = [0u8; 32];
    for (k, b) in bytes.iter_mut().enumerate() {
        *b = (k as u8).wrapping_mul(37).wrapping_add(11);
    }
    bytes[31] &= 0x7f;
    assert_eq!(bytes_from_limbs(&limbs_from_bytes(&bytes)), bytes);
}

proptest! {
    #[test]
    fn mul_and_square_match_big_integers(
        a in proptest::array::uniform8(limbs()),
        b in proptest::array::uniform8(limbs()),
    ) {
        let Some(ifma) = ifma() else { return Ok(()) };
        let product = ifma.mul(&a, &b);
        let squares = ifma.square(&a);
        for lane in 0..LANES {
            let want = big(&a[lane]) * big(&b[lane]) % p();
            prop_assert_eq!(big(&product[lane]), want);
            prop_assert!(product[lane].iter().all(|&l| l < 1 << 51));
            prop_assert_eq!(big(&squares[lane]), big(&a[lane]) * big(&a[lane]) % p());
        }
    }
}

#[test]
fn long_multiplication_chains_stay_exact() {
    // Feed outputs back in, as the exponentiation does, for many rounds.
    let Some(ifma) = ifma() else { return };
    let mut x: [[u64; 5]; LANES] = core::array::from_fn(|lane| {
        [
            (1 << 51) - 1 - lane as u64,
            (1 << 51) - 1,
            7,
            0,
            (1 << 51) - 1,
        ]
    });
    let mut want: Vec<BigUint> = x.iter().map(big).collect();
    for round in 0..300 {
        x = if round % 3 == 0 {
            ifma.mul(&x, &x)
        } else {
            ifma.square(&x)
        };
        for (w, got) in want.iter_mut().zip(&x) {
            *w = &*w * &*w % p();
            assert_eq!(big(got), *w, "round {round}");
        }
    }
}

/// Encodings at the edges of the decoding rules: y around 0, 1, −1 and p (non-canonical), the
/// largest y, and the eight small-order points, each with both sign bits.
fn edge_encodings() -> Vec<[u8; 32]> {
    let from_big = |v: &BigUint| {
        let mut out = [0u8; 32];
        let le = v.to_bytes_le();
        out[..le.len()].copy_from_slice(&le);
        out
    };
    let mut ys: Vec<BigUint> = [0u32, 1, 2, 3, 4, 5]
        .iter()
        .map(|&k| BigUint::from(k))
        .collect();
    for k in 0u32..=20 {
        ys.push(p() - BigUint::from(1u8) + BigUint::from(k)); // p − 1 .. p + 19
    }
    ys.push((BigUint::from(1u8) << 255u32) - BigUint::from(1u8));
    let mut encodings: Vec<[u8; 32]> = ys.iter().map(from_big).collect();
    for point in curve25519_dalek::constants::EIGHT_TORSION {
        encodings.push(point.compress().to_bytes());
    }
    let with_sign: Vec<[u8; 32]> = encodings
        .iter()
        .map(|e| {
            let mut e = *e;
            e[31] ^= 0x80;
            e
        })
        .collect();
    encodings.extend(with_sign);
    encodings
}

#[test]
fn edge_encodings_decode_as_dalek_does() {
    let encodings = edge_encodings();
    let mut out = Vec::new();
    Decompressor::Ifma.decompress_into(&encodings, &mut out);
    assert_eq!(out.len(), encodings.len());
    let mut valid = 0;
    for (e, got) in encodings.iter().zip(&out) {
        let want = CompressedEdwardsY(*e).decompress();
        assert_eq!(
            got.is_some(),
            want.is_some(),
            "verdict on {}",
            hex::encode(e)
        );
        if let (Some(got), Some(want)) = (got, want) {
            assert_eq!(*got, want, "point for {}", hex::encode(e));
            assert_eq!(got.compress(), want.compress());
            valid += 1;
        }
    }
    // Both outcomes are exercised.
    assert!(valid > 0 && valid < encodings.len());
}

#[test]
fn layout_of_dalek_points_is_as_expected() {
    let Some(ifma) = ifma() else { return };
    assert!(layout::layout_matches(ifma));
    assert_eq!(Decompressor::best(), Decompressor::Ifma);
}
