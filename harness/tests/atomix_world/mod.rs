//! A caller-scheduled world for Atomix's adversarial tests: shards, a directory of current rosters,
//! clients, and a pool of pending messages delivered, lost or replayed in whatever order the test
//! chooses, with roster rotation, recovery after epochs and replays of old finishes. It adds no
//! rule of its own: every decision is the shards' and clients', and every refusal is kept in
//! [`AtomixWorld::refusals`] for inspection.
//!
//! Not an event loop: there is no clock and no network model, only "deliver message k now" —
//! the interleavings a model checker would pick, which a timed simulator reaches only by luck.
//! Atomix under timing, loss, duplication and crashes runs as `atomix::AtomixNode`s on the one
//! simulator (`tests/protocol_sim/atomix.rs`). Shared by `atomix_scenarios` and `atomix_props`.
#![allow(dead_code)]

pub mod fixtures;

use std::collections::BTreeSet;

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::MemberKey;
use iosv_engine::tx::{OutPoint, Transaction, TxId, TxOutput};
use iosv_engine::utxo::{ShardState, UtxoSet};
use rand::CryptoRng;

use iosv_harness::atomix::{
    AtomixClient, AtomixError, AtomixShard, Certificate, CertificateError, ClientAction, Directory,
    Outcome, ProofError, ShardId, ShardMap,
};

/// UTXO set shards inside each Atomix shard's set (small: the driver's sets are small).
const UTXO_SHARDS: usize = 4;

/// A message in flight, from the client that sent it.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub client: usize,
    pub action: ClientAction,
}

struct Slot {
    client: AtomixClient,
    crashed: bool,
}

/// A finish that a shard accepted, kept so that it can be replayed.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub shard: ShardId,
    pub tx: Transaction,
    pub certificate: Certificate,
}

/// Shards, rosters, clients and the network between them.
pub struct AtomixWorld {
    map: ShardMap,
    members: usize,
    shards: Vec<AtomixShard>,
    dir: Directory,
    clients: Vec<Slot>,
    network: Vec<Envelope>,
    delivered: Vec<Delivered>,
    refusals: Vec<AtomixError>,
}

impl AtomixWorld {
    /// `shards` shards of `members` members each (fresh keys from `rng`), signing under `policy`.
    pub fn new<R: CryptoRng + ?Sized>(
        shards: u32,
        members: usize,
        policy: Policy,
        rng: &mut R,
    ) -> Result<AtomixWorld, AtomixError> {
        let map = ShardMap::new(shards);
        let mut dir = Directory::new();
        let mut all = Vec::new();
        for id in 0..map.shards() {
            let keys = (0..members).map(|_| MemberKey::generate(rng)).collect();
            let shard = AtomixShard::new(
                id,
                map,
                policy,
                keys,
                ShardState::new(UtxoSet::with_shards(UTXO_SHARDS)),
            )?;
            dir.update(shard.info().clone());
            all.push(shard);
        }
        Ok(AtomixWorld {
            map,
            members,
            shards: all,
            dir,
            clients: Vec::new(),
            network: Vec::new(),
            delivered: Vec::new(),
            refusals: Vec::new(),
        })
    }

    pub fn map(&self) -> &ShardMap {
        &self.map
    }

    pub fn shards(&self) -> &[AtomixShard] {
        &self.shards
    }

    pub fn shard_mut(&mut self, id: ShardId) -> Option<&mut AtomixShard> {
        self.shards.get_mut(id as usize)
    }

    pub fn directory(&self) -> &Directory {
        &self.dir
    }

    pub fn pending(&self) -> &[Envelope] {
        &self.network
    }

    pub fn delivered(&self) -> &[Delivered] {
        &self.delivered
    }

    pub fn refusals(&self) -> &[AtomixError] {
        &self.refusals
    }

    /// Every shard's outcome for `txid`, by shard.
    pub fn outcomes(&self, txid: &TxId) -> Vec<Option<Outcome>> {
        self.shards.iter().map(|s| s.outcome(txid)).collect()
    }

    /// Asserts that every shard involved in `tx` ended it with `outcome` (input shards always,
    /// output shards when it committed).
    pub fn assert_ended_everywhere(&self, tx: &Transaction, outcome: Outcome) {
        let txid = tx.txid();
        let mut involved = self.map.input_shards(tx);
        if outcome == Outcome::Committed {
            involved.extend(self.map.output_shards(tx));
        }
        for shard in involved {
            assert_eq!(
                self.shards[shard as usize].outcome(&txid),
                Some(outcome),
                "shard {shard}: {:?}",
                self.outcomes(&txid)
            );
        }
    }

    /// Whether every output of `tx` is in the set of the shard that holds it.
    pub fn outputs_exist(&self, tx: &Transaction) -> bool {
        let txid = tx.txid();
        (0..tx.outputs.len() as u32).all(|index| {
            let o = OutPoint { txid, index };
            self.shards[self.map.shard_of(&o) as usize]
                .state()
                .contains(&o)
        })
    }

    /// Whether `o` is in its shard's set and not locked.
    pub fn unlocked_present(&self, o: &OutPoint) -> bool {
        self.shards[self.map.shard_of(o) as usize]
            .state()
            .get(o)
            .is_some_and(|e| e.locked_by.is_none())
    }

    /// Adds an output to the shard that holds its outpoint.
    pub fn genesis(&mut self, outpoint: OutPoint, output: TxOutput) -> Result<(), AtomixError> {
        let shard = self.map.shard_of(&outpoint) as usize;
        Ok(self.shards[shard].state_mut().insert(outpoint, output)?)
    }

    /// Starts a client for `tx` (its lock requests go on the network); returns its index.
    pub fn submit(&mut self, tx: Transaction) -> Result<usize, AtomixError> {
        let client = AtomixClient::new(tx, &self.map)?;
        let index = self.clients.len();
        for action in client.start() {
            self.network.push(Envelope {
                client: index,
                action,
            });
        }
        self.clients.push(Slot {
            client,
            crashed: false,
        });
        Ok(index)
    }

    /// The client stops: it sends and receives nothing more. Its messages in flight stay.
    pub fn crash_client(&mut self, client: usize) {
        if let Some(slot) = self.clients.get_mut(client) {
            slot.crashed = true;
        }
    }

    pub fn client(&self, client: usize) -> Option<&AtomixClient> {
        self.clients.get(client).map(|s| &s.client)
    }

    /// Delivers pending message `index` (modulo the number pending); false if none is pending.
    pub fn deliver(&mut self, index: usize) -> bool {
        if self.network.is_empty() {
            return false;
        }
        let envelope = self.network.remove(index % self.network.len());
        match envelope.action {
            ClientAction::Lock { shard, tx } => {
                if let Err(e) = self.shards[shard as usize].request_lock(&tx) {
                    self.refusals.push(e);
                }
            }
            ClientAction::Finish {
                shard,
                tx,
                certificate,
            } => match self.shards[shard as usize].finish(&tx, &certificate, &self.dir) {
                Ok(_) => self.delivered.push(Delivered {
                    shard,
                    tx,
                    certificate,
                }),
                Err(e) => {
                    let stale = is_stale(&e);
                    self.refusals.push(e);
                    if stale {
                        self.refresh(envelope.client);
                    }
                }
            },
        }
        true
    }

    /// The network loses pending message `index` (modulo the number pending); false if none.
    pub fn lose(&mut self, index: usize) -> bool {
        if self.network.is_empty() {
            return false;
        }
        self.network.remove(index % self.network.len());
        true
    }

    /// Delivers every pending message, oldest first (including those sent meanwhile).
    pub fn deliver_all(&mut self) {
        while self.deliver(0) {}
    }

    fn refresh(&mut self, client: usize) {
        let Some(slot) = self.clients.get_mut(client) else {
            return;
        };
        if slot.crashed {
            return;
        }
        for action in slot.client.refresh(&self.dir) {
            self.network.push(Envelope { client, action });
        }
    }

    /// Shard `id` signs its queued decisions; each proof goes to every live client of its txid.
    pub fn seal<R: CryptoRng + ?Sized>(&mut self, id: ShardId, rng: &mut R) {
        let proofs = match self.shards[id as usize].seal(rng) {
            Ok(proofs) => proofs,
            Err(e) => {
                self.refusals.push(e);
                return;
            }
        };
        for proof in proofs {
            for (index, slot) in self.clients.iter_mut().enumerate() {
                if slot.crashed || slot.client.txid() != proof.statement.txid {
                    continue;
                }
                match slot.client.on_proof(proof.clone(), &self.dir) {
                    Ok(actions) => {
                        self.network
                            .extend(actions.into_iter().map(|action| Envelope {
                                client: index,
                                action,
                            }))
                    }
                    Err(e) => self.refusals.push(e),
                }
            }
        }
    }

    pub fn seal_all<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) {
        for id in 0..self.map.shards() {
            self.seal(id, rng);
        }
    }

    /// Shard `id` moves to its next epoch with fresh member keys; the directory follows. Live
    /// clients are not told: they learn when a proof or certificate is refused as stale.
    pub fn rotate<R: CryptoRng + ?Sized>(
        &mut self,
        id: ShardId,
        rng: &mut R,
    ) -> Result<(), AtomixError> {
        let keys = (0..self.members)
            .map(|_| MemberKey::generate(rng))
            .collect();
        let info = self.shards[id as usize].rotate(keys)?.clone();
        self.dir.update(info);
        Ok(())
    }

    /// Re-delivers an accepted finish (a replay); returns the shard's verdict.
    pub fn replay(&mut self, delivered: usize) -> Option<Result<Outcome, AtomixError>> {
        let d = self.delivered.get(delivered)?.clone();
        Some(self.shards[d.shard as usize].finish(&d.tx, &d.certificate, &self.dir))
    }

    /// Recovery: a fresh client for every transaction some shard lists as stalled for at least
    /// `min_epochs` epochs (and not already being recovered by a live client); returns how many.
    pub fn recover(&mut self, min_epochs: u64) -> usize {
        let live: BTreeSet<TxId> = self
            .clients
            .iter()
            .filter(|s| !s.crashed && s.client.certificate().is_none())
            .map(|s| s.client.txid())
            .collect();
        let mut started = BTreeSet::new();
        let stalled: Vec<Transaction> = self
            .shards
            .iter()
            .flat_map(|s| s.stalled(min_epochs))
            .collect();
        for tx in stalled {
            let txid = tx.txid();
            if live.contains(&txid) || !started.insert(txid) {
                continue;
            }
            if let Err(e) = self.submit(tx) {
                self.refusals.push(e);
            }
        }
        started.len()
    }

    /// Output claims: a fresh client for every transaction some input shard committed while one of
    /// its output shards has not finished it (a finish that never arrived); returns how many.
    pub fn claim_outputs(&mut self) -> usize {
        let mut claims = BTreeSet::new();
        for shard in &self.shards {
            for tx in shard.committed_inputs() {
                let txid = tx.txid();
                let missing = self
                    .map
                    .output_shards(&tx)
                    .into_iter()
                    .any(|o| self.shards[o as usize].outcome(&txid).is_none());
                if missing && !claims.contains(&txid) {
                    claims.insert(txid);
                }
            }
        }
        let txs: Vec<Transaction> = self
            .shards
            .iter()
            .flat_map(|s| s.committed_inputs())
            .filter(|tx| claims.remove(&tx.txid()))
            .collect();
        let started = txs.len();
        for tx in txs {
            if let Err(e) = self.submit(tx) {
                self.refusals.push(e);
            }
        }
        started
    }

    /// Client timeouts: every live client still without a certificate asks again the input shards
    /// it has no proof from (its request or the proof may have been lost); returns how many asked.
    pub fn retry_clients(&mut self) -> usize {
        let mut asked = 0;
        for (client, slot) in self.clients.iter().enumerate() {
            if slot.crashed || slot.client.certificate().is_some() {
                continue;
            }
            let actions = slot.client.start();
            asked += usize::from(!actions.is_empty());
            self.network.extend(
                actions
                    .into_iter()
                    .map(|action| Envelope { client, action }),
            );
        }
        asked
    }

    /// Locks held across all shards.
    pub fn locks_held(&self) -> usize {
        self.shards.iter().map(|s| s.state().lock_count()).sum()
    }

    /// Total value of every unspent output (locked or not) across all shards.
    pub fn total_value(&self) -> u128 {
        self.shards.iter().map(|s| s.state().total_value()).sum()
    }

    /// Delivers, seals, recovers stalled locks and claims undelivered outputs until nothing is in
    /// flight, no lock is held and every committed transaction's outputs exist, or `rounds` rounds
    /// pass; returns whether it settled. Clients that crashed stay crashed: their
    /// transactions end through recovery.
    pub fn settle<R: CryptoRng + ?Sized>(&mut self, rounds: usize, rng: &mut R) -> bool {
        for _ in 0..rounds {
            self.deliver_all();
            self.seal_all(rng);
            self.deliver_all();
            if self.network.is_empty() && self.locks_held() == 0 && self.claim_outputs() == 0 {
                return true;
            }
            if self.network.is_empty() {
                self.retry_clients();
                self.recover(0);
            }
        }
        self.network.is_empty() && self.locks_held() == 0
    }
}

fn is_stale(e: &AtomixError) -> bool {
    matches!(
        e,
        AtomixError::Certificate(CertificateError::Proof {
            source: ProofError::StaleRoster { .. } | ProofError::RosterMismatch { .. },
            ..
        })
    )
}
