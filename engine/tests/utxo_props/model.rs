//! The sequential reference model the UTXO set is compared with: a `BTreeMap` of entries and the
//! locks, judged one transaction at a time by the rules as written.

use std::collections::BTreeMap;

use iosv_engine::tx::TxStructureError;
use iosv_engine::tx::{MAX_INPUTS, MAX_OUTPUTS, OutPoint, Transaction, TxOutput};
use iosv_engine::utxo::{AmountSide, Entry, LockId, UtxoError, state_root_of};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Model {
    pub(crate) map: BTreeMap<OutPoint, Entry>,
    pub(crate) locks: BTreeMap<LockId, Vec<OutPoint>>,
}

impl Model {
    pub(crate) fn check(
        &self,
        i: usize,
        tx: &Transaction,
        spent: &BTreeMap<OutPoint, usize>,
    ) -> Result<(), UtxoError> {
        let malformed = |e| Err(UtxoError::Malformed(e));
        let (ni, no) = (tx.inputs.len(), tx.outputs.len());
        if ni == 0 {
            return malformed(TxStructureError::NoInputs);
        }
        if ni > MAX_INPUTS {
            return malformed(TxStructureError::TooManyInputs {
                count: ni,
                max: MAX_INPUTS,
            });
        }
        if no == 0 {
            return malformed(TxStructureError::NoOutputs);
        }
        if no > MAX_OUTPUTS {
            return malformed(TxStructureError::TooManyOutputs {
                count: no,
                max: MAX_OUTPUTS,
            });
        }
        if let Some(output) = tx.outputs.iter().position(|o| o.amount == 0) {
            return malformed(TxStructureError::ZeroAmount { output });
        }
        let mut inputs = Some(0u64);
        for (j, input) in tx.inputs.iter().enumerate() {
            let outpoint = input.prev;
            if let Some(&first_tx_index) = spent.get(&outpoint) {
                return Err(UtxoError::DoubleSpend {
                    outpoint,
                    first_tx_index,
                });
            }
            if tx.inputs[..j].iter().any(|e| e.prev == outpoint) {
                return Err(UtxoError::DoubleSpend {
                    outpoint,
                    first_tx_index: i,
                });
            }
            let entry = self
                .map
                .get(&outpoint)
                .ok_or(UtxoError::UnknownOutpoint { outpoint })?;
            if let Some(lock_id) = entry.locked_by {
                return Err(UtxoError::Locked { outpoint, lock_id });
            }
            if entry.output.owner != input.owner {
                return Err(UtxoError::WrongOwner {
                    outpoint,
                    expected: entry.output.owner,
                    found: input.owner,
                });
            }
            inputs = inputs.and_then(|s| s.checked_add(entry.output.amount));
        }
        let inputs = inputs.ok_or(UtxoError::AmountOverflow {
            side: AmountSide::Inputs,
        })?;
        let mut outputs = 0u64;
        for o in &tx.outputs {
            outputs = outputs
                .checked_add(o.amount)
                .ok_or(UtxoError::AmountOverflow {
                    side: AmountSide::Outputs,
                })?;
        }
        let txid = tx.txid();
        for index in 0..tx.outputs.len() as u32 {
            let outpoint = OutPoint { txid, index };
            if self.map.contains_key(&outpoint) {
                return Err(UtxoError::OutputExists { outpoint });
            }
        }
        if inputs < outputs {
            return Err(UtxoError::InsufficientFunds { inputs, outputs });
        }
        Ok(())
    }

    /// Applies the batch one transaction at a time, skipping invalid ones.
    pub(crate) fn run_batch(&mut self, txs: &[Transaction]) -> Vec<Result<(), UtxoError>> {
        let mut spent = BTreeMap::new();
        let mut verdicts = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            let verdict = self.check(i, tx, &spent);
            if verdict.is_ok() {
                for input in &tx.inputs {
                    self.map.remove(&input.prev);
                    spent.insert(input.prev, i);
                }
                let txid = tx.txid();
                for (index, output) in tx.outputs.iter().enumerate() {
                    let outpoint = OutPoint {
                        txid,
                        index: index as u32,
                    };
                    self.map.insert(outpoint, Entry::unlocked(*output));
                }
            }
            verdicts.push(verdict);
        }
        verdicts
    }

    pub(crate) fn lock(
        &mut self,
        lock_id: LockId,
        outpoints: &[OutPoint],
    ) -> Result<(), UtxoError> {
        if outpoints.is_empty() {
            return Err(UtxoError::EmptyLock { lock_id });
        }
        if self.locks.contains_key(&lock_id) {
            return Err(UtxoError::LockInUse { lock_id });
        }
        for (i, &outpoint) in outpoints.iter().enumerate() {
            if outpoints[..i].contains(&outpoint) {
                return Err(UtxoError::Locked { outpoint, lock_id });
            }
            match self.map.get(&outpoint) {
                None => return Err(UtxoError::UnknownOutpoint { outpoint }),
                Some(Entry {
                    locked_by: Some(holder),
                    ..
                }) => {
                    return Err(UtxoError::Locked {
                        outpoint,
                        lock_id: *holder,
                    });
                }
                Some(_) => {}
            }
        }
        for outpoint in outpoints {
            self.map.get_mut(outpoint).unwrap().locked_by = Some(lock_id);
        }
        let mut held = outpoints.to_vec();
        held.sort();
        self.locks.insert(lock_id, held);
        Ok(())
    }

    pub(crate) fn release(
        &mut self,
        lock_id: LockId,
        spend: bool,
    ) -> Result<Vec<(OutPoint, TxOutput)>, UtxoError> {
        let held = self
            .locks
            .remove(&lock_id)
            .ok_or(UtxoError::UnknownLock { lock_id })?;
        let mut spent = Vec::new();
        for outpoint in held {
            if spend {
                spent.push((outpoint, self.map.remove(&outpoint).unwrap().output));
            } else {
                self.map.get_mut(&outpoint).unwrap().locked_by = None;
            }
        }
        Ok(spent)
    }

    pub(crate) fn root(&self) -> [u8; 32] {
        state_root_of(self.map.iter())
    }
}
