//! The normal league's sampling re-validation (Proof-of-Believability).
//!
//! A believable validator produces an *optimistic* block: it validated the transactions alone, and a
//! faulty one may have let invalid transactions in. Every normal validator then re-validates an
//! independent random sample of the block's transactions, each one chosen with probability `p`:
//!
//! 1. [`seed`]: the validator's sampling seed for a block is the output `beta` of its own VRF key
//!    over a domain-separated message holding the block's header hash. The believable validator
//!    cannot predict it (it does not know the VRF secret key), and anyone can check it from the
//!    validator's VRF public key and proof ([`SamplingSeed::verify`]), so anyone can recompute which
//!    transactions the validator had to sample.
//! 2. [`select`](select()): the indices chosen from the seed, each independently with probability `p`.
//! 3. [`revalidate`](revalidate()): signatures (batched through a [`Verifier`](crate::sig::Verifier))
//!    and UTXO rules of the sampled transactions, against the state before the block; one
//!    [`Finding`] per invalid sampled transaction.
//!
//! An invalid transaction escapes `k` independent samplers with probability `(1 − p)^k`
//! (`engine/tests/sampling_escape.rs` measures it).
//!
//! 4. [`fraud::build`](crate::fraud::build): each [`Finding`] becomes a transferable
//!    [`FraudProof`](crate::fraud::FraudProof) — the signed header, the transaction with its Merkle
//!    inclusion proof, the state it needed with proofs against the header's pre-state root, and the
//!    reason — that anyone can check without the chain. Acting on it (rejecting the block, slashing
//!    the believable validator) is the protocol harness's part.
//! 5. [`audit`](audit()): all of the above for one block, after checking that the block matches
//!    its signed header and that the auditor's state is the one the header names.

pub mod audit;
pub mod revalidate;
pub mod seed;
pub mod select;

pub use audit::{Audit, AuditError, audit};
pub use revalidate::{Finding, FindingReason, revalidate, revalidate_signatures};
pub use seed::{SEED_DOMAIN, SEED_LEN, SamplingSeed};
pub use select::{SELECT_DOMAIN, is_selected, select, threshold};
