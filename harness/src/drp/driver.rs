//! A deterministic in-memory driver: one leader, `n` servers, a FIFO of messages, and a hook that
//! may drop or alter any message in flight. For tests, examples and `iosv drp`; the simulator
//! wraps the same state machines in its own nodes.
//!
//! Delivery order is FIFO; when nothing is in flight and the leader is not done, the driver fires
//! the leader's phase timer ([`Leader::on_timeout`]); when the leader is done and nothing is in
//! flight, servers still waiting time out. A run is reproducible from its seed (all randomness
//! comes from one seeded RNG), except for the engine's internal batch-verification coefficients,
//! which never change a verdict.

use std::collections::VecDeque;
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::encoding::{Hash32, Tagged};
use super::leader::{Leader, LeaderFault};
use super::msg::{Dest, DrpMsg};
use super::roster::{DrpRoster, RosterError, ServerKeys};
use super::server::{Server, ServerFault};
use super::session::{Session, SessionError, SessionParams};

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: Dest,
    pub to: Dest,
    pub msg: DrpMsg,
}

/// What a hook does to a message: deliver it (possibly altered), drop it (empty), or deliver
/// several messages in its place (duplicates, forgeries).
pub type Hook = Box<dyn FnMut(Envelope) -> Vec<Envelope>>;

/// Why a network could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Roster(#[from] RosterError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The keys of server `i` of a deterministic test roster.
pub fn server_keys(seed: u64, i: u32) -> ServerKeys {
    let derived = Tagged::new(crate::domain::DRP_TEST_SERVER_SEED)
        .u64(seed)
        .u32(i)
        .finish();
    ServerKeys::from_seed(&derived)
}

/// A leader and its servers, wired by a FIFO.
pub struct Network {
    pub session: Arc<Session>,
    pub leader: Leader,
    pub servers: Vec<Server>,
    pub keys: Vec<ServerKeys>,
    queue: VecDeque<Envelope>,
    hook: Option<Hook>,
    rng: StdRng,
    delivered: usize,
    timeouts: usize,
}

/// The largest number of leader timeouts one run fires (each ends a phase, and there are four).
const MAX_TIMEOUTS: usize = 8;

impl Network {
    /// `n` servers with keys derived from `seed`, all honest.
    pub fn new(n: u32, params: SessionParams, seed: u64) -> Result<Self, SetupError> {
        let keys: Vec<ServerKeys> = (0..n).map(|i| server_keys(seed, i)).collect();
        let roster = DrpRoster::new(keys.iter().map(ServerKeys::member_info).collect())?;
        let session = Arc::new(Session::new(params, roster)?);
        let servers = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Server::new(session.clone(), i as u32, k.clone()).expect("keys match the roster")
            })
            .collect();
        Ok(Self {
            leader: Leader::new(session.clone()),
            session,
            servers,
            keys,
            queue: VecDeque::new(),
            hook: None,
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_d4b0),
            delivered: 0,
            timeouts: 0,
        })
    }

    /// Makes server `i` Byzantine in the given way.
    pub fn server_fault(&mut self, i: u32, fault: ServerFault) {
        let server = self.servers.remove(i as usize);
        self.servers.insert(i as usize, server.with_fault(fault));
    }

    pub fn leader_fault(&mut self, fault: LeaderFault) {
        let leader = std::mem::replace(&mut self.leader, Leader::new(self.session.clone()));
        self.leader = leader.with_fault(fault);
    }

    /// Every message passes through `hook`, which may alter, drop or multiply it.
    pub fn set_hook(&mut self, hook: Hook) {
        self.hook = Some(hook);
    }

    pub fn delivered(&self) -> usize {
        self.delivered
    }

    /// Runs the session to its end.
    pub fn run(&mut self) {
        let out = self.leader.start();
        self.push(Dest::Leader, out);
        loop {
            while let Some(envelope) = self.queue.pop_front() {
                match self.hook.as_mut() {
                    Some(hook) => {
                        for e in hook(envelope) {
                            self.deliver(e);
                        }
                    }
                    None => self.deliver(envelope),
                }
            }
            if self.leader.is_terminal() || self.timeouts >= MAX_TIMEOUTS {
                break;
            }
            self.timeouts += 1;
            let out = self.leader.on_timeout();
            self.push(Dest::Leader, out);
        }
        for server in &mut self.servers {
            server.on_timeout();
        }
    }

    /// The outputs of the servers that finished, by server.
    pub fn server_outputs(&self) -> Vec<(u32, Hash32)> {
        self.servers
            .iter()
            .filter_map(|s| s.output().map(|o| (s.index(), *o)))
            .collect()
    }

    fn deliver(&mut self, envelope: Envelope) {
        self.delivered += 1;
        match (envelope.from, envelope.to) {
            (Dest::Server(from), Dest::Leader) => {
                let out = self.leader.handle(from, envelope.msg);
                self.push(Dest::Leader, out);
            }
            (Dest::Leader | Dest::Server(_), Dest::Server(to)) => {
                let Some(server) = self.servers.get_mut(to as usize) else {
                    return;
                };
                let out = server.handle(envelope.msg, &mut self.rng);
                self.push(Dest::Server(to), out);
            }
            _ => {}
        }
    }

    fn push(&mut self, from: Dest, out: Vec<super::msg::Outgoing>) {
        self.queue.extend(out.into_iter().map(|o| Envelope {
            from,
            to: o.to,
            msg: o.msg,
        }));
    }
}
