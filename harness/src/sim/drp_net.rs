//! One DRP session on the simulator: a dedicated leader and `n` servers
//! (DRP nodes, [`crate::drp::DrpNode`]) over 1 µs links, with an optional hook that sees every
//! message in flight and may drop, alter, hold back or multiply it (the simulator's in-flight
//! adversary, in the DRP's own terms). For the DRP scenario tests, the fuzz corpus and `iosv drp`.
//!
//! Ordering: every link has the same latency and no jitter, so messages arrive in the order they
//! were sent, one hop per microsecond: the run is a breadth-first exchange, reproducible from the
//! seed (keys and every server's randomness derive from it; the engine's batch-verification
//! coefficients never change a verdict). The leader's phase ends after a virtual second without
//! input, long after the last message of a phase arrived; servers still waiting give up after a
//! virtual minute (see [`DrpNodeConfig`]).

use std::io::{self, Write};
use std::sync::Arc;

use crate::drp::roster::RosterError;
use crate::drp::session::SessionError;
use crate::drp::{
    Dest, DrpMsg, DrpNode, DrpNodeConfig, DrpRoster, Hash32, Leader, LeaderFault, Server,
    ServerFault, ServerKeys, Session, SessionParams, server_keys,
};
use crate::node::{NodeId, Time};
use crate::sim::network::{LinkModel, SimNetwork};
use crate::sim::simulator::Simulator;

/// A message in flight, in the DRP's terms.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    pub from: Dest,
    pub to: Dest,
    pub msg: DrpMsg,
}

/// What a hook does to a message: deliver it (possibly altered), drop it (empty), or deliver
/// several messages in its place (duplicates, forgeries, messages it held back).
pub type Hook = Box<dyn FnMut(Envelope) -> Vec<Envelope> + Send>;

/// Why a session could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Roster(#[from] RosterError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Server(#[from] crate::drp::server::ServerError),
}

/// A leader and its servers, run on the simulator.
pub struct DrpNet {
    pub session: Arc<Session>,
    pub keys: Vec<ServerKeys>,
    /// Servers `0..n`, then the leader.
    nodes: Vec<DrpNode>,
    hook: Option<Hook>,
    delivered: u64,
}

/// An upper bound on a session's virtual length: the leader's timeouts (each after a second of
/// silence) and the servers' deadline, with room to spare.
const RUN_LIMIT: u64 = 10 * 60 * 1_000_000;

impl DrpNet {
    /// `n` servers with keys derived from `seed`, all honest.
    pub fn new(n: u32, params: SessionParams, seed: u64) -> Result<Self, SetupError> {
        let keys: Vec<ServerKeys> = (0..n).map(|i| server_keys(seed, i)).collect();
        let roster = DrpRoster::new(keys.iter().map(ServerKeys::member_info).collect())?;
        let session = Arc::new(Session::new(params, roster)?);
        let config = DrpNodeConfig::default();
        let mut nodes = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let i = i as u32;
                DrpNode::server(
                    session.clone(),
                    i,
                    k.clone(),
                    DrpNode::server_rng_seed(seed, i),
                    config,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        nodes.push(DrpNode::leader(session.clone(), config));
        Ok(Self {
            session,
            keys,
            nodes,
            hook: None,
            delivered: 0,
        })
    }

    /// Makes server `i` Byzantine in the given way (no effect on an index out of range).
    pub fn server_fault(&mut self, i: u32, fault: ServerFault) {
        if (i as usize) + 1 < self.nodes.len() {
            self.replace(i as usize, |n| n.with_faults(fault, LeaderFault::Honest));
        }
    }

    pub fn leader_fault(&mut self, fault: LeaderFault) {
        let last = self.nodes.len() - 1;
        self.replace(last, |n| n.with_faults(ServerFault::Honest, fault));
    }

    fn replace(&mut self, index: usize, f: impl FnOnce(DrpNode) -> DrpNode) {
        let node = self.nodes.remove(index);
        self.nodes.insert(index, f(node));
    }

    /// Every message passes through `hook`, which may alter, drop or multiply it.
    pub fn set_hook(&mut self, hook: Hook) {
        self.hook = Some(hook);
    }

    /// Messages delivered in the run (a hook's extra messages included).
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    pub fn leader(&self) -> &Leader {
        self.nodes
            .last()
            .and_then(DrpNode::as_leader)
            .expect("the last node leads")
    }

    /// Server `i`.
    pub fn server(&self, i: u32) -> Option<&Server> {
        let servers = self.nodes.len() - 1;
        self.nodes[..servers]
            .get(i as usize)
            .and_then(DrpNode::as_server)
    }

    /// Every server, in roster order.
    pub fn servers(&self) -> impl Iterator<Item = &Server> {
        self.nodes.iter().filter_map(DrpNode::as_server)
    }

    /// The outputs of the servers that finished, by server.
    pub fn server_outputs(&self) -> Vec<(u32, Hash32)> {
        self.servers()
            .filter_map(|s| s.output().map(|o| (s.index(), *o)))
            .collect()
    }

    /// Runs the session to its end (every node idle: no message in flight, no timer left) on
    /// perfect 1 µs links, untraced. Runs once: the hook goes to the run's network.
    pub fn run(&mut self) {
        let (nodes, net) = self.prepare(&DrpNetwork::default());
        // Nothing is written: the run cannot fail.
        let _ = self.drive(Simulator::untraced(nodes, net), &[]);
    }

    /// [`DrpNet::run`] on `network` (latency, jitter, loss, duplication, crashes), writing the
    /// simulator's trace to `trace`.
    pub fn run_on<W: Write>(&mut self, network: &DrpNetwork, trace: W) -> io::Result<()> {
        let (nodes, net) = self.prepare(network);
        self.drive(Simulator::new(nodes, net, trace), &network.crashes)
    }

    /// The nodes, and the network with the hook on it.
    fn prepare(&mut self, network: &DrpNetwork) -> (Vec<DrpNode>, SimNetwork<DrpMsg>) {
        let leader_id = (self.nodes.len() - 1) as NodeId;
        let mut net = SimNetwork::new(network.link, Default::default(), Vec::new(), network.seed);
        if let Some(mut hook) = self.hook.take() {
            let dest = move |id: NodeId| {
                if id == leader_id {
                    Dest::Leader
                } else {
                    Dest::Server(id)
                }
            };
            let id = move |d: Dest| match d {
                Dest::Leader => leader_id,
                Dest::Server(i) => i,
            };
            net.set_adversary(Box::new(move |_now, from, to, msg| {
                hook(Envelope {
                    from: dest(from),
                    to: dest(to),
                    msg,
                })
                .into_iter()
                .map(|e| (id(e.from), id(e.to), e.msg))
                .collect()
            }));
        }
        (std::mem::take(&mut self.nodes), net)
    }

    fn drive<W: Write>(
        &mut self,
        mut sim: Simulator<DrpNode, W>,
        crashes: &[DrpCrash],
    ) -> io::Result<()> {
        for crash in crashes {
            sim.schedule_crash(crash.node, crash.at);
            if let Some(at) = crash.restart_at {
                sim.schedule_restart(crash.node, at);
            }
        }
        let mut out = Vec::new();
        let result = loop {
            match sim.step(RUN_LIMIT, &mut out) {
                Ok(true) => out.clear(),
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.delivered = sim.delivered();
        self.nodes = sim.into_parts().0;
        result
    }
}

/// The network of a [`DrpNet::run_on`]: every link alike, and crashes (node ids: servers
/// `0..n`, the leader `n`).
#[derive(Clone, Debug)]
pub struct DrpNetwork {
    pub link: LinkModel,
    /// Seed of the network's draws (loss, jitter, duplication).
    pub seed: u64,
    pub crashes: Vec<DrpCrash>,
}

impl Default for DrpNetwork {
    /// Perfect 1 µs links, no crash.
    fn default() -> Self {
        Self {
            link: LinkModel {
                latency: 1,
                jitter: 0,
                loss: 0.0,
                duplicate: 0.0,
            },
            seed: 0,
            crashes: Vec::new(),
        }
    }
}

/// A node that crashes at `at` (µs) and, optionally, comes back at `restart_at` (retired for the
/// rest of the session: see [`crate::drp::node`]).
#[derive(Clone, Copy, Debug)]
pub struct DrpCrash {
    pub node: NodeId,
    pub at: Time,
    pub restart_at: Option<Time>,
}
