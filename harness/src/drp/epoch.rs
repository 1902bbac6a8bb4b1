//! The DRP as the epoch flow's randomness protocol: [`DrpRandomness`] implements
//! [`RandomnessProtocol`], so the elected candidate of each round runs a DRP session as its leader
//! and every validator takes part as a server, inside the simulator or the real-time runner.
//!
//! Mapping:
//! - DRP server `i` is validator `i`: the DRP roster is registered once (each validator's CoSi key
//!   with its proof of possession, its PVSS key bound by its signature) in validator order, and
//!   every node holds the same [`DrpRoster`].
//! - One DRP session per round. The session's `previous` value is derived from the round (epoch,
//!   view, rank, leader), so the sessions of two rounds of one epoch differ: a server's signature on
//!   one round's choice can never count for another round's.
//! - The round's leader runs a [`Leader`] next to its own [`Server`]; messages between a node's own
//!   leader and server are delivered locally, the others travel as [`EpochDrpMsg`] with their
//!   direction. A server takes DRP messages only from the round's leader; the leader takes them from
//!   anyone and authenticates them by roster index inside the DRP.
//! - The leader's phases are paced by a timer of `phase_timeout` each (a phase closes early when
//!   every expected answer is in); a server gives up at the round's deadline.
//! - A node reports the randomness once its own server has recomputed the output from the revealed
//!   secrets (the DRP's servers never take the leader's word for it).
//! - Randomness the DRP needs (PVSS dealing) comes from a ChaCha20 stream seeded from the node's key
//!   seed and the round: deterministic, so a simulation stays reproducible from its seed.

use std::collections::VecDeque;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::encoding::Tagged;
use super::leader::{Leader, LeaderPhase};
use super::msg::{Dest as DrpDest, DrpMsg, Outgoing};
use super::roster::{DrpRoster, ServerKeys};
use super::server::Server;
use super::session::{Session, SessionParams};
use crate::epoch::{EpochRandomness, RandomnessEffects, RandomnessProtocol, Round, RoundContext};
use crate::node::{Dest, NodeId, Traceable};

/// Timer tag of the leader's phase timer (the low byte; the phase generation is above it).
const TAG_PHASE: u64 = 1;
/// Timer tag of the server's round deadline.
const TAG_DEADLINE: u64 = 2;

/// A DRP message on the epoch network, with its direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochDrpMsg {
    /// To the round's leader (else to a server).
    pub to_leader: bool,
    pub msg: DrpMsg,
}

impl Traceable for EpochDrpMsg {
    fn trace(&self) -> serde_json::Value {
        let kind = match serde_json::to_value(&self.msg) {
            Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
            Ok(serde_json::Value::String(s)) => s,
            _ => String::new(),
        };
        json!({ "drp": kind, "to_leader": self.to_leader })
    }
}

/// The state of one round at this node.
struct RoundState {
    round: Round,
    leader: Option<Leader>,
    server: Server,
    rng: ChaCha20Rng,
    phase: LeaderPhase,
    phase_generation: u64,
    reported: bool,
}

/// The Distributed Randomness Protocol at one validator, as a [`RandomnessProtocol`].
pub struct DrpRandomness {
    roster: Arc<DrpRoster>,
    seed: [u8; 32],
    keys: ServerKeys,
    group_size: u32,
    phase_timeout: u64,
    state: Option<RoundState>,
}

impl DrpRandomness {
    /// The DRP keys of validator `id` in a run seeded with `seed`.
    pub fn key_seed(seed: u64, id: NodeId) -> [u8; 32] {
        Tagged::new("iosv/epoch/drp-key-seed/v1")
            .u64(seed)
            .u32(id)
            .finish()
    }

    /// The registered roster of `n` validators whose key seeds are `key_seed(seed, 0..n)`.
    pub fn roster(seed: u64, n: u32) -> Result<DrpRoster, super::roster::RosterError> {
        DrpRoster::new(
            (0..n)
                .map(|i| ServerKeys::from_seed(&Self::key_seed(seed, i)).member_info())
                .collect(),
        )
    }

    /// The protocol at the validator whose key seed is `seed`; `group_size` is the DRP's target
    /// group size and `phase_timeout` (µs) how long the leader waits in each phase.
    pub fn new(
        roster: Arc<DrpRoster>,
        seed: [u8; 32],
        group_size: u32,
        phase_timeout: u64,
    ) -> Self {
        Self {
            roster,
            keys: ServerKeys::from_seed(&seed),
            seed,
            group_size,
            phase_timeout,
            state: None,
        }
    }

    fn session_params(&self, round: &Round) -> SessionParams {
        SessionParams {
            epoch: round.epoch,
            previous: Tagged::new("iosv/epoch/drp-round/v1")
                .u64(round.epoch)
                .u32(round.view)
                .u32(u32::from(round.rank))
                .u32(round.leader)
                .finish(),
            group_size: self.group_size,
        }
    }

    /// Delivers `outs` (from this node's leader if `from_leader`, else from its server): local
    /// ones at once, the others as sends.
    fn route(
        &mut self,
        ctx: &RoundContext<'_>,
        from_leader: bool,
        outs: Vec<Outgoing>,
        fx: &mut RandomnessEffects<EpochDrpMsg>,
    ) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        let mut queue: VecDeque<(bool, Outgoing)> =
            outs.into_iter().map(|o| (from_leader, o)).collect();
        while let Some((_, out)) = queue.pop_front() {
            match out.to {
                DrpDest::Leader if ctx.me == ctx.round.leader => {
                    if let Some(leader) = st.leader.as_mut() {
                        let more = leader.handle(ctx.me, out.msg);
                        queue.extend(more.into_iter().map(|o| (true, o)));
                    }
                }
                DrpDest::Leader => fx.sends.push((
                    Dest::To(ctx.round.leader),
                    EpochDrpMsg {
                        to_leader: true,
                        msg: out.msg,
                    },
                )),
                DrpDest::Server(i) if i == ctx.me => {
                    let more = st.server.handle(out.msg, &mut st.rng);
                    queue.extend(more.into_iter().map(|o| (false, o)));
                }
                DrpDest::Server(i) => fx.sends.push((
                    Dest::To(i),
                    EpochDrpMsg {
                        to_leader: false,
                        msg: out.msg,
                    },
                )),
            }
        }
        self.after_step(fx);
    }

    /// Restarts the phase timer on a phase change, reports the output once.
    fn after_step(&mut self, fx: &mut RandomnessEffects<EpochDrpMsg>) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        if let Some(leader) = &st.leader {
            let phase = leader.phase();
            if phase != st.phase {
                st.phase = phase;
                st.phase_generation += 1;
                if !leader.is_terminal() {
                    fx.timers
                        .push((self.phase_timeout, st.phase_generation << 8 | TAG_PHASE));
                }
                if let Some(Err(failure)) = leader.result() {
                    fx.rejects.push(format!("drp_failed: {failure}"));
                }
            }
        }
        if !st.reported
            && let Some(value) = st.server.output()
        {
            st.reported = true;
            fx.output = Some(EpochRandomness { value: *value });
        }
    }
}

impl RandomnessProtocol for DrpRandomness {
    type Msg = EpochDrpMsg;

    fn name(&self) -> &'static str {
        "drp"
    }

    fn begin(&mut self, ctx: &RoundContext<'_>, fx: &mut RandomnessEffects<EpochDrpMsg>) {
        self.state = None;
        let session = match Session::new(self.session_params(&ctx.round), (*self.roster).clone()) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                fx.rejects.push(format!("drp_session: {e}"));
                return;
            }
        };
        let server = match Server::new(Arc::clone(&session), ctx.me, self.keys.clone()) {
            Ok(s) => s,
            Err(e) => {
                fx.rejects.push(format!("drp_server: {e}"));
                return;
            }
        };
        let rng_seed = Tagged::new("iosv/epoch/drp-rng/v1")
            .bytes(&self.seed)
            .u64(ctx.round.epoch)
            .u32(ctx.round.view)
            .u32(u32::from(ctx.round.rank))
            .finish();
        let mut leader = (ctx.me == ctx.round.leader).then(|| Leader::new(Arc::clone(&session)));
        let first = leader.as_mut().map(Leader::start).unwrap_or_default();
        self.state = Some(RoundState {
            round: ctx.round,
            leader,
            server,
            rng: ChaCha20Rng::from_seed(rng_seed),
            phase: LeaderPhase::Idle,
            phase_generation: 0,
            reported: false,
        });
        fx.timers
            .push((ctx.deadline.saturating_sub(ctx.now), TAG_DEADLINE));
        self.route(ctx, true, first, fx);
    }

    fn on_message(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        msg: EpochDrpMsg,
        fx: &mut RandomnessEffects<EpochDrpMsg>,
    ) {
        let Some(st) = self.state.as_mut() else {
            fx.rejects.push("drp_no_session".into());
            return;
        };
        if st.round != ctx.round {
            fx.rejects.push("drp_stale_round".into());
            return;
        }
        if msg.to_leader {
            let Some(leader) = st.leader.as_mut() else {
                fx.rejects.push("drp_not_leader".into());
                return;
            };
            let outs = leader.handle(from, msg.msg);
            self.route(ctx, true, outs, fx);
        } else {
            if from != ctx.round.leader {
                fx.rejects.push("drp_not_from_leader".into());
                return;
            }
            let outs = st.server.handle(msg.msg, &mut st.rng);
            self.route(ctx, false, outs, fx);
        }
    }

    fn on_timer(
        &mut self,
        ctx: &RoundContext<'_>,
        tag: u64,
        fx: &mut RandomnessEffects<EpochDrpMsg>,
    ) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        match tag & 0xff {
            TAG_PHASE if tag >> 8 == st.phase_generation => {
                if let Some(leader) = st.leader.as_mut() {
                    let outs = leader.on_timeout();
                    // A timeout may leave the phase unchanged (a retry): keep pacing it.
                    if leader.phase() == st.phase && !leader.is_terminal() {
                        fx.timers
                            .push((self.phase_timeout, st.phase_generation << 8 | TAG_PHASE));
                    }
                    self.route(ctx, true, outs, fx);
                }
            }
            TAG_DEADLINE => {
                let outs = st.server.on_timeout();
                self.route(ctx, false, outs, fx);
            }
            _ => {}
        }
    }

    fn restart(&self) -> Self {
        Self::new(
            Arc::clone(&self.roster),
            self.seed,
            self.group_size,
            self.phase_timeout,
        )
    }
}
