//! One validator's whole part in a DRP session — its server, plus the leader when it leads — behind
//! a node-level interface, for embedding in the simulator or a runtime.
//!
//! The embedding node numbers validators by roster index (`NodeId` = server index). It calls
//! [`DrpPeer::begin`] when the session's leader becomes active, passes every [`DrpWire`] it
//! receives to [`DrpPeer::on_message`], and arms one timer per [`PeerStep::timer`] tag, calling
//! [`DrpPeer::on_timer`] with that tag when it fires (a stale tag is ignored). Messages between the
//! leader and its own node's server never leave the peer. Randomness comes from a ChaCha RNG seeded
//! by the caller (derive it from the node's secret and the round), so a run is reproducible.

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::encoding::Hash32;
use super::leader::{Leader, LeaderFault, LeaderPhase};
use super::msg::{Dest, DrpMsg, Outgoing};
use super::roster::ServerKeys;
use super::server::{Server, ServerError, ServerFault};
use super::session::Session;

/// A DRP message between two validators, tagged with the role it is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", content = "msg", rename_all = "snake_case")]
pub enum DrpWire {
    /// For the session's leader (from a server).
    Leader(DrpMsg),
    /// For the receiving node's server (from the leader).
    Server(DrpMsg),
    /// Decrypted shares from another validator's server.
    Peer(DrpMsg),
}

/// What one input produced.
#[derive(Debug, Default)]
pub struct PeerStep {
    /// `(destination validator, message)`.
    pub sends: Vec<(u32, DrpWire)>,
    /// Arm the leader's phase timer with this tag (replacing any earlier one).
    pub timer: Option<u64>,
    /// The session's output, once this node's server verified it (reported once).
    pub output: Option<Hash32>,
    /// Refusals and exclusions found during this input: short stable codes (`drp_excluded_*`,
    /// `drp_refused_*`), for counting in traces; details go to the log.
    pub rejects: Vec<String>,
}

/// One validator in one DRP session.
pub struct DrpPeer {
    me: u32,
    leader_id: u32,
    leader: Option<Leader>,
    server: Server,
    rng: StdRng,
    timer_tag: u64,
    phase: Option<LeaderPhase>,
    reported: bool,
    seen_evidence: usize,
    seen_exclusions: usize,
}

impl DrpPeer {
    /// Validator `me` in `session`, led by `leader_id`; starts the session if `me` leads.
    pub fn begin(
        session: Arc<Session>,
        me: u32,
        leader_id: u32,
        keys: ServerKeys,
        rng_seed: [u8; 32],
    ) -> Result<(Self, PeerStep), ServerError> {
        Self::begin_with_faults(
            session,
            me,
            leader_id,
            keys,
            rng_seed,
            ServerFault::Honest,
            LeaderFault::Honest,
        )
    }

    /// [`DrpPeer::begin`] with a Byzantine behaviour (for fault runs).
    pub fn begin_with_faults(
        session: Arc<Session>,
        me: u32,
        leader_id: u32,
        keys: ServerKeys,
        rng_seed: [u8; 32],
        server_fault: ServerFault,
        leader_fault: LeaderFault,
    ) -> Result<(Self, PeerStep), ServerError> {
        let server = Server::new(session.clone(), me, keys)?.with_fault(server_fault);
        let leader = (me == leader_id).then(|| Leader::new(session).with_fault(leader_fault));
        let mut peer = Self {
            me,
            leader_id,
            leader,
            server,
            rng: StdRng::from_seed(rng_seed),
            timer_tag: 0,
            phase: None,
            reported: false,
            seen_evidence: 0,
            seen_exclusions: 0,
        };
        let mut step = PeerStep::default();
        if let Some(leader) = peer.leader.as_mut() {
            let out = leader.start();
            peer.route(Dest::Leader, out, &mut step);
        }
        peer.finish(&mut step);
        Ok((peer, step))
    }

    /// A message from validator `from`.
    pub fn on_message(&mut self, from: u32, wire: DrpWire) -> PeerStep {
        let mut step = PeerStep::default();
        match wire {
            DrpWire::Leader(msg) => {
                if let Some(leader) = self.leader.as_mut() {
                    let out = leader.handle(from, msg);
                    self.route(Dest::Leader, out, &mut step);
                }
            }
            DrpWire::Server(msg) if from == self.leader_id => {
                let out = self.server.handle(msg, &mut self.rng);
                self.route(Dest::Server(self.me), out, &mut step);
            }
            DrpWire::Server(_) => step
                .rejects
                .push("drp_server_message_from_non_leader".into()),
            DrpWire::Peer(msg @ DrpMsg::Shares { .. }) => {
                let out = self.server.handle(msg, &mut self.rng);
                self.route(Dest::Server(self.me), out, &mut step);
            }
            DrpWire::Peer(_) => step.rejects.push("drp_peer_message_not_shares".into()),
        }
        self.finish(&mut step);
        step
    }

    /// The leader's phase timer with `tag` fired.
    pub fn on_timer(&mut self, tag: u64) -> PeerStep {
        let mut step = PeerStep::default();
        if tag == self.timer_tag
            && let Some(leader) = self.leader.as_mut()
        {
            let out = leader.on_timeout();
            self.route(Dest::Leader, out, &mut step);
        }
        self.finish(&mut step);
        step
    }

    pub fn leader(&self) -> Option<&Leader> {
        self.leader.as_ref()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Sends `out` from `from`, delivering at once what stays inside this node.
    fn route(&mut self, from: Dest, out: Vec<Outgoing>, step: &mut PeerStep) {
        let mut local: Vec<(Dest, Outgoing)> = out.into_iter().map(|o| (from, o)).collect();
        while !local.is_empty() {
            let mut next = Vec::new();
            for (from, o) in local {
                match (from, o.to) {
                    (Dest::Leader, Dest::Server(to)) if to == self.me => {
                        let out = self.server.handle(o.msg, &mut self.rng);
                        next.extend(out.into_iter().map(|o| (Dest::Server(self.me), o)));
                    }
                    (Dest::Leader, Dest::Server(to)) => {
                        step.sends.push((to, DrpWire::Server(o.msg)))
                    }
                    (Dest::Server(_), Dest::Leader) if self.leader.is_some() => {
                        let leader = self.leader.as_mut().expect("checked");
                        let out = leader.handle(self.me, o.msg);
                        next.extend(out.into_iter().map(|o| (Dest::Leader, o)));
                    }
                    (Dest::Server(_), Dest::Leader) => {
                        step.sends.push((self.leader_id, DrpWire::Leader(o.msg)))
                    }
                    (Dest::Server(_), Dest::Server(to)) => {
                        step.sends.push((to, DrpWire::Peer(o.msg)))
                    }
                    _ => {}
                }
            }
            local = next;
        }
    }

    /// Timer, output and new rejects after an input.
    fn finish(&mut self, step: &mut PeerStep) {
        if let Some(leader) = &self.leader {
            let phase = leader.phase();
            if self.phase != Some(phase) {
                self.phase = Some(phase);
                if !leader.is_terminal() {
                    self.timer_tag += 1;
                    step.timer = Some(self.timer_tag);
                }
            }
            for e in &leader.exclusions()[self.seen_exclusions..] {
                tracing::debug!(server = e.server, reason = %e.reason, "DRP exclusion");
                step.rejects
                    .push(format!("drp_excluded_{}", e.reason.code()));
            }
            self.seen_exclusions = leader.exclusions().len();
        }
        for r in &self.server.evidence()[self.seen_evidence..] {
            step.rejects.push(format!("drp_refused_{}", r.code()));
        }
        self.seen_evidence = self.server.evidence().len();
        if !self.reported
            && let Some(output) = self.server.output()
        {
            self.reported = true;
            step.output = Some(*output);
        }
    }
}
