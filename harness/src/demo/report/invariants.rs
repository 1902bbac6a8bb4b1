//! The invariants a demo run is checked against at its end, and which of them must hold however
//! much work the run left unfinished ([`Invariants::safety_ok`]) or only once it drained
//! ([`Invariants::ok`]).

use serde::Serialize;

use crate::atomix::CommitsInFlight;

/// Checked at the end of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Invariants {
    pub supply_before: u128,
    pub supply_after: u128,
    /// Inputs minus outputs of finalized transactions (no one is paid fees in this model).
    pub fees_burned: u64,
    /// Committed cross-shard transactions whose finishes had reached some of their shards and
    /// not others when the run stopped, and the value they still owe the shards' sum.
    pub commits_in_flight: CommitsInFlight,
    /// Every token is accounted for: genesis (stakes included) equals the final total plus the
    /// fees burned, compensation and seizures included, once the commits in flight are settled
    /// (`supply_after − to_remove + to_create`).
    pub supply_conserved: bool,
    /// No outpoint spent twice by finalized blocks and cross-shard commits.
    pub no_double_spend: bool,
    /// Every live finality node of every shard finalized the same value at every height.
    pub honest_agreement: bool,
    /// Every shard's incrementally kept state tree equals one rebuilt from its set.
    pub state_trees_consistent: bool,
    /// No cross-shard lock left and no transaction in flight.
    pub no_locks_left: bool,
    /// Every live finality member finalized every height by the end (members cut off or
    /// behind caught up).
    pub finality_caught_up: bool,
    /// All work finished within the drain limit.
    pub drained: bool,
    /// No transaction lost: once drained, every transaction sent was finalized (cross-shard
    /// ones committed or aborted) or refused for a counted reason (an invalid signature, the
    /// UTXO rules, excluded as a fraud, withheld by its forger).
    pub all_accounted: bool,
    /// Transactions still queued or in flight when the run stopped (0 when drained): in-shard
    /// transactions waiting in a shard, cross-shard transactions not yet committed or aborted.
    pub unfinished: u64,
    /// How long the run drained after the load ([`crate::demo::run::drain_limit`]).
    pub drain_limit_s: f64,
}

impl Invariants {
    pub fn ok(&self) -> bool {
        self.safety_ok()
            && self.no_locks_left
            && self.drained
            && self.finality_caught_up
            && self.all_accounted
    }

    /// The invariants that must hold however much work was left when the run stopped: the
    /// supply (with the value the commits in flight still owe, see
    /// [`crate::atomix::commits_in_flight`]), no double spend, agreement, state trees. Locks and
    /// work in flight are what an undrained run leaves: `no_locks_left` and `drained` report
    /// them, and only [`Invariants::ok`] requires them gone.
    pub fn safety_ok(&self) -> bool {
        self.supply_conserved
            && self.no_double_spend
            && self.honest_agreement
            && self.state_trees_consistent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invariants(supply_conserved: bool, no_locks_left: bool) -> Invariants {
        Invariants {
            supply_before: 100,
            supply_after: if supply_conserved { 100 } else { 90 },
            fees_burned: 0,
            commits_in_flight: CommitsInFlight::default(),
            supply_conserved,
            no_double_spend: true,
            honest_agreement: true,
            state_trees_consistent: true,
            no_locks_left,
            finality_caught_up: true,
            drained: no_locks_left,
            all_accounted: true,
            unfinished: u64::from(!no_locks_left),
            drain_limit_s: 1.0,
        }
    }

    /// The supply is judged by `ok` and `safety_ok` alike, drained or not; locks left fail
    /// only `ok`.
    #[test]
    fn the_supply_is_judged_whether_or_not_the_run_drained() {
        assert!(invariants(true, true).ok());
        assert!(!invariants(false, true).safety_ok());
        assert!(!invariants(false, true).ok());
        assert!(!invariants(false, false).safety_ok());
        assert!(!invariants(false, false).ok());
        assert!(invariants(true, false).safety_ok());
        assert!(!invariants(true, false).ok());
        let mut split = invariants(true, false);
        split.no_double_spend = false;
        assert!(!split.safety_ok());
    }
}
