//! The pre-DRP placeholder randomness protocol: a leader-signed announcement.
//!
//! **This is not the Distributed Randomness Protocol.** It stands in for it until the DRP
//! (`crate::drp`) is wired into the epoch flow through [`RandomnessProtocol`], so that elections,
//! exclusions, view changes and shard assignment can run end to end meanwhile.
//!
//! The active candidate announces `value = SHA-256(domain ‖ epoch ‖ view ‖ leader ‖ beta_leader)`,
//! where `beta_leader` is its own lottery's VRF output, and signs the announcement with its
//! Ed25519 key (engine ZIP-215 rules on verification). Every node checks the signature against
//! the roster and recomputes the value from the leader's lottery it already verified, so an honest
//! node accepts exactly one value per round and every honest node that accepts a round accepts the
//! same value. The leader cannot bias the value (a VRF output is unique) but can withhold it,
//! which the epoch flow handles by exclusion. What it lacks, and the DRP adds: the value is known
//! to the leader (and computable by anyone who saw its lottery) before the round, so it is not
//! unpredictable; and there is no collective sign-off, so agreement relies on every honest node
//! having the same candidate, i.e. on synchrony during the gossip window.

use ed25519_dalek::Signer;
use iosv_engine::sig::{SigRef, verify_single};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::randomness::{
    EpochRandomness, RandomnessEffects, RandomnessProtocol, Round, RoundContext,
};
use crate::node::{Dest, NodeId, Traceable};

/// Domain of the announced value.
const VALUE_DOMAIN: &[u8] = b"iosv/epoch/placeholder-randomness/v1";
/// Domain of the announcement's signed message.
const SIGN_DOMAIN: &[u8] = b"iosv/epoch/placeholder-announcement/v1";

/// A candidate's signed announcement of the epoch's randomness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub round: Round,
    pub value: [u8; 32],
    /// Ed25519 signature (64 bytes when well formed) over [`signing_bytes`].
    pub signature: Vec<u8>,
}

impl Traceable for Announcement {
    fn trace(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": "announcement",
            "epoch": self.round.epoch,
            "view": self.round.view,
            "rank": self.round.rank,
            "leader": self.round.leader,
            "value": hex::encode(&self.value[..8]),
        })
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

/// The message an announcement's signature covers.
pub fn signing_bytes(round: &Round, value: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGN_DOMAIN.len() + 49);
    m.extend_from_slice(SIGN_DOMAIN);
    m.extend_from_slice(&round.epoch.to_le_bytes());
    m.extend_from_slice(&round.view.to_le_bytes());
    m.push(round.rank);
    m.extend_from_slice(&round.leader.to_le_bytes());
    m.extend_from_slice(value);
    m
}

/// The placeholder protocol of one node.
#[derive(Clone)]
pub struct SignedAnnouncement {
    key: ed25519_dalek::SigningKey,
    /// Fault injection: as leader, announce a value other than the one its lottery fixes.
    corrupt: bool,
    /// Whether this round's output was already reported.
    done: bool,
}

impl SignedAnnouncement {
    pub fn new(key: ed25519_dalek::SigningKey) -> Self {
        Self {
            key,
            corrupt: false,
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

    fn check(
        &self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        a: &Announcement,
    ) -> Result<(), &'static str> {
        if from != ctx.round.leader {
            return Err("announcement_not_from_leader");
        }
        if a.round != ctx.round {
            return Err("announcement_wrong_round");
        }
        let member = ctx.roster.get(from).ok_or("announcement_unknown_leader")?;
        let sig: &[u8; 64] = a
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| "announcement_bad_signature_length")?;
        let msg = signing_bytes(&a.round, &a.value);
        if !verify_single(SigRef {
            pk: &member.sig,
            msg: &msg,
            sig,
        }) {
            return Err("announcement_bad_signature");
        }
        let lottery = ctx
            .lotteries
            .get(&ctx.round.leader)
            .ok_or("announcement_leader_lottery_unknown")?;
        if value_for(&a.round, &lottery.beta) != a.value {
            return Err("announcement_wrong_value");
        }
        Ok(())
    }
}

impl RandomnessProtocol for SignedAnnouncement {
    type Msg = Announcement;

    fn name(&self) -> &'static str {
        "placeholder-signed-announcement"
    }

    fn begin(&mut self, ctx: &RoundContext<'_>, fx: &mut RandomnessEffects<Announcement>) {
        self.done = false;
        if ctx.me != ctx.round.leader {
            return;
        }
        let Some(own) = ctx.lotteries.get(&ctx.me) else {
            fx.rejects.push("leader_without_own_lottery".into());
            return;
        };
        let mut value = value_for(&ctx.round, &own.beta);
        if self.corrupt {
            value[0] ^= 0xff;
        }
        let signature = self.key.sign(&signing_bytes(&ctx.round, &value));
        fx.sends.push((
            Dest::AllOthers,
            Announcement {
                round: ctx.round,
                value,
                signature: signature.to_bytes().to_vec(),
            },
        ));
        if !self.corrupt {
            self.done = true;
            fx.output = Some(EpochRandomness { value });
        }
    }

    fn on_message(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        msg: Announcement,
        fx: &mut RandomnessEffects<Announcement>,
    ) {
        if self.done {
            return;
        }
        match self.check(ctx, from, &msg) {
            Ok(()) => {
                self.done = true;
                fx.output = Some(EpochRandomness { value: msg.value });
            }
            Err(reason) => fx.rejects.push(reason.into()),
        }
    }

    fn on_timer(&mut self, _: &RoundContext<'_>, _: u64, _: &mut RandomnessEffects<Announcement>) {}

    fn restart(&self) -> Self {
        Self {
            done: false,
            ..self.clone()
        }
    }
}
