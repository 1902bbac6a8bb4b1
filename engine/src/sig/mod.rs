//! Ed25519 signature verification under ZIP-215 rules.
//!
//! The rules (consensus-critical; `ed25519-consensus` is the test oracle):
//! - `A` (public key) and `R` (first half of the signature) may be any 32 bytes that decode to a curve
//!   point: non-canonical encodings and small-order points are accepted;
//! - `S` (second half) must be canonical, `S < L`;
//! - the cofactored equation `[8][S]B = [8]R + [8][k]A` must hold, with
//!   `k = SHA-512(R ‖ A ‖ M) mod L` over the bytes exactly as given.
//!
//! Because the equation is cofactored, a random linear combination of many signatures holds if and
//! only if every single equation holds (except with probability 2⁻¹²⁸), so single and batch
//! verification give the same verdict on every input. When a batch fails, [`batch`] bisects so that
//! each signature still gets its own verdict.
//!
//! Layout: [`zip215`] holds the single-signature rules, [`key_cache`] the bounded cache of decompressed
//! public keys, [`batch`] the batch verifier, [`backend`] the choice between CPU and GPU.

pub mod backend;
pub mod batch;
pub mod decompress;
pub mod key_cache;
pub mod zip215;

pub use backend::{Backend, BackendError, ExternalVerifier, GPU_MAX_MESSAGE_LEN, Split, Verifier};
pub use batch::{BatchTuning, verify_batch, verify_batch_tuned};
pub use key_cache::KeyCache;
pub use zip215::verify_single;

/// One signature to check: public key, message and signature bytes, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct SigRef<'a> {
    pub pk: &'a [u8; 32],
    pub msg: &'a [u8],
    pub sig: &'a [u8; 64],
}

/// One signature to check, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigItem {
    pub pk: [u8; 32],
    pub msg: Vec<u8>,
    pub sig: [u8; 64],
}

impl SigItem {
    pub fn as_ref(&self) -> SigRef<'_> {
        SigRef {
            pk: &self.pk,
            msg: &self.msg,
            sig: &self.sig,
        }
    }
}
