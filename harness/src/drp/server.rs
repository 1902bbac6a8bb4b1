//! The server's side of a DRP session, as a sans-I/O state machine.
//!
//! Order: `Announce` → deal (`Dealing`) → `Choice` → verify and commit (`Commit`) → `Challenge` →
//! respond (`Response`) → `Decrypt` → check the collective signature, decrypt (`Shares`) →
//! `Reveal` → check and compute the output. A `Recommit` for the same choice (a later signing
//! attempt) draws a fresh nonce and commits again; a challenge of an older attempt is ignored.
//! After decrypting, a server sends its shares to every other server as well as to the leader,
//! and computes the output itself as soon as it holds `t` valid shares of every chosen secret
//! (from the leader's `Reveal` or from the other servers), so a leader that stops after seeing the
//! output cannot keep it from the servers.
//! Messages may be reordered in transit: a `Decrypt` before the choice and a `Reveal` before this
//! server decrypted are kept (the latest one of each) and handled once their turn comes.
//!
//! Invariants:
//! - a server co-signs at most one choice per session: it commits to the first choice it
//!   verified, refuses any other (evidence of equivocation), and answers a challenge only if the
//!   CoSi challenge recomputed over *its* choice matches; so a leader that shows different choices
//!   to different servers cannot gather one collective signature over both halves;
//! - it decrypts nothing before it holds a collective signature, under the choice policy, on the
//!   choice it verified (so the choice is fixed before any secret can be known);
//! - it checks every chosen dealing (dealer signature and PVSS proofs) before committing.
//!
//! [`ServerFault`] makes a server Byzantine in one specific way, for fault tests and the simulator.

use std::collections::BTreeMap;
use std::sync::Arc;

use iosv_engine::cosi::schnorr::{
    self, Challenge as CosiChallenge, Nonce, commit as cosi_commit, respond,
};
use iosv_engine::pvss::generators::{g, h};
use iosv_engine::pvss::point::random_nonzero_scalar;
use iosv_engine::pvss::{
    DecryptedShare, DleqStatement, deal, decrypt_share, dleq, verify_decrypted_share,
};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};

use super::choice::{Choice, SignedDealing, verify_dealing};
use super::encoding::Hash32;
use super::msg::{ChosenShare, Dest, DrpFailure, DrpMsg, Outgoing, Refusal, RevealedSecret};
use super::reveal::{output_hash, recover_secret, verify_revealed};
use super::roster::ServerKeys;
use super::session::{CHOICE_POLICY, Session};

/// One way for a server to misbehave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerFault {
    #[default]
    Honest,
    /// Deals one encrypted share that does not match the commitments (proof left honest).
    BadEncryptedShare,
    /// Deals correct shares but a DLEQ proof made with the wrong witness for one of them.
    ForgedDealingProof,
    /// Reveals a wrong decrypted share with a forged DLEQ proof.
    ForgedDecryptionProof,
    /// Never sends anything.
    Withhold,
}

/// Where a server is in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerPhase {
    Idle,
    Dealt,
    Committed,
    Responded,
    Decrypted,
    Done,
    Failed,
}

/// Why a server could not be set up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServerError {
    #[error("server {0} is not in the roster")]
    NotInRoster(u32),
    #[error("keys do not match roster entry {0}")]
    KeyMismatch(u32),
}

struct VerifiedChoice {
    hash: Hash32,
    choice: Choice,
    dealings: Vec<SignedDealing>,
}

/// A server's state machine for one session.
pub struct Server {
    session: Arc<Session>,
    index: u32,
    group: u32,
    position: u32,
    keys: ServerKeys,
    fault: ServerFault,
    phase: ServerPhase,
    choice: Option<VerifiedChoice>,
    /// The signing attempt this server's nonce belongs to.
    attempt: u32,
    nonce: Option<Nonce>,
    output: Option<Hash32>,
    failure: Option<DrpFailure>,
    evidence: Vec<Refusal>,
    /// A decrypt request that arrived before the choice (messages may be reordered).
    pending_decrypt: Option<(Hash32, Vec<u8>)>,
    /// Revealed secrets that arrived before this server decrypted.
    pending_reveal: Option<Vec<RevealedSecret>>,
    /// Valid decrypted shares gathered from every server, per chosen dealing (choice order).
    gathered: Vec<BTreeMap<u32, DecryptedShare>>,
    /// Other servers' shares that arrived before this server decrypted (at most one per server).
    early_shares: Vec<Vec<ChosenShare>>,
    /// Messages for other servers produced by the current input.
    outbox: Vec<Outgoing>,
}

impl Server {
    /// Server `index` of the session's roster, with its keys (checked against the roster).
    pub fn new(session: Arc<Session>, index: u32, keys: ServerKeys) -> Result<Self, ServerError> {
        let (group, position) = session
            .placement(index)
            .ok_or(ServerError::NotInRoster(index))?;
        if session.roster().members()[index as usize] != keys.member_info() {
            return Err(ServerError::KeyMismatch(index));
        }
        Ok(Self {
            session,
            index,
            group,
            position,
            keys,
            fault: ServerFault::Honest,
            phase: ServerPhase::Idle,
            choice: None,
            attempt: 0,
            nonce: None,
            output: None,
            failure: None,
            evidence: Vec::new(),
            pending_decrypt: None,
            pending_reveal: None,
            gathered: Vec::new(),
            early_shares: Vec::new(),
            outbox: Vec::new(),
        })
    }

    pub fn with_fault(mut self, fault: ServerFault) -> Self {
        self.fault = fault;
        self
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn phase(&self) -> ServerPhase {
        self.phase
    }

    /// The session's random output, once this server checked the revealed secrets.
    pub fn output(&self) -> Option<&Hash32> {
        self.output.as_ref()
    }

    pub fn failure(&self) -> Option<&DrpFailure> {
        self.failure.as_ref()
    }

    /// Everything this server refused, in order (evidence against the leader).
    pub fn evidence(&self) -> &[Refusal] {
        &self.evidence
    }

    /// Whether the session is over for this server.
    pub fn is_terminal(&self) -> bool {
        matches!(self.phase, ServerPhase::Done | ServerPhase::Failed)
    }

    /// The leader's phase timer expired: a server still waiting gives up.
    pub fn on_timeout(&mut self) -> Vec<Outgoing> {
        if !self.is_terminal() {
            self.phase = ServerPhase::Failed;
            self.failure = Some(DrpFailure::Timeout);
        }
        Vec::new()
    }

    /// A message from the session's leader, or a `Shares` message from any server (the embedding
    /// node authenticates the sender; shares are checked by their proofs whoever relays them).
    pub fn handle<R: CryptoRng + ?Sized>(&mut self, msg: DrpMsg, rng: &mut R) -> Vec<Outgoing> {
        if self.fault == ServerFault::Withhold || self.is_terminal() {
            return Vec::new();
        }
        let result = match msg {
            DrpMsg::Announce { session } => self.on_announce(&session, rng),
            DrpMsg::Choice { choice, dealings } => self.on_choice(choice, dealings, rng),
            DrpMsg::Challenge {
                attempt,
                choice_hash,
                challenge,
            } => self.on_challenge(attempt, &choice_hash, &challenge),
            DrpMsg::Recommit {
                attempt,
                choice_hash,
            } => self.on_recommit(attempt, &choice_hash, rng),
            DrpMsg::Decrypt {
                choice_hash,
                signature,
            } => self.on_decrypt(&choice_hash, &signature, rng),
            DrpMsg::Reveal { secrets } => self.on_reveal(&secrets),
            DrpMsg::Shares { shares } => self.on_peer_shares(shares),
            other => Err(Refusal::OutOfOrder(format!(
                "a server does not take {}",
                kind(&other)
            ))),
        };
        let result = result.and_then(|first| {
            let mut out: Vec<DrpMsg> = first.into_iter().collect();
            out.extend(self.replay_pending(rng)?);
            Ok(out)
        });
        let outbox = std::mem::take(&mut self.outbox);
        match result {
            Ok(msgs) => msgs.into_iter().map(to_leader).chain(outbox).collect(),
            Err(refusal) => {
                tracing::warn!(server = self.index, %refusal, "DRP server refuses");
                self.evidence.push(refusal.clone());
                self.phase = ServerPhase::Failed;
                self.failure = Some(DrpFailure::Refused(refusal.clone()));
                vec![to_leader(DrpMsg::Refuse { reason: refusal })]
            }
        }
    }

    /// Handles buffered messages whose turn has come.
    fn replay_pending<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<Vec<DrpMsg>, Refusal> {
        let mut out = Vec::new();
        if self.choice.is_some()
            && let Some((hash, signature)) = self.pending_decrypt.take()
        {
            out.extend(self.on_decrypt(&hash, &signature, rng)?);
        }
        if self.phase == ServerPhase::Decrypted
            && let Some(secrets) = self.pending_reveal.take()
        {
            out.extend(self.on_reveal(&secrets)?);
        }
        Ok(out)
    }

    fn on_announce<R: CryptoRng + ?Sized>(
        &mut self,
        session: &Hash32,
        rng: &mut R,
    ) -> Result<Option<DrpMsg>, Refusal> {
        if session != self.session.digest() {
            return Err(Refusal::WrongSession);
        }
        if self.phase != ServerPhase::Idle {
            return Ok(None);
        }
        self.phase = ServerPhase::Dealt;
        Ok(Some(DrpMsg::Dealing {
            dealing: self.deal(rng),
        }))
    }

    /// Step b: a fresh secret dealt to this server's group, signed.
    fn deal<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> SignedDealing {
        let keys = self.session.group_keys(self.group);
        let t = self.session.groups()[self.group as usize].threshold as usize;
        // Group keys are checked roster points and 1 ≤ t ≤ group size by construction.
        let (mut transcript, _secret) =
            deal(&keys, t, rng).expect("valid group keys and threshold");
        let victim = (self.position as usize + 1) % keys.len();
        match self.fault {
            ServerFault::BadEncryptedShare => {
                let y = &transcript.encrypted_shares[victim];
                transcript.encrypted_shares[victim] = y + &g();
            }
            ServerFault::ForgedDealingProof => {
                let index = victim as u32 + 1;
                let statement = DleqStatement {
                    g1: h(),
                    h1: transcript
                        .share_commitment(index)
                        .expect("index within the group"),
                    g2: keys[victim],
                    h2: transcript.encrypted_shares[victim],
                };
                let wrong_witness = random_nonzero_scalar(rng);
                transcript.proofs[victim] = dleq::prove(&wrong_witness, &statement, rng);
            }
            _ => {}
        }
        let digest = SignedDealing::hash(self.session.digest(), self.index, &transcript);
        SignedDealing {
            dealer: self.index,
            deal: transcript,
            signature: self.keys.sign(&digest),
        }
    }

    /// Step c: verify the choice and every chosen dealing, then commit to co-sign it.
    fn on_choice<R: CryptoRng + ?Sized>(
        &mut self,
        choice: Choice,
        dealings: Vec<SignedDealing>,
        rng: &mut R,
    ) -> Result<Option<DrpMsg>, Refusal> {
        let hash = choice.hash();
        if let Some(first) = &self.choice {
            return if first.hash == hash {
                Ok(None)
            } else {
                Err(Refusal::ConflictingChoice {
                    first: first.hash,
                    got: hash,
                })
            };
        }
        if !matches!(self.phase, ServerPhase::Idle | ServerPhase::Dealt) {
            return Err(Refusal::OutOfOrder(
                "choice after the CoSi round began".into(),
            ));
        }
        choice
            .check_dealings(&self.session, &dealings)
            .map_err(Refusal::BadChoice)?;
        for dealing in &dealings {
            verify_dealing(&self.session, dealing).map_err(|fault| Refusal::BadDealing {
                dealer: dealing.dealer,
                fault,
            })?;
        }
        self.choice = Some(VerifiedChoice {
            hash,
            choice,
            dealings,
        });
        self.commit(0, rng).map(Some)
    }

    /// A fresh CoSi nonce and commitment on the verified choice, for `attempt`.
    fn commit<R: CryptoRng + ?Sized>(
        &mut self,
        attempt: u32,
        rng: &mut R,
    ) -> Result<DrpMsg, Refusal> {
        let hash = self
            .choice
            .as_ref()
            .ok_or_else(|| Refusal::OutOfOrder("commit without a verified choice".into()))?
            .hash;
        let roster = self.session.roster().cosi();
        let (nonce, commitment) = cosi_commit(
            roster,
            self.index as usize,
            self.keys.cosi(),
            &Session::cosi_message(&hash),
            rng,
        )
        .map_err(|e| Refusal::OutOfOrder(e.to_string()))?;
        self.nonce = Some(nonce);
        self.attempt = attempt;
        self.phase = ServerPhase::Committed;
        Ok(DrpMsg::Commit {
            attempt,
            commitment: commitment.to_bytes(),
        })
    }

    /// A later signing attempt on the same choice: commit again with a fresh nonce.
    fn on_recommit<R: CryptoRng + ?Sized>(
        &mut self,
        attempt: u32,
        choice_hash: &Hash32,
        rng: &mut R,
    ) -> Result<Option<DrpMsg>, Refusal> {
        if self.choice.is_none() {
            // This server never saw the choice (e.g. it was lost): nothing to commit to.
            return Ok(None);
        }
        self.verified(choice_hash)?;
        let signing = matches!(self.phase, ServerPhase::Committed | ServerPhase::Responded);
        if !signing || attempt <= self.attempt {
            return Ok(None);
        }
        self.commit(attempt, rng).map(Some)
    }

    /// Step c: answer the challenge only if it is over the choice this server verified.
    fn on_challenge(
        &mut self,
        attempt: u32,
        choice_hash: &Hash32,
        bytes: &[u8],
    ) -> Result<Option<DrpMsg>, Refusal> {
        if attempt != self.attempt || self.phase != ServerPhase::Committed {
            return Ok(None);
        }
        let verified = self.verified(choice_hash)?;
        let message = Session::cosi_message(&verified.hash);
        let roster = self.session.roster().cosi();
        let nonce = self
            .nonce
            .take()
            .ok_or_else(|| Refusal::OutOfOrder("challenge without a commitment".into()))?;
        let challenge = CosiChallenge::decode(roster, bytes)
            .map_err(|e| Refusal::BadChallenge(e.to_string()))?;
        let response = respond(roster, self.keys.cosi(), nonce, &challenge, &message)
            .map_err(|e| Refusal::BadChallenge(e.to_string()))?;
        self.phase = ServerPhase::Responded;
        Ok(Some(DrpMsg::Response {
            attempt,
            response: response.to_bytes(),
        }))
    }

    /// Step d: with a valid collective signature on the verified choice, decrypt this server's
    /// shares of its group's chosen dealings.
    fn on_decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        choice_hash: &Hash32,
        signature: &[u8],
        rng: &mut R,
    ) -> Result<Option<DrpMsg>, Refusal> {
        if self.phase == ServerPhase::Decrypted {
            return Ok(None);
        }
        if self.choice.is_none() {
            self.pending_decrypt = Some((*choice_hash, signature.to_vec()));
            return Ok(None);
        }
        let verified = self.verified(choice_hash)?;
        schnorr::verify(
            self.session.roster().cosi(),
            CHOICE_POLICY,
            &Session::cosi_message(&verified.hash),
            signature,
        )
        .map_err(|e| Refusal::BadChoiceSignature(e.to_string()))?;
        let index = self.position + 1;
        let mut shares = Vec::new();
        let chosen = &verified.choice.groups[self.group as usize].dealers;
        for dealing in verified
            .dealings
            .iter()
            .filter(|d| chosen.contains(&d.dealer))
        {
            let share = decrypt_share(self.keys.pvss(), index, &dealing.deal, rng)
                .map_err(|e| Refusal::OutOfOrder(e.to_string()))?;
            let share = if self.fault == ServerFault::ForgedDecryptionProof {
                self.forge_share(share, &dealing.deal, rng)
            } else {
                share
            };
            shares.push(ChosenShare {
                dealer: dealing.dealer,
                share,
            });
        }
        self.gathered = vec![BTreeMap::new(); verified.dealings.len()];
        self.phase = ServerPhase::Decrypted;
        // Every server gets the shares too, so no leader can keep the output to itself once the
        // choice is signed.
        for s in (0..self.session.servers()).filter(|&s| s != self.index) {
            self.outbox.push(Outgoing {
                to: Dest::Server(s),
                msg: DrpMsg::Shares {
                    shares: shares.clone(),
                },
            });
        }
        self.gather(&shares);
        for early in std::mem::take(&mut self.early_shares) {
            self.gather(&early);
        }
        Ok(Some(DrpMsg::Shares { shares }))
    }

    /// Another server's decrypted shares: kept until this server decrypted, then checked.
    fn on_peer_shares(&mut self, shares: Vec<ChosenShare>) -> Result<Option<DrpMsg>, Refusal> {
        if self.phase == ServerPhase::Decrypted {
            self.gather(&shares);
        } else if self.early_shares.len() < self.session.servers() as usize {
            self.early_shares.push(shares);
        }
        Ok(None)
    }

    /// Adds the valid ones of `shares` (DLEQ-checked against the chosen dealings; invalid ones are
    /// dropped and logged); once every chosen secret has `t`, recovers them and sets the output.
    fn gather(&mut self, shares: &[ChosenShare]) {
        let Some(verified) = self.choice.as_ref() else {
            return;
        };
        for cs in shares {
            let Some(j) = verified.dealings.iter().position(|d| d.dealer == cs.dealer) else {
                continue;
            };
            let dealing = &verified.dealings[j];
            let have = &self.gathered[j];
            if have.len() >= dealing.deal.threshold as usize || have.contains_key(&cs.share.index) {
                continue;
            }
            let Some((group, _)) = self.session.placement(cs.dealer) else {
                continue;
            };
            let keys = self.session.group_keys(group);
            match verify_decrypted_share(&dealing.deal, &keys, &cs.share) {
                Ok(()) => {
                    self.gathered[j].insert(cs.share.index, cs.share);
                }
                Err(e) => tracing::debug!(server = self.index, dealer = cs.dealer, %e,
                    "DRP server drops a decrypted share"),
            }
        }
        let complete = verified
            .dealings
            .iter()
            .zip(&self.gathered)
            .all(|(d, g)| g.len() >= d.deal.threshold as usize);
        if !complete {
            return;
        }
        let mut recovered = Vec::with_capacity(self.gathered.len());
        for (dealing, shares) in verified.dealings.iter().zip(&self.gathered) {
            let shares: Vec<DecryptedShare> = shares.values().copied().collect();
            match recover_secret(dealing.dealer, &shares) {
                Ok(point) => recovered.push(point),
                Err(e) => {
                    tracing::warn!(server = self.index, %e, "DRP recovery from gathered shares");
                    return;
                }
            }
        }
        self.output = Some(output_hash(self.session.digest(), &recovered));
        self.phase = ServerPhase::Done;
    }

    /// A wrong share `S + G` with a "proof" made by the real key for the false statement.
    fn forge_share<R: CryptoRng + ?Sized>(
        &self,
        share: DecryptedShare,
        deal: &iosv_engine::pvss::DealTranscript,
        rng: &mut R,
    ) -> DecryptedShare {
        let wrong = &share.share + &g();
        let statement = DleqStatement {
            g1: g(),
            h1: *self.keys.pvss().public(),
            g2: wrong,
            h2: deal.encrypted_shares[share.index as usize - 1],
        };
        DecryptedShare {
            index: share.index,
            share: wrong,
            proof: dleq::prove(self.keys.pvss().secret(), &statement, rng),
        }
    }

    /// Step e: check every revealed secret against the verified dealings; compute the output.
    fn on_reveal(&mut self, secrets: &[RevealedSecret]) -> Result<Option<DrpMsg>, Refusal> {
        if self.phase != ServerPhase::Decrypted {
            self.pending_reveal = Some(secrets.to_vec());
            return Ok(None);
        }
        let verified = self
            .choice
            .as_ref()
            .ok_or_else(|| Refusal::OutOfOrder("reveal without a choice".into()))?;
        if secrets.len() != verified.dealings.len() {
            return Err(Refusal::BadReveal(format!(
                "{} secrets for {} chosen dealings",
                secrets.len(),
                verified.dealings.len()
            )));
        }
        let mut recovered = Vec::with_capacity(secrets.len());
        for (dealing, secret) in verified.dealings.iter().zip(secrets) {
            let point = verify_revealed(&self.session, dealing, secret)
                .map_err(|e| Refusal::BadReveal(e.to_string()))?;
            recovered.push(point);
        }
        self.output = Some(output_hash(self.session.digest(), &recovered));
        self.phase = ServerPhase::Done;
        Ok(None)
    }

    /// The verified choice, if `choice_hash` names it.
    fn verified(&self, choice_hash: &Hash32) -> Result<&VerifiedChoice, Refusal> {
        let verified = self
            .choice
            .as_ref()
            .ok_or_else(|| Refusal::OutOfOrder("no verified choice yet".into()))?;
        if verified.hash != *choice_hash {
            return Err(Refusal::ConflictingChoice {
                first: verified.hash,
                got: *choice_hash,
            });
        }
        Ok(verified)
    }
}

fn to_leader(msg: DrpMsg) -> Outgoing {
    Outgoing {
        to: Dest::Leader,
        msg,
    }
}

/// A message's variant name, for logs and refusals.
pub(crate) fn kind(msg: &DrpMsg) -> &'static str {
    match msg {
        DrpMsg::Announce { .. } => "announce",
        DrpMsg::Dealing { .. } => "dealing",
        DrpMsg::Choice { .. } => "choice",
        DrpMsg::Commit { .. } => "commit",
        DrpMsg::Challenge { .. } => "challenge",
        DrpMsg::Response { .. } => "response",
        DrpMsg::Recommit { .. } => "recommit",
        DrpMsg::Refuse { .. } => "refuse",
        DrpMsg::Decrypt { .. } => "decrypt",
        DrpMsg::Shares { .. } => "shares",
        DrpMsg::Reveal { .. } => "reveal",
    }
}
