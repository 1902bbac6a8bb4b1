//! Step d and e: checking revealed decrypted shares, recovering each chosen secret, and the output.
//!
//! A revealed secret carries exactly `t` decrypted shares with distinct indices, each proved
//! correct against the dealing's encrypted share (DLEQ); any `t` valid shares give the same
//! `s·G` (the commitments fix a degree `t − 1` polynomial), so the leader's pick of which `t`
//! shares cannot change the output. The output is `H(session ‖ s_1·G ‖ … ‖ s_m·G)` over the chosen
//! secrets in choice order.

use iosv_engine::pvss::{DecryptedShare, Point, recover, verify_decrypted_shares};

use super::choice::SignedDealing;
use super::encoding::{Hash32, Tagged};
use super::msg::RevealedSecret;
use super::session::Session;

/// Why a revealed secret was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum RevealFault {
    #[error("secret of dealer {got}, the choice says {expected}")]
    WrongDealer { expected: u32, got: u32 },
    #[error("dealer {dealer}: {got} shares, threshold {expected}")]
    ShareCount {
        dealer: u32,
        expected: usize,
        got: usize,
    },
    #[error("dealer {dealer}: share index {index} repeated")]
    DuplicateIndex { dealer: u32, index: u32 },
    #[error("dealer {dealer}: decrypted share {index} fails its DLEQ proof")]
    InvalidShare { dealer: u32, index: u32 },
    #[error("dealer {dealer}: recovery failed: {detail}")]
    Recovery { dealer: u32, detail: String },
    #[error("dealer {dealer}: recovered point differs from the one given")]
    RecoveredMismatch { dealer: u32 },
}

/// The dealer, the count (`t`), distinct indices, and every share's DLEQ proof.
pub fn check_shares(
    session: &Session,
    dealing: &SignedDealing,
    revealed: &RevealedSecret,
) -> Result<(), RevealFault> {
    let dealer = dealing.dealer;
    if revealed.dealer != dealer {
        return Err(RevealFault::WrongDealer {
            expected: dealer,
            got: revealed.dealer,
        });
    }
    let t = dealing.deal.threshold as usize;
    if revealed.shares.len() != t {
        return Err(RevealFault::ShareCount {
            dealer,
            expected: t,
            got: revealed.shares.len(),
        });
    }
    for (k, s) in revealed.shares.iter().enumerate() {
        if revealed.shares[..k].iter().any(|o| o.index == s.index) {
            return Err(RevealFault::DuplicateIndex {
                dealer,
                index: s.index,
            });
        }
    }
    let (group, _) = session.placement(dealer).ok_or(RevealFault::WrongDealer {
        expected: dealer,
        got: revealed.dealer,
    })?;
    let verdicts =
        verify_decrypted_shares(&dealing.deal, &session.group_keys(group), &revealed.shares);
    match revealed.shares.iter().zip(verdicts).find(|(_, ok)| !ok) {
        Some((s, _)) => Err(RevealFault::InvalidShare {
            dealer,
            index: s.index,
        }),
        None => Ok(()),
    }
}

/// `s·G` from checked shares (run [`check_shares`] first).
pub fn recover_secret(dealer: u32, shares: &[DecryptedShare]) -> Result<Point, RevealFault> {
    let pairs: Vec<(u32, Point)> = shares.iter().map(|s| (s.index, s.share)).collect();
    let failed = |detail: String| RevealFault::Recovery { dealer, detail };
    let point = recover(&pairs, pairs.len()).map_err(|e| failed(e.to_string()))?;
    Point::from_edwards(point).map_err(|e| failed(e.to_string()))
}

/// Checks a revealed secret completely and returns its `s·G`.
pub fn verify_revealed(
    session: &Session,
    dealing: &SignedDealing,
    revealed: &RevealedSecret,
) -> Result<Point, RevealFault> {
    check_shares(session, dealing, revealed)?;
    let point = recover_secret(dealing.dealer, &revealed.shares)?;
    if point != revealed.recovered {
        return Err(RevealFault::RecoveredMismatch {
            dealer: dealing.dealer,
        });
    }
    Ok(point)
}

/// The epoch's random output over the recovered secrets, in choice order.
pub fn output_hash(session: &Hash32, recovered: &[Point]) -> Hash32 {
    let mut h = Tagged::new(crate::domain::DRP_OUTPUT)
        .bytes(session)
        .u64(recovered.len() as u64);
    for p in recovered {
        h = h.bytes(&p.to_bytes());
    }
    h.finish()
}
