//! A shard's ledger in the simulator: a synthetic stream of real signed transactions, verified
//! with the engine's verifier and applied to the engine's shard state (UTXO set and Merkle tree).
//!
//! Every signature is really checked (ZIP-215 batch verification) and every transaction really
//! applied; a block commits the valid transactions of the next slice of the stream. The stream is
//! generated up front from the shard's seed (engine workload), so its content is reproducible.

use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::{Transaction, TxId, verify_tx_signatures};
use iosv_engine::utxo::{ShardState, UtxoSet};
use iosv_engine::workload::{KeyReuse, TxWorkload};

/// Accounts signing a shard's synthetic transactions (Zipf-weighted, exponent 1).
const ACCOUNTS: usize = 32;

/// What one block did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockResult {
    pub committed: u32,
    pub rejected: u32,
    /// The Merkle state root after the block.
    pub root: [u8; 32],
}

/// Why a ledger could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the workload generated an undecodable transaction: {0}")]
    Decode(#[from] iosv_engine::tx::TxDecodeError),
    #[error("genesis output rejected: {0}")]
    Genesis(#[from] iosv_engine::utxo::UtxoError),
    #[error("no verifier: {0}")]
    Verifier(#[from] iosv_engine::sig::BackendError),
}

/// One shard's state and its pending transaction stream.
pub struct ShardLedger {
    state: ShardState,
    txs: Vec<Transaction>,
    next: usize,
    verifier: Verifier,
}

impl ShardLedger {
    /// A ledger whose stream holds `count` transactions, reproducible from `seed`.
    pub fn new(count: usize, seed: u64) -> Result<Self, LedgerError> {
        let work = TxWorkload::generate(
            count,
            1,
            KeyReuse::Zipf {
                accounts: ACCOUNTS,
                exponent: 1.0,
            },
            seed,
        );
        let mut state = ShardState::new(UtxoSet::with_shards(1));
        for (outpoint, output) in work.genesis {
            state.insert(outpoint, output)?;
        }
        let txs = work
            .txs
            .iter()
            .map(|bytes| Transaction::decode(bytes))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            state,
            txs,
            next: 0,
            verifier: Verifier::new(Backend::Cpu)?,
        })
    }

    /// Transactions not yet offered.
    pub fn remaining(&self) -> usize {
        self.txs.len() - self.next
    }

    /// The Merkle state root.
    pub fn root(&mut self) -> [u8; 32] {
        self.state.root()
    }

    /// Verifies and applies the next `max` transactions of the stream.
    pub fn commit_block(&mut self, max: usize) -> BlockResult {
        let end = (self.next + max).min(self.txs.len());
        let block = &self.txs[self.next..end];
        self.next = end;
        let txids: Vec<TxId> = block.iter().map(Transaction::txid).collect();
        let verdicts = verify_tx_signatures(block.iter().zip(&txids), |refs| {
            self.verifier.verify_batch(refs)
        });
        let signed: Vec<Transaction> = block
            .iter()
            .enumerate()
            .filter(|&(i, _)| verdicts.all_valid(i))
            .map(|(_, tx)| tx.clone())
            .collect();
        let (results, _) = self.state.apply_valid(&signed);
        let committed = results.iter().filter(|r| r.is_ok()).count() as u32;
        BlockResult {
            committed,
            rejected: block.len() as u32 - committed,
            root: self.state.root(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_commit_real_transactions_and_move_the_root() {
        let mut ledger = ShardLedger::new(10, 3).unwrap();
        let root0 = ledger.root();
        let b = ledger.commit_block(4);
        assert_eq!((b.committed, b.rejected), (4, 0));
        assert_ne!(b.root, root0);
        let b = ledger.commit_block(100);
        assert_eq!(b.committed, 6);
        assert_eq!(ledger.remaining(), 0);
        assert_eq!(ledger.commit_block(4).committed, 0);
    }

    #[test]
    fn a_forged_signature_is_not_committed() {
        let mut ledger = ShardLedger::new(3, 4).unwrap();
        ledger.txs[1].inputs[0].signature[5] ^= 1;
        let b = ledger.commit_block(3);
        assert_eq!((b.committed, b.rejected), (2, 1));
    }
}
