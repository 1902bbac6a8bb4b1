//! Why a fraud proof is refused, and why none could be built.

use thiserror::Error;

use crate::tx::{OutPoint, TxDecodeError};
use crate::utxo::{StateProofError, UtxoError};

/// Why a [`FraudProof`](super::FraudProof) proves nothing. The first failing check is reported.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FraudProofError {
    #[error("the header's signature does not verify under its proposer's key")]
    BadHeaderSignature,
    #[error("the {which} transaction's bytes do not frame as a transaction: {source}")]
    Undecodable {
        which: &'static str,
        source: TxDecodeError,
    },
    #[error("the {which} transaction is not in the block at the claimed position")]
    NotInBlock { which: &'static str },
    #[error("the {which} transaction's index {index} is not before the accused one's {accused}")]
    NotEarlier {
        which: &'static str,
        index: u64,
        accused: u64,
    },
    #[error("the accused transaction has no input {input}")]
    NoSuchInput { input: usize },
    #[error("the accused transaction has no output {output}")]
    NoSuchOutput { output: usize },
    #[error("state proof for {outpoint}: {source}")]
    StateProof {
        outpoint: OutPoint,
        source: StateProofError,
    },
    #[error("the claim does not hold: {0}")]
    ClaimFalse(&'static str),
    #[error("the source offered for {outpoint} does not create it")]
    WrongSource { outpoint: OutPoint },
    #[error("the block's transaction list has {found} entries; the header says {expected}")]
    LeafCount { expected: u32, found: usize },
    #[error("the block's transaction list does not hash to the header's tx_root")]
    LeavesMismatch,
    #[error(
        "{outpoint} is created by an earlier transaction of the block; prove that one invalid \
         or give it as the creator"
    )]
    CreatedInBlock { outpoint: OutPoint },
    #[error("one source per input is needed: {inputs} inputs, {sources} sources")]
    SourceCount { inputs: usize, sources: usize },
}

/// Why [`build`](super::build) made no proof.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BuildError {
    #[error("transaction {index} is valid: there is no fraud to prove")]
    Valid { index: usize },
    #[error("no transaction {index} in a block of {len}")]
    OutOfRange { index: usize, len: usize },
    #[error(
        "transaction {index} is invalid only because earlier transaction {earlier} is: prove that \
         one instead"
    )]
    EarlierFault { index: usize, earlier: usize },
    #[error("the state tree's root does not match the header's pre_state_root")]
    StateMismatch,
    #[error("the UTXO verdict {0} has no fraud proof kind")]
    Unexpected(UtxoError),
}
