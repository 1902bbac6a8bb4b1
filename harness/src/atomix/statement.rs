//! What a shard signs: one [`Statement`] per decision, gathered into a batch whose
//! [`BatchHeader`] the shard's roster co-signs.
//!
//! Byte layouts are fixed here (integers little-endian) because they are hashed and signed:
//!
//! ```text
//! statement = STATEMENT_DOMAIN | txid [32] | shard u32 | epoch u64 | roster_hash [32]
//!             | tag u8 (0 accept, 1 reject) | accept: value u64 | reject: reason u8
//! batch     = BATCH_DOMAIN | shard u32 | epoch u64 | roster_hash [32] | seq u64 | root [32]
//!             | count u32
//! ```
//!
//! A statement's Merkle leaf is `merkle::leaf_hash(statement bytes)`; the batch root is the RFC 6962
//! root over the batch's leaves and `count` their number (an inclusion proof needs the tree size
//! from a signed source). The two domains differ from every other iosv domain, and the roster's
//! keys co-sign the batch bytes themselves, so a batch signature can never be read as a signature
//! over a block header, a proof of possession or anything else those keys sign.

use std::collections::BTreeSet;

use iosv_engine::cosi::schnorr::Roster;
use iosv_engine::merkle::{self, Hash};
use iosv_engine::tx::{OutPoint, Transaction, TxId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A shard's number.
pub type ShardId = u32;

/// Domain tag of a statement's bytes.
pub const STATEMENT_DOMAIN: &[u8] = crate::domain::ATOMIX_STATEMENT;
/// Domain tag of a batch header's bytes (what the roster co-signs).
pub const BATCH_DOMAIN: &[u8] = crate::domain::ATOMIX_BATCH;
/// Domain tag of a roster's hash.
pub const ROSTER_DOMAIN: &[u8] = crate::domain::ATOMIX_ROSTER;
/// Domain tag of the outpoint-to-shard map.
pub const SHARD_OF_DOMAIN: &[u8] = crate::domain::ATOMIX_SHARD_OF;

/// Why an input shard refused to lock a transaction's inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The transaction breaks a structural rule.
    Malformed,
    /// An input of this shard carries a bad signature.
    BadSignature,
    /// An input of this shard is not in its UTXO set (never existed or already spent).
    UnknownOutpoint,
    /// An input of this shard is held by another cross-shard transaction's lock.
    Locked,
    /// An input names an owner other than the spent output's.
    WrongOwner,
    /// The shard never decided but learnt that the transaction was aborted elsewhere (it records a
    /// rejection so that a late lock request cannot lock funds for a dead transaction).
    AbortedElsewhere,
}

impl RejectReason {
    fn code(self) -> u8 {
        match self {
            RejectReason::Malformed => 0,
            RejectReason::BadSignature => 1,
            RejectReason::UnknownOutpoint => 2,
            RejectReason::Locked => 3,
            RejectReason::WrongOwner => 4,
            RejectReason::AbortedElsewhere => 5,
        }
    }
}

/// An input shard's decision on a cross-shard transaction. Each shard decides once per txid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The shard's inputs are locked; `value` is their total amount.
    Accept { value: u64 },
    /// The shard locked nothing.
    Reject { reason: RejectReason },
}

impl Decision {
    pub fn is_accept(&self) -> bool {
        matches!(self, Decision::Accept { .. })
    }
}

/// A shard's signed word on one transaction, bound to the transaction, the shard, and the roster
/// (epoch and roster hash) that signs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Statement {
    pub txid: TxId,
    pub shard: ShardId,
    pub epoch: u64,
    #[serde(with = "hex::serde")]
    pub roster_hash: [u8; 32],
    pub decision: Decision,
}

impl Statement {
    /// The canonical bytes (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATEMENT_DOMAIN.len() + 32 + 4 + 8 + 32 + 9);
        out.extend_from_slice(STATEMENT_DOMAIN);
        out.extend_from_slice(&self.txid.0);
        out.extend_from_slice(&self.shard.to_le_bytes());
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.roster_hash);
        match self.decision {
            Decision::Accept { value } => {
                out.push(0);
                out.extend_from_slice(&value.to_le_bytes());
            }
            Decision::Reject { reason } => {
                out.push(1);
                out.push(reason.code());
            }
        }
        out
    }

    /// The statement's leaf in its batch's Merkle tree.
    pub fn leaf(&self) -> Hash {
        merkle::leaf_hash(&self.to_bytes())
    }
}

/// The header of a batch of decisions: what the shard's roster co-signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BatchHeader {
    pub shard: ShardId,
    pub epoch: u64,
    #[serde(with = "hex::serde")]
    pub roster_hash: [u8; 32],
    /// The batch's position in the shard's sequence of batches.
    pub seq: u64,
    #[serde(with = "hex::serde")]
    pub root: Hash,
    pub count: u32,
}

impl BatchHeader {
    /// The message the roster co-signs (see the module documentation).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BATCH_DOMAIN.len() + 4 + 8 + 32 + 8 + 32 + 4);
        out.extend_from_slice(BATCH_DOMAIN);
        out.extend_from_slice(&self.shard.to_le_bytes());
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.roster_hash);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&self.count.to_le_bytes());
        out
    }
}

/// The inclusion proof of every leaf of `leaves`, identical to `merkle::prove(leaves, i)` for each
/// `i`, in `O(n log n)` hashes rather than `O(n)` per proof: the levels are built once and each
/// proof reads its siblings from them. A sealed batch needs a proof per decision, so this keeps
/// sealing linear in the batch size.
pub fn prove_all(leaves: &[Hash]) -> Vec<merkle::InclusionProof> {
    let mut levels: Vec<Vec<Hash>> = vec![leaves.to_vec()];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let below = levels.last().expect("non-empty");
        let above = below
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => merkle::node_hash(l, r),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
        levels.push(above);
    }
    (0..leaves.len())
        .map(|index| {
            let mut path = Vec::new();
            let mut i = index;
            for level in &levels[..levels.len() - 1] {
                if let Some(sibling) = level.get(i ^ 1) {
                    path.push(*sibling);
                }
                i /= 2;
            }
            merkle::InclusionProof {
                index: index as u64,
                tree_size: leaves.len() as u64,
                path,
            }
        })
        .collect()
}

/// `SHA-256(ROSTER_DOMAIN ‖ n u32 ‖ keys in roster order)`: names a roster in statements.
pub fn roster_hash(roster: &Roster) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ROSTER_DOMAIN);
    h.update((roster.len() as u32).to_le_bytes());
    for key in roster.public_keys() {
        h.update(key);
    }
    h.finalize().into()
}

/// Which shard holds each outpoint: a hash of the outpoint, reduced modulo the shard count. An
/// output's shard is the shard of the outpoint it will have, `(txid, index)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMap {
    shards: u32,
}

impl ShardMap {
    /// A map over `shards` shards (at least one).
    pub fn new(shards: u32) -> ShardMap {
        ShardMap {
            shards: shards.max(1),
        }
    }

    pub fn shards(&self) -> u32 {
        self.shards
    }

    pub fn shard_of(&self, outpoint: &OutPoint) -> ShardId {
        let mut h = Sha256::new();
        h.update(SHARD_OF_DOMAIN);
        h.update(outpoint.txid.0);
        h.update(outpoint.index.to_le_bytes());
        let digest = h.finalize();
        let mut word = [0u8; 8];
        word.copy_from_slice(&digest[..8]);
        (u64::from_le_bytes(word) % u64::from(self.shards)) as ShardId
    }

    /// The shards holding the transaction's inputs.
    pub fn input_shards(&self, tx: &Transaction) -> BTreeSet<ShardId> {
        tx.inputs.iter().map(|i| self.shard_of(&i.prev)).collect()
    }

    /// The shards that will hold the transaction's outputs.
    pub fn output_shards(&self, tx: &Transaction) -> BTreeSet<ShardId> {
        let txid = tx.txid();
        (0..tx.outputs.len() as u32)
            .map(|index| self.shard_of(&OutPoint { txid, index }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(decision: Decision) -> Statement {
        Statement {
            txid: TxId([1; 32]),
            shard: 2,
            epoch: 3,
            roster_hash: [4; 32],
            decision,
        }
    }

    #[test]
    fn every_field_changes_the_leaf() {
        let base = statement(Decision::Accept { value: 10 });
        let variants = [
            Statement {
                txid: TxId([9; 32]),
                ..base
            },
            Statement { shard: 9, ..base },
            Statement { epoch: 9, ..base },
            Statement {
                roster_hash: [9; 32],
                ..base
            },
            statement(Decision::Accept { value: 11 }),
            statement(Decision::Reject {
                reason: RejectReason::Locked,
            }),
            statement(Decision::Reject {
                reason: RejectReason::WrongOwner,
            }),
        ];
        let mut leaves: Vec<Hash> = variants.iter().map(Statement::leaf).collect();
        leaves.push(base.leaf());
        let distinct: BTreeSet<Hash> = leaves.iter().copied().collect();
        assert_eq!(distinct.len(), leaves.len());
    }

    #[test]
    fn statement_round_trips_through_json() {
        let s = statement(Decision::Reject {
            reason: RejectReason::AbortedElsewhere,
        });
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Statement>(&json).unwrap(), s);
    }

    #[test]
    fn prove_all_matches_the_engine_proof_by_proof() {
        for n in 0..70u32 {
            let leaves: Vec<Hash> = (0..n)
                .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
                .collect();
            let all = prove_all(&leaves);
            assert_eq!(all.len(), leaves.len());
            for (i, proof) in all.iter().enumerate() {
                assert_eq!(
                    Some(proof.clone()),
                    merkle::prove(&leaves, i),
                    "n = {n}, i = {i}"
                );
            }
        }
    }

    #[test]
    fn shard_map_spreads_and_is_in_range() {
        let map = ShardMap::new(4);
        let mut hits = [0u32; 4];
        for n in 0..=255u8 {
            let s = map.shard_of(&OutPoint {
                txid: TxId([n; 32]),
                index: 0,
            });
            hits[s as usize] += 1;
        }
        assert!(hits.iter().all(|&h| (32..=96).contains(&h)), "{hits:?}");
        assert_eq!(ShardMap::new(0).shards(), 1);
    }
}
