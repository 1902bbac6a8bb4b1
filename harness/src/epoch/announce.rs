//! The pre-DRP placeholder randomness protocol: a leader-signed announcement, acknowledged by the
//! roster and certified by more than two thirds of it.
//!
//! **This is not the Distributed Randomness Protocol.** It stands in for it until the DRP
//! (`crate::drp`) is wired into the epoch flow through [`RandomnessProtocol`], so that elections,
//! exclusions, view changes and shard assignment can run end to end meanwhile.
//!
//! 1. The active candidate announces `value = SHA-256(domain ‖ epoch ‖ view ‖ leader ‖
//!    beta_leader)`, where `beta_leader` is its own lottery's VRF output, signed with its Ed25519
//!    key.
//! 2. A node that verifies the announcement (signature against the roster, ZIP-215 rules; value
//!    recomputed from the leader's lottery it verified itself) answers with a signed
//!    acknowledgement of (round, value).
//! 3. With acknowledgements from more than two thirds of the roster, the leader sends the
//!    certificate (the value and those signatures); a node accepts the value once it has checked
//!    the certificate: every signature valid, from distinct roster members, more than two thirds.
//!
//! A node acknowledges at most one round per epoch (its lock, kept across restarts).
//!
//! What this guarantees: a value is accepted only if more than two thirds of the roster vouched
//! for it; two rounds of one epoch cannot both be certified, because two sets of more than two
//! thirds share more than a third of the roster, so (with fewer than a third faulty) an honest node
//! that vouched for both, which its lock forbids. So honest nodes never accept different values
//! for an epoch, whatever the timing, and a partitioned minority accepts nothing. The leader
//! cannot bias the value (a VRF output is unique), only withhold it, which the epoch flow handles
//! by exclusion. The price of the lock is liveness: a leader that collects acknowledgements and
//! then withholds the certificate leaves the nodes that vouched unable to vouch again that epoch
//! (the epoch then keeps the previous randomness). What it lacks, and the DRP adds: the value is
//! computable by anyone who saw the leader's lottery, so it is not unpredictable.

use std::collections::BTreeMap;

use ed25519_dalek::Signer;
use iosv_engine::sig::{SigRef, verify_single};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::randomness::{
    EpochRandomness, RandomnessEffects, RandomnessProtocol, Round, RoundContext,
};
use super::roster::Roster;
use crate::node::{Dest, NodeId, Traceable};

/// Domain of the announced value.
const VALUE_DOMAIN: &[u8] = crate::domain::EPOCH_PLACEHOLDER_RANDOMNESS;
/// Domain of the announcement's signed message.
const ANNOUNCE_DOMAIN: &[u8] = crate::domain::EPOCH_PLACEHOLDER_ANNOUNCEMENT;
/// Domain of an acknowledgement's signed message.
const ACK_DOMAIN: &[u8] = crate::domain::EPOCH_PLACEHOLDER_ACK;

/// A message of the placeholder protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placeholder {
    /// Leader → all: the value, signed by the leader.
    Announce {
        round: Round,
        value: [u8; 32],
        signature: Vec<u8>,
    },
    /// Node → leader: the node vouches for the value.
    Ack {
        round: Round,
        value: [u8; 32],
        signature: Vec<u8>,
    },
    /// Leader → all: the value and more than two thirds of the roster's acknowledgements.
    Certificate {
        round: Round,
        value: [u8; 32],
        acks: Vec<(NodeId, Vec<u8>)>,
    },
}

impl Traceable for Placeholder {
    fn trace(&self) -> serde_json::Value {
        match self {
            Placeholder::Announce { value, .. } => {
                json!({"kind": "announce", "value": hex::encode(&value[..8])})
            }
            Placeholder::Ack { value, .. } => {
                json!({"kind": "ack", "value": hex::encode(&value[..8])})
            }
            Placeholder::Certificate { value, acks, .. } => {
                json!({"kind": "certificate", "value": hex::encode(&value[..8]), "acks": acks.len()})
            }
        }
    }
}

/// The value a leader with lottery output `beta` announces for `round`.
pub fn value_for(round: &Round, beta: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(VALUE_DOMAIN)
        .chain_update(round.epoch.to_le_bytes())
        .chain_update(round.view.to_le_bytes())
        .chain_update(round.leader.to_le_bytes())
        .chain_update(beta)
        .finalize()
        .into()
}

/// The message a signature of `domain` over (round, value) covers.
fn signing_bytes(domain: &[u8], round: &Round, value: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 49);
    m.extend_from_slice(domain);
    m.extend_from_slice(&round.epoch.to_le_bytes());
    m.extend_from_slice(&round.view.to_le_bytes());
    m.push(round.rank);
    m.extend_from_slice(&round.leader.to_le_bytes());
    m.extend_from_slice(value);
    m
}

fn signed_by(roster: &Roster, node: NodeId, msg: &[u8], signature: &[u8]) -> bool {
    let (Some(member), Ok(sig)) = (roster.get(node), <&[u8; 64]>::try_from(signature)) else {
        return false;
    };
    verify_single(SigRef {
        pk: &member.sig,
        msg,
        sig,
    })
}

/// More than two thirds of `n`.
fn quorum(count: usize, n: u32) -> bool {
    3 * count > 2 * n as usize
}

/// The placeholder protocol at one node.
#[derive(Clone)]
pub struct SignedAnnouncement {
    key: ed25519_dalek::SigningKey,
    /// Fault injection: as leader, announce a value other than the one its lottery fixes.
    corrupt: bool,
    /// This round's value as this node expects it (from the leader's lottery).
    expected: Option<[u8; 32]>,
    /// As leader: acknowledgements collected this round.
    acks: BTreeMap<NodeId, Vec<u8>>,
    certified: bool,
    /// The round this node last acknowledged: it vouches for at most one round per epoch. Durable
    /// (kept across a restart), like a vote log.
    lock: Option<Round>,
    done: bool,
}

impl SignedAnnouncement {
    pub fn new(key: ed25519_dalek::SigningKey) -> Self {
        Self {
            key,
            corrupt: false,
            expected: None,
            acks: BTreeMap::new(),
            certified: false,
            lock: None,
            done: false,
        }
    }

    /// A leader that signs a wrong value (honest nodes must reject it).
    pub fn corrupting(key: ed25519_dalek::SigningKey) -> Self {
        Self {
            corrupt: true,
            ..Self::new(key)
        }
    }

    fn on_announce(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        value: [u8; 32],
        signature: &[u8],
        fx: &mut RandomnessEffects<Placeholder>,
    ) -> Result<(), &'static str> {
        if from != ctx.round.leader {
            return Err("announce_not_from_leader");
        }
        if !signed_by(
            ctx.roster,
            from,
            &signing_bytes(ANNOUNCE_DOMAIN, &ctx.round, &value),
            signature,
        ) {
            return Err("announce_bad_signature");
        }
        if Some(value) != self.expected {
            return Err("announce_wrong_value");
        }
        if self.lock == Some(ctx.round) {
            return Ok(());
        }
        if !self.try_lock(ctx.round) {
            return Err("locked_to_an_earlier_round");
        }
        {
            let sig = self
                .key
                .sign(&signing_bytes(ACK_DOMAIN, &ctx.round, &value));
            fx.sends.push((
                Dest::To(from),
                Placeholder::Ack {
                    round: ctx.round,
                    value,
                    signature: sig.to_bytes().to_vec(),
                },
            ));
        }
        Ok(())
    }

    fn on_ack(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        value: [u8; 32],
        signature: Vec<u8>,
        fx: &mut RandomnessEffects<Placeholder>,
    ) -> Result<(), &'static str> {
        if ctx.me != ctx.round.leader {
            return Err("ack_to_non_leader");
        }
        if Some(value) != self.expected || self.corrupt {
            return Err("ack_wrong_value");
        }
        if self.acks.contains_key(&from) {
            return Err("ack_duplicate");
        }
        if !signed_by(
            ctx.roster,
            from,
            &signing_bytes(ACK_DOMAIN, &ctx.round, &value),
            &signature,
        ) {
            return Err("ack_bad_signature");
        }
        self.acks.insert(from, signature);
        if !self.certified && quorum(self.acks.len(), ctx.roster.len()) {
            self.certified = true;
            let acks = self.acks.iter().map(|(&n, s)| (n, s.clone())).collect();
            fx.sends.push((
                Dest::AllOthers,
                Placeholder::Certificate {
                    round: ctx.round,
                    value,
                    acks,
                },
            ));
            self.finish(value, fx);
        }
        Ok(())
    }

    fn on_certificate(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        value: [u8; 32],
        acks: &[(NodeId, Vec<u8>)],
        fx: &mut RandomnessEffects<Placeholder>,
    ) -> Result<(), &'static str> {
        if from != ctx.round.leader {
            return Err("certificate_not_from_leader");
        }
        if Some(value) != self.expected {
            return Err("certificate_wrong_value");
        }
        if acks.len() > ctx.roster.len() as usize {
            return Err("certificate_too_many_acks");
        }
        let msg = signing_bytes(ACK_DOMAIN, &ctx.round, &value);
        let mut signers = std::collections::BTreeSet::new();
        for (node, sig) in acks {
            if !signers.insert(*node) {
                return Err("certificate_duplicate_signer");
            }
            if !signed_by(ctx.roster, *node, &msg, sig) {
                return Err("certificate_bad_signature");
            }
        }
        if !quorum(signers.len(), ctx.roster.len()) {
            return Err("certificate_without_quorum");
        }
        self.finish(value, fx);
        Ok(())
    }

    /// Locks this node to `round` unless it already vouched for another round of the epoch.
    fn try_lock(&mut self, round: Round) -> bool {
        match self.lock {
            Some(r) if r.epoch == round.epoch && r != round => false,
            _ => {
                self.lock = Some(round);
                true
            }
        }
    }

    fn finish(&mut self, value: [u8; 32], fx: &mut RandomnessEffects<Placeholder>) {
        if !self.done {
            self.done = true;
            fx.output = Some(EpochRandomness { value });
        }
    }
}

impl RandomnessProtocol for SignedAnnouncement {
    type Msg = Placeholder;

    fn name(&self) -> &'static str {
        "placeholder-certified-announcement (pre-DRP)"
    }

    fn begin(&mut self, ctx: &RoundContext<'_>, fx: &mut RandomnessEffects<Placeholder>) {
        self.acks.clear();
        self.certified = false;
        self.done = false;
        self.expected = ctx
            .lotteries
            .get(&ctx.round.leader)
            .map(|l| value_for(&ctx.round, &l.beta));
        if ctx.me != ctx.round.leader {
            return;
        }
        let Some(mut value) = self.expected else {
            fx.rejects.push("leader_without_own_lottery".into());
            return;
        };
        if self.corrupt {
            value[0] ^= 0xff;
        }
        let signature = self
            .key
            .sign(&signing_bytes(ANNOUNCE_DOMAIN, &ctx.round, &value));
        fx.sends.push((
            Dest::AllOthers,
            Placeholder::Announce {
                round: ctx.round,
                value,
                signature: signature.to_bytes().to_vec(),
            },
        ));
        // The leader vouches for its own value like everyone else, under the same lock.
        if !self.try_lock(ctx.round) {
            fx.rejects.push("locked_to_an_earlier_round".into());
            return;
        }
        let own = self
            .key
            .sign(&signing_bytes(ACK_DOMAIN, &ctx.round, &value));
        if let Err(reason) = self.on_ack(ctx, ctx.me, value, own.to_bytes().to_vec(), fx) {
            fx.rejects.push(reason.into());
        }
    }

    fn on_message(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        msg: Placeholder,
        fx: &mut RandomnessEffects<Placeholder>,
    ) {
        let round = match &msg {
            Placeholder::Announce { round, .. }
            | Placeholder::Ack { round, .. }
            | Placeholder::Certificate { round, .. } => *round,
        };
        let result = if round != ctx.round {
            Err("wrong_round")
        } else {
            match msg {
                Placeholder::Announce {
                    value, signature, ..
                } => self.on_announce(ctx, from, value, &signature, fx),
                Placeholder::Ack {
                    value, signature, ..
                } => self.on_ack(ctx, from, value, signature, fx),
                Placeholder::Certificate { value, acks, .. } => {
                    self.on_certificate(ctx, from, value, &acks, fx)
                }
            }
        };
        if let Err(reason) = result {
            fx.rejects.push(reason.into());
        }
    }

    fn on_timer(&mut self, _: &RoundContext<'_>, _: u64, _: &mut RandomnessEffects<Placeholder>) {}

    fn restart(&self) -> Self {
        let fresh = if self.corrupt {
            Self::corrupting(self.key.clone())
        } else {
            Self::new(self.key.clone())
        };
        Self {
            lock: self.lock,
            ..fresh
        }
    }
}
