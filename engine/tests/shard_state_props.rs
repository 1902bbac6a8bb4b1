//! Property tests of [`ShardState`]: random histories of applies (whole blocks and as-far-as-valid
//! batches, chained spends included), undos, Atomix locks, unlocks and commits, inserts and
//! seizures, run on a `ShardState` and on a plain [`UtxoSet`] side by side.
//!
//! After every step: the two give the same verdicts and errors and hold the same entries and
//! consistency digest (the state's set behaves exactly as a plain set), and the state's Merkle
//! root equals the root of a tree built afresh from its entries (the tree never drifts from the
//! set). A refused step changes neither.

use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::utxo::{BlockUndo, LockId, ShardState, StateTree, UtxoSet};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Clone, Debug)]
enum Step {
    /// Transactions spending picked outputs (by index into the unspent list at build time, or a
    /// just-created output of the same batch: a chained spend), to 1-3 owners.
    Batch {
        txs: Vec<(Vec<Index>, u8, bool)>,
        whole: bool,
    },
    Undo,
    Lock(u8, Vec<Index>),
    Unlock(u8),
    Commit(u8),
    Insert(u8, u64),
    Seize(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (vec((vec(any::<Index>(), 1..3), 0..4u8, any::<bool>()), 0..6), any::<bool>())
            .prop_map(|(txs, whole)| Step::Batch { txs, whole }),
        2 => Just(Step::Undo),
        2 => (0..3u8, vec(any::<Index>(), 0..3)).prop_map(|(id, picks)| Step::Lock(id, picks)),
        1 => (0..3u8).prop_map(Step::Unlock),
        1 => (0..3u8).prop_map(Step::Commit),
        1 => (0..4u8, 0..3u64).prop_map(|(owner, amount)| Step::Insert(owner, amount)),
        1 => (0..4u8).prop_map(Step::Seize),
    ]
}

struct Pair {
    state: ShardState,
    plain: UtxoSet,
    undo: Vec<BlockUndo>,
    minted: u32,
}

fn owner(o: u8) -> [u8; 32] {
    [o; 32]
}

impl Pair {
    fn new(genesis: &[(u64, u8)]) -> Pair {
        let outputs: Vec<(OutPoint, TxOutput)> = genesis
            .iter()
            .enumerate()
            .map(|(i, &(amount, o))| {
                let point = OutPoint {
                    txid: TxId([i as u8; 32]),
                    index: 0,
                };
                (
                    point,
                    TxOutput {
                        amount,
                        owner: owner(o),
                    },
                )
            })
            .collect();
        let plain = UtxoSet::new();
        for (point, output) in &outputs {
            plain.insert_genesis(*point, *output).unwrap();
        }
        Pair {
            state: ShardState::genesis(&outputs).unwrap(),
            plain,
            undo: Vec::new(),
            minted: 0,
        }
    }

    /// Transactions built against the entries as they are, each spending picked unspent outputs
    /// (sometimes the previous transaction's first output: a chained spend), paying all but a
    /// fee of 1 to `to`.
    fn build(&self, specs: &[(Vec<Index>, u8, bool)]) -> Vec<Transaction> {
        let entries = self.plain.entries();
        let mut txs: Vec<Transaction> = Vec::new();
        for (picks, to, chain) in specs {
            let mut inputs: Vec<(OutPoint, TxOutput)> = Vec::new();
            match txs.last() {
                Some(prev) if *chain => inputs.push((
                    OutPoint {
                        txid: prev.txid(),
                        index: 0,
                    },
                    prev.outputs[0],
                )),
                _ => {}
            }
            if !entries.is_empty() {
                for pick in picks {
                    let (point, entry) = *pick.get(&entries);
                    inputs.push((point, entry.output));
                }
            }
            if inputs.is_empty() {
                continue;
            }
            let total: u64 = inputs
                .iter()
                .fold(0u64, |s, (_, o)| s.saturating_add(o.amount));
            txs.push(Transaction {
                inputs: inputs
                    .iter()
                    .map(|(prev, out)| TxInput {
                        prev: *prev,
                        owner: out.owner,
                        signature: [0; 64],
                    })
                    .collect(),
                outputs: vec![TxOutput {
                    amount: total.saturating_sub(1).max(1),
                    owner: owner(*to),
                }],
            });
        }
        txs
    }

    fn pick_points(&self, picks: &[Index]) -> Vec<OutPoint> {
        let entries = self.plain.entries();
        if entries.is_empty() {
            return Vec::new();
        }
        picks.iter().map(|p| p.get(&entries).0).collect()
    }

    fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let lock = |id: u8| LockId([id; 32]);
        match step {
            Step::Batch { txs, whole } => {
                let txs = self.build(txs);
                if *whole {
                    let got = self.state.apply_block(&txs);
                    let want = self.plain.apply_block(&txs);
                    prop_assert_eq!(got.is_ok(), want.is_ok());
                    match (got, want) {
                        (Ok(undo), Ok(_)) => self.undo.push(undo),
                        (Err(a), Err(b)) => prop_assert_eq!(a, b),
                        _ => unreachable!(),
                    }
                } else {
                    let (got, undo) = self.state.apply_valid(&txs);
                    let (want, _) = self.plain.apply_valid(&txs);
                    prop_assert_eq!(got, want);
                    self.undo.push(undo);
                }
            }
            Step::Undo => {
                if let Some(undo) = self.undo.pop() {
                    prop_assert_eq!(self.state.undo_block(&undo), self.plain.undo_block(&undo));
                }
            }
            Step::Lock(id, picks) => {
                let points = self.pick_points(picks);
                prop_assert_eq!(
                    self.state.lock(lock(*id), &points),
                    self.plain.lock(lock(*id), &points)
                );
            }
            Step::Unlock(id) => {
                prop_assert_eq!(self.state.unlock(lock(*id)), self.plain.unlock(lock(*id)));
            }
            Step::Commit(id) => {
                prop_assert_eq!(
                    self.state.commit_lock(lock(*id)),
                    self.plain.commit_lock(lock(*id))
                );
            }
            Step::Insert(o, amount) => {
                self.minted += 1;
                // Amount 0 is refused; a repeated outpoint too (minted 1 collides with genesis 0).
                let point = OutPoint {
                    txid: TxId([0; 32]),
                    index: self.minted % 3,
                };
                let output = TxOutput {
                    amount: *amount,
                    owner: owner(*o),
                };
                prop_assert_eq!(
                    self.state.insert(point, output),
                    self.plain.insert_genesis(point, output)
                );
            }
            Step::Seize(o) => {
                let id = LockId([0x5e; 32]);
                let expected: Vec<(OutPoint, TxOutput)> = self
                    .plain
                    .entries()
                    .into_iter()
                    .filter(|(_, e)| e.output.owner == owner(*o) && e.locked_by.is_none())
                    .map(|(p, e)| (p, e.output))
                    .collect();
                if !expected.is_empty() {
                    let points: Vec<OutPoint> = expected.iter().map(|(p, _)| *p).collect();
                    self.plain.lock(id, &points).unwrap();
                    self.plain.commit_lock(id).unwrap();
                }
                prop_assert_eq!(self.state.seize(&owner(*o), id).unwrap(), expected);
            }
        }
        self.check()
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let entries = self.plain.entries();
        prop_assert_eq!(self.state.entries(), entries.clone());
        prop_assert_eq!(
            self.state.utxo().consistency_digest(),
            self.plain.consistency_digest()
        );
        prop_assert_eq!(self.state.lock_count(), self.plain.lock_count());
        let fresh = StateTree::from_entries(entries).unwrap().root();
        prop_assert_eq!(self.state.root(), fresh);
        prop_assert!(self.state.is_consistent());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_tree_follows_the_set_through_every_change(
        genesis in vec((1..1_000u64, 0..4u8), 1..12),
        steps in vec(step(), 1..24),
    ) {
        let mut pair = Pair::new(&genesis);
        pair.check()?;
        for step in &steps {
            pair.step(step)?;
        }
    }
}

#[test]
fn a_state_rebuilt_from_its_entries_has_its_root_and_locks() {
    let outputs: Vec<(OutPoint, TxOutput)> = (0..6u8)
        .map(|i| {
            (
                OutPoint {
                    txid: TxId([i; 32]),
                    index: 0,
                },
                TxOutput {
                    amount: 10,
                    owner: owner(i % 2),
                },
            )
        })
        .collect();
    let mut state = ShardState::genesis(&outputs).unwrap();
    state
        .lock(LockId([1; 32]), &[outputs[0].0, outputs[2].0])
        .unwrap();
    let mut copy = ShardState::from_entries(&state.entries()).unwrap();
    assert_eq!(copy.root(), state.root());
    assert_eq!(copy.lock_count(), 1);
    assert_eq!(copy.total_value(), 60);
    // A repeated outpoint is refused.
    let mut twice = state.entries();
    twice.push(twice[0]);
    assert!(ShardState::from_entries(&twice).is_err());
}
