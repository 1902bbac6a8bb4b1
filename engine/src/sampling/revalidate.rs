//! Re-validation of a block's sampled transactions against the state before the block.
//!
//! Cost trade-off: signatures are the expensive part (one Ed25519 verification per input), so they
//! are checked only for the sampled transactions, in one batch through the [`Verifier`]. The UTXO
//! rules are cheap (hash-map lookups) but order-dependent: a sampled transaction may spend an output
//! created earlier in the same block, or an outpoint an earlier transaction already spent. So the
//! block *prefix* up to the last sampled index is validated once with
//! [`UtxoSet::validate_batch`] (as if applied one transaction at a time against `pre_state`) and the
//! verdicts of the sampled indices are read off. That is `O(prefix)` lookups for every validator
//! whatever `p` is — still far cheaper than the `p · n · inputs` signature checks it accompanies, and
//! it needs no state beyond `pre_state`.
//!
//! Known approximation: the prefix validation checks UTXO rules only, so an unsampled earlier
//! transaction with a bad signature but a valid UTXO shape counts as applied; a sampled transaction
//! spending its outputs is then judged valid here (the bad-signature transaction itself is caught
//! with probability `p` by each sampler). A transaction after an earlier UTXO-invalid one that spends
//! its outputs is judged invalid (`UnknownOutpoint`), as it would be when the block is applied
//! skipping invalid transactions.

use std::fmt;

use crate::sig::Verifier;
use crate::tx::{Transaction, TxId, verify_tx_signatures};
use crate::utxo::{UtxoError, UtxoSet};

/// Why a sampled transaction is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingReason {
    /// The signature of input `input` (the first failing one) does not verify under ZIP-215 rules
    /// for the input's `owner` over the transaction's txid.
    BadSignature { input: usize },
    /// A UTXO rule, judged in block order against the state before the block.
    Utxo(UtxoError),
}

impl fmt::Display for FindingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindingReason::BadSignature { input } => write!(f, "bad signature on input {input}"),
            FindingReason::Utxo(err) => write!(f, "{err}"),
        }
    }
}

/// A sampled transaction found invalid: its index in the block, its txid and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub index: usize,
    pub txid: TxId,
    pub reason: FindingReason,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transaction {} ({}): {}",
            self.index, self.txid, self.reason
        )
    }
}

/// Re-validates the transactions of `block_txs` at the indices `selected` (in any order; duplicates
/// and indices `>= block_txs.len()` are ignored): every input signature, batch-verified through
/// `verifier`, and the UTXO rules in block order against `pre_state`, the state before the block
/// (which is only read). Returns one [`Finding`] per invalid sampled transaction, by increasing
/// index; a transaction with a bad signature is reported for its first bad input, otherwise for its
/// UTXO verdict. An honest block gives no findings.
pub fn revalidate(
    pre_state: &UtxoSet,
    block_txs: &[Transaction],
    selected: &[usize],
    verifier: &Verifier,
) -> Vec<Finding> {
    let indices = sampled_indices(selected, block_txs.len());
    let Some(&last) = indices.last() else {
        return Vec::new();
    };

    // UTXO verdicts of the prefix that covers every sampled index.
    let verdicts = pre_state.validate_batch(&block_txs[..=last]);
    let txids: Vec<TxId> = indices.iter().map(|&i| block_txs[i].txid()).collect();
    let bad_inputs = first_bad_inputs(block_txs, &indices, &txids, verifier);

    let mut findings = Vec::new();
    for ((&i, &txid), bad_input) in indices.iter().zip(&txids).zip(bad_inputs) {
        let reason = match (bad_input, &verdicts[i]) {
            (Some(input), _) => FindingReason::BadSignature { input },
            (None, Err(err)) => FindingReason::Utxo(err.clone()),
            (None, Ok(())) => continue,
        };
        findings.push(Finding {
            index: i,
            txid,
            reason,
        });
    }
    findings
}

/// The signature half of [`revalidate`], for an auditor whose replica already judged the block's
/// UTXO rules (a replica that applied the block holds the state *after* it, which `revalidate`
/// cannot use): every input signature of the transactions at `selected` (same rules for the
/// indices), one batch through `verifier`. `txids[i]` is `block_txs[i].txid()` for every `i`.
/// Returns a [`FindingReason::BadSignature`] finding per sampled transaction with a bad
/// signature, by increasing index.
///
/// # Panics
/// If `txids` and `block_txs` differ in length.
pub fn revalidate_signatures(
    block_txs: &[Transaction],
    txids: &[TxId],
    selected: &[usize],
    verifier: &Verifier,
) -> Vec<Finding> {
    assert_eq!(block_txs.len(), txids.len(), "one txid per transaction");
    let indices = sampled_indices(selected, block_txs.len());
    let sampled_txids: Vec<TxId> = indices.iter().map(|&i| txids[i]).collect();
    let bad_inputs = first_bad_inputs(block_txs, &indices, &sampled_txids, verifier);
    indices
        .iter()
        .zip(sampled_txids)
        .zip(bad_inputs)
        .filter_map(|((&index, txid), bad)| {
            bad.map(|input| Finding {
                index,
                txid,
                reason: FindingReason::BadSignature { input },
            })
        })
        .collect()
}

/// The indices of `selected` below `len`, sorted, without repeats.
fn sampled_indices(selected: &[usize], len: usize) -> Vec<usize> {
    let mut indices: Vec<usize> = selected.iter().copied().filter(|&i| i < len).collect();
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// Per sampled transaction (`indices`, with their `txids`), its first input whose signature does
/// not verify: one batch for all their inputs.
fn first_bad_inputs(
    block_txs: &[Transaction],
    indices: &[usize],
    txids: &[TxId],
    verifier: &Verifier,
) -> Vec<Option<usize>> {
    let signatures =
        verify_tx_signatures(indices.iter().map(|&i| &block_txs[i]).zip(txids), |refs| {
            verifier.verify_batch(refs)
        });
    (0..indices.len())
        .map(|k| signatures.first_bad_input(k))
        .collect()
}
