//! A shard's batches: the queued decisions as a batch (statements, header) and the proofs of a
//! signed one — signed here by the roster's keys ([`AtomixShard::seal`]) or co-signed over the
//! network ([`crate::atomix::cosigning`]).

use iosv_engine::cosi::schnorr::{Topology, run_round};
use iosv_engine::merkle;
use iosv_engine::tx::TxId;
use rand::CryptoRng;

use super::super::error::AtomixError;
use super::super::proof::AtomixProof;
use super::super::statement::{BatchHeader, Statement, prove_all};
use super::{AtomixShard, COSI_FANOUT};

impl AtomixShard {
    /// Signs the queued decisions as one batch (one CoSi round of the online members) and returns
    /// a proof per decision. With fewer online members than the policy needs, refuses and keeps
    /// the queue for a later attempt.
    pub fn seal<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<Vec<AtomixProof>, AtomixError> {
        if self.queue.is_empty() {
            return Ok(Vec::new());
        }
        let members = self.info.roster.len();
        let signers = self.online.count();
        if !self.policy.satisfied(members, signers) {
            return Err(AtomixError::Signing {
                shard: self.id,
                source: iosv_engine::cosi::schnorr::CosiError::PolicyNotMet {
                    signers,
                    required: self.policy.required(members).max(1),
                    members,
                },
            });
        }
        if self.keys.len() != members {
            return Err(AtomixError::NoRosterKeys { shard: self.id });
        }
        let (statements, header) = self
            .batch_of(&self.queue, self.seq)
            .expect("every queued txid has a recorded decision");
        let signature = run_round(
            &self.info.roster,
            &self.keys,
            &self.online,
            &header.signing_bytes(),
            Topology::Tree {
                fanout: COSI_FANOUT,
            },
            rng,
        )
        .map_err(|source| AtomixError::Signing {
            shard: self.id,
            source,
        })?
        .to_bytes();
        self.queue.clear();
        self.seq += 1;
        Ok(proofs_of(statements, header, &signature))
    }

    /// Takes the queued decisions as the next batch: their statements, in queue order, and the
    /// header the roster is to co-sign ([`crate::atomix::cosigning`] turns the signed batch into
    /// proofs). The batch's sequence number is used up even if it is never signed: a client
    /// asking again gets its recorded decision re-certified in a later batch.
    pub fn take_batch(&mut self) -> Option<(Vec<Statement>, BatchHeader)> {
        if self.queue.is_empty() {
            return None;
        }
        let txids = std::mem::take(&mut self.queue);
        let batch = self.batch_of(&txids, self.seq)?;
        self.seq += 1;
        Some(batch)
    }

    /// The statements and header of a batch of `txids` numbered `seq`, as this shard's own
    /// records make them; `None` if one of them is not decided here. A co-signer rebuilds the
    /// batch its leader announces with it and signs only an identical header.
    pub fn batch_of(&self, txids: &[TxId], seq: u64) -> Option<(Vec<Statement>, BatchHeader)> {
        let statements = txids
            .iter()
            .map(|txid| {
                Some(Statement {
                    txid: *txid,
                    shard: self.id,
                    epoch: self.epoch,
                    roster_hash: self.info.roster_hash,
                    decision: self.decisions.get(txid)?.decision,
                })
            })
            .collect::<Option<Vec<Statement>>>()?;
        let leaves: Vec<merkle::Hash> = statements.iter().map(Statement::leaf).collect();
        let header = BatchHeader {
            shard: self.id,
            epoch: self.epoch,
            roster_hash: self.info.roster_hash,
            seq,
            root: merkle::root(&leaves),
            count: u32::try_from(leaves.len()).ok()?,
        };
        Some((statements, header))
    }

    /// Forgets the queue of decisions to sign: a co-signer's replica records decisions but
    /// never seals them.
    pub fn clear_queue(&mut self) {
        self.queue.clear();
    }
}

/// One proof per statement of a batch whose header carries `signature` (the roster's
/// collective signature, encoded).
pub fn proofs_of(
    statements: Vec<Statement>,
    header: BatchHeader,
    signature: &[u8],
) -> Vec<AtomixProof> {
    let leaves: Vec<merkle::Hash> = statements.iter().map(Statement::leaf).collect();
    statements
        .into_iter()
        .zip(prove_all(&leaves))
        .map(|(statement, inclusion)| AtomixProof {
            statement,
            header,
            inclusion,
            signature: signature.to_vec(),
        })
        .collect()
}
