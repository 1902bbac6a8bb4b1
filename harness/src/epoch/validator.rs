//! A validator's epoch start as a sans-I/O state machine: VRF lottery, gossip for Δ, ranking,
//! candidates' turns of Δ each, exclusion, view change.
//!
//! Timeline of epoch `e` (all offsets from its start `e · epoch_len`; the same at every node, so
//! honest nodes move through views together without exchanging view-change messages):
//! - view `v` starts at `v · 4Δ`: every non-excluded validator draws its lottery for `(e, v)` and
//!   sends it to all; lotteries are collected until `v · 4Δ + Δ` (the close);
//! - at the close the valid lotteries are ranked, provided more than two thirds of the roster's
//!   lotteries arrived (otherwise this node may be cut off from the majority and elects no one,
//!   so a minority partition cannot accept a value of its own); candidate `k ∈ {0, 1, 2}` (leader, backups) has
//!   the window `[close + kΔ, close + (k+1)Δ)` to deliver the randomness through the
//!   [`RandomnessProtocol`]; a candidate that does not is excluded for the rest of the epoch (its
//!   later lotteries are rejected) and the next one starts;
//! - if all three fail (or fewer than three lotteries were valid), view `v + 1` starts at
//!   `close + 3Δ = (v+1) · 4Δ`; after `max_views` failed views the epoch has no new randomness.
//!
//! Hence the guarantee checked by the simulator: a node accepts the randomness at most 3Δ after its
//! view's close. Lotteries are rejected (and reported) when they are for another epoch or view,
//! late (after the close), duplicated, from an excluded or unknown node, sent by someone other
//! than their owner, or carry an invalid proof. The only early inputs kept (in bounded buffers) are
//! a lottery for exactly the next view or the next epoch's first view, and randomness-protocol
//! messages for a round this node has not reached yet: under real time a fast peer may start a
//! view, or close its gossip window, a little before this node does.
//!
//! Durable state (kept by [`Node::restart`]): keys, roster, parameters, behaviour and the log of
//! accepted randomness. Everything about the running epoch is volatile: a restarted node sits out
//! until the next epoch starts.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::lottery::{self, CANDIDATES, Lottery, LotteryError, ValidLottery};
use super::message::{Message, Output, Timer};
use super::randomness::{RandomnessEffects, RandomnessProtocol, Round, RoundContext};
use super::roster::{Roster, ValidatorKeys};
use crate::node::{Dest, Effects, Node, NodeId, Time};

/// Timing of the epoch flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochParams {
    /// Δ in microseconds: the gossip window and each candidate's window.
    pub delta: u64,
    /// Length of an epoch in microseconds.
    pub epoch_len: u64,
    /// Views an epoch may try before it gives up.
    pub max_views: u32,
}

/// Why epoch parameters are unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("Δ must be positive")]
    ZeroDelta,
    #[error("max_views must be at least 1")]
    NoViews,
    #[error(
        "{max_views} views of 4Δ ({view_len} µs each) do not fit in an epoch of {epoch_len} µs"
    )]
    EpochTooShort {
        max_views: u32,
        view_len: u64,
        epoch_len: u64,
    },
}

impl EpochParams {
    /// A view: Δ of gossip and Δ for each of the three candidates.
    pub fn view_len(&self) -> u64 {
        self.delta.saturating_mul(1 + CANDIDATES as u64)
    }

    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.delta == 0 {
            return Err(ParamsError::ZeroDelta);
        }
        if self.max_views == 0 {
            return Err(ParamsError::NoViews);
        }
        if self.view_len().saturating_mul(u64::from(self.max_views)) > self.epoch_len {
            return Err(ParamsError::EpochTooShort {
                max_views: self.max_views,
                view_len: self.view_len(),
                epoch_len: self.epoch_len,
            });
        }
        Ok(())
    }
}

/// How a validator behaves: honest, or one of the injected faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behavior {
    #[default]
    Honest,
    /// As a candidate, never delivers the randomness.
    Withhold,
    /// Sends its lottery with a corrupted proof.
    InvalidLottery,
    /// Sends its lottery twice.
    DuplicateLottery,
    /// Sends its lottery after the gossip window closed (Δ/2 late).
    LateLottery,
    /// Besides its own, sends valid lotteries for another epoch and another view.
    WrongEpochLottery,
    /// As a candidate, announces a wrong value (placeholder protocol).
    CorruptAnnouncement,
}

impl Behavior {
    pub fn is_honest(self) -> bool {
        self == Behavior::Honest
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Gossip,
    Candidates,
    Finished,
}

/// The running epoch (volatile).
#[derive(Debug)]
struct EpochState {
    epoch: u64,
    view: u32,
    phase: Phase,
    lotteries: BTreeMap<NodeId, ValidLottery>,
    excluded: BTreeSet<NodeId>,
    candidates: Vec<NodeId>,
    close_at: Time,
    /// The active candidate's rank and window end.
    active: Option<(u8, Time)>,
    accepted: bool,
}

type Fx<P> = Effects<Message<P>, Timer, Output>;

/// One validator running epochs with the randomness protocol `R`.
pub struct Validator<R: RandomnessProtocol> {
    id: NodeId,
    keys: ValidatorKeys,
    roster: Arc<Roster>,
    params: EpochParams,
    behavior: Behavior,
    protocol: R,
    log: BTreeMap<u64, [u8; 32]>,
    state: Option<EpochState>,
    next_epoch: u64,
    early: BTreeMap<(u64, u32, NodeId), (NodeId, Lottery)>,
    /// Randomness-protocol messages for a round this node has not reached yet (bounded).
    early_rounds: Vec<(Round, NodeId, R::Msg)>,
}

impl<R: RandomnessProtocol> Validator<R> {
    pub fn new(
        id: NodeId,
        keys: ValidatorKeys,
        roster: Arc<Roster>,
        params: EpochParams,
        behavior: Behavior,
        protocol: R,
    ) -> Self {
        Self {
            id,
            keys,
            roster,
            params,
            behavior,
            protocol,
            log: BTreeMap::new(),
            state: None,
            next_epoch: 0,
            early: BTreeMap::new(),
            early_rounds: Vec::new(),
        }
    }

    /// The randomness protocol's name.
    pub fn protocol_name(&self) -> &'static str {
        self.protocol.name()
    }

    pub fn behavior(&self) -> Behavior {
        self.behavior
    }

    /// The durable log: randomness accepted per epoch.
    pub fn log(&self) -> &BTreeMap<u64, [u8; 32]> {
        &self.log
    }

    fn start_view(&mut self, view: u32, fx: &mut Fx<R::Msg>) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        let epoch = st.epoch;
        st.view = view;
        st.phase = Phase::Gossip;
        st.lotteries.clear();
        st.candidates.clear();
        st.active = None;
        fx.timer(self.params.delta, Timer::LotteryClose { epoch, view });
        if !st.excluded.contains(&self.id) {
            let (lottery, valid) = Lottery::draw(&self.keys.vrf, self.id, epoch, view);
            st.lotteries.insert(self.id, valid);
            self.send_lottery(lottery, fx);
        }
        let due: Vec<_> = self
            .early
            .range((epoch, view, 0)..=(epoch, view, NodeId::MAX))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (key, (from, lottery)) in due {
            self.early.remove(&key);
            self.on_lottery(from, lottery, fx);
        }
    }

    fn send_lottery(&mut self, lottery: Lottery, fx: &mut Fx<R::Msg>) {
        let (epoch, view) = (lottery.epoch, lottery.view);
        match self.behavior {
            Behavior::InvalidLottery => {
                let mut bad = lottery;
                if let Some(b) = bad.proof.get_mut(40) {
                    *b ^= 0x01;
                }
                fx.send(Dest::AllOthers, Message::Lottery(bad));
            }
            Behavior::DuplicateLottery => {
                fx.send(Dest::AllOthers, Message::Lottery(lottery.clone()));
                fx.send(Dest::AllOthers, Message::Lottery(lottery));
            }
            Behavior::LateLottery => {
                fx.timer(
                    self.params.delta + self.params.delta / 2,
                    Timer::LateLottery { epoch, view },
                );
            }
            Behavior::WrongEpochLottery => {
                fx.send(Dest::AllOthers, Message::Lottery(lottery));
                for (e, v) in [(epoch + 2, view), (epoch, view + 2)] {
                    let (other, _) = Lottery::draw(&self.keys.vrf, self.id, e, v);
                    fx.send(Dest::AllOthers, Message::Lottery(other));
                }
            }
            Behavior::Honest | Behavior::Withhold | Behavior::CorruptAnnouncement => {
                fx.send(Dest::AllOthers, Message::Lottery(lottery));
            }
        }
    }

    fn on_lottery(&mut self, from: NodeId, lottery: Lottery, fx: &mut Fx<R::Msg>) {
        let (epoch, view, node) = (lottery.epoch, lottery.view, lottery.node);
        if let Err(e) = self.check_lottery(from, lottery) {
            fx.output(Output::LotteryRejected {
                epoch,
                view,
                from,
                node,
                reason: e.code(),
            });
        }
    }

    /// Counts, buffers or rejects a lottery.
    fn check_lottery(&mut self, from: NodeId, lottery: Lottery) -> Result<(), LotteryError> {
        let next_view = match &self.state {
            None => (self.next_epoch, 0),
            Some(st) if lottery.epoch != st.epoch => (st.epoch + 1, 0),
            Some(st) => (st.epoch, st.view + 1),
        };
        if (lottery.epoch, lottery.view) == next_view {
            // Checked before buffering, so a peer cannot fill the buffer in others' names.
            if lottery.node != from {
                return Err(LotteryError::SenderMismatch {
                    claimed: lottery.node,
                    from,
                });
            }
            return self.buffer(from, lottery);
        }
        let Some(st) = self.state.as_mut() else {
            return Err(LotteryError::NoEpoch);
        };
        if lottery.epoch != st.epoch {
            return Err(LotteryError::WrongEpoch {
                got: lottery.epoch,
                current: st.epoch,
            });
        }
        if lottery.view != st.view {
            return Err(LotteryError::WrongView {
                got: lottery.view,
                current: st.view,
            });
        }
        if st.phase != Phase::Gossip {
            return Err(LotteryError::Late);
        }
        if lottery.node != from {
            return Err(LotteryError::SenderMismatch {
                claimed: lottery.node,
                from,
            });
        }
        if self.roster.get(lottery.node).is_none() {
            return Err(LotteryError::UnknownNode(lottery.node));
        }
        if st.excluded.contains(&lottery.node) {
            return Err(LotteryError::Excluded(lottery.node));
        }
        if st.lotteries.contains_key(&lottery.node) {
            return Err(LotteryError::Duplicate(lottery.node));
        }
        let valid = lottery.verify(&self.roster)?;
        st.lotteries.insert(valid.node, valid);
        Ok(())
    }

    /// Keeps a lottery for the next view until it starts: at most one per (view, node), at most
    /// two per roster member in all.
    fn buffer(&mut self, from: NodeId, lottery: Lottery) -> Result<(), LotteryError> {
        let key = (lottery.epoch, lottery.view, lottery.node);
        if self.early.contains_key(&key) {
            return Err(LotteryError::Duplicate(lottery.node));
        }
        if self.early.len() >= 2 * self.roster.len() as usize {
            return Err(LotteryError::TooEarly);
        }
        self.early.insert(key, (from, lottery));
        Ok(())
    }

    fn close(&mut self, now: Time, fx: &mut Fx<R::Msg>) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        st.phase = Phase::Candidates;
        st.close_at = now;
        // A node that heard two thirds or fewer of the roster cannot trust its ranking (it may be
        // cut off from the majority): it elects no one this view.
        let quorum = 3 * st.lotteries.len() > 2 * self.roster.len() as usize;
        st.candidates = if quorum {
            lottery::rank(st.lotteries.values())
        } else {
            Vec::new()
        };
        fx.output(Output::Ranked {
            epoch: st.epoch,
            view: st.view,
            candidates: st.candidates.clone(),
            lotteries: st.lotteries.len() as u32,
            quorum,
        });
        self.activate(0, now, fx);
    }

    /// Opens the window of the candidate of `rank` (waiting Δ even if there is none, so views stay
    /// aligned in time across nodes).
    fn activate(&mut self, rank: u8, now: Time, fx: &mut Fx<R::Msg>) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        let deadline = now + self.params.delta;
        st.active = Some((rank, deadline));
        fx.timer(
            self.params.delta,
            Timer::CandidateDeadline {
                epoch: st.epoch,
                view: st.view,
                rank,
            },
        );
        let Some(round) = self.active_round() else {
            return;
        };
        if round.leader == self.id && self.behavior == Behavior::Withhold {
            return;
        }
        self.run_protocol(now, self.id, fx, |p, ctx, rfx| p.begin(ctx, rfx));
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.early_rounds)
            .into_iter()
            .partition(|(r, _, _)| *r == round);
        self.early_rounds = rest;
        for (_, from, body) in due {
            self.run_protocol(now, from, fx, |p, ctx, rfx| {
                p.on_message(ctx, from, body, rfx)
            });
        }
    }

    /// Whether `round` may still become active at this node (so a message for it is kept).
    fn is_future(&self, round: &Round) -> bool {
        let Some(st) = self.state.as_ref() else {
            return round.epoch == self.next_epoch;
        };
        if round.epoch != st.epoch {
            return round.epoch == st.epoch + 1;
        }
        if st.accepted {
            return false;
        }
        match round.view.cmp(&st.view) {
            Ordering::Greater => round.view < self.params.max_views,
            Ordering::Less => false,
            Ordering::Equal => match (st.phase, st.active) {
                (Phase::Gossip, _) => true,
                (Phase::Candidates, Some((rank, _))) => round.rank > rank,
                _ => false,
            },
        }
    }

    fn active_round(&self) -> Option<Round> {
        let st = self.state.as_ref()?;
        let (rank, _) = st.active?;
        let leader = *st.candidates.get(rank as usize)?;
        Some(Round {
            epoch: st.epoch,
            view: st.view,
            rank,
            leader,
        })
    }

    /// Calls the randomness protocol in the active round and applies what it asks for.
    fn run_protocol(
        &mut self,
        now: Time,
        from: NodeId,
        fx: &mut Fx<R::Msg>,
        call: impl FnOnce(&mut R, &RoundContext<'_>, &mut RandomnessEffects<R::Msg>),
    ) {
        let Some(round) = self.active_round() else {
            return;
        };
        let Some(st) = self.state.as_ref() else {
            return;
        };
        let Some((_, deadline)) = st.active else {
            return;
        };
        let mut rfx = RandomnessEffects::default();
        let ctx = RoundContext {
            round,
            me: self.id,
            now,
            deadline,
            roster: &self.roster,
            lotteries: &st.lotteries,
            previous: self
                .log
                .range(..round.epoch)
                .next_back()
                .map(|(&e, &v)| (e, v)),
        };
        call(&mut self.protocol, &ctx, &mut rfx);
        for (dest, body) in rfx.sends {
            fx.send(dest, Message::Randomness { round, body });
        }
        for (delay, tag) in rfx.timers {
            fx.timer(delay, Timer::Protocol { round, tag });
        }
        for reason in rfx.rejects {
            fx.output(Output::RandomnessRejected {
                epoch: round.epoch,
                view: round.view,
                from,
                reason,
            });
        }
        if let Some(r) = rfx.output {
            self.accept(round, r.value, now, deadline, fx);
        }
    }

    fn accept(
        &mut self,
        round: Round,
        value: [u8; 32],
        now: Time,
        deadline: Time,
        fx: &mut Fx<R::Msg>,
    ) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        if st.accepted || now > deadline {
            return;
        }
        st.accepted = true;
        st.phase = Phase::Finished;
        self.log.insert(round.epoch, value);
        fx.output(Output::RandomnessAccepted {
            epoch: round.epoch,
            view: round.view,
            rank: round.rank,
            leader: round.leader,
            value,
            close_at: st.close_at,
            elapsed: now - st.close_at,
        });
    }

    fn on_deadline(&mut self, rank: u8, now: Time, fx: &mut Fx<R::Msg>) {
        let Some(st) = self.state.as_mut() else {
            return;
        };
        if st.accepted || st.phase != Phase::Candidates || st.active.map(|a| a.0) != Some(rank) {
            return;
        }
        if let Some(&leader) = st.candidates.get(rank as usize) {
            st.excluded.insert(leader);
            fx.output(Output::LeaderExcluded {
                epoch: st.epoch,
                view: st.view,
                rank,
                leader,
            });
        }
        if usize::from(rank) + 1 < CANDIDATES {
            self.activate(rank + 1, now, fx);
            return;
        }
        fx.output(Output::ViewFailed {
            epoch: st.epoch,
            view: st.view,
        });
        if st.view + 1 < self.params.max_views {
            let next = st.view + 1;
            self.start_view(next, fx);
        } else {
            st.phase = Phase::Finished;
            fx.output(Output::EpochFailed { epoch: st.epoch });
        }
    }
}

impl<R: RandomnessProtocol> Node for Validator<R> {
    type Msg = Message<R::Msg>;
    type Timer = Timer;
    type Output = Output;

    fn id(&self) -> NodeId {
        self.id
    }

    fn on_start(&mut self, now: Time, fx: &mut Fx<R::Msg>) {
        self.state = None;
        self.early.clear();
        self.early_rounds.clear();
        let next = now.div_ceil(self.params.epoch_len);
        self.next_epoch = next;
        fx.timer(
            next * self.params.epoch_len - now,
            Timer::EpochStart { epoch: next },
        );
    }

    fn on_message(&mut self, now: Time, from: NodeId, msg: Self::Msg, fx: &mut Fx<R::Msg>) {
        match msg {
            Message::Lottery(l) => self.on_lottery(from, l, fx),
            Message::Randomness { round, body } => {
                if self.active_round() == Some(round) {
                    self.run_protocol(now, from, fx, |p, ctx, rfx| {
                        p.on_message(ctx, from, body, rfx)
                    });
                } else if self.is_future(&round)
                    && self.early_rounds.len() < 4 * self.roster.len() as usize
                {
                    self.early_rounds.push((round, from, body));
                } else {
                    fx.output(Output::RandomnessRejected {
                        epoch: round.epoch,
                        view: round.view,
                        from,
                        reason: "inactive_round".into(),
                    });
                }
            }
        }
    }

    fn on_timer(&mut self, now: Time, timer: Timer, fx: &mut Fx<R::Msg>) {
        let current = self.state.as_ref().map(|s| (s.epoch, s.view));
        match timer {
            Timer::EpochStart { epoch } => {
                fx.timer(
                    self.params.epoch_len,
                    Timer::EpochStart { epoch: epoch + 1 },
                );
                self.next_epoch = epoch + 1;
                let excluded = BTreeSet::new();
                self.state = Some(EpochState {
                    epoch,
                    view: 0,
                    phase: Phase::Gossip,
                    lotteries: BTreeMap::new(),
                    excluded,
                    candidates: Vec::new(),
                    close_at: now,
                    active: None,
                    accepted: false,
                });
                self.early.retain(|&(e, _, _), _| e >= epoch);
                self.early_rounds.retain(|(r, _, _)| r.epoch >= epoch);
                self.start_view(0, fx);
            }
            Timer::LotteryClose { epoch, view } => {
                let gossip = self
                    .state
                    .as_ref()
                    .is_some_and(|s| s.phase == Phase::Gossip);
                if current == Some((epoch, view)) && gossip {
                    self.close(now, fx);
                }
            }
            Timer::CandidateDeadline { epoch, view, rank } => {
                if current == Some((epoch, view)) {
                    self.on_deadline(rank, now, fx);
                }
            }
            Timer::Protocol { round, tag } => {
                if self.active_round() == Some(round) {
                    self.run_protocol(now, self.id, fx, |p, ctx, rfx| p.on_timer(ctx, tag, rfx));
                }
            }
            Timer::LateLottery { epoch, view } => {
                let (lottery, _) = Lottery::draw(&self.keys.vrf, self.id, epoch, view);
                fx.send(Dest::AllOthers, Message::Lottery(lottery));
            }
        }
    }

    fn restart(&self) -> Self {
        Self {
            id: self.id,
            keys: self.keys.clone(),
            roster: Arc::clone(&self.roster),
            params: self.params,
            behavior: self.behavior,
            protocol: self.protocol.restart(),
            log: self.log.clone(),
            state: None,
            next_epoch: 0,
            early: BTreeMap::new(),
            early_rounds: Vec::new(),
        }
    }
}
