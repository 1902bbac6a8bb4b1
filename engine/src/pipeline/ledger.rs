//! The state behind the commit stage: whatever validates transactions against the UTXO rules and
//! applies the valid ones. The pipeline hands it signature-checked transactions in admission order.

use crate::tx::{Transaction, TxId};

/// `Ok(())`: committed. `Err(reason)`: rejected by the UTXO rules, with a reason for the submitter.
pub type LedgerVerdict = Result<(), String>;

pub trait Ledger: Send + Sync {
    /// Validates `txs` in order against the current state and the earlier transactions of the same
    /// call, applies the valid ones, and returns one verdict per transaction. `txids[i]` is
    /// `txs[i].txid()`, computed once by the pipeline's ingest stage.
    fn apply(&self, txs: &[Transaction], txids: &[TxId]) -> Vec<LedgerVerdict>;
}

/// The UTXO set as the pipeline's ledger: applies the valid transactions of each batch in order.
/// Undo records are dropped: the pipeline commits; rolling back blocks is the harness's business.
impl Ledger for crate::utxo::UtxoSet {
    fn apply(&self, txs: &[Transaction], txids: &[TxId]) -> Vec<LedgerVerdict> {
        let (verdicts, _undo) = self.apply_valid_with_txids(txs, txids);
        verdicts
            .into_iter()
            .map(|v| v.map_err(|e| e.to_string()))
            .collect()
    }
}
