//! What moves through a shard: transactions waiting in mempools ([`Pending`]), a block's
//! transactions as columns ([`Batch`]: moved, never cloned, from mempool to block), audited blocks
//! waiting for finality, the fraudulent producer's kept blocks, and a round's output.

use iosv_engine::tx::{OutPoint, Transaction, TxId, TxOutput};

use crate::atomix::{AtomixProof, Outcome};
use crate::demo::workload::{Arrival, Kind};

/// A transaction waiting in a mempool.
#[derive(Clone, Debug)]
pub struct Pending {
    pub tx: Transaction,
    pub txid: TxId,
    pub arrived_us: u64,
    pub kind: Kind,
}

impl From<Arrival> for Pending {
    fn from(a: Arrival) -> Pending {
        Pending {
            tx: a.tx,
            txid: a.txid,
            arrived_us: a.at_us,
            kind: a.kind,
        }
    }
}

/// An audited block waiting for its finality round.
pub(super) struct Audited {
    pub(super) digest: [u8; 32],
    pub(super) arrivals: Vec<u64>,
    /// The inputs its transactions spend (for the double-spend check at finality).
    pub(super) spent: Vec<OutPoint>,
}

/// Transactions as columns: moved, never cloned, from mempool to block (a block is shared with
/// its auditors, not copied; it is cloned only when a duplicated message still holds it).
#[derive(Clone)]
pub(super) struct Batch {
    pub(super) txs: Vec<Transaction>,
    pub(super) txids: Vec<TxId>,
    pub(super) arrived: Vec<u64>,
    pub(super) kinds: Vec<Kind>,
}

impl Batch {
    pub(super) fn from_pending(items: impl Iterator<Item = Pending>) -> Batch {
        let mut b = Batch {
            txs: Vec::new(),
            txids: Vec::new(),
            arrived: Vec::new(),
            kinds: Vec::new(),
        };
        for p in items {
            b.txs.push(p.tx);
            b.txids.push(p.txid);
            b.arrived.push(p.arrived_us);
            b.kinds.push(p.kind);
        }
        b
    }

    pub(super) fn len(&self) -> usize {
        self.txs.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Keeps the entries whose `keep` is true, in order.
    pub(super) fn retain(&mut self, keep: &[bool]) {
        retain_by(&mut self.txs, keep);
        retain_by(&mut self.txids, keep);
        retain_by(&mut self.arrived, keep);
        retain_by(&mut self.kinds, keep);
    }

    pub(super) fn into_pending(self) -> Vec<Pending> {
        self.txs
            .into_iter()
            .zip(self.txids)
            .zip(self.arrived)
            .zip(self.kinds)
            .map(|(((tx, txid), arrived_us), kind)| Pending {
                tx,
                txid,
                arrived_us,
                kind,
            })
            .collect()
    }
}

pub(super) fn retain_by<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut flags = keep.iter();
    items.retain(|_| *flags.next().expect("one flag per item"));
}

/// A block of the fraudulent validator's, kept for the re-check after a conviction.
pub(super) struct Produced {
    pub(super) txs: Vec<Transaction>,
    /// What the block spent, to value a victim's loss.
    pub(super) spent: Vec<(OutPoint, TxOutput)>,
}

/// What a shard hands the driver after a round.
#[derive(Clone, Debug, Default)]
pub struct RoundOutput {
    /// Atomix proofs sealed this round, for the clients.
    pub proofs: Vec<AtomixProof>,
    /// Cross-shard finishes applied: (txid, outcome).
    pub finished: Vec<(TxId, Outcome)>,
}
