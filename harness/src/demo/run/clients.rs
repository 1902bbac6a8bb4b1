//! The client side of a run and the network between shards: arrivals released at their time,
//! cross-shard transactions driven by Atomix clients (lock requests out, proofs in, certificates
//! out as finishes), crashed clients recovered by fresh ones, and the configured client faults
//! (crash after the locks, replayed finishes).

use std::collections::{BTreeMap, HashMap};
use std::iter::Peekable;

use iosv_engine::tx::{Transaction, TxId};

use crate::atomix::{
    AtomixClient, AtomixProof, Certificate, ClientAction, Directory, Outcome, ShardMap,
    VerifiedBatches,
};
use crate::demo::config::{DemoConfig, Fault};
use crate::demo::shard::RoundOutput;
use crate::demo::workload::{Arrival, Kind};

/// The driver's count of cross-shard transactions.
#[derive(Clone, Debug, Default)]
pub struct CrossStats {
    pub committed: u64,
    pub aborted: u64,
    pub client_crashes: u64,
    pub recovered: u64,
    pub replays_sent: u64,
    /// (arrival, last finish) per finished transaction, µs.
    pub finals: Vec<(u64, u64)>,
    pub errors: Vec<String>,
}

impl CrossStats {
    /// Adds another client node's counts to these.
    pub(super) fn absorb(&mut self, other: CrossStats) {
        self.committed += other.committed;
        self.aborted += other.aborted;
        self.client_crashes += other.client_crashes;
        self.recovered += other.recovered;
        self.replays_sent += other.replays_sent;
        self.finals.extend(other.finals);
        self.errors.extend(other.errors);
    }
}

/// A cross-shard transaction in flight.
struct Flight {
    client: AtomixClient,
    arrived_us: u64,
    /// Finishes still to be applied.
    pending: usize,
    /// Its client crashes after the locks (a fault): a fresh one recovers it next round.
    crashes: bool,
    replay: bool,
}

/// What the clients hand each shard in one tick (indexed by shard).
pub(super) struct Outbox {
    pub(super) inboxes: Vec<Vec<Arrival>>,
    pub(super) locks: Vec<Vec<Transaction>>,
    pub(super) finishes: Vec<Vec<(Transaction, Certificate)>>,
}

impl Outbox {
    fn new(shards: usize) -> Outbox {
        Outbox {
            inboxes: vec![Vec::new(); shards],
            locks: vec![Vec::new(); shards],
            finishes: vec![Vec::new(); shards],
        }
    }

    fn lock_requests(&mut self, actions: Vec<ClientAction>) {
        for action in actions {
            if let ClientAction::Lock { shard, tx } = action {
                self.locks[shard as usize].push(tx);
            }
        }
    }
}

/// Every client of the run.
pub(super) struct Clients<I: Iterator<Item = Arrival>> {
    map: ShardMap,
    arrivals: Peekable<I>,
    flights: HashMap<TxId, Flight>,
    /// Crashed clients' transactions, restarted by fresh clients next tick.
    recover: Vec<TxId>,
    /// By txid, so that certificates go out in one order on every run (the simulated demo's
    /// trace depends on it).
    proofs: BTreeMap<TxId, Vec<AtomixProof>>,
    /// The simulated clients share one cache of verified batch signatures: every distinct
    /// collective signature is verified once, by the first client holding a proof from that
    /// batch; the inclusion proofs are checked per client.
    cache: VerifiedBatches,
    crash_every: Option<u64>,
    replay_every: Option<u64>,
    cross_seen: u64,
    pub(super) cross: CrossStats,
}

impl<I: Iterator<Item = Arrival>> Clients<I> {
    pub(super) fn new(cfg: &DemoConfig, map: ShardMap, arrivals: I) -> Self {
        Clients {
            map,
            arrivals: arrivals.peekable(),
            flights: HashMap::new(),
            recover: Vec::new(),
            proofs: BTreeMap::new(),
            cache: VerifiedBatches::new(),
            crash_every: cfg.faults.iter().find_map(|f| match *f {
                Fault::ClientCrashAfterLock { every } => Some(every),
                _ => None,
            }),
            replay_every: cfg.faults.iter().find_map(|f| match *f {
                Fault::ReplayAtomixProofs { every } => Some(every),
                _ => None,
            }),
            cross_seen: 0,
            cross: CrossStats::default(),
        }
    }

    /// The arrivals due by `now_us` and the recoveries of crashed clients, as requests.
    pub(super) fn send(&mut self, now_us: u64) -> anyhow::Result<Outbox> {
        let mut out = Outbox::new(self.map.shards() as usize);
        while let Some(a) = self.arrivals.next_if(|a| a.at_us <= now_us) {
            match a.kind {
                Kind::CrossShard => {
                    self.cross_seen += 1;
                    let client = AtomixClient::new(a.tx, &self.map)?;
                    out.lock_requests(client.start());
                    let seen = self.cross_seen;
                    self.flights.insert(
                        a.txid,
                        Flight {
                            client,
                            arrived_us: a.at_us,
                            pending: 0,
                            crashes: self.crash_every.is_some_and(|k| seen.is_multiple_of(k)),
                            replay: self.replay_every.is_some_and(|k| seen.is_multiple_of(k)),
                        },
                    );
                }
                Kind::InShard | Kind::Invalid => {
                    let s = a.shard as usize;
                    out.inboxes[s].push(a);
                }
            }
        }
        for txid in std::mem::take(&mut self.recover) {
            if let Some(f) = self.flights.get_mut(&txid) {
                f.client = AtomixClient::new(f.client.tx().clone(), &self.map)?;
                f.crashes = false;
                self.cross.recovered += 1;
                out.lock_requests(f.client.start());
            }
        }
        Ok(out)
    }

    /// A shard's round output at `now_us`: finished cross-shard transactions, sealed proofs.
    pub(super) fn receive(&mut self, round: RoundOutput, now_us: u64) {
        for (txid, outcome) in round.finished {
            if let Some(f) = self.flights.get_mut(&txid) {
                f.pending = f.pending.saturating_sub(1);
                if f.pending == 0 {
                    match outcome {
                        Outcome::Committed => self.cross.committed += 1,
                        Outcome::Aborted => self.cross.aborted += 1,
                    }
                    self.cross.finals.push((f.arrived_us, now_us));
                    self.flights.remove(&txid);
                }
            }
        }
        for proof in round.proofs {
            self.proofs
                .entry(proof.statement.txid)
                .or_default()
                .push(proof);
        }
    }

    /// Each client checks the proofs it received; complete sets become finishes in `out`.
    pub(super) fn certify(&mut self, dir: &Directory, out: &mut Outbox) {
        for (txid, ps) in std::mem::take(&mut self.proofs) {
            let Some(f) = self.flights.get_mut(&txid) else {
                continue;
            };
            if f.crashes {
                if !self.recover.contains(&txid) {
                    self.recover.push(txid);
                    self.cross.client_crashes += 1;
                }
                continue;
            }
            for proof in ps {
                match f.client.on_proof_cached(proof, dir, &mut self.cache) {
                    Ok(actions) => {
                        for action in actions {
                            if let ClientAction::Finish {
                                shard,
                                tx,
                                certificate,
                            } = action
                            {
                                f.pending += 1;
                                if f.replay {
                                    out.finishes[shard as usize]
                                        .push((tx.clone(), certificate.clone()));
                                    self.cross.replays_sent += 1;
                                }
                                out.finishes[shard as usize].push((tx, certificate));
                            }
                        }
                    }
                    Err(e) => self.cross.errors.push(e.to_string()),
                }
            }
        }
    }

    /// Whether every arrival was released.
    pub(super) fn all_sent(&mut self) -> bool {
        self.arrivals.peek().is_none()
    }

    /// Whether no cross-shard transaction is in flight or waiting for recovery.
    pub(super) fn settled(&self) -> bool {
        self.flights.is_empty() && self.recover.is_empty()
    }

    /// Cross-shard transactions still in flight.
    pub(super) fn in_flight(&self) -> usize {
        self.flights.len()
    }
}
