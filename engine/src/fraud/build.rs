//! Building a fraud proof from a block, the state before it and the index of a transaction found
//! invalid (for instance by [`sampling::revalidate`](crate::sampling::revalidate)).

use super::error::BuildError;
use super::header::SignedHeader;
use super::proof::{Claim, FraudProof, Source, TxWitness};
use crate::sig::{SigRef, verify_single};
use crate::tx::{OutPoint, Transaction, TxLeaf, tx_inclusion_proof, tx_leaves};
use crate::utxo::{AmountSide, StateTree, UtxoError, UtxoSet};

/// A block being proven against, with its leaves computed once.
struct Ctx<'a> {
    txs: &'a [Transaction],
    leaves: Vec<TxLeaf>,
    tree: &'a mut StateTree,
    index: usize,
}

impl Ctx<'_> {
    fn witness(&self, i: usize) -> TxWitness {
        TxWitness {
            bytes: self.txs[i].encode(),
            inclusion: tx_inclusion_proof(&self.leaves, i).expect("index within the block"),
        }
    }

    /// The first earlier transaction whose txid is `outpoint`'s.
    fn creator(&self, outpoint: &OutPoint) -> Option<usize> {
        self.leaves[..self.index]
            .iter()
            .position(|leaf| leaf.txid == outpoint.txid)
    }

    fn source(&mut self, outpoint: &OutPoint) -> Source {
        if self.tree.get(outpoint).is_none()
            && let Some(j) = self.creator(outpoint)
        {
            return Source::InBlock(self.witness(j));
        }
        Source::PreState(self.tree.prove(outpoint))
    }

    fn sources(&mut self) -> Vec<Source> {
        let spent: Vec<OutPoint> = self.txs[self.index].inputs.iter().map(|i| i.prev).collect();
        spent.iter().map(|o| self.source(o)).collect()
    }
}

fn input_of(tx: &Transaction, outpoint: &OutPoint) -> usize {
    tx.inputs
        .iter()
        .position(|i| i.prev == *outpoint)
        .expect("the verdict names one of the transaction's own inputs")
}

/// Builds the proof that transaction `index` of `txs` (the block under `header`) is invalid, given
/// the state before the block as a set (`pre_state`, for the verdict) and as a Merkle tree
/// (`pre_tree`, for the witnesses; its root must be the header's `pre_state_root`).
///
/// Judged as the block's rule demands, every transaction valid in block order: a structural
/// fault, then the first bad signature, then the UTXO verdict against the state before the block
/// and the block's earlier transactions, then a conflict with *any* earlier transaction (an earlier
/// invalid transaction spending the same outpoint convicts the block just as well). Refuses with
/// [`BuildError::Valid`] when there is nothing to prove, and with [`BuildError::EarlierFault`]
/// when the transaction fails only because an earlier invalid one did not create its input.
pub fn build(
    header: &SignedHeader,
    txs: &[Transaction],
    pre_state: &UtxoSet,
    pre_tree: &mut StateTree,
    index: usize,
) -> Result<FraudProof, BuildError> {
    let Some(tx) = txs.get(index) else {
        return Err(BuildError::OutOfRange {
            index,
            len: txs.len(),
        });
    };
    if pre_tree.root() != header.header.pre_state_root {
        return Err(BuildError::StateMismatch);
    }
    let mut ctx = Ctx {
        txs,
        leaves: tx_leaves(txs),
        tree: pre_tree,
        index,
    };
    let claim = claim(&mut ctx, tx, pre_state)?;
    Ok(FraudProof {
        header: header.clone(),
        accused: ctx.witness(index),
        claim,
    })
}

fn claim(ctx: &mut Ctx<'_>, tx: &Transaction, pre_state: &UtxoSet) -> Result<Claim, BuildError> {
    let index = ctx.index;
    if tx.validate_structure().is_err() {
        return Ok(Claim::Malformed);
    }
    let txid = tx.txid();
    if let Some(input) = tx.inputs.iter().position(|i| {
        !verify_single(SigRef {
            pk: &i.owner,
            msg: txid.as_bytes(),
            sig: &i.signature,
        })
    }) {
        return Ok(Claim::BadSignature { input });
    }
    let verdict = pre_state
        .validate_batch(&ctx.txs[..=index])
        .pop()
        .expect("one verdict per transaction");
    match verdict {
        Ok(()) => {
            // Valid when earlier invalid transactions are skipped; still a conflict if one of
            // them spends the same outpoint, since the block must hold only valid transactions.
            for (input, i) in tx.inputs.iter().enumerate() {
                if let Some(j) = ctx.txs[..index]
                    .iter()
                    .position(|e| e.inputs.iter().any(|x| x.prev == i.prev))
                {
                    return Ok(Claim::DoubleSpend {
                        input,
                        earlier: ctx.witness(j),
                    });
                }
            }
            Err(BuildError::Valid { index })
        }
        Err(UtxoError::DoubleSpend {
            outpoint,
            first_tx_index,
        }) => Ok(Claim::DoubleSpend {
            input: input_of(tx, &outpoint),
            earlier: ctx.witness(first_tx_index),
        }),
        Err(UtxoError::UnknownOutpoint { outpoint }) => {
            let creator = ctx.creator(&outpoint);
            if let Some(j) = creator
                && (outpoint.index as usize) < ctx.txs[j].outputs.len()
            {
                return Err(BuildError::EarlierFault { index, earlier: j });
            }
            Ok(Claim::UnknownOutpoint {
                input: input_of(tx, &outpoint),
                absent: ctx.tree.prove(&outpoint),
                leaves: ctx.leaves.clone(),
                creator: creator.map(|j| ctx.witness(j)),
            })
        }
        Err(UtxoError::Locked { outpoint, .. }) => Ok(Claim::Locked {
            input: input_of(tx, &outpoint),
            entry: ctx.tree.prove(&outpoint),
        }),
        Err(UtxoError::WrongOwner { outpoint, .. }) => Ok(Claim::WrongOwner {
            input: input_of(tx, &outpoint),
            source: ctx.source(&outpoint),
        }),
        Err(UtxoError::AmountOverflow {
            side: AmountSide::Inputs,
        }) => Ok(Claim::InputsOverflow {
            sources: ctx.sources(),
        }),
        Err(UtxoError::InsufficientFunds { .. }) => Ok(Claim::InsufficientFunds {
            sources: ctx.sources(),
        }),
        Err(UtxoError::OutputExists { outpoint }) => {
            if ctx.tree.get(&outpoint).is_some() {
                return Ok(Claim::OutputExists {
                    output: outpoint.index as usize,
                    existing: ctx.tree.prove(&outpoint),
                });
            }
            // Created by an earlier transaction with the same txid, hence the same inputs.
            match ctx.creator(&outpoint) {
                Some(j) => Ok(Claim::DoubleSpend {
                    input: 0,
                    earlier: ctx.witness(j),
                }),
                None => Err(BuildError::Unexpected(UtxoError::OutputExists { outpoint })),
            }
        }
        Err(other) => Err(BuildError::Unexpected(other)),
    }
}
