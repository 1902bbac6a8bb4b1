//! Admission: the server holds at most `max_signatures` signatures and `max_bytes` request bytes
//! between admitting a request and answering it. A request that does not fit is refused at once
//! (`RESOURCE_EXHAUSTED`), never queued, so memory stays bounded whatever the clients send.
//!
//! A [`Permit`] is the place a request holds; dropping it (the request answered, cancelled, past
//! its deadline, or its stream closed) frees the place.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct Admission {
    max_signatures: usize,
    max_bytes: usize,
    signatures: AtomicUsize,
    bytes: AtomicUsize,
    peak_signatures: AtomicUsize,
}

/// A place in the queue; freed on drop.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    signatures: usize,
    bytes: usize,
}

impl Admission {
    pub fn new(max_signatures: usize, max_bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            max_signatures,
            max_bytes,
            signatures: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            peak_signatures: AtomicUsize::new(0),
        })
    }

    /// A permit for `signatures` signatures in `bytes` bytes, if both fit now.
    pub fn try_admit(self: &Arc<Self>, signatures: usize, bytes: usize) -> Option<Permit> {
        let held = reserve(&self.signatures, signatures, self.max_signatures)?;
        self.peak_signatures
            .fetch_max(held + signatures, Ordering::AcqRel);
        if reserve(&self.bytes, bytes, self.max_bytes).is_none() {
            self.signatures.fetch_sub(signatures, Ordering::AcqRel);
            return None;
        }
        Some(Permit {
            admission: Arc::clone(self),
            signatures,
            bytes,
        })
    }

    /// Signatures admitted and not yet answered.
    pub fn queued_signatures(&self) -> usize {
        self.signatures.load(Ordering::Acquire)
    }

    pub fn queued_bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// The most signatures ever admitted at once.
    pub fn peak_signatures(&self) -> usize {
        self.peak_signatures.load(Ordering::Acquire)
    }

    pub fn max_signatures(&self) -> usize {
        self.max_signatures
    }
}

/// Adds `n` to `cell` if the sum stays within `max`; returns what was held before.
fn reserve(cell: &AtomicUsize, n: usize, max: usize) -> Option<usize> {
    cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
        held.checked_add(n).filter(|&total| total <= max)
    })
    .ok()
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission
            .signatures
            .fetch_sub(self.signatures, Ordering::AcqRel);
        self.admission.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_bound_and_frees_on_drop() {
        let a = Admission::new(100, 1_000);
        let first = a.try_admit(60, 100).unwrap();
        assert!(a.try_admit(41, 100).is_none(), "161 signatures > 100");
        let second = a.try_admit(40, 100).unwrap();
        assert_eq!(a.queued_signatures(), 100);
        drop(first);
        assert_eq!(a.queued_signatures(), 40);
        assert!(a.try_admit(1, 901).is_none(), "bytes over the bound");
        assert_eq!(a.queued_signatures(), 40, "a refused request holds nothing");
        drop(second);
        assert_eq!((a.queued_signatures(), a.queued_bytes()), (0, 0));
        assert_eq!(a.peak_signatures(), 100);
    }

    #[test]
    fn concurrent_admissions_never_exceed_the_bound() {
        let a = Admission::new(1_000, usize::MAX);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        if let Some(p) = a.try_admit(7, 1) {
                            assert!(a.queued_signatures() <= 1_000);
                            drop(p);
                        }
                    }
                });
            }
        });
        assert_eq!(a.queued_signatures(), 0);
    }
}
