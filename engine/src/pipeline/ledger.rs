//! The state behind the commit stage: whatever validates transactions against the UTXO rules and
//! applies the valid ones. The pipeline hands it signature-checked transactions in admission order.

use crate::tx::Transaction;

/// `Ok(())`: committed. `Err(reason)`: rejected by the UTXO rules, with a reason for the submitter.
pub type LedgerVerdict = Result<(), String>;

pub trait Ledger: Send + Sync {
    /// Validates `txs` in order against the current state and the earlier transactions of the same
    /// call, applies the valid ones, and returns one verdict per transaction.
    fn apply(&self, txs: &[Transaction]) -> Vec<LedgerVerdict>;
}
