//! A validator's storage for one shard: headers since genesis, block bodies only after the latest
//! MSB (older ones are pruned when an epoch closes), the MSB chain, and the state snapshot taken
//! at the latest MSB; it serves [`BootstrapPackage`]s to new or restarted validators.
//!
//! Invariant: after [`ShardStore::close_epoch`], no body at or below the MSB's height is kept,
//! and the snapshot's entries have exactly the MSB's state root.

use std::collections::BTreeMap;

use iosv_engine::cosi::Mask;
use iosv_engine::cosi::schnorr::{CosiError, MemberKey, Roster};
use iosv_engine::tx::{Block, BlockHeader, OutPoint, Transaction};
use iosv_engine::utxo::Entry;
use rand::CryptoRng;

use super::block::{MSB_VERSION, MicroStateBlock, SignedMsb, headers_root};
use super::chain::{BlockError, ChainState};

/// What a serving node hands a bootstrapping one.
#[derive(Clone, Debug)]
pub struct BootstrapPackage {
    pub msb: SignedMsb,
    /// The headers the MSB covers (since the previous MSB), to check `headers_root` and the tip.
    pub epoch_headers: Vec<BlockHeader>,
    /// The state at the MSB, sorted by outpoint.
    pub snapshot: Vec<(OutPoint, Entry)>,
    /// Every block after the MSB, in height order.
    pub blocks: Vec<Block>,
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error("collective signing failed: {0}")]
    Cosi(#[from] CosiError),
    #[error("no MSB yet")]
    NoMsb,
    #[error("epoch {got} is not after the last MSB's epoch {last}")]
    EpochOrder { last: u64, got: u64 },
}

/// One shard's chain as a validator stores it.
pub struct ShardStore {
    state: ChainState,
    headers: Vec<BlockHeader>,
    bodies: BTreeMap<u64, Vec<Transaction>>,
    msbs: Vec<SignedMsb>,
    snapshot: Vec<(OutPoint, Entry)>,
}

impl ShardStore {
    pub fn new(genesis: ChainState) -> Self {
        Self {
            state: genesis,
            headers: Vec::new(),
            bodies: BTreeMap::new(),
            msbs: Vec::new(),
            snapshot: Vec::new(),
        }
    }

    pub fn state(&mut self) -> &mut ChainState {
        &mut self.state
    }

    /// Proposes and stores the next block.
    pub fn produce(
        &mut self,
        txs: Vec<Transaction>,
        proposer: [u8; 32],
        timestamp_ms: u64,
    ) -> Result<Block, BlockError> {
        let block = self.state.propose(txs, proposer, timestamp_ms)?;
        self.headers.push(block.header.clone());
        self.bodies.insert(block.header.height, block.txs.clone());
        Ok(block)
    }

    /// Ends `epoch`: summarizes the blocks since the previous MSB in an MSB, has `signers` of the
    /// shard's `roster` co-sign it, snapshots the state, and prunes every body it covers.
    pub fn close_epoch<R: CryptoRng + ?Sized>(
        &mut self,
        epoch: u64,
        roster: &Roster,
        keys: &[MemberKey],
        signers: &Mask,
        rng: &mut R,
    ) -> Result<SignedMsb, StoreError> {
        let (from, prev_msb) = match self.msbs.last() {
            Some(last) if epoch <= last.msb.epoch => {
                return Err(StoreError::EpochOrder {
                    last: last.msb.epoch,
                    got: epoch,
                });
            }
            Some(last) => (last.msb.height, last.msb.hash()),
            None => (0, [0; 32]),
        };
        let tip = self.state.tip();
        let covered = &self.headers[from as usize..tip.height as usize];
        let msb = MicroStateBlock {
            version: MSB_VERSION,
            shard: self.state.shard(),
            epoch,
            height: tip.height,
            tip_hash: tip.hash,
            state_root: self.state.root(),
            headers_root: headers_root(covered),
            header_count: covered.len() as u64,
            prev_msb,
        };
        let signed = SignedMsb::sign(msb, roster, keys, signers, rng)?;
        self.snapshot = self.state.entries();
        self.bodies = self.bodies.split_off(&(tip.height + 1));
        self.msbs.push(signed.clone());
        tracing::debug!(epoch, height = tip.height, "MSB closed, bodies pruned");
        Ok(signed)
    }

    /// The MSB chain, oldest first.
    pub fn msbs(&self) -> &[SignedMsb] {
        &self.msbs
    }

    /// Every header since genesis (headers are never pruned).
    pub fn headers(&self) -> &[BlockHeader] {
        &self.headers
    }

    /// Heights whose bodies are still stored.
    pub fn stored_bodies(&self) -> impl Iterator<Item = u64> + '_ {
        self.bodies.keys().copied()
    }

    /// Every block since genesis, if no body was pruned yet (an archive's view).
    pub fn full_history(&self) -> Option<Vec<Block>> {
        self.blocks_from(1)
    }

    /// The blocks from `height` on, if their bodies are all stored.
    fn blocks_from(&self, height: u64) -> Option<Vec<Block>> {
        let from = usize::try_from(height.checked_sub(1)?).ok()?;
        self.headers
            .get(from..)?
            .iter()
            .map(|h| {
                self.bodies.get(&h.height).map(|txs| Block {
                    header: h.clone(),
                    txs: txs.clone(),
                })
            })
            .collect()
    }

    /// The latest MSB, its epoch's headers, the snapshot at it, and every block after it.
    pub fn bootstrap_package(&self) -> Result<BootstrapPackage, StoreError> {
        let msb = self.msbs.last().ok_or(StoreError::NoMsb)?.clone();
        let from = match self.msbs.len() {
            0 | 1 => 0,
            n => self.msbs[n - 2].msb.height as usize,
        };
        let height = msb.msb.height;
        Ok(BootstrapPackage {
            epoch_headers: self.headers[from..height as usize].to_vec(),
            snapshot: self.snapshot.clone(),
            blocks: self
                .blocks_from(height + 1)
                .expect("bodies after the latest MSB are kept"),
            msb,
        })
    }
}
