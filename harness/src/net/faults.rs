//! Link faults a node applies to its own outgoing messages: delay, jitter, loss and scheduled
//! partitions, emulated in user space at the sender.
//!
//! Why not the kernel: `tc netem` in network namespaces is the usual tool, but it needs the
//! `sch_netem` module, which the development VM's kernel lacks ("Specified qdisc kind is
//! unknown"), and root. Emulating at the sender works on any machine and per link; a message is
//! held before it enters its TCP connection, so a delayed message delays the ones behind it (a
//! connection stays in order, as TCP keeps it).
//!
//! Two kinds of loss:
//! - `loss`: packet loss as TCP sees it under netem — the segment is retransmitted after the
//!   retransmission timeout, so the message arrives late (200 ms, Linux's minimum RTO, doubling
//!   for each further loss of the same message) and holds back the messages behind it;
//! - `drop`: the message is gone (a transport without retransmission, or a peer that discards):
//!   the harsher case, which only the protocol's own retries and timeouts recover from.
//!
//! Partitions are windows of wall-clock time (Unix milliseconds) in which messages to the listed
//! peers are dropped. Absolute times let every process of a network — a restarted one too — apply
//! the same schedule; both sides of a partition list each other, so it cuts both directions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::node::NodeId;

/// A window in which messages to `peers` are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    pub from_unix_ms: u64,
    pub until_unix_ms: u64,
    pub peers: Vec<NodeId>,
}

/// The faults a node applies to everything it sends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkFaults {
    /// Added to every message, milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
    /// Uniform extra delay up to this, milliseconds.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Probability that a message's packet is lost and retransmitted (arrives an RTO late).
    #[serde(default)]
    pub loss: f64,
    /// Probability that a message is dropped for good.
    #[serde(default)]
    pub drop: f64,
    #[serde(default)]
    pub partitions: Vec<Partition>,
}

/// Bounds on a configuration's faults.
const MAX_DELAY_MS: u64 = 60_000;
const MAX_PARTITIONS: usize = 64;

impl LinkFaults {
    /// Whether anything is emulated at all.
    pub fn is_none(&self) -> bool {
        self.delay_ms == 0
            && self.jitter_ms == 0
            && self.loss == 0.0
            && self.drop == 0.0
            && self.partitions.is_empty()
    }

    /// Checks the faults against a roster of `members`.
    pub fn validate(&self, members: usize) -> Result<(), String> {
        // Below 1: a message lost with certainty would be retransmitted forever.
        if !(0.0..1.0).contains(&self.loss) {
            return Err(format!("loss {} is not a probability below 1", self.loss));
        }
        if !(0.0..=1.0).contains(&self.drop) {
            return Err(format!("drop {} is not a probability", self.drop));
        }
        if self.delay_ms > MAX_DELAY_MS || self.jitter_ms > MAX_DELAY_MS {
            return Err(format!("delay and jitter are at most {MAX_DELAY_MS} ms"));
        }
        if self.partitions.len() > MAX_PARTITIONS {
            return Err(format!("at most {MAX_PARTITIONS} partitions"));
        }
        for p in &self.partitions {
            if p.until_unix_ms < p.from_unix_ms {
                return Err("a partition ends before it starts".into());
            }
            if let Some(bad) = p.peers.iter().find(|&&id| id as usize >= members) {
                return Err(format!(
                    "partition names node {bad}, not in the roster of {members}"
                ));
            }
        }
        Ok(())
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Linux's minimum TCP retransmission timeout: what one lost packet costs.
pub const RTO: Duration = Duration::from_millis(200);
/// Retransmissions of one message at most (the RTO doubles each time).
const MAX_RETRANSMISSIONS: u32 = 6;

/// What the emulation decides for one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it after this delay.
    Send(Duration),
    /// Dropped by the drop draw.
    Lost,
    /// Dropped by a partition.
    Partitioned,
}

/// The faults with their random source.
pub struct Emulator {
    faults: LinkFaults,
    rng: ChaCha20Rng,
}

impl Emulator {
    /// An emulator drawing from OS randomness.
    pub fn new(faults: LinkFaults) -> Emulator {
        Emulator::seeded(faults, rand::rng().random())
    }

    pub fn seeded(faults: LinkFaults, seed: [u8; 32]) -> Emulator {
        Emulator {
            faults,
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// Decides the fate of a message to `to` sent now.
    pub fn judge(&mut self, to: NodeId) -> Verdict {
        self.judge_at(to, unix_ms())
    }

    /// [`Emulator::judge`] at wall-clock time `now_unix_ms`.
    pub fn judge_at(&mut self, to: NodeId, now_unix_ms: u64) -> Verdict {
        let f = &self.faults;
        if f.partitions.iter().any(|p| {
            (p.from_unix_ms..p.until_unix_ms).contains(&now_unix_ms) && p.peers.contains(&to)
        }) {
            return Verdict::Partitioned;
        }
        if f.drop > 0.0 && self.rng.random::<f64>() < f.drop {
            return Verdict::Lost;
        }
        let jitter = if f.jitter_ms > 0 {
            self.rng.random_range(0..=f.jitter_ms * 1000)
        } else {
            0
        };
        let mut delay = Duration::from_micros(f.delay_ms * 1000 + jitter);
        let mut rto = RTO;
        let mut tries = 0;
        while f.loss > 0.0 && tries < MAX_RETRANSMISSIONS && self.rng.random::<f64>() < f.loss {
            delay += rto;
            rto *= 2;
            tries += 1;
        }
        Verdict::Send(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cut_listed_peers_inside_their_window_only() {
        let faults = LinkFaults {
            partitions: vec![Partition {
                from_unix_ms: 1_000,
                until_unix_ms: 2_000,
                peers: vec![2, 3],
            }],
            ..LinkFaults::default()
        };
        let mut e = Emulator::seeded(faults, [0; 32]);
        assert_eq!(e.judge_at(2, 1_500), Verdict::Partitioned);
        assert_eq!(e.judge_at(3, 1_000), Verdict::Partitioned);
        assert_eq!(e.judge_at(1, 1_500), Verdict::Send(Duration::ZERO));
        assert_eq!(e.judge_at(2, 2_000), Verdict::Send(Duration::ZERO));
        assert_eq!(e.judge_at(2, 999), Verdict::Send(Duration::ZERO));
    }

    #[test]
    fn drops_loss_and_jitter_stay_within_their_settings() {
        let faults = LinkFaults {
            delay_ms: 10,
            jitter_ms: 5,
            loss: 0.2,
            drop: 0.1,
            partitions: Vec::new(),
        };
        let mut e = Emulator::seeded(faults, [7; 32]);
        let (mut dropped, mut retransmitted, mut sent) = (0, 0, 0);
        for _ in 0..10_000 {
            match e.judge_at(1, 0) {
                Verdict::Lost => dropped += 1,
                Verdict::Send(d) => {
                    sent += 1;
                    let base = d.as_micros() % RTO.as_micros();
                    assert!((10_000..=15_000).contains(&base), "{d:?}");
                    if d >= RTO {
                        retransmitted += 1;
                    }
                }
                Verdict::Partitioned => panic!("no partition configured"),
            }
        }
        // 10% dropped, 20% of the rest late by an RTO or more, with wide margins (sd <= 40).
        assert!((800..1200).contains(&dropped), "{dropped}");
        let share = retransmitted as f64 / sent as f64;
        assert!((0.17..0.23).contains(&share), "{share}");
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad_loss = LinkFaults {
            loss: 1.5,
            ..LinkFaults::default()
        };
        assert!(bad_loss.validate(4).is_err());
        let bad_peer = LinkFaults {
            partitions: vec![Partition {
                from_unix_ms: 0,
                until_unix_ms: 1,
                peers: vec![4],
            }],
            ..LinkFaults::default()
        };
        assert!(bad_peer.validate(4).is_err());
        assert!(LinkFaults::default().validate(4).is_ok());
    }
}
