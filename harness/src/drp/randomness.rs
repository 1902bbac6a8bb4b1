//! The DRP as the epoch flow's randomness protocol: [`DrpRandomness`] implements
//! [`RandomnessProtocol`], so the simulator's and the runtime's validators can run the real DRP
//! for each candidate's turn instead of a placeholder.
//!
//! Per round (epoch, view, rank, leader), every validator starts a [`DrpPeer`] on a session whose
//! `previous` value is hashed from the round and the leader's VRF lottery output (public, and
//! unknown before the view's lotteries), so sessions of different rounds never share a digest. A
//! validator's DRP keys derive from its Ed25519 seed ([`ServerKeys::from_seed`]), so its DRP
//! CoSi key is its roster signing key. Randomness comes from a ChaCha RNG seeded by the node's
//! seed and the round: runs stay reproducible from the simulation seed. The leader's phase timers
//! are the candidate's window divided by [`PHASES_PER_WINDOW`]. The output is reported once, after
//! this node's server has checked every revealed share against the co-signed choice.

use std::sync::Arc;

use crate::epoch::roster::ValidatorKeys;
use crate::epoch::{EpochRandomness, RandomnessEffects, RandomnessProtocol, RoundContext};
use crate::node::{Dest as NodeDest, NodeId, Traceable};

use super::encoding::Tagged;
use super::leader::LeaderFault;
use super::peer::{DrpPeer, DrpWire, PeerStep};
use super::roster::{DrpRoster, RosterError, ServerKeys};
use super::server::{ServerFault, kind};
use super::session::{Session, SessionParams};

/// The leader's phase timer is the candidate's window over this: four phases (dealings,
/// commitments, responses, shares) and up to two signing retries, with room to spare for the
/// network, so a phase that waits for a silent server still ends inside the window.
pub const PHASES_PER_WINDOW: u64 = 10;

/// The DRP roster of validators with these keys (in roster order).
pub fn drp_roster(keys: &[ValidatorKeys]) -> Result<DrpRoster, RosterError> {
    DrpRoster::new(
        keys.iter()
            .map(|k| ServerKeys::from_seed(&k.sig.to_bytes()).member_info())
            .collect(),
    )
}

/// One validator's DRP instance across rounds.
pub struct DrpRandomness {
    seed: [u8; 32],
    roster: Arc<DrpRoster>,
    group_size: u32,
    server_fault: ServerFault,
    leader_fault: LeaderFault,
    peer: Option<DrpPeer>,
    phase_timeout: u64,
}

impl DrpRandomness {
    /// The instance of the validator with `keys`; `roster` from [`drp_roster`].
    pub fn new(keys: &ValidatorKeys, roster: Arc<DrpRoster>, group_size: u32) -> Self {
        Self {
            seed: keys.sig.to_bytes(),
            roster,
            group_size: group_size.max(1),
            server_fault: ServerFault::Honest,
            leader_fault: LeaderFault::Honest,
            peer: None,
            phase_timeout: 1,
        }
    }

    /// A Byzantine instance (fault runs).
    pub fn with_faults(mut self, server: ServerFault, leader: LeaderFault) -> Self {
        self.server_fault = server;
        self.leader_fault = leader;
        self
    }

    /// This round's DRP peer (for inspection in tests).
    pub fn peer(&self) -> Option<&DrpPeer> {
        self.peer.as_ref()
    }

    fn apply(&self, step: PeerStep, fx: &mut RandomnessEffects<DrpWire>) {
        fx.sends
            .extend(step.sends.into_iter().map(|(to, w)| (NodeDest::To(to), w)));
        if let Some(tag) = step.timer {
            fx.timers.push((self.phase_timeout, tag));
        }
        if let Some(value) = step.output {
            fx.output = Some(EpochRandomness { value });
        }
        fx.rejects.extend(step.rejects);
    }
}

impl RandomnessProtocol for DrpRandomness {
    type Msg = DrpWire;

    fn name(&self) -> &'static str {
        "drp"
    }

    fn begin(&mut self, ctx: &RoundContext<'_>, fx: &mut RandomnessEffects<DrpWire>) {
        self.peer = None;
        let round = ctx.round;
        let Some(lottery) = ctx.lotteries.get(&round.leader) else {
            fx.rejects.push("drp_no_leader_lottery".into());
            return;
        };
        let previous = Tagged::new(crate::domain::DRP_ROUND)
            .u64(round.epoch)
            .u32(round.view)
            .u32(u32::from(round.rank))
            .u32(round.leader)
            .bytes(&lottery.beta)
            .finish();
        let params = SessionParams {
            epoch: round.epoch,
            previous,
            group_size: self.group_size,
        };
        let session = match Session::new(params, (*self.roster).clone()) {
            Ok(s) => Arc::new(s),
            Err(_) => {
                fx.rejects.push("drp_bad_session".into());
                return;
            }
        };
        let rng_seed = Tagged::new(crate::domain::DRP_PEER_RNG)
            .bytes(&self.seed)
            .u64(round.epoch)
            .u32(round.view)
            .u32(u32::from(round.rank))
            .finish();
        self.phase_timeout = (ctx.deadline.saturating_sub(ctx.now) / PHASES_PER_WINDOW).max(1);
        match DrpPeer::begin_with_faults(
            session,
            ctx.me,
            round.leader,
            ServerKeys::from_seed(&self.seed),
            rng_seed,
            self.server_fault,
            self.leader_fault.clone(),
        ) {
            Ok((peer, step)) => {
                self.peer = Some(peer);
                self.apply(step, fx);
            }
            Err(_) => fx.rejects.push("drp_not_in_roster".into()),
        }
    }

    fn on_message(
        &mut self,
        _ctx: &RoundContext<'_>,
        from: NodeId,
        msg: DrpWire,
        fx: &mut RandomnessEffects<DrpWire>,
    ) {
        match self.peer.as_mut() {
            Some(peer) => {
                let step = peer.on_message(from, msg);
                self.apply(step, fx);
            }
            None => fx.rejects.push("drp_no_session".into()),
        }
    }

    fn on_timer(&mut self, _ctx: &RoundContext<'_>, tag: u64, fx: &mut RandomnessEffects<DrpWire>) {
        if let Some(peer) = self.peer.as_mut() {
            let step = peer.on_timer(tag);
            self.apply(step, fx);
        }
    }

    fn restart(&self) -> Self {
        Self {
            seed: self.seed,
            roster: Arc::clone(&self.roster),
            group_size: self.group_size,
            server_fault: self.server_fault,
            leader_fault: self.leader_fault.clone(),
            peer: None,
            phase_timeout: 1,
        }
    }
}

impl Traceable for DrpWire {
    /// The role and the message kind only: payloads (dealings, proofs) would swamp the trace.
    fn trace(&self) -> serde_json::Value {
        let (to, msg) = match self {
            DrpWire::Leader(m) => ("leader", m),
            DrpWire::Server(m) => ("server", m),
            DrpWire::Peer(m) => ("peer", m),
        };
        serde_json::json!({ "drp": kind(msg), "to": to })
    }
}
