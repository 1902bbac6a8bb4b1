//! TransEpoch: the plan that moves validators from one epoch's assignment to the next in batches,
//! so that every shard keeps a working majority while it keeps processing transactions.
//!
//! A move takes a validator out of its old shard at the start of its batch and into its new shard,
//! where it is not ready until it has synced the shard's state. The next batch starts only after
//! the previous batch's joiners are ready. So while a batch runs, a shard of size `s` that loses
//! at most `b` and gains at most `b` members still has at least `s − b` ready members out of at
//! most `s` members; with `3b < s` that is more than two thirds. Hence the rule enforced here:
//! **a batch moves fewer than a third of a shard's members out of or into any shard**, and a
//! plan asking for a batch of a third or more is refused ([`TransEpochError::BatchTooLarge`]).
//! Faulty members eat into the same margin, which is why the default batch is a sixth (see
//! [`default_batch`]).
//!
//! The plan is deterministic: moves are taken in ascending validator id, greedily, into the
//! first batch with room on both sides.

use serde::Serialize;

use super::assign::Assignment;
use crate::node::NodeId;

/// One validator's move between epochs (`None`: on standby).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Move {
    pub node: NodeId,
    pub from: Option<u32>,
    pub to: Option<u32>,
}

/// Why a TransEpoch plan is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransEpochError {
    #[error(
        "a swap batch of {batch} is a third or more of a shard of {shard_size}: refused (the shard would lose its two-thirds majority)"
    )]
    BatchTooLarge { batch: u32, shard_size: u32 },
    #[error("a swap batch must move at least one validator")]
    ZeroBatch,
    #[error("assignments differ in shape (validators, shards or shard size)")]
    ShapeMismatch,
}

impl TransEpochError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BatchTooLarge { .. } => "batch_too_large",
            Self::ZeroBatch => "zero_batch",
            Self::ShapeMismatch => "shape_mismatch",
        }
    }
}

/// The largest batch allowed for shards of `shard_size`: the largest `b` with `3b < shard_size`.
pub fn max_batch(shard_size: u32) -> u32 {
    shard_size.saturating_sub(1) / 3
}

/// The default batch: a sixth of a shard (at least one), leaving half of the one-third margin for
/// faulty or crashed members.
pub fn default_batch(shard_size: u32) -> u32 {
    (shard_size / 6).max(1)
}

/// Checks that `batch` is allowed for shards of `shard_size`.
pub fn check_batch(batch: u32, shard_size: u32) -> Result<(), TransEpochError> {
    if batch == 0 {
        return Err(TransEpochError::ZeroBatch);
    }
    if batch.saturating_mul(3) >= shard_size {
        return Err(TransEpochError::BatchTooLarge { batch, shard_size });
    }
    Ok(())
}

/// The batches that move `old` to `new`, each moving at most `batch` validators out of and into
/// any one shard.
pub fn plan(
    old: &Assignment,
    new: &Assignment,
    batch: u32,
) -> Result<Vec<Vec<Move>>, TransEpochError> {
    if old.validators() != new.validators()
        || old.shards() != new.shards()
        || old.shard_size() != new.shard_size()
    {
        return Err(TransEpochError::ShapeMismatch);
    }
    check_batch(batch, new.shard_size())?;
    let mut pending: Vec<Move> = (0..new.validators())
        .filter_map(|node| {
            let (from, to) = (old.shard_of(node), new.shard_of(node));
            (from != to).then_some(Move { node, from, to })
        })
        .collect();
    let shards = new.shards() as usize;
    let mut batches = Vec::new();
    while !pending.is_empty() {
        let (mut outs, mut ins) = (vec![0u32; shards], vec![0u32; shards]);
        let mut this = Vec::new();
        pending.retain(|mv| {
            let room_out = mv.from.is_none_or(|s| outs[s as usize] < batch);
            let room_in = mv.to.is_none_or(|s| ins[s as usize] < batch);
            if room_out && room_in {
                if let Some(s) = mv.from {
                    outs[s as usize] += 1;
                }
                if let Some(s) = mv.to {
                    ins[s as usize] += 1;
                }
                this.push(*mv);
                false
            } else {
                true
            }
        });
        batches.push(this);
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_limit_and_reach_the_new_assignment() {
        let old = Assignment::new(&[1; 32], 40, 4).unwrap();
        let new = Assignment::new(&[2; 32], 40, 4).unwrap();
        let b = default_batch(10);
        assert_eq!(b, 1);
        let batches = plan(&old, &new, 3).unwrap();
        let mut shard_of: Vec<Option<u32>> = (0..40).map(|v| old.shard_of(v)).collect();
        for batch in &batches {
            assert!(!batch.is_empty());
            for s in 0..4 {
                assert!(batch.iter().filter(|m| m.from == Some(s)).count() <= 3);
                assert!(batch.iter().filter(|m| m.to == Some(s)).count() <= 3);
            }
            for m in batch {
                assert_eq!(shard_of[m.node as usize], m.from);
                shard_of[m.node as usize] = m.to;
            }
        }
        assert!((0..40).all(|v| shard_of[v as usize] == new.shard_of(v)));
    }

    #[test]
    fn a_third_or_more_is_refused() {
        let old = Assignment::new(&[1; 32], 24, 2).unwrap();
        let new = Assignment::new(&[2; 32], 24, 2).unwrap();
        assert_eq!(max_batch(12), 3);
        assert!(plan(&old, &new, 3).is_ok());
        assert_eq!(
            plan(&old, &new, 4),
            Err(TransEpochError::BatchTooLarge {
                batch: 4,
                shard_size: 12
            })
        );
        assert_eq!(plan(&old, &new, 0), Err(TransEpochError::ZeroBatch));
        let other = Assignment::new(&[2; 32], 24, 3).unwrap();
        assert_eq!(plan(&old, &other, 1), Err(TransEpochError::ShapeMismatch));
    }
}
