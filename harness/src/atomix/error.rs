//! Why an Atomix proof, certificate or request was refused.

use iosv_engine::cosi::schnorr::CosiError;
use iosv_engine::tx::TxId;
use iosv_engine::utxo::UtxoError;
use thiserror::Error;

use super::statement::ShardId;

/// Why one proof of acceptance or rejection does not hold.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("shard {shard} is not in the directory")]
    UnknownShard { shard: ShardId },
    #[error(
        "proof from shard {shard} is signed by the roster of epoch {proof_epoch}, the current roster is epoch {current_epoch}'s"
    )]
    StaleRoster {
        shard: ShardId,
        proof_epoch: u64,
        current_epoch: u64,
    },
    #[error("proof names roster {found} but shard {shard}'s current roster is {expected}")]
    RosterMismatch {
        shard: ShardId,
        expected: String,
        found: String,
    },
    #[error("proof is for transaction {found}, expected {expected}")]
    WrongTransaction { expected: TxId, found: TxId },
    #[error(
        "statement (shard {statement}, epoch/roster) differs from its batch header's (shard {header})"
    )]
    HeaderMismatch { statement: ShardId, header: ShardId },
    #[error("statement is not in the signed batch (Merkle inclusion proof fails)")]
    NotIncluded,
    #[error("collective signature of shard {shard} does not verify: {source}")]
    BadSignature {
        shard: ShardId,
        #[source]
        source: CosiError,
    },
}

/// Why a commit or abort certificate does not hold for a transaction.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("proof from shard {shard}: {source}")]
    Proof {
        shard: ShardId,
        #[source]
        source: ProofError,
    },
    #[error("shard {shard} is not an input shard of the transaction")]
    NotAnInputShard { shard: ShardId },
    #[error("two proofs from shard {shard}")]
    DuplicateShard { shard: ShardId },
    #[error("no proof from input shard {shard}")]
    MissingShard { shard: ShardId },
    #[error("shard {shard}'s proof is a rejection: the transaction cannot commit")]
    Rejected { shard: ShardId },
    #[error("shard {shard}'s proof is an acceptance, not a rejection")]
    NotARejection { shard: ShardId },
    #[error("accepted inputs total {inputs}, less than the outputs' {outputs}")]
    InsufficientValue { inputs: u64, outputs: u64 },
    #[error("accepted inputs cover the outputs: no abort on insufficient funds")]
    ValueSufficient,
    #[error("sum of the accepted values or of the outputs overflows u64")]
    Overflow,
}

/// Why a shard refused a request.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AtomixError {
    #[error(
        "shard {shard}'s replica holds no roster keys: its batches are co-signed over the network"
    )]
    NoRosterKeys { shard: ShardId },
    #[error("shard {shard} holds no input of transaction {txid}")]
    NotAnInputShard { shard: ShardId, txid: TxId },
    #[error("shard {shard} holds neither input nor output of transaction {txid}")]
    NotInvolved { shard: ShardId, txid: TxId },
    #[error("transaction {txid} was already {outcome} at shard {shard}: replay refused")]
    Replay {
        shard: ShardId,
        txid: TxId,
        outcome: &'static str,
    },
    #[error("certificate refused: {0}")]
    Certificate(#[from] CertificateError),
    #[error("shard {shard} decided {decided} on {txid}, the certificate says otherwise")]
    ConflictingDecision {
        shard: ShardId,
        txid: TxId,
        decided: &'static str,
    },
    #[error("shard {shard} cannot sign: {source}")]
    Signing {
        shard: ShardId,
        #[source]
        source: CosiError,
    },
    #[error("shard {shard}: roster refused: {source}")]
    Roster {
        shard: ShardId,
        #[source]
        source: CosiError,
    },
    #[error("UTXO set refused: {0}")]
    Utxo(#[from] UtxoError),
    #[error("a cross-shard transaction needs at least one input and one output")]
    Empty,
}
