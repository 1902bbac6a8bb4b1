//! Glue from the shard's state to the league draw: each member's score from the shared ledger
//! (its Servi, contributions and faults in [`Reputation`], its tokens in the UTXO set), so that
//! every node computes the same candidates for an epoch.

use std::collections::BTreeMap;

use iosv_engine::utxo::UtxoSet;
use serde::{Deserialize, Serialize};

use super::league::Candidate;
use super::policy::ScoreWeights;
use super::reputation::{Reputation, ValidatorId};

/// A shard member's public keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    #[serde(with = "hex::serde")]
    pub id: ValidatorId,
    #[serde(with = "hex::serde")]
    pub vrf_key: [u8; 32],
}

/// The league candidates for `members`, scored from `reputation` and the tokens each holds in
/// `tokens` (one pass over the set). Unregistered members score zero.
pub fn candidates(
    members: &[Member],
    reputation: &Reputation,
    tokens: &UtxoSet,
    weights: &ScoreWeights,
) -> Vec<Candidate> {
    let mut balances: BTreeMap<ValidatorId, u64> = members.iter().map(|m| (m.id, 0u64)).collect();
    for (_, entry) in tokens.entries() {
        if let Some(balance) = balances.get_mut(&entry.output.owner) {
            *balance = balance.saturating_add(entry.output.amount);
        }
    }
    members
        .iter()
        .map(|m| Candidate {
            id: m.id,
            vrf_key: m.vrf_key,
            score: reputation.score(&m.id, balances[&m.id], weights),
        })
        .collect()
}
