//! Catch-up: a node that fell behind (partitioned away, its messages lost, or down while the
//! others finished a height) learns the heights it missed from a peer's finalized log.
//!
//! A node that is behind keeps asking for view changes at its height (its view timer keeps
//! firing); a node that already finished that height answers the view change with
//! [`Message::Catchup`]: the finalities of up to [`MAX_CATCHUP`] consecutive heights from the
//! lagging one, each with its certificate. The receiver trusts nothing of it but the roster: it
//! adopts a finality only for its current height and only if the certificate verifies (two
//! collective signatures by 2f + 1 members over the value, or 2f + 1 signed commit votes for it),
//! exactly what finalizing the height itself would have needed. So catch-up adds no way to
//! finalize a value that the league did not finalize, and agreement is unchanged.
//!
//! Bounds: answers go only to view changes (one per view timeout of the lagging node), carry at
//! most [`MAX_CATCHUP`] finalities, and the receiver reads at most that many.

use std::collections::BTreeSet;

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr;
use rand::CryptoRng;

use super::messages::{Message, NodeId, Phase, VoteKind, cosi_message};
use super::node::{Certificate, Finality, Node, Output};

/// The most finalities one catch-up message carries (and its receiver reads).
pub const MAX_CATCHUP: usize = 32;

impl Node {
    /// Answers a peer that sent a view change for `height`, which this node already finished.
    pub(super) fn help_lagging_peer(&self, peer: NodeId, height: u64, out: &mut Vec<Output>) {
        let Ok(start) = usize::try_from(height) else {
            return;
        };
        let finalities: Vec<Finality> = self
            .finalized
            .iter()
            .skip(start)
            .take(MAX_CATCHUP)
            .cloned()
            .collect();
        if finalities.is_empty() || peer == self.id {
            return;
        }
        out.push(Output::Send {
            to: peer,
            message: Message::Catchup { finalities },
        });
    }

    /// Adopts, in order, every finality of `finalities` that is for the current height and
    /// carries a valid certificate.
    pub(super) fn on_catchup<R: CryptoRng + ?Sized>(
        &mut self,
        finalities: Vec<Finality>,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        for finality in finalities.into_iter().take(MAX_CATCHUP) {
            if finality.height == self.height && self.finality_is_valid(&finality) {
                self.finalize(finality, rng, out);
            }
        }
    }

    /// Whether `finality`'s certificate proves its value finalized at its height and view under
    /// this league's roster.
    pub fn finality_is_valid(&self, finality: &Finality) -> bool {
        let Finality {
            height,
            view,
            proposal,
            certificate,
        } = finality;
        if proposal.height != *height {
            return false;
        }
        let digest = proposal.digest();
        match certificate {
            Certificate::Cosi { prepare, commit } => {
                let ok = |phase, signature: &[u8]| {
                    schnorr::verify(
                        &self.roster,
                        Policy::ByzCoin,
                        &cosi_message(phase, *height, *view, &digest),
                        signature,
                    )
                    .is_ok()
                };
                ok(Phase::Prepare, prepare) && ok(Phase::Commit, commit)
            }
            Certificate::Pbft { commits } => {
                let voters: BTreeSet<NodeId> = commits.iter().map(|v| v.voter).collect();
                voters.len() == commits.len()
                    && commits.len() >= self.quorum()
                    && commits.iter().all(|v| {
                        v.kind == VoteKind::Commit
                            && v.height == *height
                            && v.view == *view
                            && v.digest == digest
                            && v.verify(&self.keys)
                    })
            }
        }
    }
}
