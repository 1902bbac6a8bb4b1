//! Schoenmakers' PVSS: dealing, public verification of the encrypted shares, decryption with proof.
//!
//! Participants `1..=n` hold key pairs `(x_i, y_i = x_i·G)`; participant `i` owns
//! `public_keys[i − 1]`. The dealer picks a polynomial `p(z) = a_0 + a_1·z + … + a_{t−1}·z^{t−1}`
//! with secret `s = a_0` and publishes a [`DealTranscript`]:
//! - commitments to the coefficients `C_j = a_j·H` (`j < t`);
//! - encrypted shares `Y_i = p(i)·y_i`;
//! - for each `i`, a DLEQ proof of `log_H(X_i) = log_{y_i}(Y_i)`, where anyone computes
//!   `X_i = Σ_j i^j·C_j = p(i)·H` from the commitments.
//!
//! Anyone can check a transcript ([`verify_encrypted_shares`]); participant `i` decrypts
//! `S_i = x_i⁻¹·Y_i = p(i)·G` and proves `log_G(y_i) = log_{S_i}(Y_i)` ([`decrypt_share`],
//! [`verify_decrypted_share`]); any `t` valid shares give `s·G` by Lagrange interpolation in the
//! exponent ([`recover`](mod@super::recover)).
//!
//! Invariants:
//! - The commitments fix a polynomial of degree exactly `t − 1` (`C_{t−1}` is never the identity),
//!   so fewer than `t` shares say nothing about `s·G` and any `t` valid shares give the same `s·G`.
//! - Every point of a transcript is a valid [`Point`] (never the identity): the dealer redraws the
//!   polynomial in the (probability ~n·2⁻²⁵²) case that a coefficient or some `p(i)` is zero, so
//!   an honest transcript always survives serialization.
//! - Verification trusts nothing in the transcript: sizes are checked against the public keys,
//!   `X_i` is recomputed from the commitments, every challenge is recomputed.
//! - Chosen here over SCRAPE's Reed–Solomon check: coefficient commitments give `C_0 = s·H`
//!   directly and keep verification a plain batch of DLEQ proofs; SCRAPE saves the `n·t` work of
//!   computing the `X_i`, which matters only for very large committees.

use std::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand::CryptoRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::PvssError;
use super::dleq::{self, DleqProof, DleqStatement};
use super::generators::{g, h};
use super::point::{Point, random_nonzero_scalar};

/// A participant's key pair: secret `x ≠ 0`, public `y = x·G`.
#[derive(Clone)]
pub struct KeyPair {
    secret: Scalar,
    public: Point,
}

impl KeyPair {
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> KeyPair {
        let secret = random_nonzero_scalar(rng);
        KeyPair {
            secret,
            public: Point::mul_base(&secret),
        }
    }

    /// A key pair from a given secret, which must not be zero.
    pub fn from_secret(secret: Scalar) -> Result<KeyPair, PvssError> {
        if secret == Scalar::ZERO {
            return Err(PvssError::ZeroSecret);
        }
        Ok(KeyPair {
            secret,
            public: Point::mul_base(&secret),
        })
    }

    pub fn public(&self) -> &Point {
        &self.public
    }

    pub fn secret(&self) -> &Scalar {
        &self.secret
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// What the dealer publishes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealTranscript {
    /// `t`: how many shares recover the secret.
    pub threshold: u32,
    /// `C_j = a_j·H`, `j = 0..t`.
    pub commitments: Vec<Point>,
    /// `Y_i = p(i)·y_i`, participant `i` at position `i − 1`.
    pub encrypted_shares: Vec<Point>,
    /// DLEQ proofs of `log_H(X_i) = log_{y_i}(Y_i)`, same order.
    pub proofs: Vec<DleqProof>,
}

impl DealTranscript {
    /// `n`, the number of participants.
    pub fn participants(&self) -> usize {
        self.encrypted_shares.len()
    }

    /// `X_i = Σ_j i^j·C_j = p(i)·H`, the commitment to participant `i`'s share.
    pub fn share_commitment(&self, index: u32) -> Result<Point, PvssError> {
        check_index(index, self.participants())?;
        Ok(evaluate_commitments(&self.commitments, index))
    }

    /// `Y_i`, participant `i`'s encrypted share.
    pub fn encrypted_share(&self, index: u32) -> Result<&Point, PvssError> {
        check_index(index, self.participants())?;
        Ok(&self.encrypted_shares[index as usize - 1])
    }

    /// Sizes: `1 ≤ t ≤ n`, `t` commitments, `n` shares, `n` proofs, `n` public keys.
    fn check_shape(&self, public_keys: &[Point]) -> Result<(), PvssError> {
        let n = public_keys.len();
        check_threshold(self.threshold as usize, n)?;
        let lengths = [
            (
                "commitments",
                self.threshold as usize,
                self.commitments.len(),
            ),
            ("encrypted shares", n, self.encrypted_shares.len()),
            ("proofs", n, self.proofs.len()),
        ];
        for (what, expected, got) in lengths {
            if expected != got {
                return Err(PvssError::LengthMismatch {
                    what,
                    expected,
                    got,
                });
            }
        }
        Ok(())
    }
}

/// Participant `i`'s decrypted share `S_i = p(i)·G` with its proof of correct decryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptedShare {
    pub index: u32,
    pub share: Point,
    /// Proof of `log_G(y_i) = log_{S_i}(Y_i)`.
    pub proof: DleqProof,
}

/// Deals a fresh random secret `s`; returns the transcript and `s` (the shared value is `s·G`).
pub fn deal<R: CryptoRng + ?Sized>(
    public_keys: &[Point],
    threshold: usize,
    rng: &mut R,
) -> Result<(DealTranscript, Scalar), PvssError> {
    let secret = random_nonzero_scalar(rng);
    let transcript = deal_secret(&secret, public_keys, threshold, rng)?;
    Ok((transcript, secret))
}

/// Deals the given secret `s ≠ 0` among `public_keys` with threshold `t`.
pub fn deal_secret<R: CryptoRng + ?Sized>(
    secret: &Scalar,
    public_keys: &[Point],
    threshold: usize,
    rng: &mut R,
) -> Result<DealTranscript, PvssError> {
    let n = public_keys.len();
    check_threshold(threshold, n)?;
    if *secret == Scalar::ZERO {
        return Err(PvssError::ZeroSecret);
    }
    if public_keys.iter().any(Point::is_identity) {
        return Err(PvssError::IdentityPoint);
    }
    let (coefficients, evaluations) = loop {
        let mut coefficients = vec![*secret];
        coefficients.extend((1..threshold).map(|_| random_nonzero_scalar(rng)));
        let evaluations: Vec<Scalar> = (1..=n as u64)
            .map(|i| evaluate_polynomial(&coefficients, i))
            .collect();
        if evaluations.iter().all(|e| *e != Scalar::ZERO) {
            break (coefficients, evaluations);
        }
    };
    let h = h();
    let commitments = coefficients.iter().map(|a| &h * a).collect();
    let mut encrypted_shares = Vec::with_capacity(n);
    let mut proofs = Vec::with_capacity(n);
    for (y, share) in public_keys.iter().zip(&evaluations) {
        let statement = DleqStatement {
            g1: h,
            h1: &h * share,
            g2: *y,
            h2: y * share,
        };
        encrypted_shares.push(statement.h2);
        proofs.push(dleq::prove(share, &statement, rng));
    }
    Ok(DealTranscript {
        threshold: threshold as u32,
        commitments,
        encrypted_shares,
        proofs,
    })
}

/// Checks a whole transcript against the participants' public keys: shape, then every
/// encrypted-share proof (batched). Lists every participant whose share is wrong.
pub fn verify_encrypted_shares(
    transcript: &DealTranscript,
    public_keys: &[Point],
) -> Result<(), PvssError> {
    transcript.check_shape(public_keys)?;
    let n = public_keys.len() as u32;
    let share_commitments: Vec<Point> = (1..=n)
        .into_par_iter()
        .map(|i| evaluate_commitments(&transcript.commitments, i))
        .collect();
    let h = h();
    let items: Vec<(DleqStatement, DleqProof)> = share_commitments
        .into_iter()
        .zip(public_keys)
        .zip(transcript.encrypted_shares.iter().zip(&transcript.proofs))
        .map(|((x, y), (encrypted, proof))| {
            let statement = DleqStatement {
                g1: h,
                h1: x,
                g2: *y,
                h2: *encrypted,
            };
            (statement, *proof)
        })
        .collect();
    let verdicts = dleq::verify_batch(&items, &mut rand::rng());
    let bad: Vec<u32> = (1..=n)
        .zip(&verdicts)
        .filter(|(_, ok)| !**ok)
        .map(|(i, _)| i)
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(PvssError::InvalidEncryptedShares { indices: bad })
    }
}

/// Participant `index` decrypts its share: `S_i = x_i⁻¹·Y_i`, with a DLEQ proof.
///
/// Does not check the transcript: run [`verify_encrypted_shares`] first.
pub fn decrypt_share<R: CryptoRng + ?Sized>(
    keys: &KeyPair,
    index: u32,
    transcript: &DealTranscript,
    rng: &mut R,
) -> Result<DecryptedShare, PvssError> {
    let encrypted = *transcript.encrypted_share(index)?;
    let share = &encrypted * &keys.secret.invert();
    let statement = DleqStatement {
        g1: g(),
        h1: keys.public,
        g2: share,
        h2: encrypted,
    };
    Ok(DecryptedShare {
        index,
        share,
        proof: dleq::prove(&keys.secret, &statement, rng),
    })
}

/// The statement a decrypted share proves, after checking its index.
fn decryption_statement(
    transcript: &DealTranscript,
    public_keys: &[Point],
    share: &DecryptedShare,
) -> Result<DleqStatement, PvssError> {
    if public_keys.len() != transcript.participants() {
        return Err(PvssError::LengthMismatch {
            what: "encrypted shares",
            expected: public_keys.len(),
            got: transcript.participants(),
        });
    }
    let encrypted = *transcript.encrypted_share(share.index)?;
    Ok(DleqStatement {
        g1: g(),
        h1: public_keys[share.index as usize - 1],
        g2: share.share,
        h2: encrypted,
    })
}

/// Checks one decrypted share against the transcript and the owner's public key.
pub fn verify_decrypted_share(
    transcript: &DealTranscript,
    public_keys: &[Point],
    share: &DecryptedShare,
) -> Result<(), PvssError> {
    let statement = decryption_statement(transcript, public_keys, share)?;
    if dleq::verify(&statement, &share.proof) {
        Ok(())
    } else {
        Err(PvssError::InvalidDecryptedShare { index: share.index })
    }
}

/// Checks many decrypted shares (batched); `verdicts[k]` is whether `shares[k]` is valid. A share
/// with an index out of range is invalid.
pub fn verify_decrypted_shares(
    transcript: &DealTranscript,
    public_keys: &[Point],
    shares: &[DecryptedShare],
) -> Vec<bool> {
    let mut verdicts = vec![false; shares.len()];
    let mut items = Vec::with_capacity(shares.len());
    let mut positions = Vec::with_capacity(shares.len());
    for (k, share) in shares.iter().enumerate() {
        if let Ok(statement) = decryption_statement(transcript, public_keys, share) {
            items.push((statement, share.proof));
            positions.push(k);
        }
    }
    for (k, ok) in positions
        .into_iter()
        .zip(dleq::verify_batch(&items, &mut rand::rng()))
    {
        verdicts[k] = ok;
    }
    verdicts
}

pub(crate) fn check_threshold(threshold: usize, participants: usize) -> Result<(), PvssError> {
    if threshold == 0 || threshold > participants || u32::try_from(participants).is_err() {
        return Err(PvssError::ThresholdOutOfRange {
            threshold,
            participants,
        });
    }
    Ok(())
}

fn check_index(index: u32, participants: usize) -> Result<(), PvssError> {
    if index == 0 || index as usize > participants {
        return Err(PvssError::IndexOutOfRange {
            index,
            participants,
        });
    }
    Ok(())
}

/// `p(i)` by Horner's rule.
fn evaluate_polynomial(coefficients: &[Scalar], i: u64) -> Scalar {
    let i = Scalar::from(i);
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, a| acc * i + a)
}

/// `Σ_j i^j·C_j` by Horner's rule; multiplying by the small public `i` costs a few additions.
fn evaluate_commitments(commitments: &[Point], i: u32) -> Point {
    let x = commitments
        .iter()
        .rev()
        .fold(EdwardsPoint::identity(), |acc, c| {
            mul_small(&acc, i) + c.as_edwards()
        });
    Point::from_subgroup(x)
}

/// `k·P` for a small public `k`, by variable-time double-and-add.
fn mul_small(p: &EdwardsPoint, k: u32) -> EdwardsPoint {
    let mut acc = EdwardsPoint::identity();
    for bit in (0..32 - k.leading_zeros()).rev() {
        acc = acc + acc;
        if (k >> bit) & 1 == 1 {
            acc += p;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_multiples_match_scalar_multiplication() {
        let p = *h().as_edwards();
        for k in [0u32, 1, 2, 3, 7, 8, 255, 1000, u32::MAX] {
            assert_eq!(mul_small(&p, k), p * Scalar::from(k));
        }
    }

    #[test]
    fn share_commitment_is_p_of_i_times_h() {
        let coefficients = [3u64, 5, 11].map(Scalar::from);
        let commitments: Vec<Point> = coefficients.iter().map(|a| &h() * a).collect();
        for i in 1..6u32 {
            let expected = &h() * &evaluate_polynomial(&coefficients, i.into());
            assert_eq!(evaluate_commitments(&commitments, i), expected);
        }
    }
}
