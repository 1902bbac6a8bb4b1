//! Fraud proofs and their verification: everything needed to convict an optimistic block of one
//! invalid transaction, checkable by anyone from the proof alone.

use serde::{Deserialize, Serialize};

use super::error::FraudProofError;
use super::header::SignedHeader;
use crate::merkle::InclusionProof;
use crate::sig::{SigRef, verify_single};
use crate::tx::{BlockHeader, OutPoint, Transaction, TxId, TxLeaf, tx_root_of_leaves, wtxid};
use crate::utxo::{BucketProof, Entry};

/// A transaction of the block: its full encoding and its inclusion proof against `tx_root`. The
/// proof's `index` is the transaction's position in the block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxWitness {
    #[serde(with = "hex::serde")]
    pub bytes: Vec<u8>,
    pub inclusion: InclusionProof,
}

/// Where a spent outpoint's value comes from: the state before the block, or an earlier
/// transaction of the same block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    PreState(BucketProof),
    InBlock(TxWitness),
}

/// What is wrong with the accused transaction, with the evidence each case needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Claim {
    /// Input `input`'s signature does not verify (ZIP-215) under its owner over the txid.
    BadSignature { input: usize },
    /// The transaction breaks a structural rule (counts, duplicate inputs, zero or overflowing
    /// outputs).
    Malformed,
    /// Input `input` spends an outpoint that is neither in the state before the block (`absent`)
    /// nor created by an earlier transaction of the block: `leaves` is the block's whole
    /// transaction list (checked against `tx_root`), and when an earlier transaction has the
    /// outpoint's txid, `creator` is that transaction, showing it has no such output.
    UnknownOutpoint {
        input: usize,
        absent: BucketProof,
        leaves: Vec<TxLeaf>,
        creator: Option<TxWitness>,
    },
    /// Input `input` spends an outpoint that is locked by a cross-shard commit.
    Locked { input: usize, entry: BucketProof },
    /// Input `input` names an owner other than the spent output's.
    WrongOwner { input: usize, source: Source },
    /// Input `input` spends an outpoint that the earlier transaction `earlier` spends too.
    DoubleSpend { input: usize, earlier: TxWitness },
    /// The spent amounts (one source per input, in input order) overflow a `u64`.
    InputsOverflow { sources: Vec<Source> },
    /// The spent amounts (one source per input, in input order) are less than the outputs.
    InsufficientFunds { sources: Vec<Source> },
    /// Output `output` already exists in the state before the block.
    OutputExists {
        output: usize,
        existing: BucketProof,
    },
}

/// The kind of a proven fraud, for reports and slashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudKind {
    BadSignature,
    Malformed,
    UnknownOutpoint,
    Locked,
    WrongOwner,
    DoubleSpend,
    InputsOverflow,
    InsufficientFunds,
    OutputExists,
}

impl Claim {
    pub fn kind(&self) -> FraudKind {
        match self {
            Claim::BadSignature { .. } => FraudKind::BadSignature,
            Claim::Malformed => FraudKind::Malformed,
            Claim::UnknownOutpoint { .. } => FraudKind::UnknownOutpoint,
            Claim::Locked { .. } => FraudKind::Locked,
            Claim::WrongOwner { .. } => FraudKind::WrongOwner,
            Claim::DoubleSpend { .. } => FraudKind::DoubleSpend,
            Claim::InputsOverflow { .. } => FraudKind::InputsOverflow,
            Claim::InsufficientFunds { .. } => FraudKind::InsufficientFunds,
            Claim::OutputExists { .. } => FraudKind::OutputExists,
        }
    }
}

/// A fraud proof: the signed header, the accused transaction with its inclusion proof, and the
/// claim with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudProof {
    pub header: SignedHeader,
    pub accused: TxWitness,
    pub claim: Claim,
}

/// What a verified fraud proof establishes: the block with this header is invalid, because of the
/// transaction at `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proven {
    pub header_hash: [u8; 32],
    pub proposer: [u8; 32],
    pub index: u64,
    pub txid: TxId,
    pub kind: FraudKind,
}

/// An opened witness: the transaction, its txid and its position.
struct Opened {
    tx: Transaction,
    txid: TxId,
    index: u64,
}

impl TxWitness {
    fn open(&self, header: &BlockHeader, which: &'static str) -> Result<Opened, FraudProofError> {
        let tx = Transaction::decode_framed(&self.bytes)
            .map_err(|source| FraudProofError::Undecodable { which, source })?;
        let txid = tx.txid();
        let leaf = TxLeaf {
            txid,
            wtxid: wtxid(&self.bytes),
        };
        if self.inclusion.tree_size != u64::from(header.tx_count)
            || !self.inclusion.verify(&leaf.hash(), &header.tx_root)
        {
            return Err(FraudProofError::NotInBlock { which });
        }
        Ok(Opened {
            tx,
            txid,
            index: self.inclusion.index,
        })
    }

    /// Opens an earlier transaction of the block than the one at `accused`.
    fn open_earlier(
        &self,
        header: &BlockHeader,
        which: &'static str,
        accused: u64,
    ) -> Result<Opened, FraudProofError> {
        let opened = self.open(header, which)?;
        if opened.index >= accused {
            return Err(FraudProofError::NotEarlier {
                which,
                index: opened.index,
                accused,
            });
        }
        Ok(opened)
    }
}

fn pre_state(
    proof: &BucketProof,
    header: &BlockHeader,
    outpoint: &OutPoint,
) -> Result<Option<Entry>, FraudProofError> {
    proof
        .verify(&header.pre_state_root, outpoint)
        .map_err(|source| FraudProofError::StateProof {
            outpoint: *outpoint,
            source,
        })
}

impl Source {
    /// The entry `outpoint` had (or was created with) before transaction `accused` ran.
    fn resolve(
        &self,
        header: &BlockHeader,
        accused: u64,
        outpoint: &OutPoint,
    ) -> Result<Entry, FraudProofError> {
        match self {
            Source::PreState(proof) => pre_state(proof, header, outpoint)?.ok_or(
                FraudProofError::ClaimFalse("the spent outpoint is not in the pre-state"),
            ),
            Source::InBlock(witness) => {
                let creator = witness.open_earlier(header, "source", accused)?;
                let output = usize::try_from(outpoint.index)
                    .ok()
                    .and_then(|i| creator.tx.outputs.get(i));
                match output {
                    Some(output) if creator.txid == outpoint.txid => Ok(Entry::unlocked(*output)),
                    _ => Err(FraudProofError::WrongSource {
                        outpoint: *outpoint,
                    }),
                }
            }
        }
    }
}

fn spent_total(
    tx: &Transaction,
    sources: &[Source],
    header: &BlockHeader,
    accused: u64,
) -> Result<Option<u64>, FraudProofError> {
    if sources.len() != tx.inputs.len() {
        return Err(FraudProofError::SourceCount {
            inputs: tx.inputs.len(),
            sources: sources.len(),
        });
    }
    let mut total = Some(0u64);
    for (input, source) in tx.inputs.iter().zip(sources) {
        let entry = source.resolve(header, accused, &input.prev)?;
        total = total.and_then(|t| t.checked_add(entry.output.amount));
    }
    Ok(total)
}

impl FraudProof {
    /// Checks the proof. `Ok` means the block with this header is invalid, signed by its proposer;
    /// any error means the proof shows nothing (the first failing check is named).
    pub fn verify(&self) -> Result<Proven, FraudProofError> {
        if !self.header.verify() {
            return Err(FraudProofError::BadHeaderSignature);
        }
        let header = &self.header.header;
        let Opened { tx, txid, index } = self.accused.open(header, "accused")?;
        let input = |i: usize| {
            tx.inputs
                .get(i)
                .ok_or(FraudProofError::NoSuchInput { input: i })
        };
        let holds = |cond: bool, what: &'static str| {
            if cond {
                Ok(())
            } else {
                Err(FraudProofError::ClaimFalse(what))
            }
        };
        match &self.claim {
            Claim::BadSignature { input: i } => {
                let inp = input(*i)?;
                let ok = verify_single(SigRef {
                    pk: &inp.owner,
                    msg: txid.as_bytes(),
                    sig: &inp.signature,
                });
                holds(!ok, "the signature verifies")?;
            }
            Claim::Malformed => {
                holds(
                    tx.validate_structure().is_err(),
                    "the transaction is well formed",
                )?;
            }
            Claim::UnknownOutpoint {
                input: i,
                absent,
                leaves,
                creator,
            } => {
                let outpoint = input(*i)?.prev;
                let found = pre_state(absent, header, &outpoint)?;
                holds(found.is_none(), "the outpoint is in the pre-state")?;
                if leaves.len() != header.tx_count as usize {
                    return Err(FraudProofError::LeafCount {
                        expected: header.tx_count,
                        found: leaves.len(),
                    });
                }
                if tx_root_of_leaves(leaves) != header.tx_root {
                    return Err(FraudProofError::LeavesMismatch);
                }
                let created_earlier = leaves
                    .iter()
                    .take(usize::try_from(index).unwrap_or(usize::MAX))
                    .any(|leaf| leaf.txid == outpoint.txid);
                if created_earlier {
                    let created = creator.as_ref().is_some_and(|w| {
                        w.open_earlier(header, "creator", index).is_ok_and(|c| {
                            c.txid == outpoint.txid
                                && (outpoint.index as usize) >= c.tx.outputs.len()
                        })
                    });
                    if !created {
                        return Err(FraudProofError::CreatedInBlock { outpoint });
                    }
                }
            }
            Claim::Locked { input: i, entry } => {
                let outpoint = input(*i)?.prev;
                let found = pre_state(entry, header, &outpoint)?;
                holds(
                    found.is_some_and(|e| e.locked_by.is_some()),
                    "the outpoint is not locked in the pre-state",
                )?;
            }
            Claim::WrongOwner { input: i, source } => {
                let inp = input(*i)?;
                let entry = source.resolve(header, index, &inp.prev)?;
                holds(entry.output.owner != inp.owner, "the owner matches")?;
            }
            Claim::DoubleSpend { input: i, earlier } => {
                let outpoint = input(*i)?.prev;
                let other = earlier.open_earlier(header, "earlier", index)?;
                holds(
                    other.tx.inputs.iter().any(|x| x.prev == outpoint),
                    "the earlier transaction does not spend the outpoint",
                )?;
            }
            Claim::InputsOverflow { sources } => {
                let total = spent_total(&tx, sources, header, index)?;
                holds(total.is_none(), "the spent amounts fit in a u64")?;
            }
            Claim::InsufficientFunds { sources } => {
                let total = spent_total(&tx, sources, header, index)?;
                let outputs = tx.output_total().ok();
                holds(
                    matches!((total, outputs), (Some(i), Some(o)) if i < o),
                    "the inputs cover the outputs",
                )?;
            }
            Claim::OutputExists { output, existing } => {
                if *output >= tx.outputs.len() {
                    return Err(FraudProofError::NoSuchOutput { output: *output });
                }
                let outpoint = OutPoint {
                    txid,
                    index: u32::try_from(*output).unwrap_or(u32::MAX),
                };
                let found = pre_state(existing, header, &outpoint)?;
                holds(
                    found.is_some(),
                    "the output does not exist in the pre-state",
                )?;
            }
        }
        Ok(Proven {
            header_hash: header.hash(),
            proposer: header.proposer,
            index,
            txid,
            kind: self.claim.kind(),
        })
    }
}
