//! The client side of Atomix, as a sans-I/O state machine: proofs in, messages to shards out.
//!
//! The client holds nothing secret: everything it needs is the transaction, so anyone can run it
//! (recovery after a client crash is a fresh [`AtomixClient`] built from the transaction a stalled
//! shard lists). It collects one proof per input shard, forms the certificate the proofs dictate
//! (a rejection aborts at once; acceptances from every input shard commit if they cover the
//! outputs, and abort otherwise), and sends it to every shard it concerns.

use std::collections::{BTreeMap, BTreeSet};

use iosv_engine::tx::{Transaction, TxId};

use super::error::{AtomixError, CertificateError};
use super::proof::{AtomixProof, Certificate, Directory, VerifiedBatches};
use super::statement::{Decision, ShardId, ShardMap};

/// A message the client asks its driver to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAction {
    /// Phase 1: ask input shard `shard` to decide on (or re-certify its decision on) `tx`.
    Lock { shard: ShardId, tx: Transaction },
    /// Phase 2: end `tx` at `shard` with `certificate`.
    Finish {
        shard: ShardId,
        tx: Transaction,
        certificate: Certificate,
    },
}

/// One cross-shard transaction's client.
#[derive(Clone, Debug)]
pub struct AtomixClient {
    tx: Transaction,
    txid: TxId,
    inputs: BTreeSet<ShardId>,
    outputs: BTreeSet<ShardId>,
    proofs: BTreeMap<ShardId, AtomixProof>,
    certificate: Option<Certificate>,
}

impl AtomixClient {
    /// A client for `tx`, sharded by `map`.
    pub fn new(tx: Transaction, map: &ShardMap) -> Result<AtomixClient, AtomixError> {
        if tx.inputs.is_empty() || tx.outputs.is_empty() {
            return Err(AtomixError::Empty);
        }
        Ok(AtomixClient {
            txid: tx.txid(),
            inputs: map.input_shards(&tx),
            outputs: map.output_shards(&tx),
            tx,
            proofs: BTreeMap::new(),
            certificate: None,
        })
    }

    pub fn txid(&self) -> TxId {
        self.txid
    }

    pub fn tx(&self) -> &Transaction {
        &self.tx
    }

    pub fn input_shards(&self) -> &BTreeSet<ShardId> {
        &self.inputs
    }

    /// The proofs collected so far, by shard.
    pub fn proofs(&self) -> &BTreeMap<ShardId, AtomixProof> {
        &self.proofs
    }

    /// The certificate, once the proofs decide it.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }

    /// Phase 1: a lock request to every input shard still missing a proof.
    pub fn start(&self) -> Vec<ClientAction> {
        self.inputs
            .iter()
            .filter(|s| !self.proofs.contains_key(s))
            .map(|&shard| ClientAction::Lock {
                shard,
                tx: self.tx.clone(),
            })
            .collect()
    }

    /// Takes a proof from an input shard (checked against the current rosters; a newer proof from
    /// the same shard replaces an older one). Once the proofs decide, returns the finish messages.
    pub fn on_proof(
        &mut self,
        proof: AtomixProof,
        dir: &Directory,
    ) -> Result<Vec<ClientAction>, AtomixError> {
        self.on_proof_cached(proof, dir, &mut VerifiedBatches::new())
    }

    /// [`AtomixClient::on_proof`], skipping the collective signature of a batch already verified
    /// into `cache` (clients of one wallet or one machine share it: a batch's signature is the
    /// same for every decision in it).
    pub fn on_proof_cached(
        &mut self,
        proof: AtomixProof,
        dir: &Directory,
        cache: &mut VerifiedBatches,
    ) -> Result<Vec<ClientAction>, AtomixError> {
        let shard = proof.shard();
        if !self.inputs.contains(&shard) {
            return Err(CertificateError::NotAnInputShard { shard }.into());
        }
        let decision = proof
            .verify_cached(&self.txid, dir, cache)
            .map_err(|source| CertificateError::Proof { shard, source })?;
        self.proofs.insert(shard, proof);
        if self.certificate.is_some() {
            return Ok(Vec::new());
        }
        if let Decision::Reject { .. } = decision {
            self.certificate = Some(Certificate::AbortRejected {
                proof: Box::new(self.proofs[&shard].clone()),
            });
            return Ok(self.finish_messages());
        }
        Ok(self.decide())
    }

    /// Forms the certificate the collected proofs dictate, if they decide; returns the finish
    /// messages when it does.
    fn decide(&mut self) -> Vec<ClientAction> {
        if self.certificate.is_some() {
            return Vec::new();
        }
        let rejection = self
            .proofs
            .values()
            .find(|p| !p.statement.decision.is_accept());
        let certificate = if let Some(proof) = rejection {
            Certificate::AbortRejected {
                proof: Box::new(proof.clone()),
            }
        } else if self.proofs.len() == self.inputs.len() {
            let accepted = self
                .proofs
                .values()
                .map(|p| match p.statement.decision {
                    Decision::Accept { value } => value,
                    Decision::Reject { .. } => 0,
                })
                .fold(0u64, u64::saturating_add);
            let proofs: Vec<AtomixProof> = self.proofs.values().cloned().collect();
            let outputs = self.tx.output_total().unwrap_or(u64::MAX);
            if accepted >= outputs {
                Certificate::Commit { proofs }
            } else {
                Certificate::AbortInsufficient { proofs }
            }
        } else {
            return Vec::new();
        };
        self.certificate = Some(certificate);
        self.finish_messages()
    }

    /// The finish messages for the current certificate: every input and output shard on commit,
    /// every input shard on abort (output shards have nothing to undo).
    pub fn finish_messages(&self) -> Vec<ClientAction> {
        let Some(certificate) = &self.certificate else {
            return Vec::new();
        };
        let targets: BTreeSet<ShardId> = match certificate {
            Certificate::Commit { .. } => self.inputs.union(&self.outputs).copied().collect(),
            _ => self.inputs.clone(),
        };
        targets
            .into_iter()
            .map(|shard| ClientAction::Finish {
                shard,
                tx: self.tx.clone(),
                certificate: certificate.clone(),
            })
            .collect()
    }

    /// After a roster change: drops the proofs that no longer verify and the certificate built on
    /// them, and asks those shards to re-certify their decisions.
    pub fn refresh(&mut self, dir: &Directory) -> Vec<ClientAction> {
        let txid = self.txid;
        let before = self.proofs.len();
        self.proofs.retain(|_, p| p.verify(&txid, dir).is_ok());
        let still_valid = self
            .certificate
            .as_ref()
            .is_some_and(|c| c.proofs().iter().all(|p| p.verify(&txid, dir).is_ok()));
        if self.proofs.len() != before || !still_valid {
            self.certificate = None;
        }
        let mut actions = self.start();
        actions.extend(self.decide());
        actions
    }
}
