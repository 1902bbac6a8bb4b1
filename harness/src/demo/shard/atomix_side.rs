//! The shard's side of Atomix in each round: certificates finished (commit or abort, the shared
//! state changing inside [`AtomixShard::finish`](crate::atomix::AtomixShard::finish)), lock
//! requests decided in one signature batch, and the round's decisions sealed into proofs.

use iosv_engine::tx::Transaction;

use super::DemoShard;
use super::batch::RoundOutput;
use crate::atomix::{AtomixError, AtomixProof, Directory, Outcome};

impl DemoShard {
    pub(super) fn finish_atomix(&mut self, dir: &Directory, out: &mut RoundOutput) {
        for (tx, certificate) in std::mem::take(&mut self.finish_requests) {
            match self.atomix.finish(&tx, &certificate, dir) {
                Ok(outcome) => {
                    self.record_finish(&tx, outcome);
                    out.finished.push((tx.txid(), outcome));
                }
                Err(AtomixError::Replay { .. }) => self.stats.atomix_replays_refused += 1,
                Err(e) => self.stats.atomix_errors.push(e.to_string()),
            }
        }
    }

    /// Counts a committed finish's inputs as spent for good (the double-spend invariant); the
    /// state itself changed inside [`AtomixShard::finish`].
    pub(super) fn record_finish(&mut self, tx: &Transaction, outcome: Outcome) {
        if outcome != Outcome::Committed {
            return;
        }
        for input in &tx.inputs {
            if self.map.shard_of(&input.prev) == self.id && !self.spent_final.insert(input.prev) {
                self.stats.double_spends += 1;
            }
        }
    }

    pub(super) fn lock_atomix(&mut self) -> Vec<AtomixProof> {
        let requests = std::mem::take(&mut self.lock_requests);
        if requests.is_empty() {
            return Vec::new();
        }
        let map = self.map;
        let decisions = self
            .atomix
            .request_locks(&requests, &self.believable_verifier);
        for (tx, decided) in requests.iter().zip(decisions) {
            match decided {
                Ok(_) => {
                    self.stats.sig_checks_atomix += tx
                        .inputs
                        .iter()
                        .filter(|i| map.shard_of(&i.prev) == self.id)
                        .count() as u64;
                }
                Err(e) => self.stats.atomix_errors.push(e.to_string()),
            }
        }
        match self.atomix.seal(&mut self.rng) {
            Ok(proofs) => proofs,
            Err(e) => {
                self.stats.atomix_errors.push(e.to_string());
                Vec::new()
            }
        }
    }
}
