//! Servi, contributions and behaviour per validator, and slashing on proven fraud.
//!
//! Servi is a reputation balance, not a token: it lives here, keyed by validator, and never in the
//! UTXO set. A transaction names outputs `(amount, owner)` and inputs that spend outputs, so no
//! transaction type can reference, move or create Servi (`harness/tests/pob_servi.rs` applies
//! transfers of every shape to and from validators' keys and checks that no Servi moves). It
//! changes only through this ledger's methods, each tied to a protocol event:
//! - **issued** for service to the shard: a correct sampling re-validation, a finality
//!   co-signature ([`Reputation::reward`], amounts from the policy);
//! - **cleared** when its holder validates (produces) a block as a believable validator
//!   ([`Reputation::block_validated`]): Servi buys a better chance of being drawn believable, and
//!   spending it on a block passes that chance to others (the IOS whitepaper's rotation); the block
//!   counts as a contribution instead;
//! - **cleared with the score** on a verified fraud proof naming the validator as the proposer
//!   ([`Reputation::slash`]) or on two headers it signed for one shard and height
//!   ([`Reputation::slash_equivocation`]): Servi, contributions and the score go to zero for good,
//!   and [`seize_tokens`] takes its tokens (for compensating the defrauded).
//!
//! Slashing is idempotent per convicted block: the same proof (or another proof against the same
//! header) applied twice is refused, so a replayed proof cannot be counted twice.

use std::collections::{BTreeMap, BTreeSet};

use iosv_engine::fraud::{FraudKind, FraudProof, FraudProofError, SignedHeader};
use iosv_engine::utxo::{LockId, ShardState, UtxoError, UtxoSet};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::fixed::Score;
use super::policy::{ScoreWeights, ServiRewards};
use super::score::{ScoreInputs, score};

/// A validator's identity: the Ed25519 public key that signs its block headers.
pub type ValidatorId = [u8; 32];

/// Domain tag of the lock id under which a slashed validator's tokens are seized.
pub const SEIZE_DOMAIN: &[u8] = crate::domain::POB_SEIZE;
/// Domain tag of the identifier of an equivocation (a pair of headers).
pub const EQUIVOCATION_DOMAIN: &[u8] = crate::domain::POB_EQUIVOCATION;

/// A validator's reputation state (tokens are read from the UTXO set, not kept here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorRecord {
    pub servi: u64,
    pub contributions: u64,
    pub faults: u64,
    pub slashed: bool,
}

/// A contribution that earns Servi.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contribution {
    /// A sampling re-validation of an optimistic block, found correct.
    Sample,
    /// A co-signature in a finality round.
    Cosignature,
}

/// What a validator was convicted of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "offence", rename_all = "snake_case")]
pub enum Offence {
    /// A block with an invalid transaction (an engine fraud proof).
    Fraud { kind: FraudKind },
    /// Two different headers signed for the same shard and height.
    Equivocation,
}

/// What a slashing did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slashing {
    #[serde(with = "hex::serde")]
    pub validator: ValidatorId,
    /// The convicted header's hash, or for an equivocation the hash naming the pair.
    #[serde(with = "hex::serde")]
    pub header_hash: [u8; 32],
    pub offence: Offence,
    pub servi_forfeited: u64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SlashError {
    #[error("fraud proof does not verify: {0}")]
    Invalid(#[from] FraudProofError),
    #[error("the convicted proposer {} is not a registered validator", hex::encode(.0))]
    UnknownValidator(ValidatorId),
    #[error("block {} was already punished", hex::encode(.0))]
    AlreadyApplied([u8; 32]),
    #[error("not an equivocation: {0}")]
    NotEquivocation(&'static str),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReputationError {
    #[error("validator {} is not registered", hex::encode(.0))]
    UnknownValidator(ValidatorId),
    #[error("validator {} was slashed: it earns nothing more", hex::encode(.0))]
    Slashed(ValidatorId),
}

/// Every validator's reputation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Reputation {
    records: BTreeMap<String, ValidatorRecord>,
    punished: BTreeSet<String>,
}

impl Reputation {
    pub fn new() -> Reputation {
        Reputation::default()
    }

    /// Registers a validator with an empty record (no effect if it is registered).
    pub fn register(&mut self, id: ValidatorId) {
        self.records.entry(hex::encode(id)).or_default();
    }

    pub fn record(&self, id: &ValidatorId) -> Option<ValidatorRecord> {
        self.records.get(&hex::encode(id)).copied()
    }

    pub fn servi(&self, id: &ValidatorId) -> u64 {
        self.record(id).map_or(0, |r| r.servi)
    }

    fn live(&mut self, id: &ValidatorId) -> Result<&mut ValidatorRecord, ReputationError> {
        let record = self
            .records
            .get_mut(&hex::encode(id))
            .ok_or(ReputationError::UnknownValidator(*id))?;
        if record.slashed {
            return Err(ReputationError::Slashed(*id));
        }
        Ok(record)
    }

    /// Issues Servi for a contribution, as the policy's rewards say.
    pub fn reward(
        &mut self,
        id: &ValidatorId,
        contribution: Contribution,
        rewards: &ServiRewards,
    ) -> Result<u64, ReputationError> {
        let record = self.live(id)?;
        let amount = match contribution {
            Contribution::Sample => rewards.per_sample,
            Contribution::Cosignature => rewards.per_cosignature,
        };
        record.servi = record.servi.saturating_add(amount);
        record.contributions = record.contributions.saturating_add(1);
        Ok(record.servi)
    }

    /// The validator validated (produced) a block as a believable validator: its Servi is spent
    /// (cleared) and the block counts as a contribution. Returns the Servi cleared.
    pub fn block_validated(&mut self, id: &ValidatorId) -> Result<u64, ReputationError> {
        let record = self.live(id)?;
        let cleared = std::mem::take(&mut record.servi);
        record.contributions = record.contributions.saturating_add(1);
        Ok(cleared)
    }

    /// A proven minor fault (a missed duty): lowers the behaviour term.
    pub fn fault(&mut self, id: &ValidatorId) -> Result<(), ReputationError> {
        let record = self.live(id)?;
        record.faults = record.faults.saturating_add(1);
        Ok(())
    }

    /// Verifies `proof` and punishes the proposer it convicts: Servi and contributions to zero,
    /// slashed for good (score zero). Refuses an invalid proof, an unknown proposer, and a block
    /// already punished; nothing changes on a refusal.
    pub fn slash(&mut self, proof: &FraudProof) -> Result<Slashing, SlashError> {
        let proven = proof.verify()?;
        self.punish(
            proven.proposer,
            proven.header_hash,
            Offence::Fraud { kind: proven.kind },
        )
    }

    /// Punishes, as [`Reputation::slash`] does, the proposer that signed both `a` and `b`: two
    /// different headers for the same shard and height, both signatures valid.
    pub fn slash_equivocation(
        &mut self,
        a: &SignedHeader,
        b: &SignedHeader,
    ) -> Result<Slashing, SlashError> {
        let (ha, hb) = (&a.header, &b.header);
        if ha.proposer != hb.proposer {
            return Err(SlashError::NotEquivocation("different proposers"));
        }
        if (ha.shard, ha.height) != (hb.shard, hb.height) {
            return Err(SlashError::NotEquivocation("different shards or heights"));
        }
        let (x, y) = (ha.hash(), hb.hash());
        if x == y {
            return Err(SlashError::NotEquivocation("the same header twice"));
        }
        if !a.verify() || !b.verify() {
            return Err(SlashError::NotEquivocation("a signature does not verify"));
        }
        let mut h = Sha256::new();
        h.update(EQUIVOCATION_DOMAIN);
        h.update(x.min(y));
        h.update(x.max(y));
        self.punish(ha.proposer, h.finalize().into(), Offence::Equivocation)
    }

    /// Slashes `validator` once per piece of evidence `evidence`.
    fn punish(
        &mut self,
        validator: ValidatorId,
        evidence: [u8; 32],
        offence: Offence,
    ) -> Result<Slashing, SlashError> {
        let key = hex::encode(evidence);
        if self.punished.contains(&key) {
            return Err(SlashError::AlreadyApplied(evidence));
        }
        let record = self
            .records
            .get_mut(&hex::encode(validator))
            .ok_or(SlashError::UnknownValidator(validator))?;
        let servi_forfeited = std::mem::take(&mut record.servi);
        record.contributions = 0;
        record.slashed = true;
        self.punished.insert(key);
        Ok(Slashing {
            validator,
            header_hash: evidence,
            offence,
            servi_forfeited,
        })
    }

    /// The validator's score inputs, with its token balance read from `tokens`.
    pub fn inputs(&self, id: &ValidatorId, tokens: u64) -> ScoreInputs {
        let r = self.record(id).unwrap_or_default();
        ScoreInputs {
            tokens,
            servi: r.servi,
            contributions: r.contributions,
            faults: r.faults,
            slashed: r.slashed,
        }
    }

    /// The validator's believability score (zero if unknown or slashed).
    pub fn score(&self, id: &ValidatorId, tokens: u64, weights: &ScoreWeights) -> Score {
        if self.record(id).is_none() {
            return Score::ZERO;
        }
        score(&self.inputs(id, tokens), weights)
    }
}

/// Total amount of the unspent outputs `owner` holds in `set` (locked ones included).
pub fn token_balance(set: &UtxoSet, owner: &[u8; 32]) -> u64 {
    set.entries()
        .iter()
        .filter(|(_, e)| &e.output.owner == owner)
        .fold(0u64, |sum, (_, e)| sum.saturating_add(e.output.amount))
}

/// Takes every unlocked output `owner` holds in `state` (a slashed validator's tokens), under a
/// lock id derived from the convicted header, and returns the amount taken, for compensation.
/// Outputs held by a cross-shard lock are left to their commit or abort.
pub fn seize_tokens(
    state: &mut ShardState,
    owner: &[u8; 32],
    header_hash: &[u8; 32],
) -> Result<u64, UtxoError> {
    let mut h = Sha256::new();
    h.update(SEIZE_DOMAIN);
    h.update(header_hash);
    h.update(owner);
    let taken = state.seize(owner, LockId(h.finalize().into()))?;
    Ok(taken
        .iter()
        .fold(0u64, |sum, (_, o)| sum.saturating_add(o.amount)))
}
