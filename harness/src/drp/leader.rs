//! The leader's side of a DRP session, as a sans-I/O state machine.
//!
//! Phases and what ends each (all messages in, or [`Leader::on_timeout`]):
//! 1. `Dealings`: collect one signed dealing per server; verify each (signature, threshold, every
//!    encrypted share's DLEQ proof); invalid ones are excluded with their reason. Then choose, per
//!    group, the `t` valid dealings of the lowest group positions, and send the choice with the
//!    chosen dealings to every server.
//! 2. `Commitments`: collect CoSi commitments; then challenge the committers (at least the
//!    policy's `2f + 1`).
//! 3. `Responses`: every challenged server must answer. If some refuse or stay silent, the leader
//!    starts another attempt (`Recommit`, fresh nonces) without them, as long as the rest can
//!    still meet the policy and fewer than [`MAX_SIGNING_ATTEMPTS`] were made; otherwise the session
//!    fails. A valid collective signature on the choice is sent to every server with the request
//!    to decrypt.
//! 4. `Shares`: verify each decrypted share's DLEQ proof (invalid ones excluded with reason);
//!    once every chosen secret has `t` valid shares, recover them, compute the output, keep the
//!    transcript, and reveal the shares to every server, which recompute the output themselves.
//!
//! The leader verifies, but it is not trusted: servers check the choice, the dealings, the
//! collective signature and the revealed shares themselves, and a third party checks the
//! [`Transcript`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use iosv_engine::cosi::schnorr::{
    self, Challenge as CosiChallenge, Commitment, Response, aggregate_commitments,
    aggregate_responses, challenge as cosi_challenge, check_partial, finalize,
};
use iosv_engine::pvss::{DecryptedShare, verify_decrypted_share};
use serde::{Deserialize, Serialize};

use super::choice::{Choice, ChosenGroup, SignedDealing, verify_dealing};
use super::encoding::Hash32;
use super::msg::{
    ChosenShare, Dest, DrpFailure, DrpMsg, Exclusion, ExclusionReason, Outgoing, RevealedSecret,
};
use super::reveal::{output_hash, recover_secret};
use super::server::kind;
use super::session::{CHOICE_POLICY, Session};
use super::transcript::{TRANSCRIPT_VERSION, Transcript};

/// Most CoSi rounds on one choice. Each retry drops at least one server, so a few suffice for
/// crashes; a leader needing more is better replaced (the embedding layer's view change).
pub const MAX_SIGNING_ATTEMPTS: u32 = 3;

/// One way for the leader to misbehave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaderFault {
    #[default]
    Honest,
    /// Sends these servers a different valid choice (another `t` of some group's valid dealings)
    /// than everyone else, and challenges each with the hash of the choice it was shown.
    EquivocateChoice { servers: Vec<u32> },
}

/// Where the leader is in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaderPhase {
    Idle,
    Dealings,
    Commitments,
    Responses,
    Shares,
    Done,
    Failed,
}

struct Chosen {
    choice: Choice,
    hash: Hash32,
    dealings: Vec<SignedDealing>,
}

/// The leader's state machine for one session.
pub struct Leader {
    session: Arc<Session>,
    fault: LeaderFault,
    phase: LeaderPhase,
    seen_dealers: BTreeSet<u32>,
    valid_dealings: BTreeMap<u32, SignedDealing>,
    exclusions: Vec<Exclusion>,
    chosen: Option<Chosen>,
    /// The other choice an equivocating leader shows to some servers.
    alternative: Option<Chosen>,
    /// Signing attempt (0 first); each retry drops the servers that refused or stayed silent.
    attempt: u32,
    /// Servers no longer asked to co-sign: they refused, or missed a challenge.
    excluded_signers: BTreeSet<u32>,
    /// Challenged servers that refused (or answered wrongly) in this attempt.
    refused_now: BTreeSet<u32>,
    /// Servers that committed, refused or are excluded in this attempt.
    answered: BTreeSet<u32>,
    /// Servers that committed in some attempt (so hold the verified choice).
    ever_committed: BTreeSet<u32>,
    commits: BTreeMap<u32, Commitment>,
    challenge: Option<CosiChallenge>,
    responses: BTreeMap<u32, Response>,
    signature: Option<Vec<u8>>,
    /// Valid decrypted shares per chosen dealing (choice order), by share index.
    shares: Vec<BTreeMap<u32, DecryptedShare>>,
    shares_from: BTreeSet<u32>,
    result: Option<Result<Hash32, DrpFailure>>,
    transcript: Option<Transcript>,
}

impl Leader {
    pub fn new(session: Arc<Session>) -> Self {
        Self {
            session,
            fault: LeaderFault::Honest,
            phase: LeaderPhase::Idle,
            seen_dealers: BTreeSet::new(),
            valid_dealings: BTreeMap::new(),
            exclusions: Vec::new(),
            chosen: None,
            alternative: None,
            attempt: 0,
            excluded_signers: BTreeSet::new(),
            refused_now: BTreeSet::new(),
            answered: BTreeSet::new(),
            ever_committed: BTreeSet::new(),
            commits: BTreeMap::new(),
            challenge: None,
            responses: BTreeMap::new(),
            signature: None,
            shares: Vec::new(),
            shares_from: BTreeSet::new(),
            result: None,
            transcript: None,
        }
    }

    pub fn with_fault(mut self, fault: LeaderFault) -> Self {
        self.fault = fault;
        self
    }

    pub fn phase(&self) -> LeaderPhase {
        self.phase
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.phase, LeaderPhase::Done | LeaderPhase::Failed)
    }

    /// The output, or why the session failed; `None` while it runs.
    pub fn result(&self) -> Option<&Result<Hash32, DrpFailure>> {
        self.result.as_ref()
    }

    /// Contributions left out, with reasons, in the order they were found.
    pub fn exclusions(&self) -> &[Exclusion] {
        &self.exclusions
    }

    /// The transcript of a successful session.
    pub fn transcript(&self) -> Option<&Transcript> {
        self.transcript.as_ref()
    }

    /// Starts the session: announces it to every server.
    pub fn start(&mut self) -> Vec<Outgoing> {
        if self.phase != LeaderPhase::Idle {
            return Vec::new();
        }
        self.phase = LeaderPhase::Dealings;
        let session = *self.session.digest();
        to_all(self.session.servers(), |_| DrpMsg::Announce { session })
    }

    /// The current phase's timer expired: go on with what arrived, or fail.
    pub fn on_timeout(&mut self) -> Vec<Outgoing> {
        match self.phase {
            LeaderPhase::Dealings => self.choose(),
            LeaderPhase::Commitments => self.send_challenge(),
            LeaderPhase::Responses => {
                let missing: Vec<u32> = self
                    .commits
                    .keys()
                    .filter(|s| !self.responses.contains_key(s) && !self.refused_now.contains(s))
                    .copied()
                    .collect();
                self.excluded_signers.extend(&missing);
                self.conclude_attempt()
            }
            LeaderPhase::Shares => {
                let needed = |j: usize| self.chosen_dealings()[j].deal.threshold as usize;
                let short = (0..self.shares.len()).find(|&j| self.shares[j].len() < needed(j));
                match short {
                    Some(j) => {
                        let failure = DrpFailure::NotEnoughShares {
                            dealer: self.chosen_dealings()[j].dealer,
                            valid: self.shares[j].len(),
                            needed: needed(j),
                        };
                        self.fail(failure)
                    }
                    None => self.finish(),
                }
            }
            LeaderPhase::Idle | LeaderPhase::Done | LeaderPhase::Failed => Vec::new(),
        }
    }

    /// A message from server `from` (the embedding node authenticates the sender).
    pub fn handle(&mut self, from: u32, msg: DrpMsg) -> Vec<Outgoing> {
        if from >= self.session.servers() || self.is_terminal() {
            return Vec::new();
        }
        match (self.phase, msg) {
            (LeaderPhase::Dealings, DrpMsg::Dealing { dealing }) => self.on_dealing(from, dealing),
            (
                LeaderPhase::Commitments,
                DrpMsg::Commit {
                    attempt,
                    commitment,
                },
            ) if attempt == self.attempt => self.on_commit(from, &commitment),
            (LeaderPhase::Responses, DrpMsg::Response { attempt, response })
                if attempt == self.attempt =>
            {
                self.on_response(from, &response)
            }
            (LeaderPhase::Shares, DrpMsg::Shares { shares }) => self.on_shares(from, &shares),
            (phase, DrpMsg::Refuse { reason }) => {
                self.exclude(from, ExclusionReason::Refused(reason));
                self.excluded_signers.insert(from);
                match phase {
                    LeaderPhase::Commitments => {
                        self.commits.remove(&from);
                        self.answered.insert(from);
                        self.maybe_challenge()
                    }
                    LeaderPhase::Responses if self.commits.contains_key(&from) => {
                        self.refused_now.insert(from);
                        self.maybe_conclude()
                    }
                    _ => Vec::new(),
                }
            }
            (phase, other) => {
                tracing::debug!(from, ?phase, kind = kind(&other), "DRP leader ignores");
                Vec::new()
            }
        }
    }

    fn on_dealing(&mut self, from: u32, dealing: SignedDealing) -> Vec<Outgoing> {
        if !self.seen_dealers.insert(from) {
            return Vec::new();
        }
        if dealing.dealer != from {
            self.exclude(
                from,
                ExclusionReason::Unexpected(format!("dealing names dealer {}", dealing.dealer)),
            );
        } else {
            match verify_dealing(&self.session, &dealing) {
                Ok(()) => {
                    self.valid_dealings.insert(from, dealing);
                }
                Err(fault) => self.exclude(from, ExclusionReason::Dealing(fault)),
            }
        }
        if self.seen_dealers.len() == self.session.servers() as usize {
            self.choose()
        } else {
            Vec::new()
        }
    }

    /// Step c: `t` valid dealings per group, lowest group positions first.
    fn choose(&mut self) -> Vec<Outgoing> {
        let mut valid_per_group = Vec::new();
        for (g, group) in self.session.groups().iter().enumerate() {
            let valid: Vec<u32> = group
                .members
                .iter()
                .copied()
                .filter(|m| self.valid_dealings.contains_key(m))
                .collect();
            let t = group.threshold as usize;
            if valid.len() < t {
                return self.fail(DrpFailure::NotEnoughDealings {
                    group: g as u32,
                    valid: valid.len(),
                    needed: t,
                });
            }
            valid_per_group.push((valid, t));
        }
        let first: Vec<Vec<u32>> = valid_per_group
            .iter()
            .map(|(v, t)| v[..*t].to_vec())
            .collect();
        let chosen = self.build_choice(&first);
        if let LeaderFault::EquivocateChoice { .. } = self.fault {
            // Another valid choice: the last t valid dealings of the first group that has more.
            let mut other = first.clone();
            if let Some(g) = valid_per_group.iter().position(|(v, t)| v.len() > *t) {
                let (v, t) = &valid_per_group[g];
                other[g] = v[v.len() - t..].to_vec();
                self.alternative = Some(self.build_choice(&other));
            } else {
                tracing::warn!("equivocation fault: no second valid choice exists");
            }
        }
        self.shares = vec![BTreeMap::new(); chosen.dealings.len()];
        self.chosen = Some(chosen);
        self.phase = LeaderPhase::Commitments;
        to_all(self.session.servers(), |s| {
            let c = self.shown(s);
            DrpMsg::Choice {
                choice: c.choice.clone(),
                dealings: c.dealings.clone(),
            }
        })
    }

    fn build_choice(&self, dealers: &[Vec<u32>]) -> Chosen {
        let session = *self.session.digest();
        let mut dealings = Vec::new();
        let groups = dealers
            .iter()
            .map(|ds| {
                let hashes = ds
                    .iter()
                    .map(|d| {
                        let dealing = &self.valid_dealings[d];
                        dealings.push(dealing.clone());
                        dealing.digest(&session)
                    })
                    .collect();
                ChosenGroup {
                    dealers: ds.clone(),
                    dealing_hashes: hashes,
                }
            })
            .collect();
        let choice = Choice { session, groups };
        Chosen {
            hash: choice.hash(),
            choice,
            dealings,
        }
    }

    /// The choice server `server` is shown (differs only under the equivocation fault).
    fn shown(&self, server: u32) -> &Chosen {
        let chosen = self.chosen.as_ref().expect("a choice was made");
        match (&self.fault, &self.alternative) {
            (LeaderFault::EquivocateChoice { servers }, Some(alt)) if servers.contains(&server) => {
                alt
            }
            _ => chosen,
        }
    }

    fn chosen_dealings(&self) -> &[SignedDealing] {
        self.chosen.as_ref().map_or(&[], |c| &c.dealings)
    }

    fn on_commit(&mut self, from: u32, bytes: &[u8]) -> Vec<Outgoing> {
        if self.excluded_signers.contains(&from) || !self.answered.insert(from) {
            return Vec::new();
        }
        match Commitment::decode(self.session.roster().cosi(), bytes) {
            Ok(c) if c.mask().count() == 1 && c.mask().get(from as usize) => {
                self.commits.insert(from, c);
                self.ever_committed.insert(from);
            }
            Ok(_) => self.exclude(
                from,
                ExclusionReason::Commitment("mask is not the sender's own bit".into()),
            ),
            Err(e) => self.exclude(from, ExclusionReason::Commitment(e.to_string())),
        }
        self.maybe_challenge()
    }

    fn maybe_challenge(&mut self) -> Vec<Outgoing> {
        if self.answered.len() == self.session.servers() as usize {
            self.send_challenge()
        } else {
            Vec::new()
        }
    }

    /// Challenges every committer, if they can satisfy the policy.
    fn send_challenge(&mut self) -> Vec<Outgoing> {
        let n = self.session.servers() as usize;
        let needed = CHOICE_POLICY.required(n).max(1);
        if self.commits.len() < needed {
            return self.fail(DrpFailure::NotEnoughCommitments {
                got: self.commits.len(),
                needed,
            });
        }
        let roster = self.session.roster().cosi();
        let hash = self.chosen.as_ref().expect("a choice was made").hash;
        let challenge = aggregate_commitments(roster, self.commits.values())
            .and_then(|agg| cosi_challenge(roster, &agg, &Session::cosi_message(&hash)));
        let challenge = match challenge {
            Ok(c) => c,
            Err(e) => return self.fail(DrpFailure::Cosi(e.to_string())),
        };
        let bytes = challenge.to_bytes();
        self.challenge = Some(challenge);
        self.phase = LeaderPhase::Responses;
        self.commits
            .keys()
            .map(|&s| Outgoing {
                to: Dest::Server(s),
                msg: DrpMsg::Challenge {
                    attempt: self.attempt,
                    choice_hash: self.shown(s).hash,
                    challenge: bytes.clone(),
                },
            })
            .collect()
    }

    fn on_response(&mut self, from: u32, bytes: &[u8]) -> Vec<Outgoing> {
        let Some(commitment) = self.commits.get(&from) else {
            self.exclude(from, ExclusionReason::Response("not challenged".into()));
            return Vec::new();
        };
        if self.responses.contains_key(&from) {
            return Vec::new();
        }
        let roster = self.session.roster().cosi();
        let challenge = self.challenge.as_ref().expect("challenge sent");
        let checked = Response::decode(roster, bytes)
            .and_then(|r| check_partial(roster, challenge, commitment, &r).map(|()| r));
        match checked {
            Ok(r) => {
                self.responses.insert(from, r);
            }
            Err(e) => {
                self.exclude(from, ExclusionReason::Response(e.to_string()));
                self.excluded_signers.insert(from);
                self.refused_now.insert(from);
            }
        }
        self.maybe_conclude()
    }

    /// Ends the attempt once every challenged server answered or refused.
    fn maybe_conclude(&mut self) -> Vec<Outgoing> {
        if self.responses.len() + self.refused_now.len() < self.commits.len() {
            return Vec::new();
        }
        self.conclude_attempt()
    }

    /// All challenged servers responded: assemble the signature. Otherwise start another attempt
    /// without the servers that refused or stayed silent, or fail if that cannot reach the policy.
    fn conclude_attempt(&mut self) -> Vec<Outgoing> {
        if self.responses.len() < self.commits.len() {
            let refused: Vec<u32> = self.refused_now.iter().copied().collect();
            let failure = if refused.is_empty() {
                DrpFailure::ResponsesMissing {
                    servers: self.excluded_signers.iter().copied().collect(),
                }
            } else {
                DrpFailure::ChoiceRefused { servers: refused }
            };
            return self.retry_or_fail(failure);
        }
        let roster = self.session.roster().cosi();
        let challenge = self.challenge.as_ref().expect("challenge sent");
        let hash = self.chosen.as_ref().expect("a choice was made").hash;
        let signature = aggregate_responses(roster, self.responses.values())
            .and_then(|total| finalize(challenge, &total))
            .map(|sig| sig.to_bytes())
            .and_then(|sig| {
                schnorr::verify(roster, CHOICE_POLICY, &Session::cosi_message(&hash), &sig)
                    .map(|()| sig)
            });
        match signature {
            Ok(signature) => {
                self.signature = Some(signature.clone());
                self.phase = LeaderPhase::Shares;
                // Servers that never committed may have missed the choice: send it again first.
                let mut out = Vec::new();
                for s in 0..self.session.servers() {
                    if !self.ever_committed.contains(&s) {
                        let c = self.shown(s);
                        out.push(Outgoing {
                            to: Dest::Server(s),
                            msg: DrpMsg::Choice {
                                choice: c.choice.clone(),
                                dealings: c.dealings.clone(),
                            },
                        });
                    }
                    out.push(Outgoing {
                        to: Dest::Server(s),
                        msg: DrpMsg::Decrypt {
                            choice_hash: hash,
                            signature: signature.clone(),
                        },
                    });
                }
                out
            }
            Err(e) => self.fail(DrpFailure::Cosi(e.to_string())),
        }
    }

    fn retry_or_fail(&mut self, failure: DrpFailure) -> Vec<Outgoing> {
        let n = self.session.servers() as usize;
        let eligible = n - self.excluded_signers.len();
        if self.attempt + 1 >= MAX_SIGNING_ATTEMPTS || eligible < CHOICE_POLICY.required(n).max(1) {
            return self.fail(failure);
        }
        self.attempt += 1;
        tracing::info!(attempt = self.attempt, %failure, "DRP choice signing retried");
        self.commits.clear();
        self.responses.clear();
        self.refused_now.clear();
        self.challenge = None;
        self.answered = self.excluded_signers.clone();
        self.phase = LeaderPhase::Commitments;
        let attempt = self.attempt;
        (0..self.session.servers())
            .filter(|s| !self.excluded_signers.contains(s))
            .map(|s| Outgoing {
                to: Dest::Server(s),
                msg: DrpMsg::Recommit {
                    attempt,
                    choice_hash: self.shown(s).hash,
                },
            })
            .collect()
    }

    fn on_shares(&mut self, from: u32, shares: &[ChosenShare]) -> Vec<Outgoing> {
        if !self.shares_from.insert(from) {
            return Vec::new();
        }
        let (group, position) = self.session.placement(from).expect("from is in the roster");
        let keys = self.session.group_keys(group);
        for cs in shares {
            let Some(j) = self
                .chosen_dealings()
                .iter()
                .position(|d| d.dealer == cs.dealer)
            else {
                self.exclude(
                    from,
                    ExclusionReason::Unexpected(format!("share of unchosen dealer {}", cs.dealer)),
                );
                continue;
            };
            let dealing = &self.chosen_dealings()[j];
            let in_group = self.session.placement(cs.dealer).map(|p| p.0) == Some(group);
            let verdict = if !in_group || cs.share.index != position + 1 {
                Err("not this server's share".to_string())
            } else {
                verify_decrypted_share(&dealing.deal, &keys, &cs.share).map_err(|e| e.to_string())
            };
            match verdict {
                Ok(()) => {
                    let t = dealing.deal.threshold as usize;
                    if self.shares[j].len() < t {
                        self.shares[j].insert(cs.share.index, cs.share);
                    }
                }
                Err(detail) => self.exclude(
                    from,
                    ExclusionReason::DecryptedShare {
                        dealer: cs.dealer,
                        detail,
                    },
                ),
            }
        }
        let complete = self
            .chosen_dealings()
            .iter()
            .zip(&self.shares)
            .all(|(d, s)| s.len() >= d.deal.threshold as usize);
        if complete { self.finish() } else { Vec::new() }
    }

    /// Step e: recover every chosen secret, compute the output, keep the transcript, reveal.
    fn finish(&mut self) -> Vec<Outgoing> {
        let mut secrets = Vec::with_capacity(self.shares.len());
        for (dealing, shares) in self.chosen_dealings().iter().zip(&self.shares) {
            let shares: Vec<DecryptedShare> = shares.values().copied().collect();
            match recover_secret(dealing.dealer, &shares) {
                Ok(recovered) => secrets.push(RevealedSecret {
                    dealer: dealing.dealer,
                    shares,
                    recovered,
                }),
                Err(e) => {
                    let failure = DrpFailure::Recovery(e.to_string());
                    return self.fail(failure);
                }
            }
        }
        let recovered: Vec<_> = secrets.iter().map(|s| s.recovered).collect();
        let output = output_hash(self.session.digest(), &recovered);
        let chosen = self.chosen.as_ref().expect("a choice was made");
        self.transcript = Some(Transcript {
            version: TRANSCRIPT_VERSION,
            params: self.session.params().clone(),
            roster: self.session.roster().members().to_vec(),
            grouping_seed: *self.session.grouping_seed(),
            groups: self.session.groups().to_vec(),
            choice: chosen.choice.clone(),
            dealings: chosen.dealings.clone(),
            choice_signature: self.signature.clone().expect("signed before decryption"),
            secrets: secrets.clone(),
            output,
        });
        self.result = Some(Ok(output));
        self.phase = LeaderPhase::Done;
        tracing::info!(output = %hex::encode(output), "DRP session done");
        to_all(self.session.servers(), |_| DrpMsg::Reveal {
            secrets: secrets.clone(),
        })
    }

    fn exclude(&mut self, server: u32, reason: ExclusionReason) {
        tracing::warn!(server, %reason, "DRP leader excludes");
        self.exclusions.push(Exclusion { server, reason });
    }

    fn fail(&mut self, failure: DrpFailure) -> Vec<Outgoing> {
        tracing::warn!(%failure, "DRP session failed");
        self.result = Some(Err(failure));
        self.phase = LeaderPhase::Failed;
        Vec::new()
    }
}

/// The same kind of message to every server.
fn to_all(servers: u32, mut msg: impl FnMut(u32) -> DrpMsg) -> Vec<Outgoing> {
    (0..servers)
        .map(|s| Outgoing {
            to: Dest::Server(s),
            msg: msg(s),
        })
        .collect()
}
