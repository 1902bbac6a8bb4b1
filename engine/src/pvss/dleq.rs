//! Chaum–Pedersen proofs of equal discrete logarithms (DLEQ), non-interactive by Fiat–Shamir.
//!
//! Statement: `(g1, h1, g2, h2)` with `h1 = x·g1` and `h2 = x·g2` for one secret `x`.
//!
//! Proof, in commitment form `(a1, a2, r)` (96 bytes: `a1 ‖ a2 ‖ r`):
//! - the prover picks a nonce `w`, sets `a1 = w·g1`, `a2 = w·g2`;
//! - `c = SHA-512(CHALLENGE_DOMAIN ‖ g1 ‖ h1 ‖ g2 ‖ h2 ‖ a1 ‖ a2) mod L`, over the 32-byte
//!   encodings;
//! - `r = w + c·x`;
//! - the verifier recomputes `c` from the statement and the commitments and checks
//!   `r·g1 = a1 + c·h1` and `r·g2 = a2 + c·h2`.
//!
//! Invariants:
//! - The challenge is never read from the proof: it is always recomputed from the whole transcript
//!   (all four statement points and both commitments), so a forger cannot choose it.
//! - The commitment form is chosen over `(c, r)` because its equations are linear in the points, so
//!   many proofs combine into one multiscalar multiplication ([`verify_batch`]).
//! - All points are [`Point`]s, hence in the prime-order subgroup: the equations need no cofactor,
//!   and a random linear combination (128-bit coefficients) holds only if every equation holds,
//!   except with probability about 2⁻¹²⁸ per combination. The coefficients must be unpredictable to
//!   the prover.
//! - Statements whose base `g1` or `g2` is the identity are rejected (they would prove nothing).
//! - Nonces are hedged: `w = SHA-512(NONCE_DOMAIN ‖ x ‖ statement ‖ 32 random bytes) mod L`, so a
//!   broken random number generator does not by itself leak `x`.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::PvssError;
use super::point::{Point, scalar_from_bytes, scalar_hex};

/// Domain tag of the Fiat–Shamir challenge.
pub const CHALLENGE_DOMAIN: &[u8] = crate::domain::PVSS_DLEQ_CHALLENGE;
/// Domain tag of the hedged nonce.
pub const NONCE_DOMAIN: &[u8] = crate::domain::PVSS_DLEQ_NONCE;
/// Length of an encoded proof: `a1 ‖ a2 ‖ r`.
pub const PROOF_LEN: usize = 96;

/// `log_g1(h1) = log_g2(h2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DleqStatement {
    pub g1: Point,
    pub h1: Point,
    pub g2: Point,
    pub h2: Point,
}

/// A DLEQ proof in commitment form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DleqProof {
    pub a1: Point,
    pub a2: Point,
    #[serde(with = "scalar_hex")]
    pub r: Scalar,
}

impl DleqProof {
    /// `a1 ‖ a2 ‖ r`.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        out[..32].copy_from_slice(&self.a1.to_bytes());
        out[32..64].copy_from_slice(&self.a2.to_bytes());
        out[64..].copy_from_slice(self.r.as_bytes());
        out
    }

    /// Decodes untrusted bytes: both commitments must be valid [`Point`]s, `r` canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<DleqProof, PvssError> {
        let bytes: &[u8; PROOF_LEN] = bytes
            .try_into()
            .map_err(|_| PvssError::ProofLength(bytes.len()))?;
        let part = |i: usize| -> [u8; 32] {
            let mut out = [0u8; 32];
            out.copy_from_slice(&bytes[32 * i..32 * (i + 1)]);
            out
        };
        Ok(DleqProof {
            a1: Point::from_bytes(&part(0))?,
            a2: Point::from_bytes(&part(1))?,
            r: scalar_from_bytes(&part(2))?,
        })
    }
}

/// Proves `log_g1(h1) = log_g2(h2) = x`. With a wrong `x` the proof simply does not verify.
pub fn prove<R: CryptoRng + ?Sized>(
    x: &Scalar,
    statement: &DleqStatement,
    rng: &mut R,
) -> DleqProof {
    let encoded = encode_statement(statement);
    let mut w = Scalar::ZERO;
    while w == Scalar::ZERO {
        let mut noise = [0u8; 32];
        rng.fill_bytes(&mut noise);
        let mut hasher = Sha512::new();
        hasher.update(NONCE_DOMAIN);
        hasher.update(x.as_bytes());
        for e in &encoded {
            hasher.update(e);
        }
        hasher.update(noise);
        w = Scalar::from_bytes_mod_order_wide(&hasher.finalize().into());
    }
    // w ≠ 0 and the bases are subgroup points, so the commitments are never the identity unless a
    // base is (and such a statement never verifies).
    let a1 = statement.g1.as_edwards() * w;
    let a2 = statement.g2.as_edwards() * w;
    let [e1, e2] = EdwardsPoint::compress_batch(&[a1, a2]).map(|c| c.to_bytes());
    let c = challenge(&encoded, &e1, &e2);
    DleqProof {
        a1: Point::from_subgroup(a1),
        a2: Point::from_subgroup(a2),
        r: w + c * x,
    }
}

/// Verifies one proof, recomputing the challenge from the statement and the commitments.
pub fn verify(statement: &DleqStatement, proof: &DleqProof) -> bool {
    if !bases_valid(statement) {
        return false;
    }
    let encoded = encode_statement(statement);
    let [e1, e2] = EdwardsPoint::compress_batch(&[*proof.a1.as_edwards(), *proof.a2.as_edwards()])
        .map(|c| c.to_bytes());
    equations_hold(statement, proof, &challenge(&encoded, &e1, &e2))
}

/// Verifies many proofs at once; `verdicts[i]` is what [`verify`] says of `items[i]` (except with
/// probability about 2⁻¹²⁸ per combination checked).
///
/// One random linear combination of all equations is checked with one multiscalar
/// multiplication; if it fails, the set is halved and each half checked again, down to single
/// proofs. A base shared with the first statement's `g1` (the usual case in PVSS: `H` or `G`) is
/// coalesced into one term.
pub fn verify_batch<R: CryptoRng + ?Sized>(
    items: &[(DleqStatement, DleqProof)],
    rng: &mut R,
) -> Vec<bool> {
    let mut verdicts = vec![false; items.len()];
    // All encodings at once: one field inversion for the whole batch.
    let points: Vec<EdwardsPoint> = items
        .iter()
        .flat_map(|(s, p)| [s.g1, s.h1, s.g2, s.h2, p.a1, p.a2].map(|q| *q.as_edwards()))
        .collect();
    let encoded = EdwardsPoint::compress_batch_alloc(&points);
    let prepared: Vec<Prepared> = items
        .iter()
        .enumerate()
        .filter(|(_, (statement, _))| bases_valid(statement))
        .map(|(index, _)| {
            let e = &encoded[6 * index..6 * index + 6];
            let statement = [0, 1, 2, 3].map(|k| e[k].to_bytes());
            Prepared {
                index,
                c: challenge(&statement, &e[4].to_bytes(), &e[5].to_bytes()),
            }
        })
        .collect();
    let mut checker = Checker {
        items,
        rng,
        scalars: Vec::new(),
        points: Vec::new(),
    };
    checker.settle(&prepared, &mut verdicts);
    verdicts
}

struct Prepared {
    index: usize,
    c: Scalar,
}

struct Checker<'a, R: ?Sized> {
    items: &'a [(DleqStatement, DleqProof)],
    rng: &'a mut R,
    scalars: Vec<Scalar>,
    points: Vec<EdwardsPoint>,
}

impl<R: CryptoRng + ?Sized> Checker<'_, R> {
    fn settle(&mut self, set: &[Prepared], verdicts: &mut [bool]) {
        match set {
            [] => {}
            [one] => {
                let (statement, proof) = &self.items[one.index];
                verdicts[one.index] = equations_hold(statement, proof, &one.c);
            }
            _ if self.combination_holds(set) => {
                for p in set {
                    verdicts[p.index] = true;
                }
            }
            _ => {
                let (left, right) = set.split_at(set.len() / 2);
                self.settle(left, verdicts);
                self.settle(right, verdicts);
            }
        }
    }

    /// `Σ z1·(r·g1 − a1 − c·h1) + z2·(r·g2 − a2 − c·h2) = O` over `set`, fresh `z`s each call.
    fn combination_holds(&mut self, set: &[Prepared]) -> bool {
        self.scalars.clear();
        self.points.clear();
        let shared = *self.items[set[0].index].0.g1.as_edwards();
        let mut shared_coeff = Scalar::ZERO;
        for p in set {
            let (s, proof) = &self.items[p.index];
            let z1 = coefficient(self.rng);
            let z2 = coefficient(self.rng);
            let g1_coeff = z1 * proof.r;
            if *s.g1.as_edwards() == shared {
                shared_coeff += g1_coeff;
            } else {
                self.push(g1_coeff, &s.g1);
            }
            self.push(-z1, &proof.a1);
            self.push(-(z1 * p.c), &s.h1);
            self.push(z2 * proof.r, &s.g2);
            self.push(-z2, &proof.a2);
            self.push(-(z2 * p.c), &s.h2);
        }
        self.scalars.push(shared_coeff);
        self.points.push(shared);
        EdwardsPoint::vartime_multiscalar_mul(&self.scalars, &self.points).is_identity()
    }

    fn push(&mut self, scalar: Scalar, point: &Point) {
        self.scalars.push(scalar);
        self.points.push(*point.as_edwards());
    }
}

/// A uniformly random non-zero 128-bit coefficient (a zero would drop an equation).
fn coefficient<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    // 2¹²⁸ < L: no reduction.
    Scalar::from(u128::from_le_bytes(bytes).max(1))
}

fn bases_valid(statement: &DleqStatement) -> bool {
    !statement.g1.is_identity() && !statement.g2.is_identity()
}

fn encode_statement(statement: &DleqStatement) -> [[u8; 32]; 4] {
    let s = statement;
    EdwardsPoint::compress_batch(&[s.g1, s.h1, s.g2, s.h2].map(|p| *p.as_edwards()))
        .map(|c| c.to_bytes())
}

/// The Fiat–Shamir challenge over the statement's and the commitments' encodings.
fn challenge(statement: &[[u8; 32]; 4], a1: &[u8; 32], a2: &[u8; 32]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(CHALLENGE_DOMAIN);
    for e in statement {
        hasher.update(e);
    }
    hasher.update(a1);
    hasher.update(a2);
    Scalar::from_bytes_mod_order_wide(&hasher.finalize().into())
}

/// `r·g1 − c·h1 = a1` and `r·g2 − c·h2 = a2`.
fn equations_hold(statement: &DleqStatement, proof: &DleqProof, c: &Scalar) -> bool {
    let s = statement;
    let lhs1 = EdwardsPoint::vartime_multiscalar_mul(
        [proof.r, -c],
        [*s.g1.as_edwards(), *s.h1.as_edwards()],
    );
    let lhs2 = EdwardsPoint::vartime_multiscalar_mul(
        [proof.r, -c],
        [*s.g2.as_edwards(), *s.h2.as_edwards()],
    );
    lhs1 == *proof.a1.as_edwards() && lhs2 == *proof.a2.as_edwards()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pvss::generators::{g, h};
    use crate::pvss::point::random_nonzero_scalar;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn statement(x: &Scalar, rng: &mut StdRng) -> DleqStatement {
        let g2 = Point::mul_base(&random_nonzero_scalar(rng));
        DleqStatement {
            g1: h(),
            h1: &h() * x,
            g2,
            h2: &g2 * x,
        }
    }

    #[test]
    fn honest_proofs_verify_singly_and_in_batch() {
        let mut rng = StdRng::seed_from_u64(1);
        let items: Vec<_> = (0..9)
            .map(|_| {
                let x = random_nonzero_scalar(&mut rng);
                let s = statement(&x, &mut rng);
                (s, prove(&x, &s, &mut rng))
            })
            .collect();
        for (s, p) in &items {
            assert!(verify(s, p));
            assert_eq!(DleqProof::from_bytes(&p.to_bytes()), Ok(*p));
        }
        assert_eq!(verify_batch(&items, &mut rng), vec![true; 9]);
        assert!(verify_batch(&[], &mut rng).is_empty());
    }

    #[test]
    fn wrong_witness_fails() {
        let mut rng = StdRng::seed_from_u64(2);
        let x = random_nonzero_scalar(&mut rng);
        let s = statement(&x, &mut rng);
        let p = prove(&(x + Scalar::ONE), &s, &mut rng);
        assert!(!verify(&s, &p));
        assert_eq!(verify_batch(&[(s, p)], &mut rng), vec![false]);
    }

    #[test]
    fn identity_base_rejected() {
        let mut rng = StdRng::seed_from_u64(3);
        let x = random_nonzero_scalar(&mut rng);
        let zero = Point::from_subgroup(EdwardsPoint::default());
        let s = DleqStatement {
            g1: g(),
            h1: Point::mul_base(&x),
            g2: zero,
            h2: zero,
        };
        let p = prove(&x, &s, &mut rng);
        assert!(!verify(&s, &p));
        assert_eq!(
            verify_batch(&[(s, p), (s, p)], &mut rng),
            vec![false, false]
        );
    }
}
