//! Fraud proofs for optimistic blocks: a believable validator signs a block header alone; a normal
//! validator that samples an invalid transaction ([`sampling`](crate::sampling)) turns its finding
//! into a [`FraudProof`] that anyone can check without the chain, from the proof alone.
//!
//! The block rule the proofs enforce: **every transaction of an optimistic block is valid, applied
//! in block order to the state before the block** (transactions may spend outputs of earlier ones).
//! A proof shows one transaction breaking it, so the whole block — and its signer — is convicted.
//!
//! A proof holds:
//! - the [`SignedHeader`]: the proposer's Ed25519 signature (ZIP-215) over the header, which
//!   commits to `tx_root` and `tx_count` (the [transaction tree](crate::tx::tx_root)) and to
//!   `pre_state_root` (the [`StateTree`](crate::utxo::StateTree) root of the state before the
//!   block);
//! - the accused transaction's full encoding with its Merkle inclusion proof;
//! - a [`Claim`]: the reason and the state it needed — [`BucketProof`](crate::utxo::BucketProof)s
//!   of presence or absence against `pre_state_root`, and earlier transactions of the block with
//!   their inclusion proofs. An unknown outpoint also needs the block's transaction list, to show
//!   no earlier transaction created it.
//!
//! Soundness argument (why no proof verifies against a valid block): every claim checks a fact
//! that a valid block cannot have — a failing signature, a structural fault, an outpoint absent
//! from both the pre-state and the block prefix, a locked or differently owned source, two spends
//! of one outpoint, sums that overflow or fall short, an output that already exists. Each spent
//! outpoint's value has exactly one source in a valid block (the pre-state or its unique earlier
//! creator, by txid collision resistance), and every witness is bound to a signed root. The
//! property tests in `engine/tests/fraud_proofs.rs` try every claim against valid blocks.
//!
//! Files: `header` (signed headers), `proof` (types and verification), `build` (construction from
//! a block and its pre-state), `error`.

mod build;
mod error;
mod header;
mod proof;

pub use build::build;
pub use error::{BuildError, FraudProofError};
pub use header::SignedHeader;
pub use proof::{Claim, FraudKind, FraudProof, Proven, Source, TxWitness};
