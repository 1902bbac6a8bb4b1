//! A whole CoSi round in-process, over a tree of chosen fan-out (tests, benchmarks, demos).
//!
//! The participants, in roster order, are laid out as a complete `k`-ary tree in heap order: the
//! first participant is the leader, node `j`'s children are nodes `j·k + 1 ..= j·k + k`. Every
//! message goes through the same functions a networked driver would call, members check their
//! challenge, and inner nodes aggregate exactly what their children sent.

use std::ops::Range;

use rayon::prelude::*;

use super::protocol::{
    Commitment, Response, aggregate_commitments, aggregate_responses, challenge, commit, finalize,
    respond,
};
use super::signature::CollectiveSignature;
use super::{CosiError, MemberKey, Roster};
use crate::cosi::Mask;

/// The shape of the aggregation tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// The leader talks to every participant directly (depth 1).
    Star,
    /// A complete tree with `fanout` children per inner node (`0` is taken as `1`, a chain).
    Tree { fanout: usize },
}

impl Topology {
    fn fanout(self, nodes: usize) -> usize {
        match self {
            Topology::Star => nodes.saturating_sub(1),
            Topology::Tree { fanout } => fanout,
        }
        .max(1)
    }
}

/// Runs announcement, commitment, challenge, response and assembly for the members set in
/// `participants`; absent members' bits stay off. `keys[i]` is member `i`'s key (only the
/// participants' are used).
pub fn run_round<R: rand::CryptoRng + ?Sized>(
    roster: &Roster,
    keys: &[MemberKey],
    participants: &Mask,
    msg: &[u8],
    topology: Topology,
    rng: &mut R,
) -> Result<CollectiveSignature, CosiError> {
    if keys.len() != roster.len() {
        return Err(CosiError::KeyCount {
            given: keys.len(),
            members: roster.len(),
        });
    }
    roster.check_mask(participants)?;
    let nodes: Vec<usize> = participants.participants().collect();
    if nodes.is_empty() {
        return Err(CosiError::NothingToAggregate);
    }
    let fanout = topology.fanout(nodes.len());

    // Commitments (the RNG is sequential; the scalar multiplications are not the bottleneck here).
    let mut nonces = Vec::with_capacity(nodes.len());
    let mut own = Vec::with_capacity(nodes.len());
    for &i in &nodes {
        let (nonce, commitment) = commit(roster, i, &keys[i], msg, rng)?;
        nonces.push(nonce);
        own.push(commitment);
    }
    let subtree = up_the_tree(nodes.len(), fanout, |j, kids: &[&Commitment]| {
        aggregate_commitments(roster, std::iter::once(&own[j]).chain(kids.iter().copied()))
    })?;
    let challenge = challenge(roster, &subtree, msg)?;

    // Every participant checks the challenge (recomputing A') and responds.
    let own: Vec<Response> = nonces
        .into_par_iter()
        .map(|nonce| {
            let i = nonce.index();
            respond(roster, &keys[i], nonce, &challenge, msg)
        })
        .collect::<Result<_, _>>()?;
    let total = up_the_tree(nodes.len(), fanout, |j, kids: &[&Response]| {
        aggregate_responses(roster, std::iter::once(&own[j]).chain(kids.iter().copied()))
    })?;
    finalize(&challenge, &total)
}

/// Node `j`'s children in a heap-ordered `fanout`-ary tree of `count` nodes.
fn children(j: usize, fanout: usize, count: usize) -> Range<usize> {
    let first = j.saturating_mul(fanout).saturating_add(1);
    let end = first.saturating_add(fanout).min(count);
    first.min(end)..end
}

/// Aggregates bottom-up over a heap-ordered tree of `count` nodes; returns the root's aggregate.
fn up_the_tree<T>(
    count: usize,
    fanout: usize,
    mut aggregate: impl FnMut(usize, &[&T]) -> Result<T, CosiError>,
) -> Result<T, CosiError> {
    let mut done: Vec<Option<T>> = (0..count).map(|_| None).collect();
    // Children have larger indices than their parent, so reverse order visits them first.
    for j in (0..count).rev() {
        let (head, tail) = done.split_at_mut(j + 1);
        let kids: Vec<&T> = children(j, fanout, count)
            .map(|c| {
                tail[c - j - 1]
                    .as_ref()
                    .expect("child aggregated before parent")
            })
            .collect();
        head[j] = Some(aggregate(j, &kids)?);
    }
    Ok(done
        .swap_remove(0)
        .expect("root aggregated (count is non-zero)"))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn children_cover_every_node_once() {
        for (count, topology) in [
            (1, Topology::Star),
            (7, Topology::Star),
            (10, Topology::Tree { fanout: 2 }),
            (10, Topology::Tree { fanout: 4 }),
            (5, Topology::Tree { fanout: 0 }),
        ] {
            let fanout = topology.fanout(count);
            let mut seen = vec![0; count];
            for j in 0..count {
                for c in children(j, fanout, count) {
                    assert!(c > j);
                    seen[c] += 1;
                }
            }
            assert_eq!(seen[0], 0);
            assert!(seen[1..].iter().all(|&s| s == 1), "{count} {topology:?}");
        }
    }

    #[test]
    fn refuses_bad_inputs() {
        let mut rng = StdRng::seed_from_u64(3);
        let keys: Vec<_> = (0..3).map(|_| MemberKey::generate(&mut rng)).collect();
        let regs: Vec<_> = keys.iter().map(MemberKey::registration).collect();
        let roster = Roster::from_registrations(&regs).unwrap();
        let run = |keys: &[MemberKey], mask: &Mask, rng: &mut StdRng| {
            run_round(&roster, keys, mask, b"m", Topology::Star, rng)
        };
        assert_eq!(
            run(&keys[..2], &Mask::full(3), &mut rng).unwrap_err(),
            CosiError::KeyCount {
                given: 2,
                members: 3
            }
        );
        assert_eq!(
            run(&keys, &Mask::empty(3), &mut rng).unwrap_err(),
            CosiError::NothingToAggregate
        );
        let mut swapped = keys.clone();
        swapped.swap(0, 1);
        assert_eq!(
            run(&swapped, &Mask::full(3), &mut rng).unwrap_err(),
            CosiError::KeyMismatch { index: 0 }
        );
    }
}
