//! Micro State Blocks: a joiner bootstrapped from the latest MSB reaches the full replay's state;
//! bodies are pruned; stale, wrongly signed or inconsistent packages are refused.

use iosv_engine::cosi::Mask;
use iosv_engine::cosi::schnorr::{CosiError, Roster};
use iosv_harness::msb::bootstrap::{BootstrapError, bootstrap, full_replay};
use iosv_harness::msb::chain::BlockError;
use iosv_harness::msb::scenario::{Scenario, ScenarioConfig, build, measure};
use iosv_harness::msb::{BootstrapPackage, SignedMsb};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn scenario() -> Scenario {
    build(ScenarioConfig {
        shard: 2,
        epochs: 3,
        blocks_per_epoch: 4,
        tail_blocks: 2,
        txs_per_block: 25,
        roster_size: 7,
        seed: 5,
    })
    .unwrap()
}

fn package(s: &Scenario) -> BootstrapPackage {
    s.store.bootstrap_package().unwrap()
}

#[test]
fn bootstrap_reaches_the_full_replay_state() {
    let mut s = scenario();
    let mut replayed = full_replay(2, &s.genesis, &s.archive).unwrap();
    let mut joined = bootstrap(&package(&s), &s.trust).unwrap();
    let live = s.store.state().root();
    assert_eq!(joined.root(), replayed.root());
    assert_eq!(joined.root(), live);
    assert_eq!(joined.tip(), replayed.tip());
    assert_eq!(joined.tip().height, 14);
    assert_eq!(joined.len(), replayed.len());
    // The joiner keeps validating: both accept the same next block.
    let next = s.store.produce(vec![], [1; 32], 9).unwrap();
    joined.apply(&next).unwrap();
    replayed.apply(&next).unwrap();
    assert_eq!(joined.root(), replayed.root());
}

#[test]
fn bodies_are_pruned_and_msbs_chain() {
    let s = scenario();
    let msbs = s.store.msbs();
    assert_eq!(msbs.len(), 3);
    assert_eq!(msbs[0].msb.prev_msb, [0; 32]);
    for (i, m) in msbs.iter().enumerate() {
        assert_eq!(m.msb.epoch, i as u64 + 1);
        assert_eq!(m.msb.height, 4 * (i as u64 + 1));
        assert_eq!(m.msb.header_count, 4);
        let roster = &s.trust.rosters[&m.msb.epoch];
        m.verify(roster).unwrap();
        if i > 0 {
            assert_eq!(m.msb.prev_msb, msbs[i - 1].msb.hash());
            // Another epoch's roster did not sign it.
            assert!(m.verify(&s.trust.rosters[&(i as u64)]).is_err());
        }
    }
    // Only the tail's bodies remain; full history is gone from the pruned store.
    assert_eq!(s.store.stored_bodies().collect::<Vec<_>>(), vec![13, 14]);
    assert!(s.store.full_history().is_none());
    let p = package(&s);
    assert_eq!(p.blocks.len(), 2);
    assert_eq!(p.epoch_headers.len(), 4);
}

#[test]
fn an_msb_proves_its_epoch_headers() {
    // Bodies of epoch 2 are pruned, but any of its headers is provable against its MSB.
    let s = scenario();
    let msb = &s.store.msbs()[1].msb;
    let headers = &s.store.headers()[4..8];
    let leaves: Vec<_> = headers
        .iter()
        .map(|h| iosv_engine::merkle::leaf_hash(&h.hash()))
        .collect();
    for (i, leaf) in leaves.iter().enumerate() {
        let proof = iosv_engine::merkle::prove(&leaves, i).unwrap();
        assert!(proof.verify(leaf, &msb.headers_root));
        let other = iosv_engine::merkle::leaf_hash(&s.store.headers()[0].hash());
        assert!(!proof.verify(&other, &msb.headers_root));
    }
    assert_eq!(headers[3].hash(), msb.tip_hash);
    assert_eq!(headers[3].state_root, msb.state_root);
}

#[test]
fn stale_msb_is_refused() {
    let s = scenario();
    let mut p = package(&s);
    p.msb = s.store.msbs()[1].clone();
    assert_eq!(
        bootstrap(&p, &s.trust).unwrap_err(),
        BootstrapError::Stale { got: 2, latest: 3 }
    );
    // A joiner that believes epoch 4 has ended also refuses epoch 3's MSB.
    let mut trust = s.trust.clone();
    trust.latest_epoch = 4;
    assert_eq!(
        bootstrap(&package(&s), &trust).unwrap_err(),
        BootstrapError::Stale { got: 3, latest: 4 }
    );
    trust.latest_epoch = 2;
    assert_eq!(
        bootstrap(&package(&s), &trust).unwrap_err(),
        BootstrapError::FutureEpoch { got: 3, latest: 2 }
    );
}

fn roster(keys: &[iosv_engine::cosi::schnorr::MemberKey]) -> Roster {
    let regs: Vec<_> = keys.iter().map(|k| k.registration()).collect();
    Roster::from_registrations(&regs).unwrap()
}

#[test]
fn wrongly_signed_msbs_are_refused() {
    let s = scenario();
    let mut rng = StdRng::seed_from_u64(99);
    let latest = package(&s).msb.msb;
    let bad_signature = |signed: SignedMsb| {
        let mut p = package(&s);
        p.msb = signed;
        match bootstrap(&p, &s.trust) {
            Err(BootstrapError::BadSignature(e)) => e,
            other => panic!("{other:?}"),
        }
    };

    // Signed by the previous epoch's roster.
    let old_keys = &s.keys[&2];
    let by_old = SignedMsb::sign(
        latest.clone(),
        &roster(old_keys),
        old_keys,
        &Mask::full(7),
        &mut rng,
    )
    .unwrap();
    assert_eq!(bad_signature(by_old), CosiError::EquationFailed);

    // Signed by the right roster, but only 4 of 7 (ByzCoin needs 5).
    let keys = &s.keys[&3];
    let mut few = Mask::empty(7);
    for i in 0..4 {
        few.set(i, true);
    }
    let by_few = SignedMsb::sign(latest.clone(), &roster(keys), keys, &few, &mut rng).unwrap();
    assert!(matches!(
        bad_signature(by_few),
        CosiError::PolicyNotMet {
            signers: 4,
            required: 5,
            ..
        }
    ));

    // A field changed after signing.
    let mut changed = package(&s).msb;
    changed.msb.state_root[0] ^= 1;
    assert_eq!(bad_signature(changed), CosiError::EquationFailed);

    // A flipped signature byte.
    let mut flipped = package(&s).msb;
    flipped.signature[3] ^= 4;
    bad_signature(flipped);
}

#[test]
fn inconsistent_packages_are_refused() {
    let s = scenario();
    let refused = |tamper: &dyn Fn(&mut BootstrapPackage)| {
        let mut p = package(&s);
        tamper(&mut p);
        bootstrap(&p, &s.trust).unwrap_err()
    };
    assert_eq!(
        refused(&|p| p.snapshot[0].1.output.amount += 1),
        BootstrapError::SnapshotRoot
    );
    assert_eq!(
        refused(&|p| {
            p.snapshot.pop();
        }),
        BootstrapError::SnapshotRoot
    );
    assert_eq!(
        refused(&|p| {
            p.epoch_headers.pop();
        }),
        BootstrapError::EpochHeaders("header count")
    );
    assert_eq!(
        refused(&|p| p.epoch_headers[1].timestamp_ms += 1),
        BootstrapError::EpochHeaders("headers root")
    );
    assert!(matches!(
        refused(&|p| {
            p.blocks[0].txs.pop();
        }),
        BootstrapError::Block {
            height: 13,
            error: BlockError::TxRoot
        }
    ));
    assert!(matches!(
        refused(&|p| {
            p.blocks.remove(0);
        }),
        BootstrapError::Block {
            height: 14,
            error: BlockError::Height { .. }
        }
    ));
    assert!(matches!(
        refused(&|p| p.blocks[1].txs[0].inputs[0].signature[10] ^= 1),
        BootstrapError::Block {
            height: 14,
            error: BlockError::Signature { tx: 0 } | BlockError::TxRoot
        }
    ));
    let mut trust = s.trust.clone();
    trust.shard = 3;
    assert_eq!(
        bootstrap(&package(&s), &trust).unwrap_err(),
        BootstrapError::WrongShard {
            expected: 3,
            got: 2
        }
    );
}

#[test]
fn measurement_reports_equal_roots() {
    let mut s = scenario();
    let report = measure(&mut s, 1).unwrap();
    assert!(report.roots_equal);
    assert_eq!(report.blocks_total, 14);
    assert_eq!(report.blocks_after_msb, 2);
    assert_eq!(report.snapshot_entries, 14 * 25);
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
