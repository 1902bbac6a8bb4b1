//! The transaction value types and the structural rules they obey.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::encoding::{MAX_INPUTS, MAX_OUTPUTS};
use super::error::TxStructureError;

/// A transaction identifier: see [`Transaction::txid`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TxId(pub [u8; 32]);

impl TxId {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// As a hex string (in proofs and reports).
impl Serialize for TxId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        hex::serde::serialize(self.0, s)
    }
}

impl<'de> Deserialize<'de> for TxId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        hex::serde::deserialize(d).map(TxId)
    }
}

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxId({self})")
    }
}

/// A reference to output `index` of transaction `txid`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct OutPoint {
    pub txid: TxId,
    pub index: u32,
}

impl fmt::Display for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.txid, self.index)
    }
}

/// Spends the output at `prev`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxInput {
    pub prev: OutPoint,
    /// Ed25519 public key of the spent output's owner. Carried in the input so the signature can be
    /// verified before the UTXO lookup; UTXO validation later checks it equals the output's owner.
    pub owner: [u8; 32],
    /// Ed25519 signature by `owner` over [`Transaction::signing_hash`].
    pub signature: [u8; 64],
}

/// Creates a new unspent output of `amount` owned by the Ed25519 public key `owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxOutput {
    pub amount: u64,
    #[serde(with = "hex::serde")]
    pub owner: [u8; 32],
}

/// Consumes `inputs` and creates `outputs`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Transaction {
    pub inputs: Vec<TxInput>,
    pub outputs: Vec<TxOutput>,
}

impl Transaction {
    /// Checks the structural rules, in this order: input count in `1..=MAX_INPUTS`, output count in
    /// `1..=MAX_OUTPUTS`, no outpoint spent twice, every amount non-zero and their sum within `u64`.
    ///
    /// These are exactly the rules [`Transaction::decode`] applies after framing, so a value passes
    /// here if and only if its encoding decodes. Balance against the spent outputs, ownership and
    /// signatures are checked later, against the UTXO set.
    pub fn validate_structure(&self) -> Result<(), TxStructureError> {
        check_input_count(self.inputs.len())?;
        check_output_count(self.outputs.len())?;
        check_distinct_inputs(&self.inputs)?;
        output_sum(&self.outputs)?;
        Ok(())
    }

    /// Sum of the output amounts, or the structural error that prevents it.
    pub fn output_total(&self) -> Result<u64, TxStructureError> {
        output_sum(&self.outputs)
    }
}

pub(crate) fn check_input_count(count: usize) -> Result<(), TxStructureError> {
    match count {
        0 => Err(TxStructureError::NoInputs),
        n if n > MAX_INPUTS => Err(TxStructureError::TooManyInputs {
            count: n,
            max: MAX_INPUTS,
        }),
        _ => Ok(()),
    }
}

pub(crate) fn check_output_count(count: usize) -> Result<(), TxStructureError> {
    match count {
        0 => Err(TxStructureError::NoOutputs),
        n if n > MAX_OUTPUTS => Err(TxStructureError::TooManyOutputs {
            count: n,
            max: MAX_OUTPUTS,
        }),
        _ => Ok(()),
    }
}

/// Reports the earliest input that repeats an outpoint, with the index of its first occurrence.
fn check_distinct_inputs(inputs: &[TxInput]) -> Result<(), TxStructureError> {
    let mut seen: HashMap<OutPoint, usize> = HashMap::with_capacity(inputs.len());
    for (second, input) in inputs.iter().enumerate() {
        if let Some(&first) = seen.get(&input.prev) {
            return Err(TxStructureError::DuplicateInput {
                outpoint: input.prev,
                first,
                second,
            });
        }
        seen.insert(input.prev, second);
    }
    Ok(())
}

fn output_sum(outputs: &[TxOutput]) -> Result<u64, TxStructureError> {
    outputs
        .iter()
        .enumerate()
        .try_fold(0u64, |sum, (output, out)| {
            if out.amount == 0 {
                return Err(TxStructureError::ZeroAmount { output });
            }
            sum.checked_add(out.amount)
                .ok_or(TxStructureError::AmountOverflow { output })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(n: u8, index: u32) -> TxInput {
        TxInput {
            prev: OutPoint {
                txid: TxId([n; 32]),
                index,
            },
            owner: [n; 32],
            signature: [0; 64],
        }
    }

    fn output(amount: u64) -> TxOutput {
        TxOutput {
            amount,
            owner: [9; 32],
        }
    }

    fn tx(inputs: Vec<TxInput>, outputs: Vec<TxOutput>) -> Transaction {
        Transaction { inputs, outputs }
    }

    #[test]
    fn valid_transaction_passes() {
        let t = tx(vec![input(1, 0), input(1, 1)], vec![output(5), output(7)]);
        assert_eq!(t.validate_structure(), Ok(()));
        assert_eq!(t.output_total(), Ok(12));
    }

    #[test]
    fn each_rule_is_enforced() {
        use TxStructureError as E;
        let cases = [
            (tx(vec![], vec![output(1)]), E::NoInputs),
            (tx(vec![input(1, 0)], vec![]), E::NoOutputs),
            (
                tx(
                    (0..=MAX_INPUTS as u32).map(|i| input(1, i)).collect(),
                    vec![output(1)],
                ),
                E::TooManyInputs {
                    count: MAX_INPUTS + 1,
                    max: MAX_INPUTS,
                },
            ),
            (
                tx(vec![input(1, 0)], vec![output(1); MAX_OUTPUTS + 1]),
                E::TooManyOutputs {
                    count: MAX_OUTPUTS + 1,
                    max: MAX_OUTPUTS,
                },
            ),
            (
                tx(vec![input(1, 0), input(2, 0), input(1, 0)], vec![output(1)]),
                E::DuplicateInput {
                    outpoint: input(1, 0).prev,
                    first: 0,
                    second: 2,
                },
            ),
            (
                tx(vec![input(1, 0)], vec![output(1), output(0)]),
                E::ZeroAmount { output: 1 },
            ),
            (
                tx(
                    vec![input(1, 0)],
                    vec![output(1), output(u64::MAX - 1), output(1)],
                ),
                E::AmountOverflow { output: 2 },
            ),
        ];
        for (t, expected) in cases {
            assert_eq!(t.validate_structure(), Err(expected));
        }
    }

    #[test]
    fn same_txid_different_index_is_not_a_duplicate() {
        let t = tx(vec![input(1, 0), input(1, 1)], vec![output(1)]);
        assert_eq!(t.validate_structure(), Ok(()));
    }

    #[test]
    fn amounts_summing_to_exactly_u64_max_pass() {
        let t = tx(vec![input(1, 0)], vec![output(u64::MAX - 1), output(1)]);
        assert_eq!(t.output_total(), Ok(u64::MAX));
    }

    #[test]
    fn txid_displays_as_hex() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let s = TxId(bytes).to_string();
        assert_eq!(s.len(), 64);
        assert!(s.starts_with("ab00"));
        assert!(s.ends_with("0001"));
    }
}
