//! A shard's chain state and the full check of one block against it, shared by block production,
//! full replay and bootstrap (so the three can never disagree on what a valid block is).
//!
//! A block is valid on top of a state when: its shard is the state's; its height is the tip's plus
//! one and `prev_hash` the tip's hash; `tx_count` and `tx_root` match its transactions;
//! `pre_state_root` is the current [`StateTree`] root; every input's Ed25519 signature verifies
//! (batched, ZIP-215); the UTXO set accepts every transaction in order
//! ([`ShardState::apply_block`]); and `state_root` is the [`StateTree`] root after them. A refused
//! block changes nothing (the engine's [`ShardState`] undoes set and tree together).
//!
//! The state commitment anchored here is [`state_commitment`], the engine's Merkle
//! [`StateTree`] root (binding against chosen entries), never the additive
//! [`UtxoSet::consistency_digest`](iosv_engine::utxo::UtxoSet::consistency_digest).

use iosv_engine::merkle::Hash;
use iosv_engine::sig::{KeyCache, verify_batch};
use iosv_engine::tx::{
    Block, BlockHeader, HEADER_VERSION, OutPoint, Transaction, TxId, TxOutput, tx_root,
    verify_tx_signatures,
};
use iosv_engine::utxo::{Entry, ShardState, StateTree, UtxoError};

use crate::drp::encoding::Tagged;

/// The chain tip: the last applied block's height and header hash (height 0: genesis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    pub height: u64,
    pub hash: Hash,
}

/// Why a block was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("block of shard {got}, expected shard {expected}")]
    WrongShard { expected: u32, got: u32 },
    #[error("unknown header version {0}")]
    Version(u8),
    #[error("height {got}, expected {expected}")]
    Height { expected: u64, got: u64 },
    #[error(
        "the tip is at height {}, the last there is: no block can follow",
        u64::MAX
    )]
    HeightExhausted,
    #[error("prev_hash does not link to the tip")]
    PrevHash,
    #[error("tx_count or tx_root does not match the transactions")]
    TxRoot,
    #[error("pre_state_root differs from the state's root")]
    PreStateRoot,
    #[error("transaction {tx}: a signature does not verify")]
    Signature { tx: usize },
    #[error("a transaction is invalid against the state: {0}")]
    Utxo(#[from] UtxoError),
    #[error("state_root differs from the root after the block")]
    StateRoot,
}

impl std::fmt::Debug for ChainState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainState")
            .field("shard", &self.shard)
            .field("entries", &self.state.len())
            .field("tip", &self.tip)
            .finish_non_exhaustive()
    }
}

/// The state commitment MSBs and headers anchor: the Merkle [`StateTree`] root.
pub fn state_commitment(tree: &mut StateTree) -> Hash {
    tree.root()
}

/// A shard's chain: the engine's [`ShardState`] (UTXO set and Merkle state tree, changed in
/// step), the tip, and the full block check.
pub struct ChainState {
    shard: u32,
    state: ShardState,
    tip: Tip,
    keys: KeyCache,
}

impl ChainState {
    /// The state at genesis: `outputs`, unlocked; the tip hash binds the shard and that state.
    pub fn genesis(shard: u32, outputs: &[(OutPoint, TxOutput)]) -> Result<Self, UtxoError> {
        let mut state = ShardState::genesis(outputs)?;
        let hash = genesis_hash(shard, &state.root());
        Ok(Self::from_parts(shard, state, Tip { height: 0, hash }))
    }

    /// A state from a snapshot's entries (locks included) at the given tip. The caller checks the
    /// entries' commitment against what it trusts.
    pub fn from_entries(
        shard: u32,
        entries: &[(OutPoint, Entry)],
        tip: Tip,
    ) -> Result<Self, UtxoError> {
        Ok(Self::from_parts(
            shard,
            ShardState::from_entries(entries)?,
            tip,
        ))
    }

    fn from_parts(shard: u32, state: ShardState, tip: Tip) -> Self {
        Self {
            shard,
            state,
            tip,
            keys: KeyCache::default(),
        }
    }

    pub fn shard(&self) -> u32 {
        self.shard
    }

    pub fn tip(&self) -> Tip {
        self.tip
    }

    /// The [`state_commitment`] of the current state.
    pub fn root(&mut self) -> Hash {
        self.state.root()
    }

    pub fn len(&self) -> usize {
        self.state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    /// Every entry, sorted by outpoint: the snapshot a serving node hands out.
    pub fn entries(&self) -> Vec<(OutPoint, Entry)> {
        self.state.entries()
    }

    /// Builds the next block from `txs` and applies it; refuses (changing nothing) if a
    /// signature or a transaction is invalid.
    pub fn propose(
        &mut self,
        txs: Vec<Transaction>,
        proposer: [u8; 32],
        timestamp_ms: u64,
    ) -> Result<Block, BlockError> {
        let height = self
            .tip
            .height
            .checked_add(1)
            .ok_or(BlockError::HeightExhausted)?;
        let pre_state_root = self.root();
        self.check_signatures(&txs)?;
        let tx_count = u32::try_from(txs.len()).map_err(|_| BlockError::TxRoot)?;
        self.state.apply_block(&txs)?;
        let header = BlockHeader {
            version: HEADER_VERSION,
            shard: self.shard,
            height,
            prev_hash: self.tip.hash,
            tx_root: tx_root(&txs),
            tx_count,
            pre_state_root,
            state_root: self.root(),
            timestamp_ms,
            proposer,
        };
        self.tip = Tip {
            height: header.height,
            hash: header.hash(),
        };
        Ok(Block { header, txs })
    }

    /// Checks `block` completely against this state and applies it (see the module doc).
    pub fn apply(&mut self, block: &Block) -> Result<(), BlockError> {
        let h = &block.header;
        if h.version != HEADER_VERSION {
            return Err(BlockError::Version(h.version));
        }
        if h.shard != self.shard {
            return Err(BlockError::WrongShard {
                expected: self.shard,
                got: h.shard,
            });
        }
        // The tip's height comes from a signed MSB or a snapshot's producer, not from this
        // state's own blocks: it may be the last height there is.
        let expected = self
            .tip
            .height
            .checked_add(1)
            .ok_or(BlockError::HeightExhausted)?;
        if h.height != expected {
            return Err(BlockError::Height {
                expected,
                got: h.height,
            });
        }
        if h.prev_hash != self.tip.hash {
            return Err(BlockError::PrevHash);
        }
        if h.tx_count as usize != block.txs.len() || h.tx_root != tx_root(&block.txs) {
            return Err(BlockError::TxRoot);
        }
        if h.pre_state_root != self.root() {
            return Err(BlockError::PreStateRoot);
        }
        self.check_signatures(&block.txs)?;
        let undo = self.state.apply_block(&block.txs)?;
        if h.state_root == self.root() {
            self.tip = Tip {
                height: h.height,
                hash: h.hash(),
            };
            return Ok(());
        }
        self.state.undo_block(&undo)?;
        Err(BlockError::StateRoot)
    }

    fn check_signatures(&self, txs: &[Transaction]) -> Result<(), BlockError> {
        let txids: Vec<TxId> = txs.iter().map(Transaction::txid).collect();
        let verdicts = verify_tx_signatures(txs.iter().zip(&txids), |refs| {
            verify_batch(refs, &self.keys)
        });
        match (0..txs.len()).find(|&tx| !verdicts.all_valid(tx)) {
            Some(tx) => Err(BlockError::Signature { tx }),
            None => Ok(()),
        }
    }
}

/// The tip hash of a shard's genesis.
pub fn genesis_hash(shard: u32, state_root: &Hash) -> Hash {
    Tagged::new(crate::domain::MSB_GENESIS)
        .u32(shard)
        .bytes(state_root)
        .finish()
}

#[cfg(test)]
mod tests {
    use iosv_engine::utxo::LockId;
    use iosv_engine::workload::{KeyReuse, TxWorkload};

    use super::*;

    fn workload() -> (Vec<(OutPoint, TxOutput)>, Vec<Transaction>) {
        let w = TxWorkload::generate(6, 1, KeyReuse::Distinct, 3);
        let txs = w
            .txs
            .iter()
            .map(|b| Transaction::decode(b).unwrap())
            .collect();
        (w.genesis, txs)
    }

    #[test]
    fn a_refused_block_changes_nothing() {
        let (genesis, txs) = workload();
        let mut producer = ChainState::genesis(1, &genesis).unwrap();
        let block = producer.propose(txs[..3].to_vec(), [0; 32], 1).unwrap();

        let mut state = ChainState::genesis(1, &genesis).unwrap();
        let (root, tip) = (state.root(), state.tip());
        let mut wrong_root = block.clone();
        wrong_root.header.state_root[0] ^= 1;
        assert_eq!(state.apply(&wrong_root), Err(BlockError::StateRoot));
        let mut bad_sig = block.clone();
        bad_sig.txs[1].inputs[0].signature[40] ^= 1;
        bad_sig.header.tx_root = tx_root(&bad_sig.txs);
        assert_eq!(state.apply(&bad_sig), Err(BlockError::Signature { tx: 1 }));
        let mut other_shard = block.clone();
        other_shard.header.shard = 2;
        assert!(matches!(
            state.apply(&other_shard),
            Err(BlockError::WrongShard { .. })
        ));
        assert_eq!((state.root(), state.tip()), (root, tip));
        state.apply(&block).unwrap();
        assert_eq!(state.root(), producer.root());
        // The same block again does not link to the new tip.
        assert!(matches!(
            state.apply(&block),
            Err(BlockError::Height { .. })
        ));
    }

    /// Found by fuzzing (`fuzz/regressions/bootstrap/`): a bootstrap package whose signed MSB
    /// puts the tip at height u64::MAX, followed by a block, overflowed `tip.height + 1` (a panic
    /// with overflow checks, a wrap to height 0 without them).
    #[test]
    fn no_block_follows_the_last_height() {
        let (genesis, txs) = workload();
        let mut producer = ChainState::genesis(1, &genesis).unwrap();
        let block = producer.propose(txs[..3].to_vec(), [0; 32], 1).unwrap();
        let entries = ChainState::genesis(1, &genesis).unwrap().entries();
        let last = Tip {
            height: u64::MAX,
            hash: block.header.prev_hash,
        };
        let mut state = ChainState::from_entries(1, &entries, last).unwrap();
        let root = state.root();
        for height in [0, 1, u64::MAX] {
            let mut next = block.clone();
            next.header.height = height;
            assert_eq!(state.apply(&next), Err(BlockError::HeightExhausted));
        }
        assert_eq!(
            state.propose(txs[..3].to_vec(), [0; 32], 1).unwrap_err(),
            BlockError::HeightExhausted
        );
        assert_eq!((state.root(), state.tip()), (root, last));
    }

    #[test]
    fn snapshots_keep_locks() {
        let (genesis, _) = workload();
        let lock = LockId([7; 32]);
        let entries: Vec<(OutPoint, Entry)> = genesis
            .iter()
            .enumerate()
            .map(|(i, (o, out))| {
                let locked_by = (i % 2 == 0).then_some(lock);
                (
                    *o,
                    Entry {
                        output: *out,
                        locked_by,
                    },
                )
            })
            .collect();
        let tip = Tip {
            height: 9,
            hash: [1; 32],
        };
        let mut state = ChainState::from_entries(1, &entries, tip).unwrap();
        let mut expected = StateTree::from_entries(entries.iter().copied()).unwrap();
        assert_eq!(state.root(), expected.root());
        let mut sorted = entries.clone();
        sorted.sort_unstable_by_key(|(o, _)| *o);
        assert_eq!(state.entries(), sorted);
        // A repeated outpoint is refused.
        let mut twice = entries.clone();
        twice.push(entries[0]);
        assert!(ChainState::from_entries(1, &twice, tip).is_err());
    }
}
