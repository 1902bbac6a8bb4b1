//! Property tests of the UTXO set against a simple sequential reference model (a `BTreeMap`).
//!
//! The streams mix batches (validated only, applied whole, or applied as far as valid), Atomix
//! locks, commits, unlocks and undos. Transactions are built from abstract descriptions against
//! the current state, so that most spend real outputs — including outputs created earlier in the
//! same batch and outputs already spent — and every verdict, the contents and the root are
//! compared with the model after every step.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};
use iosv_engine::utxo::{BlockUndo, Entry, LockId, UtxoError, UtxoSet, state_root_of};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

mod model;

use model::Model;

// ---------------------------------------------------------------------------------------------
// Abstract descriptions and their concrete transactions.

/// Where an input (or a locked outpoint) points: mostly at a current unspent output, sometimes at
/// any output ever seen (likely spent), sometimes at one that never existed.
#[derive(Clone, Debug)]
struct Pick {
    kind: u8,
    index: Index,
}

#[derive(Clone, Debug)]
struct TxSpec {
    inputs: Vec<(Pick, bool)>,
    outputs: Vec<u8>,
    fee: u8,
    over: bool,
    duplicate_input: bool,
    no_inputs: bool,
    zero_output: bool,
}

#[derive(Clone, Debug)]
enum Mode {
    Validate,
    ApplyValid,
    ApplyBlock,
}

#[derive(Clone, Debug)]
enum Step {
    Batch(Vec<TxSpec>, Mode),
    Lock(u8, Vec<Pick>),
    Unlock(u8),
    Commit(u8),
    Undo,
}

fn pick() -> impl Strategy<Value = Pick> {
    (0..10u8, any::<Index>()).prop_map(|(kind, index)| Pick { kind, index })
}

fn tx_spec() -> impl Strategy<Value = TxSpec> {
    (
        vec((pick(), prop::bool::weighted(0.05)), 1..4),
        vec(0..4u8, 1..4),
        any::<u8>(),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.03),
        prop::bool::weighted(0.03),
    )
        .prop_map(
            |(inputs, outputs, fee, over, duplicate_input, no_inputs, zero_output)| TxSpec {
                inputs,
                outputs,
                fee,
                over,
                duplicate_input,
                no_inputs,
                zero_output,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    let mode = prop_oneof![
        Just(Mode::Validate),
        Just(Mode::ApplyValid),
        Just(Mode::ApplyBlock)
    ];
    prop_oneof![
        6 => (vec(tx_spec(), 0..7), mode).prop_map(|(txs, mode)| Step::Batch(txs, mode)),
        1 => (0..3u8, vec(pick(), 0..4)).prop_map(|(id, picks)| Step::Lock(id, picks)),
        1 => (0..3u8).prop_map(Step::Unlock),
        1 => (0..3u8).prop_map(Step::Commit),
        1 => Just(Step::Undo),
    ]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1..1_000_000u64, 1 => (u64::MAX / 2)..=u64::MAX]
}

/// Genesis outputs: (amount, owner) at outpoints `[i; 32]:i`.
fn genesis() -> impl Strategy<Value = Vec<(u64, u8)>> {
    vec((amount(), 0..4u8), 1..16)
}

fn lock_id(id: u8) -> LockId {
    LockId([id; 32])
}

/// Everything a stream needs besides the set: the model and what was ever created.
struct World {
    set: UtxoSet,
    model: Model,
    ever: HashMap<OutPoint, TxOutput>,
    known: Vec<OutPoint>,
    undo: Vec<(BlockUndo, Model, Model)>,
}

impl World {
    fn new(genesis: &[(u64, u8)], shards: usize) -> World {
        let mut world = World {
            set: UtxoSet::with_shards(shards),
            model: Model::default(),
            ever: HashMap::new(),
            known: Vec::new(),
            undo: Vec::new(),
        };
        for (i, &(amount, owner)) in genesis.iter().enumerate() {
            let outpoint = OutPoint {
                txid: TxId([i as u8; 32]),
                index: i as u32,
            };
            let output = TxOutput {
                amount,
                owner: [owner; 32],
            };
            world.set.insert_genesis(outpoint, output).unwrap();
            world.model.map.insert(outpoint, Entry::unlocked(output));
            world.ever.insert(outpoint, output);
            world.known.push(outpoint);
        }
        world
    }

    fn resolve(&self, pick: &Pick, state: &Model) -> OutPoint {
        let unspent: Vec<&OutPoint> = state.map.keys().collect();
        match pick.kind {
            0..=7 if !unspent.is_empty() => **pick.index.get(&unspent),
            8 if !self.known.is_empty() => *pick.index.get(&self.known),
            _ => OutPoint {
                txid: TxId([0xee; 32]),
                index: pick.index.index(1000) as u32,
            },
        }
    }

    fn build(&self, spec: &TxSpec, state: &Model) -> Transaction {
        let mut inputs: Vec<TxInput> = spec
            .inputs
            .iter()
            .map(|(pick, wrong_owner)| {
                let prev = self.resolve(pick, state);
                let mut owner = self.ever.get(&prev).map_or([0xee; 32], |o| o.owner);
                if *wrong_owner {
                    owner[0] ^= 1;
                }
                TxInput {
                    prev,
                    owner,
                    signature: [0; 64],
                }
            })
            .collect();
        if spec.duplicate_input {
            inputs.push(inputs[0]);
        }
        let total = inputs
            .iter()
            .map(|i| self.ever.get(&i.prev).map_or(0, |o| o.amount))
            .fold(0u64, u64::saturating_add)
            .saturating_sub(u64::from(spec.fee));
        let n = spec.outputs.len() as u64;
        let share = (total / n).max(1);
        let mut outputs: Vec<TxOutput> = spec
            .outputs
            .iter()
            .map(|&o| TxOutput {
                amount: share,
                owner: [o; 32],
            })
            .collect();
        outputs[0].amount = total.saturating_sub(share * (n - 1)).max(1);
        if spec.over {
            // One more than the inputs hold.
            outputs[0].amount = outputs[0].amount.saturating_add(u64::from(spec.fee) + 1);
        }
        if spec.zero_output {
            outputs.last_mut().unwrap().amount = 0;
        }
        if spec.no_inputs {
            inputs.clear();
        }
        Transaction { inputs, outputs }
    }

    /// Builds a batch against the evolving state, so later transactions can chain on earlier ones.
    fn build_batch(&mut self, specs: &[TxSpec]) -> Vec<Transaction> {
        let mut scratch = self.model.clone();
        let mut txs = Vec::new();
        for spec in specs {
            let tx = self.build(spec, &scratch);
            scratch.run_batch(std::slice::from_ref(&tx));
            let txid = tx.txid();
            for (index, output) in tx.outputs.iter().enumerate() {
                let outpoint = OutPoint {
                    txid,
                    index: index as u32,
                };
                self.ever.insert(outpoint, *output);
                self.known.push(outpoint);
            }
            txs.push(tx);
        }
        txs
    }

    fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Batch(specs, mode) => {
                let txs = self.build_batch(specs);
                let before = self.model.clone();
                let mut after = self.model.clone();
                let expected = after.run_batch(&txs);
                match mode {
                    Mode::Validate => prop_assert_eq!(self.set.validate_batch(&txs), expected),
                    Mode::ApplyValid => {
                        prop_assert_eq!(self.set.validate_batch(&txs), expected.clone());
                        let (verdicts, undo) = self.set.apply_valid(&txs);
                        prop_assert_eq!(verdicts, expected);
                        self.model = after.clone();
                        self.undo.push((undo, before, after));
                    }
                    Mode::ApplyBlock => {
                        let first_error = expected.iter().enumerate().find(|(_, v)| v.is_err());
                        match (self.set.apply_block(&txs), first_error) {
                            (Ok(undo), None) => {
                                self.model = after.clone();
                                self.undo.push((undo, before, after));
                            }
                            (Err(e), Some((tx_index, Err(reason)))) => prop_assert_eq!(
                                e,
                                UtxoError::InvalidBlock {
                                    tx_index,
                                    reason: Box::new(reason.clone())
                                }
                            ),
                            (got, want) => {
                                prop_assert!(false, "apply_block gave {got:?}, model {want:?}")
                            }
                        }
                    }
                }
            }
            Step::Lock(id, picks) => {
                let outpoints: Vec<OutPoint> =
                    picks.iter().map(|p| self.resolve(p, &self.model)).collect();
                let expected = self.model.lock(lock_id(*id), &outpoints);
                prop_assert_eq!(self.set.lock(lock_id(*id), &outpoints), expected);
            }
            Step::Unlock(id) => {
                let expected = self.model.release(lock_id(*id), false).map(|_| ());
                prop_assert_eq!(self.set.unlock(lock_id(*id)), expected);
            }
            Step::Commit(id) => {
                let expected = self.model.release(lock_id(*id), true);
                prop_assert_eq!(self.set.commit_lock(lock_id(*id)), expected);
            }
            Step::Undo => {
                if let Some((undo, before, after)) = self.undo.pop() {
                    let result = self.set.undo_block(&undo);
                    if self.model == after {
                        prop_assert_eq!(result, Ok(()));
                        self.model = before;
                    } else {
                        let mismatch = matches!(result, Err(UtxoError::UndoMismatch { .. }));
                        prop_assert!(mismatch, "{:?}", result);
                    }
                }
            }
        }
        self.check_state()
    }

    fn check_state(&self) -> Result<(), TestCaseError> {
        let entries: Vec<(OutPoint, Entry)> =
            self.model.map.iter().map(|(o, e)| (*o, *e)).collect();
        prop_assert_eq!(self.set.entries(), entries);
        prop_assert_eq!(self.set.consistency_digest(), self.model.root());
        for id in 0..3 {
            prop_assert_eq!(
                self.set.locked_by(lock_id(id)),
                self.model.locks.get(&lock_id(id)).cloned()
            );
        }
        Ok(())
    }
}

fn shards() -> impl Strategy<Value = usize> {
    prop_oneof![Just(1usize), Just(4), Just(64)]
}

// ---------------------------------------------------------------------------------------------
// Snapshot files.

fn temp_file(test: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    std::env::temp_dir().join(format!("iosv-utxo-props-{pid}-{test}-{n}.snap"))
}

/// A set with genesis outputs, some applied batches and some locks.
fn populated(genesis: &[(u64, u8)], batches: &[Vec<TxSpec>], locked: &[Pick]) -> World {
    let mut world = World::new(genesis, 8);
    for specs in batches {
        let txs = world.build_batch(specs);
        world.set.apply_valid(&txs);
        world.model.run_batch(&txs);
    }
    let outpoints: Vec<OutPoint> = locked
        .iter()
        .map(|p| {
            world.resolve(
                &Pick {
                    kind: 0,
                    index: p.index,
                },
                &world.model,
            )
        })
        .collect();
    if world.model.lock(lock_id(1), &outpoints).is_ok() {
        world.set.lock(lock_id(1), &outpoints).unwrap();
    }
    world
}

fn populated_world() -> impl Strategy<Value = World> {
    (
        genesis(),
        vec(vec(tx_spec(), 0..5), 0..3),
        vec(pick(), 0..3),
    )
        .prop_map(|(g, batches, locked)| populated(&g, &batches, &locked))
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn root_is_independent_of_insertion_order(
        genesis in genesis(),
        order in any::<u64>(),
        (a, b) in (shards(), shards()),
        locked in vec(any::<Index>(), 0..3),
    ) {
        let entries: Vec<(OutPoint, TxOutput)> = genesis
            .iter()
            .enumerate()
            .map(|(i, &(amount, owner))| {
                let outpoint = OutPoint { txid: TxId([i as u8; 32]), index: i as u32 };
                (outpoint, TxOutput { amount, owner: [owner; 32] })
            })
            .collect();
        let mut shuffled = entries.clone();
        // A deterministic permutation drawn from `order`.
        let mut state = order | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let first = UtxoSet::with_shards(a);
        let second = UtxoSet::with_shards(b);
        for (o, out) in &entries {
            first.insert_genesis(*o, *out).unwrap();
        }
        for (o, out) in &shuffled {
            second.insert_genesis(*o, *out).unwrap();
        }
        let to_lock: Vec<OutPoint> = locked.iter().map(|i| i.get(&entries).0).collect();
        let r1 = first.lock(lock_id(1), &to_lock);
        let mut reversed = to_lock.clone();
        reversed.reverse();
        let r2 = second.lock(lock_id(1), &reversed);
        prop_assert_eq!(r1.is_ok(), r2.is_ok());
        prop_assert_eq!(first.consistency_digest(), second.consistency_digest());
        prop_assert_eq!(first.consistency_digest(), first.recompute_consistency_digest());
        let model: BTreeMap<OutPoint, Entry> = first.entries().into_iter().collect();
        prop_assert_eq!(first.consistency_digest(), state_root_of(model.iter()));
    }

    #[test]
    fn random_streams_match_the_reference_model(
        genesis in genesis(),
        shards in shards(),
        steps in vec(step(), 1..12),
    ) {
        let mut world = World::new(&genesis, shards);
        for step in &steps {
            world.step(step)?;
        }
        prop_assert_eq!(world.set.recompute_consistency_digest(), world.set.consistency_digest());
    }

    #[test]
    fn apply_then_undo_restores_root_and_contents(
        mut world in populated_world(),
        specs in vec(tx_spec(), 0..8),
    ) {
        let before = (world.set.consistency_digest(), world.set.entries());
        let txs = world.build_batch(&specs);
        let (_, undo) = world.set.apply_valid(&txs);
        prop_assert_eq!(undo.digest_after(), world.set.consistency_digest());
        world.set.undo_block(&undo).unwrap();
        prop_assert_eq!((world.set.consistency_digest(), world.set.entries()), before);
    }

    #[test]
    fn snapshot_round_trip(world in populated_world(), shards in shards()) {
        let path = temp_file("round-trip");
        let root = world.set.snapshot_to(&path).unwrap();
        let restored = UtxoSet::restore_from_with_shards(&path, shards);
        fs::remove_file(&path).unwrap();
        let restored = restored.unwrap();
        prop_assert_eq!(root, world.set.consistency_digest());
        prop_assert_eq!(restored.consistency_digest(), root);
        prop_assert_eq!(restored.entries(), world.set.entries());
        prop_assert_eq!(restored.locked_by(lock_id(1)), world.set.locked_by(lock_id(1)));
    }

    #[test]
    fn damaged_snapshots_are_refused(
        world in populated_world(),
        at in any::<Index>(),
        mask in 1..=255u8,
        cut in any::<Index>(),
    ) {
        let path = temp_file("damage");
        world.set.snapshot_to(&path).unwrap();
        let good = fs::read(&path).unwrap();
        let mut flipped = good.clone();
        flipped[at.index(good.len())] ^= mask;
        fs::write(&path, &flipped).unwrap();
        let flipped_result = UtxoSet::restore_from(&path);
        fs::write(&path, &good[..cut.index(good.len())]).unwrap();
        let truncated_result = UtxoSet::restore_from(&path);
        fs::remove_file(&path).unwrap();
        prop_assert!(flipped_result.is_err(), "flipped byte {} accepted", at.index(good.len()));
        prop_assert!(truncated_result.is_err(), "truncation to {} accepted", cut.index(good.len()));
    }

    #[test]
    fn locks_commit_unlock_and_exclude(
        genesis in genesis(),
        first in vec(any::<Index>(), 1..4),
        second in vec(any::<Index>(), 1..4),
        commit in any::<bool>(),
    ) {
        let world = World::new(&genesis, 4);
        let set = &world.set;
        let all: Vec<OutPoint> = world.model.map.keys().copied().collect();
        let mut a: Vec<OutPoint> = first.iter().map(|i| *i.get(&all)).collect();
        a.sort();
        a.dedup();
        let b: Vec<OutPoint> = second.iter().map(|i| *i.get(&all)).collect();
        let initial = (set.consistency_digest(), set.entries());

        set.lock(lock_id(1), &a).unwrap();
        let locked = (set.consistency_digest(), set.entries());
        prop_assert_ne!(locked.0, initial.0);
        // A second lock succeeds only if disjoint and duplicate-free; otherwise nothing changes.
        let overlaps = b.iter().any(|o| a.contains(o));
        let repeats = b.iter().enumerate().any(|(i, o)| b[..i].contains(o));
        let second_lock = set.lock(lock_id(2), &b);
        prop_assert_eq!(second_lock.is_ok(), !overlaps && !repeats);
        if second_lock.is_ok() {
            set.unlock(lock_id(2)).unwrap();
        }
        prop_assert_eq!((set.consistency_digest(), set.entries()), locked.clone());
        // Locked outputs cannot be spent by an ordinary transaction.
        for outpoint in &a {
            let entry = set.get(outpoint).unwrap();
            let spend = Transaction {
                inputs: vec![TxInput {
                    prev: *outpoint,
                    owner: entry.output.owner,
                    signature: [0; 64],
                }],
                outputs: vec![TxOutput { amount: 1, owner: [9; 32] }],
            };
            prop_assert_eq!(
                set.validate_batch(&[spend]),
                vec![Err(UtxoError::Locked { outpoint: *outpoint, lock_id: lock_id(1) })]
            );
        }
        if commit {
            let spent = set.commit_lock(lock_id(1)).unwrap();
            prop_assert_eq!(spent.iter().map(|(o, _)| *o).collect::<Vec<_>>(), a.clone());
            let mut model = world.model.clone();
            for o in &a {
                model.map.remove(o);
            }
            prop_assert_eq!(set.consistency_digest(), model.root());
            prop_assert!(a.iter().all(|o| !set.contains(o)));
        } else {
            set.unlock(lock_id(1)).unwrap();
            prop_assert_eq!((set.consistency_digest(), set.entries()), initial);
        }
        prop_assert_eq!(set.lock_count(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Batches large enough for the set to look their outpoints up on several threads (over a
    /// thousand lookups each), with locked outputs among them: verdicts, undo records and roots
    /// are still exactly the one-at-a-time reference model's.
    #[test]
    fn large_batches_on_many_threads_match_the_reference_model(
        genesis in genesis(),
        shards in shards(),
        threads in 2usize..5,
        locked in vec(pick(), 0..4),
        batches in vec(
            (vec(tx_spec(), 450..600), prop_oneof![Just(Mode::Validate), Just(Mode::ApplyValid)]),
            1..3,
        ),
    ) {
        let mut world = World::new(&genesis, shards);
        world.set = std::mem::take(&mut world.set).with_threads(threads);
        prop_assert_eq!(world.set.threads(), threads);
        world.step(&Step::Lock(1, locked))?;
        for (specs, mode) in batches {
            world.step(&Step::Batch(specs, mode))?;
        }
        prop_assert_eq!(world.set.recompute_consistency_digest(), world.set.consistency_digest());
    }
}
