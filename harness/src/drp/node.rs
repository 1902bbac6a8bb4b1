//! The DRP's two roles as [`Node`]s of the one node model: a dedicated session leader and the
//! servers, for running one session on the simulator or the real-time runner (the epoch flow
//! embeds the DRP differently: [`super::DrpPeer`] inside each validator, where the leader is also
//! one of the servers).
//!
//! Node ids: servers are `0..n` (their roster index), the leader is `n`. The leader sends to
//! servers and accepts messages only from ids below `n` (the sender's roster index, as the
//! transport authenticates it); a server accepts what any node sends it and relies on the
//! message's own checks (signatures, proofs, the session digest), as [`Server::handle`] says.
//!
//! Timers: the leader re-arms its phase timer after every input that leaves it running, with a
//! fresh tag (a stale tag is ignored), so a phase ends after [`DrpNodeConfig::phase_timeout`] of
//! silence towards the leader; it fires at most [`DrpNodeConfig::max_timeouts`] times. Each server
//! gives up ([`Server::on_timeout`]) at [`DrpNodeConfig::session_deadline`] after its start.
//!
//! Restart: a DRP session's state is all volatile, and a server that forgot which choice it
//! co-signed must not co-sign again (that would let a leader collect signatures on two choices),
//! so a restarted node is *retired*: it ignores the rest of the session and reports nothing. The
//! next session (a new [`Session`]) starts it afresh.

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::encoding::{Hash32, Tagged};
use super::leader::{Leader, LeaderFault};
use super::msg::{Dest as DrpDest, DrpMsg, Outgoing};
use super::roster::ServerKeys;
use super::server::{Server, ServerError, ServerFault, kind};
use super::session::Session;
use crate::node::{Dest, Effects, Node, NodeId, Time, Traceable};

/// Timing of a session's nodes, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrpNodeConfig {
    /// Silence towards the leader after which its current phase ends.
    pub phase_timeout: u64,
    /// Most phase timeouts the leader fires in a session (each ends a phase; there are four, and
    /// signing may be retried).
    pub max_timeouts: u32,
    /// When a server still waiting gives up, after its start.
    pub session_deadline: u64,
}

impl Default for DrpNodeConfig {
    fn default() -> Self {
        Self {
            phase_timeout: 1_000_000,
            max_timeouts: 8,
            session_deadline: 60_000_000,
        }
    }
}

/// A timer of a DRP node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrpTimer {
    /// The leader's phase timer, with its tag.
    Phase(u64),
    /// A server's session deadline.
    GiveUp,
}

/// What a DRP node reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrpEvent {
    /// A server verified the session's output.
    Output(Hash32),
    /// The leader finished: with the output, or without one.
    LeaderDone { ok: bool },
}

enum Role {
    Leader {
        leader: Box<Leader>,
        tag: u64,
        timeouts: u32,
    },
    Server {
        server: Box<Server>,
        reported: bool,
    },
}

/// One role of one DRP session.
pub struct DrpNode {
    id: NodeId,
    session: Arc<Session>,
    config: DrpNodeConfig,
    role: Role,
    /// A server's randomness (unused by the leader).
    rng: StdRng,
    /// How to rebuild a server on restart.
    keys: Option<ServerKeys>,
    rng_seed: [u8; 32],
    retired: bool,
}

impl DrpNode {
    /// The session's leader, node id `session.servers()`.
    pub fn leader(session: Arc<Session>, config: DrpNodeConfig) -> DrpNode {
        DrpNode {
            id: session.servers(),
            role: Role::Leader {
                leader: Box::new(Leader::new(session.clone())),
                tag: 0,
                timeouts: 0,
            },
            session,
            config,
            rng: StdRng::from_seed([0; 32]),
            keys: None,
            rng_seed: [0; 32],
            retired: false,
        }
    }

    /// Server `index` with its keys; its randomness (PVSS secrets, nonces) comes from a ChaCha
    /// stream seeded by `rng_seed`, so a run is reproducible.
    pub fn server(
        session: Arc<Session>,
        index: u32,
        keys: ServerKeys,
        rng_seed: [u8; 32],
        config: DrpNodeConfig,
    ) -> Result<DrpNode, ServerError> {
        let server = Server::new(session.clone(), index, keys.clone())?;
        Ok(DrpNode {
            id: index,
            role: Role::Server {
                server: Box::new(server),
                reported: false,
            },
            session,
            config,
            rng: StdRng::from_seed(rng_seed),
            keys: Some(keys),
            rng_seed,
            retired: false,
        })
    }

    /// A server's RNG seed derived from a run seed (tests, `iosv drp`).
    pub fn server_rng_seed(seed: u64, index: u32) -> [u8; 32] {
        Tagged::new(crate::domain::DRP_TEST_SERVER_RNG)
            .u64(seed)
            .u32(index)
            .finish()
    }

    /// This node behaves in a Byzantine way (the fault of its role; the other is ignored).
    pub fn with_faults(mut self, server: ServerFault, leader: LeaderFault) -> DrpNode {
        self.role = match self.role {
            Role::Leader {
                leader: l,
                tag,
                timeouts,
            } => Role::Leader {
                leader: Box::new(l.with_fault(leader)),
                tag,
                timeouts,
            },
            Role::Server {
                server: s,
                reported,
            } => Role::Server {
                server: Box::new(s.with_fault(server)),
                reported,
            },
        };
        self
    }

    /// The leader's state machine, if this node leads.
    pub fn as_leader(&self) -> Option<&Leader> {
        match &self.role {
            Role::Leader { leader, .. } => Some(&**leader),
            Role::Server { .. } => None,
        }
    }

    /// The server's state machine, if this node is a server.
    pub fn as_server(&self) -> Option<&Server> {
        match &self.role {
            Role::Server { server, .. } => Some(&**server),
            Role::Leader { .. } => None,
        }
    }

    /// Whether this node restarted during the session (and so sits it out).
    pub fn is_retired(&self) -> bool {
        self.retired
    }

    fn leader_id(&self) -> NodeId {
        self.session.servers()
    }

    /// Sends what a state machine returned, from this node.
    fn send(&self, out: Vec<Outgoing>, fx: &mut Effects<DrpMsg, DrpTimer, DrpEvent>) {
        for o in out {
            let to = match o.to {
                DrpDest::Leader => self.leader_id(),
                DrpDest::Server(i) => i,
            };
            fx.send(Dest::To(to), o.msg);
        }
    }

    /// After a leader input: re-arm the phase timer while running; report the end once.
    fn after_leader_input(
        &mut self,
        was_terminal: bool,
        fx: &mut Effects<DrpMsg, DrpTimer, DrpEvent>,
    ) {
        let config = self.config;
        if let Role::Leader {
            leader,
            tag,
            timeouts,
        } = &mut self.role
        {
            if leader.is_terminal() {
                if !was_terminal {
                    let ok = matches!(leader.result(), Some(Ok(_)));
                    fx.output(DrpEvent::LeaderDone { ok });
                }
            } else if *timeouts < config.max_timeouts {
                *tag += 1;
                fx.timer(config.phase_timeout, DrpTimer::Phase(*tag));
            }
        }
    }

    /// After a server input: report a verified output once.
    fn after_server_input(&mut self, fx: &mut Effects<DrpMsg, DrpTimer, DrpEvent>) {
        if let Role::Server {
            server, reported, ..
        } = &mut self.role
            && !*reported
            && let Some(output) = server.output()
        {
            *reported = true;
            fx.output(DrpEvent::Output(*output));
        }
    }
}

impl Node for DrpNode {
    type Msg = DrpMsg;
    type Timer = DrpTimer;
    type Output = DrpEvent;

    fn id(&self) -> NodeId {
        self.id
    }

    fn on_start(&mut self, _now: Time, fx: &mut Effects<DrpMsg, DrpTimer, DrpEvent>) {
        if self.retired {
            return;
        }
        match &mut self.role {
            Role::Leader { leader, .. } => {
                let was_terminal = leader.is_terminal();
                let out = leader.start();
                self.send(out, fx);
                self.after_leader_input(was_terminal, fx);
            }
            Role::Server { .. } => fx.timer(self.config.session_deadline, DrpTimer::GiveUp),
        }
    }

    fn on_message(
        &mut self,
        _now: Time,
        from: NodeId,
        msg: DrpMsg,
        fx: &mut Effects<DrpMsg, DrpTimer, DrpEvent>,
    ) {
        if self.retired {
            return;
        }
        let leader_id = self.leader_id();
        match &mut self.role {
            Role::Leader { leader, .. } => {
                if from >= leader_id {
                    return;
                }
                let was_terminal = leader.is_terminal();
                let out = leader.handle(from, msg);
                self.send(out, fx);
                self.after_leader_input(was_terminal, fx);
            }
            Role::Server { server, .. } => {
                let out = server.handle(msg, &mut self.rng);
                self.send(out, fx);
                self.after_server_input(fx);
            }
        }
    }

    fn on_timer(
        &mut self,
        _now: Time,
        timer: DrpTimer,
        fx: &mut Effects<DrpMsg, DrpTimer, DrpEvent>,
    ) {
        if self.retired {
            return;
        }
        match (&mut self.role, timer) {
            (
                Role::Leader {
                    leader,
                    tag,
                    timeouts,
                },
                DrpTimer::Phase(fired),
            ) if fired == *tag && !leader.is_terminal() => {
                *timeouts += 1;
                let out = leader.on_timeout();
                self.send(out, fx);
                self.after_leader_input(false, fx);
            }
            (Role::Server { server, .. }, DrpTimer::GiveUp) => {
                let out = server.on_timeout();
                self.send(out, fx);
            }
            _ => {}
        }
    }

    fn restart(&self) -> Self {
        let role = match (&self.role, &self.keys) {
            (Role::Server { server, .. }, Some(keys)) => Role::Server {
                server: Box::new(
                    Server::new(self.session.clone(), server.index(), keys.clone())
                        .expect("the keys were accepted for this index before"),
                ),
                reported: true,
            },
            _ => Role::Leader {
                leader: Box::new(Leader::new(self.session.clone())),
                tag: 0,
                timeouts: 0,
            },
        };
        DrpNode {
            id: self.id,
            session: self.session.clone(),
            config: self.config,
            role,
            rng: StdRng::from_seed(self.rng_seed),
            keys: self.keys.clone(),
            rng_seed: self.rng_seed,
            retired: true,
        }
    }
}

impl Traceable for DrpMsg {
    /// The message kind only: payloads (dealings, proofs) would swamp the trace.
    fn trace(&self) -> serde_json::Value {
        serde_json::json!({ "drp": kind(self) })
    }
}

impl Traceable for DrpTimer {
    fn trace(&self) -> serde_json::Value {
        match self {
            DrpTimer::Phase(tag) => serde_json::json!({ "phase": tag }),
            DrpTimer::GiveUp => serde_json::json!("give_up"),
        }
    }
}

impl Traceable for DrpEvent {
    fn trace(&self) -> serde_json::Value {
        match self {
            DrpEvent::Output(value) => serde_json::json!({ "output": hex::encode(value) }),
            DrpEvent::LeaderDone { ok } => serde_json::json!({ "leader_done": ok }),
        }
    }
}
