//! The invariants of a finality network, checked across its nodes' stores after a run: every
//! height any node finalized has one value at every node that finalized it (agreement), every
//! finality's certificate verifies against the roster, and each log has no gap.

use serde::Serialize;

use super::config::LoadedNode;
use super::store::read_finalized;
use crate::finality::{Finality, Node as FinalityNode};

/// What the check found.
#[derive(Debug, Serialize)]
pub struct NetworkCheck {
    /// Heights finalized, per node.
    pub heights: Vec<u64>,
    /// Heights at which two nodes hold different values (must be empty).
    pub disagreements: Vec<u64>,
    /// `(node, height)` whose finality is out of place in its log (must be empty).
    pub misplaced: Vec<(usize, u64)>,
    /// `(node, height)` whose certificate does not verify against the roster (must be empty).
    pub uncertified: Vec<(usize, u64)>,
}

impl NetworkCheck {
    pub fn ok(&self) -> bool {
        self.disagreements.is_empty() && self.misplaced.is_empty() && self.uncertified.is_empty()
    }
}

/// Reads the store of every node (the nodes must be stopped) and checks them together; the
/// certificates are checked against the roster of the first configuration.
pub fn check_stores(nodes: &[LoadedNode]) -> Result<NetworkCheck, String> {
    let first = nodes.first().ok_or("no nodes to check")?;
    let logs: Vec<Vec<Finality>> = nodes
        .iter()
        .map(|n| read_finalized(&n.store).map_err(|e| format!("{}: {e}", n.store.display())))
        .collect::<Result<_, _>>()?;
    let verifier = FinalityNode::new(
        first.config.id,
        first.roster.clone(),
        &first.seed,
        first.config.finality.config(),
    );
    Ok(check_logs(&logs, |f| verifier.finality_is_valid(f)))
}

/// Checks finalized logs (node `i`'s log at `logs[i]`) together; `certified` says whether a
/// finality's certificate verifies.
pub fn check_logs(logs: &[Vec<Finality>], certified: impl Fn(&Finality) -> bool) -> NetworkCheck {
    let mut misplaced = Vec::new();
    let mut uncertified = Vec::new();
    for (node, log) in logs.iter().enumerate() {
        for (i, f) in log.iter().enumerate() {
            if f.height != i as u64 || f.proposal.height != f.height {
                misplaced.push((node, f.height));
            }
            if !certified(f) {
                uncertified.push((node, f.height));
            }
        }
    }
    let longest = logs.iter().map(Vec::len).max().unwrap_or(0);
    let disagreements = (0..longest)
        .filter(|&h| {
            let mut digests = logs
                .iter()
                .filter_map(|log| log.get(h))
                .map(|f| f.proposal.digest());
            let first = digests.next();
            digests.any(|d| Some(d) != first)
        })
        .map(|h| h as u64)
        .collect();
    NetworkCheck {
        heights: logs.iter().map(|l| l.len() as u64).collect(),
        disagreements,
        misplaced,
        uncertified,
    }
}
