//! The VRF leader lottery of a view: every validator proves `alpha = (epoch, view)` with its RFC 9381
//! ECVRF key; the smallest output `beta` leads, the next two are backups.
//!
//! Invariants:
//! - `alpha` binds the domain, the epoch and the view, so a lottery proves nothing about any other
//!   (epoch, view): a lottery replayed into another view fails verification there;
//! - a VRF output is unique per (key, alpha), so a validator has exactly one lottery per view and
//!   cannot choose its rank; a second lottery from the same validator is a duplicate;
//! - the ranking orders by `beta` (bytes, big-endian as compared lexicographically), then by id; it
//!   depends only on the set of accepted lotteries, never on their arrival order.

use iosv_engine::vrf::{self, VrfError};
use serde::{Deserialize, Serialize};

use super::roster::Roster;
use crate::node::NodeId;

/// Domain of a lottery's VRF input.
const LOTTERY_DOMAIN: &[u8] = crate::domain::EPOCH_LOTTERY;

/// How many candidates a view ranks: the leader and two backups.
pub const CANDIDATES: usize = 3;

/// The VRF input of the lottery of `(epoch, view)`.
pub fn alpha(epoch: u64, view: u32) -> Vec<u8> {
    let mut a = Vec::with_capacity(LOTTERY_DOMAIN.len() + 12);
    a.extend_from_slice(LOTTERY_DOMAIN);
    a.extend_from_slice(&epoch.to_le_bytes());
    a.extend_from_slice(&view.to_le_bytes());
    a
}

/// A lottery ticket as gossiped: untrusted until [`Lottery::verify`] accepts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lottery {
    pub epoch: u64,
    pub view: u32,
    pub node: NodeId,
    /// The ECVRF proof (80 bytes when well formed).
    pub proof: Vec<u8>,
}

/// A lottery that verified: its VRF output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidLottery {
    pub node: NodeId,
    pub beta: [u8; vrf::OUTPUT_LEN],
    pub proof: Vec<u8>,
}

/// Why a lottery was not counted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LotteryError {
    #[error("no epoch is running at this node")]
    NoEpoch,
    #[error("lottery for epoch {got}, this node is in epoch {current}")]
    WrongEpoch { got: u64, current: u64 },
    #[error("lottery for view {got}, this node is in view {current}")]
    WrongView { got: u32, current: u32 },
    #[error("lottery arrived after the gossip window of Δ closed")]
    Late,
    #[error("lottery names node {claimed} but came from node {from}")]
    SenderMismatch { claimed: NodeId, from: NodeId },
    #[error("node {0} is not in the roster")]
    UnknownNode(NodeId),
    #[error("node {0} was excluded for this epoch")]
    Excluded(NodeId),
    #[error("node {0} already has a lottery in this view")]
    Duplicate(NodeId),
    #[error("lottery for a later view arrived while the early-lottery buffer was full")]
    TooEarly,
    #[error("invalid VRF proof: {0}")]
    InvalidProof(VrfError),
}

impl LotteryError {
    /// A short stable name for traces.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoEpoch => "no_epoch",
            Self::WrongEpoch { .. } => "wrong_epoch",
            Self::WrongView { .. } => "wrong_view",
            Self::Late => "late",
            Self::SenderMismatch { .. } => "sender_mismatch",
            Self::UnknownNode(_) => "unknown_node",
            Self::Excluded(_) => "excluded",
            Self::Duplicate(_) => "duplicate",
            Self::TooEarly => "too_early",
            Self::InvalidProof(_) => "invalid_proof",
        }
    }
}

impl Lottery {
    /// The honest lottery of `node` for `(epoch, view)`.
    pub fn draw(
        sk: &vrf::SecretKey,
        node: NodeId,
        epoch: u64,
        view: u32,
    ) -> (Lottery, ValidLottery) {
        let proof = sk.prove(&alpha(epoch, view));
        let bytes = proof.to_bytes().to_vec();
        let lottery = Lottery {
            epoch,
            view,
            node,
            proof: bytes.clone(),
        };
        let valid = ValidLottery {
            node,
            beta: vrf::proof_to_hash(&proof),
            proof: bytes,
        };
        (lottery, valid)
    }

    /// Verifies the proof against the roster's VRF key of `self.node` for this lottery's own
    /// (epoch, view). The caller checks that (epoch, view) is the one it is collecting.
    pub fn verify(&self, roster: &Roster) -> Result<ValidLottery, LotteryError> {
        let member = roster
            .get(self.node)
            .ok_or(LotteryError::UnknownNode(self.node))?;
        let proof = vrf::Proof::from_bytes(&self.proof).map_err(LotteryError::InvalidProof)?;
        let beta = vrf::verify_with_key(&member.vrf, &alpha(self.epoch, self.view), &proof)
            .map_err(LotteryError::InvalidProof)?;
        Ok(ValidLottery {
            node: self.node,
            beta,
            proof: self.proof.clone(),
        })
    }
}

/// The first [`CANDIDATES`] of `lotteries` by (beta, id).
pub fn rank<'a>(lotteries: impl IntoIterator<Item = &'a ValidLottery>) -> Vec<NodeId> {
    let mut all: Vec<&ValidLottery> = lotteries.into_iter().collect();
    all.sort_by(|a, b| a.beta.cmp(&b.beta).then(a.node.cmp(&b.node)));
    all.iter().take(CANDIDATES).map(|l| l.node).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epoch::roster;

    #[test]
    fn honest_lottery_verifies_and_binds_epoch_and_view() {
        let (keys, roster) = roster::generate(7, 3);
        let (lottery, valid) = Lottery::draw(&keys[1].vrf, 1, 4, 2);
        assert_eq!(lottery.verify(&roster).unwrap(), valid);
        let moved = Lottery {
            view: 3,
            ..lottery.clone()
        };
        assert!(matches!(
            moved.verify(&roster),
            Err(LotteryError::InvalidProof(_))
        ));
        let stolen = Lottery {
            node: 2,
            ..lottery.clone()
        };
        assert!(matches!(
            stolen.verify(&roster),
            Err(LotteryError::InvalidProof(_))
        ));
        let mut bad = lottery.clone();
        bad.proof[40] ^= 1;
        assert!(matches!(
            bad.verify(&roster),
            Err(LotteryError::InvalidProof(_))
        ));
        let short = Lottery {
            proof: vec![0; 10],
            ..lottery
        };
        assert!(matches!(
            short.verify(&roster),
            Err(LotteryError::InvalidProof(_))
        ));
    }

    #[test]
    fn ranking_ignores_arrival_order() {
        let (keys, _) = roster::generate(1, 6);
        let valid: Vec<ValidLottery> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Lottery::draw(&k.vrf, i as NodeId, 0, 0).1)
            .collect();
        let forward = rank(&valid);
        let backward = rank(valid.iter().rev());
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), CANDIDATES);
        let best = valid.iter().min_by_key(|l| l.beta).unwrap().node;
        assert_eq!(forward[0], best);
    }
}
