//! The PBFT fallback (Castro & Liskov, 1999), entered by a view change when the fast path does not
//! finish in time (a silent or crashed leader, too many failures for a star round).
//!
//! 1. A node whose view timer fires broadcasts a signed [`ViewChange`] for the next view, carrying
//!    the highest value it prepared with its proof (the prepare round's collective signature, or
//!    2f + 1 prepare votes); it joins any view that f + 1 others asked for, and stops taking part
//!    in lower views.
//! 2. The next view's primary, with 2f + 1 valid view changes, broadcasts a [`NewView`]: those
//!    view changes and the value to agree on — the highest-view prepared value among them, or its
//!    own when none was prepared. Every node re-checks that choice.
//! 3. Prepare and commit votes, real Ed25519 signatures: a node that sees 2f + 1 prepares for the
//!    value is prepared and votes commit; 2f + 1 commits finalize it.
//!
//! Safety across the switch: finality at view `v` (fast path or PBFT) needs 2f + 1 nodes
//! prepared on the value at `v`, so any 2f + 1 view changes include an honest node prepared on it,
//! and no other value can be prepared at a higher view without one of them; the new primary must
//! therefore re-propose it. Hence never two different values finalized at one height.

use std::collections::BTreeSet;

use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr;
use rand::CryptoRng;

use super::messages::{
    Message, NewView, NodeId, Phase, Prepared, PreparedProof, ViewChange, Vote, VoteKind,
    cosi_message,
};
use super::node::{Certificate, Finality, Node, Output, PbftView, Timer};

impl Node {
    /// Asks for view `view` (once), leaving every lower view.
    pub(super) fn request_view(&mut self, view: u64, out: &mut Vec<Output>) {
        if view <= self.requested {
            return;
        }
        self.requested = view;
        self.leader = None;
        self.member = None;
        let vc = ViewChange::sign(
            self.height,
            view,
            self.prepared.clone(),
            self.id,
            &self.ed_key,
        );
        self.send_all(&Message::ViewChange(vc), out);
        out.push(Output::SetTimer {
            after: self.config.view_timeout * (view + 1),
            timer: Timer::View {
                height: self.height,
                view,
            },
        });
    }

    /// Whether `prepared` proves what it claims at the current height.
    fn prepared_is_valid(&self, prepared: &Prepared) -> bool {
        let height = self.height;
        if prepared.proposal.height != height {
            return false;
        }
        let digest = prepared.proposal.digest();
        match &prepared.proof {
            PreparedProof::Cosi { signature } => schnorr::verify(
                &self.roster,
                Policy::ByzCoin,
                &cosi_message(Phase::Prepare, height, prepared.view, &digest),
                signature,
            )
            .is_ok(),
            PreparedProof::Votes { votes } => {
                let voters: BTreeSet<NodeId> = votes.iter().map(|v| v.voter).collect();
                voters.len() == votes.len()
                    && votes.len() >= self.quorum()
                    && votes.iter().all(|v| {
                        v.kind == VoteKind::Prepare
                            && v.height == height
                            && v.view == prepared.view
                            && v.digest == digest
                            && v.verify(&self.keys)
                    })
            }
        }
    }

    fn view_change_is_valid(&self, vc: &ViewChange, view: u64) -> bool {
        vc.height == self.height
            && vc.new_view == view
            && vc.verify(&self.keys)
            && vc
                .prepared
                .as_ref()
                .is_none_or(|p| p.view < view && self.prepared_is_valid(p))
    }

    pub(super) fn on_view_change(&mut self, vc: ViewChange, out: &mut Vec<Output>) {
        let view = vc.new_view;
        if view <= self.view || !self.view_change_is_valid(&vc, view) {
            return;
        }
        self.view_changes
            .entry(view)
            .or_default()
            .entry(vc.sender)
            .or_insert(vc);
        let asked = self.view_changes[&view].len();
        if asked > self.n() - self.quorum() && self.requested < view {
            self.request_view(view, out);
        }
        self.maybe_new_view(view, out);
    }

    /// As the primary of `view`, with 2f + 1 view changes, announces the view.
    pub(super) fn maybe_new_view(&mut self, view: u64, out: &mut Vec<Output>) {
        if view == 0
            || self.leader_of(self.height, view) != self.id
            || self.new_view_sent.contains(&view)
        {
            return;
        }
        let Some(vcs) = self.view_changes.get(&view) else {
            return;
        };
        if vcs.len() < self.quorum() {
            return;
        }
        let view_changes: Vec<ViewChange> = vcs.values().take(self.quorum()).cloned().collect();
        let proposal = match highest_prepared(&view_changes) {
            Some(p) => p.proposal.clone(),
            None => match self.candidates.get(&self.height) {
                Some(own) => own.clone(),
                None => return,
            },
        };
        self.new_view_sent.insert(view);
        let nv = NewView {
            height: self.height,
            view,
            view_changes,
            proposal,
        };
        self.send_all(&Message::NewView(nv), out);
    }

    pub(super) fn on_new_view<R: CryptoRng + ?Sized>(
        &mut self,
        from: NodeId,
        nv: NewView,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        let view = nv.view;
        if view == 0
            || view <= self.view
            || from != self.leader_of(self.height, view)
            || nv.proposal.height != self.height
        {
            return;
        }
        let senders: BTreeSet<NodeId> = nv.view_changes.iter().map(|v| v.sender).collect();
        if senders.len() != nv.view_changes.len()
            || senders.len() < self.quorum()
            || !nv
                .view_changes
                .iter()
                .all(|vc| self.view_change_is_valid(vc, view))
        {
            return;
        }
        let digest = nv.proposal.digest();
        if let Some(highest) = highest_prepared(&nv.view_changes) {
            let top = highest.view;
            let allowed = nv
                .view_changes
                .iter()
                .filter_map(|vc| vc.prepared.as_ref())
                .any(|p| p.view == top && p.proposal.digest() == digest);
            if !allowed {
                return;
            }
        }
        self.view = view;
        self.requested = self.requested.max(view);
        self.leader = None;
        self.member = None;
        self.prepared_for.insert(view, digest);
        self.pbft = Some(PbftView {
            view,
            proposal: nv.proposal,
            digest,
            sent_commit: false,
        });
        let vote = Vote::sign(
            VoteKind::Prepare,
            self.height,
            view,
            digest,
            self.id,
            &self.ed_key,
        );
        self.send_all(&Message::Vote(vote), out);
        out.push(Output::SetTimer {
            after: self.config.view_timeout * (view + 1),
            timer: Timer::View {
                height: self.height,
                view,
            },
        });
        self.check_votes(rng, out);
    }

    pub(super) fn on_vote<R: CryptoRng + ?Sized>(
        &mut self,
        vote: Vote,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) {
        if vote.height != self.height || !vote.verify(&self.keys) {
            return;
        }
        self.votes
            .entry((vote.view, vote.kind))
            .or_default()
            .entry(vote.voter)
            .or_insert(vote);
        self.check_votes(rng, out);
    }

    /// Counts the current view's votes for its value: prepared at 2f + 1 prepares (then vote
    /// commit), finalized at 2f + 1 commits.
    fn check_votes<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, out: &mut Vec<Output>) {
        let quorum = self.quorum();
        let Some(p) = self.pbft.as_ref() else {
            return;
        };
        let (view, digest) = (p.view, p.digest);
        let matching = |kind| -> Vec<Vote> {
            self.votes
                .get(&(view, kind))
                .map(|m| m.values().filter(|v| v.digest == digest).cloned().collect())
                .unwrap_or_default()
        };
        let prepares = matching(VoteKind::Prepare);
        if !p.sent_commit && prepares.len() >= quorum {
            self.prepared = Some(Prepared {
                view,
                proposal: p.proposal.clone(),
                proof: PreparedProof::Votes {
                    votes: prepares[..quorum].to_vec(),
                },
            });
            if let Some(p) = self.pbft.as_mut() {
                p.sent_commit = true;
            }
            let vote = Vote::sign(
                VoteKind::Commit,
                self.height,
                view,
                digest,
                self.id,
                &self.ed_key,
            );
            self.send_all(&Message::Vote(vote), out);
        }
        let commits = matching(VoteKind::Commit);
        if self.pbft.as_ref().is_some_and(|p| p.sent_commit) && commits.len() >= quorum {
            let proposal = self.pbft.as_ref().map(|p| p.proposal.clone());
            if let Some(proposal) = proposal {
                self.finalize(
                    Finality {
                        height: self.height,
                        view,
                        proposal,
                        certificate: Certificate::Pbft {
                            commits: commits[..quorum].to_vec(),
                        },
                    },
                    rng,
                    out,
                );
            }
        }
    }
}

/// The prepared value with the highest view among `view_changes`, if any.
fn highest_prepared(view_changes: &[ViewChange]) -> Option<&Prepared> {
    view_changes
        .iter()
        .filter_map(|vc| vc.prepared.as_ref())
        .max_by_key(|p| p.view)
}
