//! Signed dealings (step b) and the leader's choice of `t` dealings per group (step c).
//!
//! A dealing is signed by its dealer over `H(session ‖ dealer ‖ dealing)`, so a leader cannot
//! forge dealings (and so know the secrets) in anyone's name. The choice lists, per group, the
//! chosen dealers and the hashes of their dealings; its hash, under [`CHOICE_COSI_DOMAIN`], is
//! what the roster co-signs, so a signed choice fixes every chosen encrypted share before any
//! share is decrypted.
//!
//! [`CHOICE_COSI_DOMAIN`]: super::session::CHOICE_COSI_DOMAIN

use iosv_engine::pvss::{DealTranscript, PvssError, verify_encrypted_shares};
use iosv_engine::sig::{SigRef, verify_single};
use serde::{Deserialize, Serialize};

use super::encoding::{Hash32, Tagged, deal_bytes, hex32, hex32_list, hex64};
use super::session::Session;

/// A dealer's PVSS transcript for its group, signed by the dealer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedDealing {
    pub dealer: u32,
    pub deal: DealTranscript,
    #[serde(with = "hex64")]
    pub signature: [u8; 64],
}

impl SignedDealing {
    /// `H(session ‖ dealer ‖ dealing)`: what the dealer signs and the choice lists.
    pub fn hash(session: &Hash32, dealer: u32, deal: &DealTranscript) -> Hash32 {
        Tagged::new(crate::domain::DRP_DEALING)
            .bytes(session)
            .u32(dealer)
            .bytes(&deal_bytes(deal))
            .finish()
    }

    pub fn digest(&self, session: &Hash32) -> Hash32 {
        Self::hash(session, self.dealer, &self.deal)
    }
}

/// Why a dealing was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum DealingFault {
    #[error("dealer {0} is not in the roster")]
    UnknownDealer(u32),
    #[error("dealing signature does not verify under the dealer's key")]
    BadSignature,
    #[error("threshold {got}, the group's is {expected}")]
    WrongThreshold { expected: u32, got: u32 },
    #[error("encrypted shares of group positions {indices:?} fail their DLEQ proofs")]
    InvalidEncryptedShares { indices: Vec<u32> },
    #[error("malformed dealing: {0}")]
    Malformed(String),
}

/// Checks a dealing completely: dealer, signature, threshold, and every encrypted share's proof.
pub fn verify_dealing(session: &Session, dealing: &SignedDealing) -> Result<(), DealingFault> {
    check_signature(session, dealing)?;
    check_proofs(session, dealing)
}

/// The dealer's signature over the dealing.
pub fn check_signature(session: &Session, dealing: &SignedDealing) -> Result<(), DealingFault> {
    let pk = session
        .roster()
        .signing_key(dealing.dealer)
        .ok_or(DealingFault::UnknownDealer(dealing.dealer))?;
    let msg = dealing.digest(session.digest());
    let ok = verify_single(SigRef {
        pk,
        msg: &msg,
        sig: &dealing.signature,
    });
    if ok {
        Ok(())
    } else {
        Err(DealingFault::BadSignature)
    }
}

/// The threshold and the PVSS proofs against the dealer's group's keys.
pub fn check_proofs(session: &Session, dealing: &SignedDealing) -> Result<(), DealingFault> {
    let (group, _) = session
        .placement(dealing.dealer)
        .ok_or(DealingFault::UnknownDealer(dealing.dealer))?;
    let expected = session.groups()[group as usize].threshold;
    if dealing.deal.threshold != expected {
        return Err(DealingFault::WrongThreshold {
            expected,
            got: dealing.deal.threshold,
        });
    }
    match verify_encrypted_shares(&dealing.deal, &session.group_keys(group)) {
        Ok(()) => Ok(()),
        Err(PvssError::InvalidEncryptedShares { indices }) => {
            Err(DealingFault::InvalidEncryptedShares { indices })
        }
        Err(e) => Err(DealingFault::Malformed(e.to_string())),
    }
}

/// The chosen dealings of one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChosenGroup {
    pub dealers: Vec<u32>,
    /// [`SignedDealing::hash`] of each chosen dealing, same order.
    #[serde(with = "hex32_list")]
    pub dealing_hashes: Vec<Hash32>,
}

/// The leader's choice: `t` dealings per group, in group order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    #[serde(with = "hex32")]
    pub session: Hash32,
    pub groups: Vec<ChosenGroup>,
}

/// Why a choice is malformed for its session.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChoiceFault {
    #[error("choice is for another session")]
    WrongSession,
    #[error("choice has {got} groups, the session has {expected}")]
    GroupCount { expected: usize, got: usize },
    #[error("group {group}: {got} dealers chosen, threshold is {expected}")]
    DealerCount {
        group: usize,
        expected: usize,
        got: usize,
    },
    #[error("group {group}: dealer {dealer} is not a member or is chosen twice")]
    BadDealer { group: usize, dealer: u32 },
    #[error("{got} dealings sent for {expected} chosen")]
    DealingCount { expected: usize, got: usize },
    #[error("dealing of dealer {dealer} does not match the choice")]
    DealingMismatch { dealer: u32 },
}

impl Choice {
    /// `H(session ‖ for each group: its chosen (dealer, dealing hash) pairs)`.
    pub fn hash(&self) -> Hash32 {
        let mut h = Tagged::new(crate::domain::DRP_CHOICE)
            .bytes(&self.session)
            .u64(self.groups.len() as u64);
        for g in &self.groups {
            h = h.u64(g.dealers.len() as u64);
            for (d, hash) in g.dealers.iter().zip(&g.dealing_hashes) {
                h = h.u32(*d).bytes(hash);
            }
            h = h.u64(g.dealing_hashes.len() as u64);
        }
        h.finish()
    }

    /// Chosen dealers in choice order (group by group).
    pub fn dealers(&self) -> impl Iterator<Item = u32> + '_ {
        self.groups.iter().flat_map(|g| g.dealers.iter().copied())
    }

    /// Session, one entry per group, exactly `t` distinct dealers from the group, one hash each.
    pub fn check_shape(&self, session: &Session) -> Result<(), ChoiceFault> {
        if self.session != *session.digest() {
            return Err(ChoiceFault::WrongSession);
        }
        let groups = session.groups();
        if self.groups.len() != groups.len() {
            return Err(ChoiceFault::GroupCount {
                expected: groups.len(),
                got: self.groups.len(),
            });
        }
        for (index, (chosen, group)) in self.groups.iter().zip(groups).enumerate() {
            let t = group.threshold as usize;
            if chosen.dealers.len() != t || chosen.dealing_hashes.len() != t {
                return Err(ChoiceFault::DealerCount {
                    group: index,
                    expected: t,
                    got: chosen.dealers.len().max(chosen.dealing_hashes.len()),
                });
            }
            for (k, &dealer) in chosen.dealers.iter().enumerate() {
                if !group.members.contains(&dealer) || chosen.dealers[..k].contains(&dealer) {
                    return Err(ChoiceFault::BadDealer {
                        group: index,
                        dealer,
                    });
                }
            }
        }
        Ok(())
    }

    /// Shape, then `dealings` are exactly the chosen ones, in choice order, with matching hashes.
    pub fn check_dealings(
        &self,
        session: &Session,
        dealings: &[SignedDealing],
    ) -> Result<(), ChoiceFault> {
        self.check_shape(session)?;
        let expected: Vec<(u32, &Hash32)> = self
            .groups
            .iter()
            .flat_map(|g| g.dealers.iter().copied().zip(&g.dealing_hashes))
            .collect();
        if expected.len() != dealings.len() {
            return Err(ChoiceFault::DealingCount {
                expected: expected.len(),
                got: dealings.len(),
            });
        }
        for ((dealer, hash), dealing) in expected.into_iter().zip(dealings) {
            if dealing.dealer != dealer || dealing.digest(session.digest()) != *hash {
                return Err(ChoiceFault::DealingMismatch { dealer });
            }
        }
        Ok(())
    }
}
