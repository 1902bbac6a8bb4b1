//! A normal validator's whole audit of one optimistic block: check that the block matches its
//! signed header, derive the sampling seed from its own VRF key, sample, re-validate, and turn every
//! finding into a fraud proof.

use thiserror::Error;

use super::revalidate::{Finding, revalidate};
use super::seed::SamplingSeed;
use super::select::select;
use crate::fraud::{self, BuildError, FraudProof, SignedHeader};
use crate::sig::Verifier;
use crate::tx::{Transaction, tx_root};
use crate::utxo::{StateTree, UtxoSet};
use crate::vrf::{PROOF_LEN, SecretKey};

/// Why a block could not be audited at all (these are not frauds a proof can show: a header that
/// does not verify or a body that does not match it is simply not a block).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AuditError {
    #[error("the header's signature does not verify under its proposer")]
    BadHeaderSignature,
    #[error("the transactions do not match the header's tx_root and tx_count")]
    BodyMismatch,
    #[error("the auditor's pre-state root differs from the header's pre_state_root")]
    StateMismatch,
}

/// What an audit found.
#[derive(Clone, Debug)]
pub struct Audit {
    /// The auditor's seed for this block and its VRF proof: anyone can recompute the sample.
    pub seed: SamplingSeed,
    pub seed_proof: [u8; PROOF_LEN],
    /// Indices re-validated.
    pub sampled: Vec<usize>,
    /// Invalid sampled transactions.
    pub findings: Vec<Finding>,
    /// One proof per distinct guilty transaction (a finding that only fails because an earlier
    /// transaction is invalid is proven against that earlier one).
    pub proofs: Vec<FraudProof>,
    /// Findings no proof could be built for, with why (none are expected; kept for reports).
    pub unproven: Vec<(usize, BuildError)>,
}

/// Audits `txs` under `header` with sampling probability `p`, against the state before the block
/// as a set and as a Merkle tree.
pub fn audit(
    header: &SignedHeader,
    txs: &[Transaction],
    pre_state: &UtxoSet,
    pre_tree: &mut StateTree,
    vrf_sk: &SecretKey,
    p: f64,
    verifier: &Verifier,
) -> Result<Audit, AuditError> {
    if !header.verify() {
        return Err(AuditError::BadHeaderSignature);
    }
    if usize::try_from(header.header.tx_count).ok() != Some(txs.len())
        || tx_root(txs) != header.header.tx_root
    {
        return Err(AuditError::BodyMismatch);
    }
    if pre_tree.root() != header.header.pre_state_root {
        return Err(AuditError::StateMismatch);
    }
    let (seed, seed_proof) = SamplingSeed::derive(vrf_sk, &header.header.hash());
    let sampled = select(&seed, txs.len(), p);
    let findings = revalidate(pre_state, txs, &sampled, verifier);
    let mut proofs: Vec<FraudProof> = Vec::new();
    let mut unproven = Vec::new();
    for finding in &findings {
        let mut index = finding.index;
        let result = loop {
            match fraud::build(header, txs, pre_state, pre_tree, index) {
                Err(BuildError::EarlierFault { earlier, .. }) => index = earlier,
                other => break other,
            }
        };
        match result {
            Ok(proof) if !proofs.iter().any(|p| p.accused == proof.accused) => proofs.push(proof),
            Ok(_) => {}
            Err(e) => unproven.push((finding.index, e)),
        }
    }
    Ok(Audit {
        seed,
        seed_proof,
        sampled,
        findings,
        proofs,
        unproven,
    })
}
