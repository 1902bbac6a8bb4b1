//! 100,000+ random and mutated signatures through the `gpu` and `auto` backends, against the CPU
//! backend and the oracle (`ed25519-consensus`), in big batches (the GPU path is built for them).
//!
//! Inputs: signatures made from known scalars (plain, with torsion in A and R, small-order A or R
//! in canonical and non-canonical encodings, A = R), then about half of them mutated: a flipped
//! bit in A, R, S or M; A or R replaced by a small-order or non-canonical encoding (y ≥ p,
//! "negative zero"); S replaced by S + L, L, L + 1, 2²⁵⁶ − 1 or S with its top bit set; the message
//! emptied, or replaced by one at a SHA-512 block boundary, of the GPU's maximum length, or longer
//! than that (those go to the CPU). Deterministic: a fixed seed.

mod gpu_common;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use gpu_common::{check_backends, gpu_verifiers};
use iosv_engine::sig::{GPU_MAX_MESSAGE_LEN as MAX_MESSAGE_LEN, SigItem};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha512};

/// Signatures checked in all.
const TOTAL: usize = 100_352;
/// Signatures per batch: one chunk for the default kernels, seven for the small-chunk variants
/// (4,096), so that chunks in flight and their read-back order are exercised.
const BATCH: usize = 25_088;

const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let sum = u16::from(*x) + u16::from(*y) + carry;
        *o = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// Canonical small-order encodings, their "negative zero" variants, and every y + p (y < 19)
/// with either sign: each decodes or not, as ZIP-215 says.
fn special_encodings() -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|t| t.compress().to_bytes())
        .collect();
    for t in &EIGHT_TORSION {
        let mut e = t.compress().to_bytes();
        e[31] |= 0x80;
        out.push(e);
    }
    for y in 0..19u8 {
        for sign in [0u8, 0x80] {
            let mut e = [0xff; 32];
            e[0] = 0xed + y;
            e[31] = 0x7f | sign;
            out.push(e);
        }
    }
    out
}

fn small_order(specials: &[[u8; 32]]) -> Vec<[u8; 32]> {
    specials
        .iter()
        .filter(|e| {
            CompressedEdwardsY(**e)
                .decompress()
                .is_some_and(|p| p.is_small_order())
        })
        .copied()
        .collect()
}

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let wide: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(msg)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn sign_raw(a: &Scalar, pk: [u8; 32], r: &Scalar, r_bytes: [u8; 32], msg: Vec<u8>) -> SigItem {
    let k = challenge(&r_bytes, &pk, &msg);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice((r + k * a).as_bytes());
    SigItem { pk, msg, sig }
}

fn random_scalar(rng: &mut StdRng) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn message(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.random_range(0..100) {
        0..5 => 0,
        5..70 => rng.random_range(1..=64),
        // SHA-512 padding boundaries for R ‖ A ‖ M (64 + len + 17 bytes vs. 128-byte blocks).
        70..85 => [47, 48, 111, 112, 175, 176, 239, 240][rng.random_range(0..8)],
        85..95 => rng.random_range(65..=1024),
        95..98 => MAX_MESSAGE_LEN,
        _ => MAX_MESSAGE_LEN + rng.random_range(1..=6 * 1024),
    };
    let mut msg = vec![0u8; len];
    rng.fill_bytes(&mut msg);
    msg
}

struct Gen {
    rng: StdRng,
    keys: Vec<(Scalar, [u8; 32])>,
    specials: Vec<[u8; 32]>,
    small: Vec<[u8; 32]>,
}

impl Gen {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys = (0..64)
            .map(|_| {
                let a = random_scalar(&mut rng);
                (a, EdwardsPoint::mul_base(&a).compress().to_bytes())
            })
            .collect();
        let specials = special_encodings();
        let small = small_order(&specials);
        Self {
            rng,
            keys,
            specials,
            small,
        }
    }

    fn base(&mut self) -> SigItem {
        let msg = message(&mut self.rng);
        let (a, pk) = self.keys[self.rng.random_range(0..self.keys.len())];
        let r = random_scalar(&mut self.rng);
        let r_point = EdwardsPoint::mul_base(&r);
        match self.rng.random_range(0..10) {
            0..5 => sign_raw(&a, pk, &r, r_point.compress().to_bytes(), msg),
            5..7 => {
                let ta = EIGHT_TORSION[self.rng.random_range(0..8)];
                let tr = EIGHT_TORSION[self.rng.random_range(0..8)];
                let pk = (EdwardsPoint::mul_base(&a) + ta).compress().to_bytes();
                let rb = (r_point + tr).compress().to_bytes();
                sign_raw(&a, pk, &r, rb, msg)
            }
            7 => {
                let pk = self.small[self.rng.random_range(0..self.small.len())];
                sign_raw(&Scalar::ZERO, pk, &r, r_point.compress().to_bytes(), msg)
            }
            8 => {
                let rb = self.small[self.rng.random_range(0..self.small.len())];
                sign_raw(&a, pk, &Scalar::ZERO, rb, msg)
            }
            _ => sign_raw(&a, pk, &a, pk, msg),
        }
    }

    fn mutate(&mut self, item: &mut SigItem) {
        let rng = &mut self.rng;
        match rng.random_range(0..12) {
            0 => item.pk[rng.random_range(0..32)] ^= 1 << rng.random_range(0..8),
            1 => item.sig[rng.random_range(0..32)] ^= 1 << rng.random_range(0..8),
            2 => item.sig[32 + rng.random_range(0..32)] ^= 1 << rng.random_range(0..8),
            3 if !item.msg.is_empty() => {
                let i = rng.random_range(0..item.msg.len());
                item.msg[i] ^= 1 << rng.random_range(0..8);
            }
            3 => item.msg.push(1),
            4 => item.pk = self.specials[rng.random_range(0..self.specials.len())],
            5 => item.sig[..32]
                .copy_from_slice(&self.specials[rng.random_range(0..self.specials.len())]),
            6 => {
                let s: [u8; 32] = item.sig[32..].try_into().expect("S");
                let mut one = [0u8; 32];
                one[0] = 1;
                let new = match rng.random_range(0..5) {
                    0 => add_le(&s, &L),
                    1 => L,
                    2 => add_le(&L, &one),
                    3 => [0xff; 32],
                    _ => {
                        let mut t = s;
                        t[31] |= 0x80;
                        t
                    }
                };
                item.sig[32..].copy_from_slice(&new);
            }
            7 => item.pk.copy_from_slice(&item.sig[..32]),
            8 => item.msg.clear(),
            9 => {
                item.msg = vec![0u8; MAX_MESSAGE_LEN + 1];
                rng.fill_bytes(&mut item.msg);
            }
            10 => {
                let len = [47, 48, 111, 112][rng.random_range(0..4)];
                item.msg = vec![7u8; len];
            }
            _ => {
                let other = rng.random_range(0..self.keys.len());
                item.pk = self.keys[other].1;
            }
        }
    }
}

#[test]
fn random_and_mutated_signatures_agree_with_cpu_and_oracle() {
    let Some(verifiers) = gpu_verifiers("random_and_mutated_signatures_agree_with_cpu_and_oracle")
    else {
        return;
    };
    let mut generator = Gen::new(0x0105_76b0);
    let mut accepted = 0;
    let mut rejected = 0;
    let started = std::time::Instant::now();
    for batch in 0..TOTAL / BATCH {
        let items: Vec<SigItem> = (0..BATCH)
            .map(|_| {
                let mut item = generator.base();
                if generator.rng.random_bool(0.5) {
                    generator.mutate(&mut item);
                }
                item
            })
            .collect();
        let verdicts = check_backends(&format!("batch {batch}"), &verifiers, &items);
        accepted += verdicts.iter().filter(|&&v| v).count();
        rejected += verdicts.iter().filter(|&&v| !v).count();
    }
    eprintln!(
        "{} signatures ({accepted} valid, {rejected} invalid) agreed on cpu, gpu, auto and the oracle in {:.1} s",
        accepted + rejected,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(accepted + rejected, TOTAL);
    assert!(
        accepted > TOTAL / 3 && rejected > TOTAL / 5,
        "{accepted} / {rejected}"
    );
}
