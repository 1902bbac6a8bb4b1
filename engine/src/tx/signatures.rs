//! The signatures of many transactions, verified as one batch.
//!
//! Every input signs its transaction's txid, so a set of transactions is one batch of
//! `(owner, txid, signature)` triples. This is the one place that flattens transactions into such
//! a batch and folds the verdicts back per transaction; the pipeline, sampling re-validation, the
//! demo's shards, the shard ledger, MSB replay and Atomix all call it, with whatever verifies a
//! batch for them (a [`crate::sig::Verifier`] backend, or [`crate::sig::verify_batch`] with a key
//! cache).
//!
//! Invariant: the verdict of input `j` of transaction `i` is the verifier's verdict on exactly
//! that input's triple; inputs left out by [`verify_tx_signatures_where`] are never sent and count
//! as verified (the caller checks them elsewhere, or they are not its to check).

use super::{Transaction, TxId, TxInput};
use crate::sig::SigRef;

/// Per-input verdicts of a set of transactions, in the order they were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxSignatureVerdicts {
    /// Input verdicts, transaction after transaction.
    verdicts: Vec<bool>,
    /// Transaction `i`'s inputs are `verdicts[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    /// Signatures actually sent to the verifier.
    checked: usize,
}

impl TxSignatureVerdicts {
    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Transaction `tx`'s input verdicts, in input order.
    ///
    /// # Panics
    /// If `tx` is out of range.
    pub fn inputs(&self, tx: usize) -> &[bool] {
        &self.verdicts[self.starts[tx]..self.starts[tx + 1]]
    }

    /// The first input of transaction `tx` whose signature failed, if any.
    pub fn first_bad_input(&self, tx: usize) -> Option<usize> {
        self.inputs(tx).iter().position(|ok| !ok)
    }

    /// Whether every signature of transaction `tx` verified.
    pub fn all_valid(&self, tx: usize) -> bool {
        self.first_bad_input(tx).is_none()
    }

    /// Per transaction, whether every signature verified.
    pub fn per_tx(&self) -> Vec<bool> {
        (0..self.len()).map(|tx| self.all_valid(tx)).collect()
    }

    /// Signatures sent to the verifier.
    pub fn checked(&self) -> usize {
        self.checked
    }
}

/// Verifies every input signature of `txs` (each with its txid) with one call of `verify`, which
/// gets the triples in transaction and input order and must return one verdict per triple.
///
/// # Panics
/// If `verify` returns a different number of verdicts than it was given triples.
pub fn verify_tx_signatures<'a>(
    txs: impl IntoIterator<Item = (&'a Transaction, &'a TxId)>,
    verify: impl FnOnce(&[SigRef<'_>]) -> Vec<bool>,
) -> TxSignatureVerdicts {
    verify_tx_signatures_where(txs, |_| true, verify)
}

/// [`verify_tx_signatures`] for the inputs `include` accepts; the others are not sent and count as
/// verified (Atomix: a shard checks only the inputs it holds).
///
/// # Panics
/// If `verify` returns a different number of verdicts than it was given triples.
pub fn verify_tx_signatures_where<'a>(
    txs: impl IntoIterator<Item = (&'a Transaction, &'a TxId)>,
    include: impl Fn(&TxInput) -> bool,
    verify: impl FnOnce(&[SigRef<'_>]) -> Vec<bool>,
) -> TxSignatureVerdicts {
    let mut refs: Vec<SigRef<'a>> = Vec::new();
    // Per input, its place in `refs`, or None when left out.
    let mut slots: Vec<Option<usize>> = Vec::new();
    let mut starts = vec![0];
    for (tx, txid) in txs {
        for input in &tx.inputs {
            if include(input) {
                slots.push(Some(refs.len()));
                refs.push(SigRef {
                    pk: &input.owner,
                    msg: txid.as_bytes(),
                    sig: &input.signature,
                });
            } else {
                slots.push(None);
            }
        }
        starts.push(slots.len());
    }
    let sent = verify(&refs);
    assert_eq!(
        sent.len(),
        refs.len(),
        "the verifier must return one verdict per signature"
    );
    TxSignatureVerdicts {
        verdicts: slots.iter().map(|s| s.is_none_or(|i| sent[i])).collect(),
        starts,
        checked: refs.len(),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    use super::*;
    use crate::sig::verify_single;
    use crate::tx::{OutPoint, TxOutput};

    fn signed(seed: u8, inputs: usize) -> Transaction {
        let keys: Vec<SigningKey> = (0..inputs)
            .map(|i| SigningKey::from_bytes(&[seed.wrapping_add(i as u8); 32]))
            .collect();
        let mut tx = Transaction {
            inputs: (0..inputs)
                .map(|i| TxInput {
                    prev: OutPoint {
                        txid: TxId([seed; 32]),
                        index: i as u32,
                    },
                    owner: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
            outputs: vec![TxOutput {
                amount: 1,
                owner: [seed; 32],
            }],
        };
        tx.sign(&keys).unwrap();
        tx
    }

    fn one_by_one(refs: &[SigRef<'_>]) -> Vec<bool> {
        refs.iter().map(|r| verify_single(*r)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// Against checking each input by itself: the same verdict for every input, whichever
        /// signatures are corrupted, and left-out inputs count as verified without being sent.
        #[test]
        fn verdicts_are_each_inputs_own(
            shape in prop::collection::vec((1usize..4, any::<u8>()), 0..6),
            corrupt in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            leave_out_odd in any::<bool>(),
        ) {
            let mut txs: Vec<Transaction> = shape
                .iter()
                .enumerate()
                .map(|(n, &(inputs, _))| signed(n as u8 * 7, inputs))
                .collect();
            let total: usize = txs.iter().map(|t| t.inputs.len()).sum();
            if total > 0 {
                for c in &corrupt {
                    let mut k = c.index(total);
                    for tx in &mut txs {
                        if k < tx.inputs.len() {
                            tx.inputs[k].signature[3] ^= 1;
                            break;
                        }
                        k -= tx.inputs.len();
                    }
                }
            }
            let txids: Vec<TxId> = txs.iter().map(Transaction::txid).collect();
            let include = |input: &TxInput| !leave_out_odd || input.prev.index.is_multiple_of(2);
            let verdicts = verify_tx_signatures_where(txs.iter().zip(&txids), include, one_by_one);
            prop_assert_eq!(verdicts.len(), txs.len());
            let mut sent = 0;
            for (i, (tx, txid)) in txs.iter().zip(&txids).enumerate() {
                let expected: Vec<bool> = tx
                    .inputs
                    .iter()
                    .map(|input| {
                        !include(input)
                            || verify_single(SigRef {
                                pk: &input.owner,
                                msg: txid.as_bytes(),
                                sig: &input.signature,
                            })
                    })
                    .collect();
                sent += tx.inputs.iter().filter(|input| include(input)).count();
                prop_assert_eq!(verdicts.inputs(i), &expected[..]);
                prop_assert_eq!(verdicts.first_bad_input(i), expected.iter().position(|ok| !ok));
                prop_assert_eq!(verdicts.all_valid(i), expected.iter().all(|&ok| ok));
            }
            prop_assert_eq!(verdicts.checked(), sent);
        }
    }

    #[test]
    #[should_panic(expected = "one verdict per signature")]
    fn a_verifier_returning_too_few_verdicts_is_caught() {
        let tx = signed(1, 2);
        let txid = tx.txid();
        verify_tx_signatures([(&tx, &txid)], |_| vec![true]);
    }
}
