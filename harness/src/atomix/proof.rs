//! Proofs of acceptance and rejection, the directory of current rosters they are checked against,
//! and the certificates that end a cross-shard transaction.
//!
//! A proof holds one [`Statement`], its Merkle inclusion proof in a batch, the batch header and the
//! roster's collective signature over it. It verifies only against the shard's *current* roster
//! (the [`Directory`]'s epoch and roster hash): a proof from an earlier roster is refused, and the
//! shard re-certifies its recorded decision under its new roster on request.
//!
//! A [`Certificate`] ends a transaction, and is judged by the same deterministic rule everywhere,
//! from the proofs alone:
//! - **commit**: an acceptance from every input shard, and the accepted values cover the outputs;
//! - **abort**: a rejection from one input shard, or acceptances from every input shard whose
//!   values fall short of the outputs.
//!
//! Each shard decides once per txid, so an acceptance and a rejection from the same shard for the
//! same txid never both exist (while fewer than the policy's threshold of its members are
//! faulty), and the value it accepts is fixed: commit and abort certificates for one transaction
//! are mutually exclusive.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::{self, Roster};
use iosv_engine::merkle::InclusionProof;
use iosv_engine::tx::{Transaction, TxId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{CertificateError, ProofError};
use super::statement::{BatchHeader, Decision, ShardId, ShardMap, Statement, roster_hash};

/// One shard's current roster, as every verifier sees it.
#[derive(Clone, Debug)]
pub struct ShardInfo {
    pub shard: ShardId,
    pub epoch: u64,
    pub roster: Roster,
    pub roster_hash: [u8; 32],
    pub policy: Policy,
}

impl ShardInfo {
    pub fn new(shard: ShardId, epoch: u64, roster: Roster, policy: Policy) -> ShardInfo {
        ShardInfo {
            shard,
            epoch,
            roster_hash: roster_hash(&roster),
            roster,
            policy,
        }
    }
}

/// The current roster of every shard (in the full protocol, the epoch's shard assignment).
#[derive(Clone, Debug, Default)]
pub struct Directory {
    shards: BTreeMap<ShardId, ShardInfo>,
}

impl Directory {
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Installs `info` as its shard's current roster, replacing the previous one.
    pub fn update(&mut self, info: ShardInfo) {
        self.shards.insert(info.shard, info);
    }

    pub fn get(&self, shard: ShardId) -> Option<&ShardInfo> {
        self.shards.get(&shard)
    }
}

/// Batches whose collective signature already verified against the current roster: every proof
/// of a batch shares one header and signature, so a verifier that checked one proof of it only
/// checks the Merkle path of the others. Keyed by `SHA-256(header bytes ‖ signature)`, which
/// names the epoch and roster hash; a lookup happens only after the header's epoch and roster
/// were found current, so an entry from a replaced roster is never used. Bounded: cleared when
/// full.
#[derive(Clone, Debug, Default)]
pub struct VerifiedBatches {
    seen: HashSet<[u8; 32]>,
}

/// Entries a [`VerifiedBatches`] holds before it starts over.
const VERIFIED_BATCHES_MAX: usize = 1 << 16;

impl VerifiedBatches {
    pub fn new() -> VerifiedBatches {
        VerifiedBatches::default()
    }

    fn key(header: &BatchHeader, signature: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(header.signing_bytes());
        h.update(signature);
        h.finalize().into()
    }
}

/// A shard's signed decision on one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomixProof {
    pub statement: Statement,
    pub header: BatchHeader,
    pub inclusion: InclusionProof,
    /// Schnorr CoSi signature `V ‖ r ‖ mask` over [`BatchHeader::signing_bytes`].
    #[serde(with = "hex::serde")]
    pub signature: Vec<u8>,
}

impl AtomixProof {
    pub fn shard(&self) -> ShardId {
        self.statement.shard
    }

    /// Checks the proof for transaction `txid` against the current rosters; returns the decision.
    /// Cheap checks first, the collective signature last.
    pub fn verify(&self, txid: &TxId, dir: &Directory) -> Result<Decision, ProofError> {
        self.verify_cached(txid, dir, &mut VerifiedBatches::new())
    }

    /// [`AtomixProof::verify`], skipping the collective signature of a batch already verified.
    pub fn verify_cached(
        &self,
        txid: &TxId,
        dir: &Directory,
        cache: &mut VerifiedBatches,
    ) -> Result<Decision, ProofError> {
        let s = &self.statement;
        if s.txid != *txid {
            return Err(ProofError::WrongTransaction {
                expected: *txid,
                found: s.txid,
            });
        }
        let h = &self.header;
        if s.shard != h.shard || s.epoch != h.epoch || s.roster_hash != h.roster_hash {
            return Err(ProofError::HeaderMismatch {
                statement: s.shard,
                header: h.shard,
            });
        }
        let info = dir
            .get(s.shard)
            .ok_or(ProofError::UnknownShard { shard: s.shard })?;
        if h.epoch != info.epoch {
            return Err(ProofError::StaleRoster {
                shard: s.shard,
                proof_epoch: h.epoch,
                current_epoch: info.epoch,
            });
        }
        if h.roster_hash != info.roster_hash {
            return Err(ProofError::RosterMismatch {
                shard: s.shard,
                expected: hex::encode(info.roster_hash),
                found: hex::encode(h.roster_hash),
            });
        }
        if self.inclusion.tree_size != u64::from(h.count)
            || !self.inclusion.verify(&s.leaf(), &h.root)
        {
            return Err(ProofError::NotIncluded);
        }
        let key = VerifiedBatches::key(h, &self.signature);
        if !cache.seen.contains(&key) {
            schnorr::verify(
                &info.roster,
                info.policy,
                &h.signing_bytes(),
                &self.signature,
            )
            .map_err(|source| ProofError::BadSignature {
                shard: s.shard,
                source,
            })?;
            if cache.seen.len() >= VERIFIED_BATCHES_MAX {
                cache.seen.clear();
            }
            cache.seen.insert(key);
        }
        Ok(s.decision)
    }
}

/// How a cross-shard transaction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Committed,
    Aborted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::Aborted => "aborted",
        }
    }
}

/// The evidence that ends a transaction (see the module documentation for the rule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Certificate {
    /// An acceptance from every input shard, covering the outputs.
    Commit { proofs: Vec<AtomixProof> },
    /// A rejection from one input shard.
    AbortRejected { proof: Box<AtomixProof> },
    /// An acceptance from every input shard, falling short of the outputs.
    AbortInsufficient { proofs: Vec<AtomixProof> },
}

impl Certificate {
    /// Checks the certificate for `tx` against the current rosters; returns the outcome it proves.
    pub fn verify(
        &self,
        tx: &Transaction,
        map: &ShardMap,
        dir: &Directory,
    ) -> Result<Outcome, CertificateError> {
        self.verify_cached(tx, map, dir, &mut VerifiedBatches::new())
    }

    /// [`Certificate::verify`] with a cache of verified batches.
    pub fn verify_cached(
        &self,
        tx: &Transaction,
        map: &ShardMap,
        dir: &Directory,
        cache: &mut VerifiedBatches,
    ) -> Result<Outcome, CertificateError> {
        let txid = tx.txid();
        let inputs = map.input_shards(tx);
        match self {
            Certificate::Commit { proofs } => {
                let (accepted, outputs) =
                    accepted_and_outputs(tx, &txid, &inputs, proofs, dir, cache)?;
                if accepted < outputs {
                    return Err(CertificateError::InsufficientValue {
                        inputs: accepted,
                        outputs,
                    });
                }
                Ok(Outcome::Committed)
            }
            Certificate::AbortInsufficient { proofs } => {
                let (accepted, outputs) =
                    accepted_and_outputs(tx, &txid, &inputs, proofs, dir, cache)?;
                if accepted >= outputs {
                    return Err(CertificateError::ValueSufficient);
                }
                Ok(Outcome::Aborted)
            }
            Certificate::AbortRejected { proof } => {
                let shard = proof.shard();
                if !inputs.contains(&shard) {
                    return Err(CertificateError::NotAnInputShard { shard });
                }
                match proof
                    .verify_cached(&txid, dir, cache)
                    .map_err(|source| CertificateError::Proof { shard, source })?
                {
                    Decision::Reject { .. } => Ok(Outcome::Aborted),
                    Decision::Accept { .. } => Err(CertificateError::NotARejection { shard }),
                }
            }
        }
    }

    /// The proofs the certificate carries.
    pub fn proofs(&self) -> Vec<&AtomixProof> {
        match self {
            Certificate::Commit { proofs } | Certificate::AbortInsufficient { proofs } => {
                proofs.iter().collect()
            }
            Certificate::AbortRejected { proof } => vec![proof.as_ref()],
        }
    }
}

/// The total accepted value over exactly one acceptance per input shard, and the outputs' total.
fn accepted_and_outputs(
    tx: &Transaction,
    txid: &TxId,
    inputs: &BTreeSet<ShardId>,
    proofs: &[AtomixProof],
    dir: &Directory,
    cache: &mut VerifiedBatches,
) -> Result<(u64, u64), CertificateError> {
    let mut seen = BTreeSet::new();
    let mut accepted = 0u64;
    for proof in proofs {
        let shard = proof.shard();
        if !inputs.contains(&shard) {
            return Err(CertificateError::NotAnInputShard { shard });
        }
        if !seen.insert(shard) {
            return Err(CertificateError::DuplicateShard { shard });
        }
        match proof
            .verify_cached(txid, dir, cache)
            .map_err(|source| CertificateError::Proof { shard, source })?
        {
            Decision::Accept { value } => {
                accepted = accepted
                    .checked_add(value)
                    .ok_or(CertificateError::Overflow)?;
            }
            Decision::Reject { .. } => return Err(CertificateError::Rejected { shard }),
        }
    }
    if let Some(&shard) = inputs.difference(&seen).next() {
        return Err(CertificateError::MissingShard { shard });
    }
    let outputs = tx.output_total().map_err(|_| CertificateError::Overflow)?;
    Ok((accepted, outputs))
}
