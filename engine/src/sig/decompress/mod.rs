//! Edwards point decompression for many encodings at once.
//!
//! Decompressing `R` costs a field exponentiation (about 4 µs on the development machine with
//! dalek's serial arithmetic, twice the multiscalar work per signature), so batch verification
//! decompresses its `R`s here: sixteen at a time (two vectors of eight) on AVX-512 IFMA where the
//! CPU has it (`ifma.rs`), one at a time with curve25519-dalek otherwise. Both give dalek's
//! `CompressedEdwardsY::decompress` result for every 32-byte input — the ZIP-215 decoding rules —
//! and the choice is made once per process, in [`Decompressor::best`].

#[cfg(target_arch = "x86_64")]
mod ifma;
#[cfg(target_arch = "x86_64")]
mod layout;

use std::sync::OnceLock;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};

/// Which arithmetic decompresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decompressor {
    /// curve25519-dalek, one point at a time.
    Serial,
    /// Eight points per vector operation on AVX-512 IFMA.
    Ifma,
}

impl Decompressor {
    /// The fastest decompressor this machine runs correctly: IFMA when the CPU has it and the
    /// points it builds match dalek's (checked once), serial otherwise.
    pub fn best() -> Self {
        static BEST: OnceLock<Decompressor> = OnceLock::new();
        *BEST.get_or_init(|| {
            let best = if Self::Ifma.is_available() {
                Self::Ifma
            } else {
                Self::Serial
            };
            tracing::debug!(?best, "point decompression");
            best
        })
    }

    /// Whether this decompressor can run here (IFMA: CPU features and the layout check).
    pub fn is_available(self) -> bool {
        match self {
            Self::Serial => true,
            Self::Ifma => ifma_checked().is_some(),
        }
    }

    /// Decompresses every encoding: `out[i]` is `CompressedEdwardsY(encodings[i]).decompress()`.
    /// An unavailable decompressor falls back to serial (same results).
    pub fn decompress_into(self, encodings: &[[u8; 32]], out: &mut Vec<Option<EdwardsPoint>>) {
        out.clear();
        out.reserve(encodings.len());
        #[cfg(target_arch = "x86_64")]
        if self == Self::Ifma
            && let Some(ifma) = ifma_checked()
        {
            decompress_ifma(ifma, encodings, out);
            return;
        }
        out.extend(
            encodings
                .iter()
                .map(|e| CompressedEdwardsY(*e).decompress()),
        );
    }
}

/// Decompresses with [`Decompressor::best`].
pub fn decompress_batch(encodings: &[[u8; 32]], out: &mut Vec<Option<EdwardsPoint>>) {
    Decompressor::best().decompress_into(encodings, out);
}

#[cfg(target_arch = "x86_64")]
fn ifma_checked() -> Option<ifma::Ifma> {
    static CHECKED: OnceLock<Option<ifma::Ifma>> = OnceLock::new();
    *CHECKED.get_or_init(|| {
        let ifma = ifma::Ifma::detect()?;
        if layout::layout_matches(ifma) {
            Some(ifma)
        } else {
            tracing::warn!(
                "AVX-512 IFMA decompression disabled: its points do not match curve25519-dalek's"
            );
            None
        }
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn ifma_checked() -> Option<()> {
    None
}

#[cfg(target_arch = "x86_64")]
fn decompress_ifma(ifma: ifma::Ifma, encodings: &[[u8; 32]], out: &mut Vec<Option<EdwardsPoint>>) {
    let mut chunks = encodings.chunks_exact(ifma::BATCH);
    for chunk in &mut chunks {
        let lanes: &[[u8; 32]; ifma::BATCH] = chunk.try_into().expect("chunk of BATCH");
        out.extend(ifma.decompress(lanes).map(|c| c.map(|c| layout::point(&c))));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Pad with the identity's encoding; the padding lanes' results are dropped.
        let mut lanes = [[0u8; 32]; ifma::BATCH];
        for lane in lanes.iter_mut() {
            lane[0] = 1;
        }
        lanes[..rest.len()].copy_from_slice(rest);
        let decoded = ifma.decompress(&lanes);
        out.extend(
            decoded[..rest.len()]
                .iter()
                .map(|c| c.map(|c| layout::point(&c))),
        );
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests;
