//! What finality nodes say to each other, and the exact bytes they sign.
//!
//! Every signed message is domain-separated: the CoSi rounds co-sign
//! `COSI_DOMAIN ‖ phase ‖ height ‖ view ‖ digest`, PBFT votes and view changes are Ed25519
//! signatures over `PBFT_DOMAIN ‖ kind ‖ …`. The members' keys are the same Ed25519 keys in both
//! (a CoSi member key is an RFC 8032 key), so the domains keep a co-signature from being read as a
//! vote and the reverse. CoSi protocol messages travel as the engine's strict wire encodings and
//! are decoded against the roster on receipt.

use ed25519_dalek::{Signer, SigningKey};
use iosv_engine::sig::{SigRef, verify_single};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A node's index in the normal league's roster: the one node id of every protocol
/// ([`crate::node::NodeId`]).
pub use crate::node::NodeId;

pub const PROPOSAL_DOMAIN: &[u8] = crate::domain::FINALITY_PROPOSAL;
pub const COSI_DOMAIN: &[u8] = crate::domain::FINALITY_COSI;
pub const PBFT_DOMAIN: &[u8] = crate::domain::FINALITY_PBFT;

/// What is finalized at a height: the header hashes of the merged optimistic blocks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Proposal {
    pub height: u64,
    #[serde(with = "super::hex_list")]
    pub headers: Vec<[u8; 32]>,
}

impl Proposal {
    /// `SHA-256(PROPOSAL_DOMAIN ‖ height ‖ count ‖ headers)`: independent of the view, so the
    /// same value re-proposed in a later view has the same digest.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(PROPOSAL_DOMAIN);
        h.update(self.height.to_le_bytes());
        h.update((self.headers.len() as u64).to_le_bytes());
        for header in &self.headers {
            h.update(header);
        }
        h.finalize().into()
    }
}

/// The two CoSi rounds of ByzCoin's fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Prepare,
    Commit,
}

/// The message a CoSi round co-signs.
pub fn cosi_message(phase: Phase, height: u64, view: u64, digest: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(COSI_DOMAIN.len() + 1 + 8 + 8 + 32);
    m.extend_from_slice(COSI_DOMAIN);
    m.push(match phase {
        Phase::Prepare => 0,
        Phase::Commit => 1,
    });
    m.extend_from_slice(&height.to_le_bytes());
    m.extend_from_slice(&view.to_le_bytes());
    m.extend_from_slice(digest);
    m
}

/// A PBFT vote's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    Prepare,
    Commit,
}

/// A PBFT prepare or commit vote, signed by `voter`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub kind: VoteKind,
    pub height: u64,
    pub view: u64,
    #[serde(with = "hex::serde")]
    pub digest: [u8; 32],
    pub voter: NodeId,
    #[serde(with = "hex::serde")]
    pub signature: [u8; 64],
}

impl Vote {
    pub fn signing_bytes(kind: VoteKind, height: u64, view: u64, digest: &[u8; 32]) -> Vec<u8> {
        let mut m = Vec::with_capacity(PBFT_DOMAIN.len() + 1 + 8 + 8 + 32);
        m.extend_from_slice(PBFT_DOMAIN);
        m.push(match kind {
            VoteKind::Prepare => 0,
            VoteKind::Commit => 1,
        });
        m.extend_from_slice(&height.to_le_bytes());
        m.extend_from_slice(&view.to_le_bytes());
        m.extend_from_slice(digest);
        m
    }

    pub fn sign(
        kind: VoteKind,
        height: u64,
        view: u64,
        digest: [u8; 32],
        voter: NodeId,
        key: &SigningKey,
    ) -> Vote {
        let signature = key
            .sign(&Vote::signing_bytes(kind, height, view, &digest))
            .to_bytes();
        Vote {
            kind,
            height,
            view,
            digest,
            voter,
            signature,
        }
    }

    /// Whether the signature verifies (ZIP-215) under `keys[voter]`.
    pub fn verify(&self, keys: &[[u8; 32]]) -> bool {
        keys.get(self.voter as usize).is_some_and(|pk| {
            verify_single(SigRef {
                pk,
                msg: &Vote::signing_bytes(self.kind, self.height, self.view, &self.digest),
                sig: &self.signature,
            })
        })
    }
}

/// Evidence that a value was prepared at a view: the prepare round's collective signature (fast
/// path) or 2f + 1 signed prepare votes (PBFT).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PreparedProof {
    Cosi {
        #[serde(with = "hex::serde")]
        signature: Vec<u8>,
    },
    Votes {
        votes: Vec<Vote>,
    },
}

/// A value prepared at `view`, with its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    pub view: u64,
    pub proposal: Proposal,
    pub proof: PreparedProof,
}

/// A node's request to move to `new_view`, carrying the highest value it prepared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewChange {
    pub height: u64,
    pub new_view: u64,
    pub prepared: Option<Prepared>,
    pub sender: NodeId,
    #[serde(with = "hex::serde")]
    pub signature: [u8; 64],
}

impl ViewChange {
    /// Signed bytes: the domain, height, view and the prepared value's view and digest (its proof
    /// is checked on its own).
    pub fn signing_bytes(height: u64, new_view: u64, prepared: Option<&Prepared>) -> Vec<u8> {
        let mut m = Vec::with_capacity(PBFT_DOMAIN.len() + 1 + 8 + 8 + 1 + 8 + 32);
        m.extend_from_slice(PBFT_DOMAIN);
        m.push(2);
        m.extend_from_slice(&height.to_le_bytes());
        m.extend_from_slice(&new_view.to_le_bytes());
        match prepared {
            None => m.push(0),
            Some(p) => {
                m.push(1);
                m.extend_from_slice(&p.view.to_le_bytes());
                m.extend_from_slice(&p.proposal.digest());
            }
        }
        m
    }

    pub fn sign(
        height: u64,
        new_view: u64,
        prepared: Option<Prepared>,
        sender: NodeId,
        key: &SigningKey,
    ) -> ViewChange {
        let signature = key
            .sign(&ViewChange::signing_bytes(
                height,
                new_view,
                prepared.as_ref(),
            ))
            .to_bytes();
        ViewChange {
            height,
            new_view,
            prepared,
            sender,
            signature,
        }
    }

    pub fn verify(&self, keys: &[[u8; 32]]) -> bool {
        keys.get(self.sender as usize).is_some_and(|pk| {
            verify_single(SigRef {
                pk,
                msg: &ViewChange::signing_bytes(self.height, self.new_view, self.prepared.as_ref()),
                sig: &self.signature,
            })
        })
    }
}

/// The PBFT primary's announcement of a view: 2f + 1 view changes and the value it proposes
/// (the highest prepared among them, or its own when none was prepared).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewView {
    pub height: u64,
    pub view: u64,
    pub view_changes: Vec<ViewChange>,
    pub proposal: Proposal,
}

/// A message between finality nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Fast path: the leader opens a CoSi round over `tree` (heap order, `fanout` children per
    /// node). The commit round carries the prepare round's collective signature.
    Announce {
        height: u64,
        view: u64,
        round: u64,
        phase: Phase,
        proposal: Proposal,
        #[serde(with = "hex::serde")]
        prepare_signature: Vec<u8>,
        tree: Vec<NodeId>,
        fanout: usize,
    },
    /// A subtree's aggregate commitment (`V ‖ mask`), sent to the parent.
    Commitment {
        height: u64,
        round: u64,
        #[serde(with = "hex::serde")]
        bytes: Vec<u8>,
    },
    /// The challenge (`V ‖ c ‖ mask`), sent down the tree.
    Challenge {
        height: u64,
        round: u64,
        #[serde(with = "hex::serde")]
        bytes: Vec<u8>,
    },
    /// A subtree's aggregate response (`r ‖ mask`), sent to the parent.
    Response {
        height: u64,
        round: u64,
        #[serde(with = "hex::serde")]
        bytes: Vec<u8>,
    },
    /// The fast path's outcome: both collective signatures over the proposal.
    Decided {
        height: u64,
        view: u64,
        proposal: Proposal,
        #[serde(with = "hex::serde")]
        prepare_signature: Vec<u8>,
        #[serde(with = "hex::serde")]
        commit_signature: Vec<u8>,
    },
    ViewChange(ViewChange),
    NewView(NewView),
    Vote(Vote),
    /// Finalized values with their certificates, for a peer that is behind (it sent a view change
    /// for a height the sender already finished): consecutive heights from the peer's, at most
    /// [`super::catchup::MAX_CATCHUP`].
    Catchup {
        finalities: Vec<super::node::Finality>,
    },
}
