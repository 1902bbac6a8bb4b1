//! Joining a shard: from the latest MSB, a state snapshot and the blocks after it; or, for
//! comparison, by replaying every block since genesis.
//!
//! What the node trusts ([`Trust`]): its shard, the latest finished epoch, and the shard's roster
//! for each epoch (from the identity chain and the epoch randomness, not from the server). What it
//! checks, in order, refusing at the first failure:
//! 1. the MSB is for its shard, of a known version, and of exactly the latest finished epoch (an
//!    older one is stale, even if validly signed: its state is not the current one);
//! 2. the collective signature verifies against that epoch's roster under the ByzCoin policy;
//! 3. the epoch's headers hash to `headers_root` and link up to `tip_hash` at `height`, and the
//!    last one's state root is the MSB's;
//! 4. the snapshot's Merkle state root is the MSB's `state_root`;
//! 5. every block after the MSB passes the full block check ([`ChainState::apply`]).
//!
//! The result has the same state root as a full replay (tested), at the cost of the snapshot plus
//! the blocks since the MSB instead of every block since genesis.

use std::collections::BTreeMap;

use iosv_engine::cosi::schnorr::{CosiError, Roster};
use iosv_engine::tx::{Block, OutPoint, TxOutput};
use iosv_engine::utxo::UtxoError;

use super::block::{MSB_VERSION, headers_root};
use super::chain::{BlockError, ChainState, Tip};
use super::store::BootstrapPackage;

/// What a bootstrapping node knows independently of the server it asks.
#[derive(Clone, Debug)]
pub struct Trust {
    pub shard: u32,
    /// The latest epoch that has ended (its MSB is the one to start from).
    pub latest_epoch: u64,
    /// The shard's roster in each epoch.
    pub rosters: BTreeMap<u64, Roster>,
}

/// Why a bootstrap package was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BootstrapError {
    #[error("unknown MSB version {0}")]
    Version(u8),
    #[error("MSB of shard {got}, this node joins shard {expected}")]
    WrongShard { expected: u32, got: u32 },
    #[error("stale MSB: epoch {got}, the latest finished epoch is {latest}")]
    Stale { got: u64, latest: u64 },
    #[error("MSB of epoch {got}, which has not ended (latest finished: {latest})")]
    FutureEpoch { got: u64, latest: u64 },
    #[error("no roster known for epoch {0}")]
    UnknownRoster(u64),
    #[error("MSB collective signature refused: {0}")]
    BadSignature(CosiError),
    #[error("epoch headers do not match the MSB: {0}")]
    EpochHeaders(&'static str),
    #[error("snapshot cannot be loaded: {0}")]
    Snapshot(UtxoError),
    #[error("snapshot's state root differs from the MSB's")]
    SnapshotRoot,
    #[error("block at height {height} refused: {error}")]
    Block { height: u64, error: BlockError },
}

/// Checks `package` against `trust` and builds the shard state at the tip of its blocks.
pub fn bootstrap(package: &BootstrapPackage, trust: &Trust) -> Result<ChainState, BootstrapError> {
    let msb = &package.msb.msb;
    if msb.version != MSB_VERSION {
        return Err(BootstrapError::Version(msb.version));
    }
    if msb.shard != trust.shard {
        return Err(BootstrapError::WrongShard {
            expected: trust.shard,
            got: msb.shard,
        });
    }
    if msb.epoch < trust.latest_epoch {
        return Err(BootstrapError::Stale {
            got: msb.epoch,
            latest: trust.latest_epoch,
        });
    }
    if msb.epoch > trust.latest_epoch {
        return Err(BootstrapError::FutureEpoch {
            got: msb.epoch,
            latest: trust.latest_epoch,
        });
    }
    let roster = trust
        .rosters
        .get(&msb.epoch)
        .ok_or(BootstrapError::UnknownRoster(msb.epoch))?;
    package
        .msb
        .verify(roster)
        .map_err(BootstrapError::BadSignature)?;
    check_epoch_headers(package)?;
    let tip = Tip {
        height: msb.height,
        hash: msb.tip_hash,
    };
    let mut state = ChainState::from_entries(msb.shard, &package.snapshot, tip)
        .map_err(BootstrapError::Snapshot)?;
    if state.root() != msb.state_root {
        return Err(BootstrapError::SnapshotRoot);
    }
    apply_all(&mut state, &package.blocks)?;
    Ok(state)
}

fn check_epoch_headers(package: &BootstrapPackage) -> Result<(), BootstrapError> {
    let msb = &package.msb.msb;
    let headers = &package.epoch_headers;
    if headers.len() as u64 != msb.header_count {
        return Err(BootstrapError::EpochHeaders("header count"));
    }
    if headers_root(headers) != msb.headers_root {
        return Err(BootstrapError::EpochHeaders("headers root"));
    }
    if let Some(last) = headers.last() {
        if last.height != msb.height || last.hash() != msb.tip_hash {
            return Err(BootstrapError::EpochHeaders("last header is not the tip"));
        }
        if last.state_root != msb.state_root {
            return Err(BootstrapError::EpochHeaders("tip state root"));
        }
    }
    let linked = headers.windows(2).all(|w| {
        w[1].prev_hash == w[0].hash()
            && w[0].height.checked_add(1) == Some(w[1].height)
            && w[1].shard == msb.shard
    });
    if !linked {
        return Err(BootstrapError::EpochHeaders("headers do not link"));
    }
    Ok(())
}

fn apply_all(state: &mut ChainState, blocks: &[Block]) -> Result<(), BootstrapError> {
    for block in blocks {
        state.apply(block).map_err(|error| BootstrapError::Block {
            height: block.header.height,
            error,
        })?;
    }
    Ok(())
}

/// Replays every block since genesis (the baseline bootstrap is compared with).
pub fn full_replay(
    shard: u32,
    genesis: &[(OutPoint, TxOutput)],
    blocks: &[Block],
) -> Result<ChainState, BootstrapError> {
    let mut state = ChainState::genesis(shard, genesis).map_err(BootstrapError::Snapshot)?;
    apply_all(&mut state, blocks)?;
    Ok(state)
}
