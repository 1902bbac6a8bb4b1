//! The simulated network: per-link latency, jitter, loss and duplication, and scheduled
//! partitions, behind [`Transport`].
//!
//! Invariants:
//! - every random draw (jitter, loss, duplication) comes from one ChaCha8 stream seeded from the run seed, in
//!   the order messages are sent, so the same run draws the same values;
//! - jitter and loss are computed with this module's own integer arithmetic on the stream's `u64`
//!   outputs (not a library distribution whose algorithm could change between versions);
//! - a message between nodes in different groups of a partition active at send time is dropped;
//!   nodes listed in no group of a partition form one more group together;
//! - the network never reorders by itself beyond what latency and jitter imply, and never alters
//!   a message; a duplicated message is delivered twice, each copy with its own jitter;
//! - a link without duplication draws nothing for it, so adding the option changed no earlier
//!   run's trace;
//! - an optional in-flight adversary ([`SimNetwork::set_adversary`], for scenario tests) sees every
//!   message as it is sent and says what the network carries instead — nothing, the message
//!   altered, several messages, messages it held back earlier, even with another sender (a
//!   spoofing network); what it returns then meets partitions, loss and latency like any message,
//!   and is traced as sent. Without one, nothing changes.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use crate::node::{NodeId, Time, Transport};

/// Latency, jitter and loss of a link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    /// Base one-way latency in microseconds.
    pub latency: u64,
    /// Extra delay drawn uniformly from `0..=jitter` microseconds.
    pub jitter: u64,
    /// Probability in `[0, 1]` that a message is lost.
    pub loss: f64,
    /// Probability in `[0, 1]` that a delivered message is delivered a second time.
    pub duplicate: f64,
}

/// A scheduled partition: during `[start, end)` only nodes of the same group can talk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub start: Time,
    pub end: Time,
    pub groups: Vec<Vec<NodeId>>,
}

impl Partition {
    pub fn separates(&self, at: Time, a: NodeId, b: NodeId) -> bool {
        (self.start..self.end).contains(&at) && groups_separate(&self.groups, a, b)
    }
}

/// Whether `a` and `b` are in different groups of `groups` (nodes in no group form one more
/// group together).
fn groups_separate(groups: &[Vec<NodeId>], a: NodeId, b: NodeId) -> bool {
    let group_of = |n: NodeId| {
        groups
            .iter()
            .position(|g| g.contains(&n))
            .unwrap_or(groups.len())
    };
    group_of(a) != group_of(b)
}

/// Why the network dropped a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    Loss,
    Partition,
}

impl DropReason {
    pub fn code(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
        }
    }
}

/// What the network decided for one message.
#[derive(Debug)]
pub enum Fate<M> {
    Deliver {
        from: NodeId,
        to: NodeId,
        at: Time,
        msg: M,
        /// Whether this is the network's second copy of a message.
        copy: bool,
    },
    Dropped {
        from: NodeId,
        to: NodeId,
        reason: DropReason,
        msg: M,
    },
}

/// An in-flight adversary: given (now, from, to, message) as sent, the (from, to, message)
/// envelopes the network carries instead, in order.
pub type Adversary<M> = Box<dyn FnMut(Time, NodeId, NodeId, M) -> Vec<(NodeId, NodeId, M)> + Send>;

/// The network model and the fates of the messages sent since the simulator last drained them.
pub struct SimNetwork<M> {
    default_link: LinkModel,
    /// Per-link overrides, keyed by (from, to).
    links: std::collections::BTreeMap<(NodeId, NodeId), LinkModel>,
    partitions: Vec<Partition>,
    /// A partition its driver turns on and off ([`SimNetwork::set_cut`]), on top of the
    /// scheduled ones.
    cut: Option<Vec<Vec<NodeId>>>,
    rng: ChaCha8Rng,
    fates: Vec<Fate<M>>,
    adversary: Option<Adversary<M>>,
}

/// 2⁻⁵³, to turn 53 random bits into a float in `[0, 1)`.
const UNIT: f64 = 1.0 / (1u64 << 53) as f64;

impl<M> SimNetwork<M> {
    pub fn new(
        default_link: LinkModel,
        links: std::collections::BTreeMap<(NodeId, NodeId), LinkModel>,
        partitions: Vec<Partition>,
        seed: u64,
    ) -> Self {
        Self {
            default_link,
            links,
            partitions,
            cut: None,
            rng: ChaCha8Rng::seed_from_u64(seed),
            fates: Vec::new(),
            adversary: None,
        }
    }

    /// Puts an adversary on every link (see the module documentation).
    pub fn set_adversary(&mut self, adversary: Adversary<M>) {
        self.adversary = Some(adversary);
    }

    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// From now until the next call, only nodes of the same group of `groups` can talk (nodes in
    /// no group form one more group together); `None` lifts the cut. For a driver whose
    /// partitions follow a clock other than this network's: the demo's shard cuts its normal
    /// league's links, whose simulator runs on its own clock, while a partition of the demo's
    /// configuration is on.
    pub fn set_cut(&mut self, groups: Option<Vec<Vec<NodeId>>>) {
        self.cut = groups;
    }

    /// The groups of the cut now in force, if any.
    pub fn cut(&self) -> Option<&[Vec<NodeId>]> {
        self.cut.as_deref()
    }

    fn separated(&self, now: Time, from: NodeId, to: NodeId) -> bool {
        let cut = self
            .cut
            .as_ref()
            .is_some_and(|groups| groups_separate(groups, from, to));
        cut || self.partitions.iter().any(|p| p.separates(now, from, to))
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> LinkModel {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    /// The fates decided since the last call, in send order.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Fate<M>> {
        self.fates.drain(..)
    }

    /// A uniform integer in `0..=max` (unbiased: rejection sampling).
    fn uniform_inclusive(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.rng.next_u64();
        }
        let bound = max + 1;
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let x = self.rng.next_u64();
            if x >= threshold {
                return x % bound;
            }
        }
    }

    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * UNIT
    }
}

impl<M: Clone> Transport<M> for SimNetwork<M> {
    fn send(&mut self, now: Time, from: NodeId, to: NodeId, msg: M) {
        match self.adversary.take() {
            None => self.carry(now, from, to, msg),
            Some(mut adversary) => {
                for (from, to, msg) in adversary(now, from, to, msg) {
                    self.carry(now, from, to, msg);
                }
                self.adversary = Some(adversary);
            }
        }
    }
}

impl<M: Clone> SimNetwork<M> {
    /// The network's own fate for one message: partition, loss, duplication, latency and jitter.
    fn carry(&mut self, now: Time, from: NodeId, to: NodeId, msg: M) {
        if self.separated(now, from, to) {
            self.fates.push(Fate::Dropped {
                from,
                to,
                reason: DropReason::Partition,
                msg,
            });
            return;
        }
        let link = self.link(from, to);
        if link.loss > 0.0 && self.unit() < link.loss {
            self.fates.push(Fate::Dropped {
                from,
                to,
                reason: DropReason::Loss,
                msg,
            });
            return;
        }
        let jitter = if link.jitter > 0 {
            self.uniform_inclusive(link.jitter)
        } else {
            0
        };
        if link.duplicate > 0.0 && self.unit() < link.duplicate {
            let jitter = if link.jitter > 0 {
                self.uniform_inclusive(link.jitter)
            } else {
                0
            };
            self.fates.push(Fate::Deliver {
                from,
                to,
                at: now + link.latency + jitter,
                msg: msg.clone(),
                copy: true,
            });
        }
        self.fates.push(Fate::Deliver {
            from,
            to,
            at: now + link.latency + jitter,
            msg,
            copy: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(loss: f64, partitions: Vec<Partition>) -> SimNetwork<u32> {
        SimNetwork::new(
            LinkModel {
                latency: 100,
                jitter: 50,
                loss,
                duplicate: 0.0,
            },
            Default::default(),
            partitions,
            42,
        )
    }

    #[test]
    fn latency_within_jitter_and_reproducible() {
        let run = || {
            let mut n = net(0.0, vec![]);
            for i in 0..200 {
                n.send(10, 0, 1, i);
            }
            n.drain()
                .map(|f| match f {
                    Fate::Deliver { at, .. } => at,
                    Fate::Dropped { .. } => panic!("no loss configured"),
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert!(a.iter().all(|&t| (110..=160).contains(&t)));
        assert!(a.iter().any(|&t| t != a[0]), "jitter varies");
        assert_eq!(a, run());
    }

    #[test]
    fn duplication_rate_and_copies() {
        let mut n = net(0.0, vec![]);
        n.default_link.duplicate = 0.25;
        for i in 0..4000u32 {
            n.send(0, 0, 1, i);
        }
        let fates: Vec<(u32, bool)> = n
            .drain()
            .map(|f| match f {
                Fate::Deliver { msg, copy, .. } => (msg, copy),
                Fate::Dropped { .. } => panic!("no loss configured"),
            })
            .collect();
        let copies: Vec<u32> = fates.iter().filter(|f| f.1).map(|f| f.0).collect();
        assert!(
            (800..1200).contains(&copies.len()),
            "{} copies of 4000 at p = 0.25",
            copies.len()
        );
        assert_eq!(fates.len(), 4000 + copies.len());
        // Every copy is of a message that is also delivered as itself.
        for c in copies {
            assert_eq!(fates.iter().filter(|f| f.0 == c).count(), 2);
        }
    }

    #[test]
    fn loss_rate_and_partitions() {
        let mut n = net(0.25, vec![]);
        for i in 0..4000 {
            n.send(0, 0, 1, i);
        }
        let lost = n
            .drain()
            .filter(|f| matches!(f, Fate::Dropped { .. }))
            .count();
        assert!(
            (800..1200).contains(&lost),
            "lost {lost} of 4000 at p = 0.25"
        );

        let p = Partition {
            start: 100,
            end: 200,
            groups: vec![vec![0, 1], vec![2]],
        };
        let mut n = net(0.0, vec![p]);
        n.send(150, 0, 1, 0);
        n.send(150, 0, 2, 1);
        n.send(150, 3, 2, 2);
        n.send(250, 0, 2, 3);
        let dropped = partitioned(&mut n);
        assert_eq!(dropped, vec![1, 2]);
    }

    /// The messages dropped since the last drain, each by a partition.
    fn partitioned(n: &mut SimNetwork<u32>) -> Vec<u32> {
        n.drain()
            .filter_map(|f| match f {
                Fate::Dropped { msg, reason, .. } => {
                    assert_eq!(reason, DropReason::Partition);
                    Some(msg)
                }
                Fate::Deliver { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_cut_drops_between_its_groups_until_lifted() {
        let mut n = net(0.0, vec![]);
        n.set_cut(Some(vec![vec![0, 1]]));
        n.send(10, 0, 1, 0);
        n.send(10, 1, 2, 1);
        n.send(10, 2, 3, 2);
        n.send(10, 3, 0, 3);
        n.set_cut(None);
        n.send(20, 0, 2, 4);
        let dropped = partitioned(&mut n);
        assert_eq!(dropped, vec![1, 3], "0 and 1 against the rest, then no cut");
    }
}
