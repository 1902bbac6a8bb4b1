//! An Atomix client (a wallet or a gateway submitting transactions) as a node: one
//! [`AtomixClient`] per transaction, retries with a per-transaction backoff, and — for a paced
//! client — submission when the load's clock reaches each transaction. See [`super::node`] for
//! the messages, the shard's side and why repeats are harmless.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use iosv_engine::tx::{Transaction, TxId};

use super::client::{AtomixClient, ClientAction};
use super::node::{AtomixEvent, AtomixMsg, AtomixTimer, AtomixTiming, Fx, outcome_of, refused};
use super::proof::Directory;
use super::statement::{ShardId, ShardMap};
use crate::node::{Dest, NodeId, Time};

/// An Atomix client (a wallet submitting transactions) as a node.
pub struct ClientNode {
    id: NodeId,
    map: ShardMap,
    dir: Directory,
    timing: AtomixTiming,
    /// The transactions this client submitted (durable).
    txs: Vec<Transaction>,
    /// Transactions still to submit, at their time on the load's clock (durable).
    schedule: VecDeque<(Time, Transaction)>,
    /// The load's clock at the driver's time 0 (a restarted process is that far into its load).
    clock_offset: Time,
    /// One client state machine per transaction, by txid (volatile).
    clients: BTreeMap<TxId, AtomixClient>,
    /// Shards that acknowledged each transaction's end (volatile).
    acked: BTreeMap<TxId, BTreeSet<NodeId>>,
    settled: BTreeSet<TxId>,
    /// When each transaction last made progress or was asked about again, and how many times
    /// in a row it was asked about without progress (volatile): the retry backoff.
    asked: BTreeMap<TxId, (Time, u32)>,
    /// The node leading each shard, where it is not the shard's own node (a successor after a
    /// conviction).
    leaders: BTreeMap<ShardId, NodeId>,
    /// Each shard's roster members' nodes, whose conviction notices count.
    rosters: BTreeMap<ShardId, Vec<NodeId>>,
    /// Members that gave notice of each (shard, successor).
    notices: BTreeMap<(ShardId, NodeId), BTreeSet<NodeId>>,
}

/// A retry waits `retry_every << min(attempts, MAX_BACKOFF_SHIFT)` since the transaction's last
/// progress or retry: an overloaded shard gets fewer repeats, not more (a fixed-period retry of
/// every pending transaction multiplies the load exactly when the shards fall behind).
const MAX_BACKOFF_SHIFT: u32 = 3;

impl ClientNode {
    /// The client as it comes back after a crash: the transactions it submitted and its
    /// schedule (durable); its proofs, acknowledgements and retry state are gathered again.
    pub(super) fn restarted(&self) -> ClientNode {
        let mut fresh = ClientNode::new(
            self.id,
            self.map,
            self.dir.clone(),
            self.timing,
            self.txs.clone(),
        );
        fresh.schedule = self.schedule.clone();
        fresh.clock_offset = self.clock_offset;
        fresh.rosters = self.rosters.clone();
        fresh
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Client node `id` submitting `txs` over the shards of `map`.
    pub fn new(
        id: NodeId,
        map: ShardMap,
        dir: Directory,
        timing: AtomixTiming,
        txs: Vec<Transaction>,
    ) -> ClientNode {
        ClientNode {
            id,
            map,
            dir,
            timing,
            txs,
            schedule: VecDeque::new(),
            clock_offset: 0,
            clients: BTreeMap::new(),
            acked: BTreeMap::new(),
            settled: BTreeSet::new(),
            asked: BTreeMap::new(),
            leaders: BTreeMap::new(),
            rosters: BTreeMap::new(),
            notices: BTreeMap::new(),
        }
    }

    /// The client, believing conviction notices about shard `s` from the nodes
    /// `rosters[s]` (its roster members', in roster order), when more of them than the shard
    /// tolerates faulty agree.
    pub fn with_rosters(mut self, rosters: BTreeMap<ShardId, Vec<NodeId>>) -> ClientNode {
        self.rosters = rosters;
        self
    }

    /// The node leading `shard`.
    fn leader_of(&self, shard: ShardId) -> NodeId {
        self.leaders.get(&shard).copied().unwrap_or(shard)
    }

    /// The shard node `node` leads, if it leads one.
    fn shard_led_by(&self, node: NodeId) -> Option<ShardId> {
        if let Some((&shard, _)) = self.leaders.iter().find(|(_, l)| **l == node) {
            return Some(shard);
        }
        (node < self.map.shards() && !self.leaders.contains_key(&node)).then_some(node)
    }

    fn on_conviction(&mut self, from: NodeId, shard: ShardId, leader: NodeId, successor: NodeId) {
        let Some(nodes) = self.rosters.get(&shard) else {
            return;
        };
        if !nodes.contains(&from) || !nodes.contains(&successor) || self.leader_of(shard) != leader
        {
            return;
        }
        // More notices than faulty members the shard tolerates (n = 3f + 1): one is honest.
        let tolerated = (nodes.len() - 1) / 3;
        let notices = self.notices.entry((shard, successor)).or_default();
        notices.insert(from);
        if notices.len() > tolerated {
            self.leaders.insert(shard, successor);
            // Everything pending is asked again at the next retry, of the new leader.
            for (last, attempts) in self.asked.values_mut() {
                *last = 0;
                *attempts = 0;
            }
        }
    }

    /// A client that submits each transaction of `schedule` when the load's clock reaches its
    /// time (open-loop: whatever happened to the earlier ones), the load's clock reading
    /// `clock_offset` at the driver's time 0. `schedule` must be in time order.
    pub fn paced(
        id: NodeId,
        map: ShardMap,
        dir: Directory,
        timing: AtomixTiming,
        schedule: Vec<(Time, Transaction)>,
        clock_offset: Time,
    ) -> ClientNode {
        let mut client = ClientNode::new(id, map, dir, timing, Vec::new());
        client.schedule = schedule.into();
        client.clock_offset = clock_offset;
        client
    }

    /// Transactions submitted so far (all of them for a client that is not paced).
    pub fn transactions(&self) -> &[Transaction] {
        &self.txs
    }

    /// Transactions whose end every shard concerned acknowledged (since the last restart).
    pub fn settled(&self) -> &BTreeSet<TxId> {
        &self.settled
    }

    fn send_actions(&self, fx: &mut Fx, actions: Vec<ClientAction>) {
        for action in actions {
            match action {
                ClientAction::Lock { shard, tx } => {
                    fx.send(Dest::To(self.leader_of(shard)), AtomixMsg::Lock { tx })
                }
                ClientAction::Finish {
                    shard,
                    tx,
                    certificate,
                } => fx.send(
                    Dest::To(self.leader_of(shard)),
                    AtomixMsg::Finish {
                        tx,
                        certificate: Box::new(certificate),
                    },
                ),
            }
        }
    }

    fn begin(&mut self, tx: Transaction, now: Time, fx: &mut Fx) {
        match AtomixClient::new(tx, &self.map) {
            Ok(client) => {
                self.send_actions(fx, client.start());
                self.asked.insert(client.txid(), (now, 0));
                self.clients.insert(client.txid(), client);
            }
            Err(e) => refused(fx, self.id, &e),
        }
    }

    pub(super) fn start(&mut self, now: Time, fx: &mut Fx) {
        for tx in self.txs.clone() {
            self.begin(tx, now, fx);
        }
        self.submit_due(now, fx);
        fx.timer(self.timing.retry_every, AtomixTimer::Retry);
    }

    /// Submits the scheduled transactions that fell due and sets the timer for the next one.
    pub(super) fn submit_due(&mut self, now: Time, fx: &mut Fx) {
        let clock = now.saturating_add(self.clock_offset);
        while let Some((at, _)) = self.schedule.front()
            && *at <= clock
        {
            let (_, tx) = self.schedule.pop_front().expect("peeked");
            self.txs.push(tx.clone());
            self.begin(tx, now, fx);
        }
        if let Some((at, _)) = self.schedule.front() {
            fx.timer(at - clock, AtomixTimer::Submit);
        }
    }

    pub(super) fn on_message(&mut self, now: Time, from: NodeId, msg: AtomixMsg, fx: &mut Fx) {
        match msg {
            AtomixMsg::Proof(proof) => {
                let txid = proof.statement.txid;
                let Some(client) = self.clients.get_mut(&txid) else {
                    return;
                };
                let before = client.certificate().is_some();
                match client.on_proof(*proof, &self.dir) {
                    Ok(actions) => {
                        if !before && let Some(c) = client.certificate() {
                            // Progress: the finishes go now, a retry only a full period later.
                            self.asked.insert(txid, (now, 0));
                            fx.output(AtomixEvent::Certified {
                                txid,
                                outcome: outcome_of(c),
                            });
                        }
                        self.send_actions(fx, actions);
                    }
                    Err(e) => refused(fx, self.id, &e),
                }
            }
            AtomixMsg::Finished { txid, outcome } => {
                let Some(from) = self.shard_led_by(from) else {
                    return;
                };
                let Some(client) = self.clients.get(&txid) else {
                    return;
                };
                let targets = Self::targets(client);
                let acked = self.acked.entry(txid).or_default();
                if targets.contains(&from) {
                    acked.insert(from);
                }
                if !targets.is_empty()
                    && targets.iter().all(|t| acked.contains(t))
                    && self.settled.insert(txid)
                {
                    fx.output(AtomixEvent::Settled { txid, outcome });
                }
            }
            AtomixMsg::Convicted {
                shard,
                leader,
                successor,
            } => self.on_conviction(from, shard, leader, successor),
            AtomixMsg::Lock { .. } | AtomixMsg::Finish { .. } | AtomixMsg::Cosign(_) => {}
        }
    }

    /// The shards a client's finish goes to (none before its certificate).
    fn targets(client: &AtomixClient) -> BTreeSet<NodeId> {
        client
            .finish_messages()
            .iter()
            .map(|a| match a {
                ClientAction::Lock { shard, .. } | ClientAction::Finish { shard, .. } => *shard,
            })
            .collect()
    }

    /// Asks again, for each transaction idle past its backoff, for what it misses.
    pub(super) fn retry(&mut self, now: Time, fx: &mut Fx) {
        for (txid, client) in &self.clients {
            if self.settled.contains(txid) {
                continue;
            }
            let (last, attempts) = self.asked.get(txid).copied().unwrap_or((0, 0));
            let wait = self.timing.retry_every << attempts.min(MAX_BACKOFF_SHIFT);
            if now < last.saturating_add(wait) {
                continue;
            }
            self.asked.insert(*txid, (now, attempts + 1));
            if client.certificate().is_none() {
                self.send_actions(fx, client.start());
                continue;
            }
            let acked = self.acked.get(txid);
            let missing: Vec<ClientAction> = client
                .finish_messages()
                .into_iter()
                .filter(|a| match a {
                    ClientAction::Finish { shard, .. } => !acked.is_some_and(|s| s.contains(shard)),
                    ClientAction::Lock { .. } => true,
                })
                .collect();
            self.send_actions(fx, missing);
        }
        fx.timer(self.timing.retry_every, AtomixTimer::Retry);
    }
}
