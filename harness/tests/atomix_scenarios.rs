//! Atomix, seeded scenarios: a commit across two input shards (and one half delivered, accounted
//! as in flight); a double spend across two input shards (at most one commits, in both delivery
//! orders); a client crash after the lock (recovered from the stalled shard's transaction, to
//! commit or to abort); a shard without enough online members cannot sign; insufficient value and
//! bad signatures; batched lock requests. Refused proofs and certificates: `atomix_proofs`.

use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::{OutPoint, Transaction};
use iosv_harness::atomix::{
    AtomixError, Certificate, ClientAction, Decision, Outcome, RECOVERY_EPOCHS, RejectReason,
    commits_in_flight,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

mod atomix_world;
use atomix_world::AtomixWorld;
use atomix_world::fixtures::{fund, one_proof, spend, world};

/// A transaction spending 100 from shard 0 and 50 from shard 1 into 120 + 20 (a fee of 10),
/// submitted and its lock requests delivered.
struct TwoInputs {
    w: AtomixWorld,
    rng: ChaCha20Rng,
    a: OutPoint,
    b: OutPoint,
    tx: Transaction,
    /// The world's value before the transaction.
    before: u128,
}

fn two_inputs_locked() -> TwoInputs {
    let (mut w, rng) = world(1);
    let a = fund(&mut w, 0, 1, 1, 100);
    let b = fund(&mut w, 1, 2, 2, 50);
    let before = w.total_value();
    let tx = spend(&[(a, 1), (b, 2)], &[(120, 3), (20, 4)]);
    w.submit(tx.clone()).unwrap();
    w.deliver_all();
    TwoInputs {
        w,
        rng,
        a,
        b,
        tx,
        before,
    }
}

#[test]
fn commit_across_two_input_shards() {
    let TwoInputs {
        mut w,
        mut rng,
        a,
        b,
        tx,
        before,
    } = two_inputs_locked();
    assert_eq!(w.locks_held(), 2);
    assert_eq!(
        w.shards()[0].decision(&tx.txid()),
        Some(Decision::Accept { value: 100 })
    );
    assert_eq!(
        w.shards()[1].decision(&tx.txid()),
        Some(Decision::Accept { value: 50 })
    );
    assert!(w.settle(4, &mut rng));
    w.assert_ended_everywhere(&tx, Outcome::Committed);
    assert!(w.outputs_exist(&tx));
    assert!(!w.shards()[0].state().contains(&a) && !w.shards()[1].state().contains(&b));
    assert_eq!(
        w.total_value(),
        before - 10,
        "the fee of 10 leaves circulation"
    );
    assert!(w.refusals().is_empty(), "{:?}", w.refusals());
}

/// A commit whose finish reached one of its shards only: the summed value is off by what the
/// others still owe, and the commits in flight account for exactly that, until none is left.
#[test]
fn a_commit_half_delivered_is_accounted_as_in_flight() {
    let TwoInputs {
        mut w,
        mut rng,
        before,
        ..
    } = two_inputs_locked();
    w.seal_all(&mut rng);
    let finishes = w.pending().len();
    assert!(finishes >= 2, "a finish per shard of the transaction");
    let shards = |w: &AtomixWorld| commits_in_flight(&w.shards().iter().collect::<Vec<_>>());
    assert_eq!(
        shards(&w).transactions,
        0,
        "no shard applied the commit yet"
    );
    assert!(w.deliver(0));
    let owed = shards(&w);
    assert_eq!(owed.transactions, 1);
    assert!(owed.to_remove > 0);
    let settled = w.total_value() - owed.to_remove + owed.to_create;
    assert_ne!(
        w.total_value(),
        before - 10,
        "half applied, the raw sum is off"
    );
    assert_eq!(settled, before - 10, "settled, only the fee has left");
    w.deliver_all();
    assert!(w.pending().is_empty());
    assert_eq!(shards(&w), Default::default());
    assert_eq!(w.total_value(), before - 10);
}

#[test]
fn double_spend_across_two_input_shards_commits_at_most_one() {
    for tx1_first in [true, false] {
        let (mut w, mut rng) = world(2);
        let a = fund(&mut w, 0, 1, 1, 100);
        let b = fund(&mut w, 1, 2, 2, 100);
        let c = fund(&mut w, 2, 3, 3, 100);
        let before = w.total_value();
        let tx1 = spend(&[(a, 1), (b, 2)], &[(200, 4)]);
        let tx2 = spend(&[(a, 1), (c, 3)], &[(200, 5)]);
        w.submit(tx1.clone()).unwrap();
        w.submit(tx2.clone()).unwrap();
        // Pending: tx1→0, tx1→1, tx2→0, tx2→2. The non-shared shards first, then shard 0 in
        // the chosen order.
        let order: [usize; 4] = if tx1_first {
            [1, 2, 0, 0]
        } else {
            [3, 1, 1, 0]
        };
        for i in order {
            assert!(w.deliver(i));
        }
        let (winner, loser, freed) = if tx1_first {
            (&tx1, &tx2, c)
        } else {
            (&tx2, &tx1, b)
        };
        assert_eq!(
            w.shards()[0].decision(&loser.txid()),
            Some(Decision::Reject {
                reason: RejectReason::Locked
            })
        );
        assert!(w.settle(6, &mut rng));
        w.assert_ended_everywhere(winner, Outcome::Committed);
        w.assert_ended_everywhere(loser, Outcome::Aborted);
        assert!(w.outputs_exist(winner) && !w.outputs_exist(loser));
        assert!(
            w.unlocked_present(&freed),
            "the loser's other input is free"
        );
        assert_eq!(w.total_value(), before);
        assert_eq!(w.locks_held(), 0);
    }
}

#[test]
fn client_crash_after_lock_is_recovered_to_commit() {
    let (mut w, mut rng) = world(3);
    let a = fund(&mut w, 0, 1, 1, 70);
    let b = fund(&mut w, 2, 2, 2, 30);
    let before = w.total_value();
    let tx = spend(&[(a, 1), (b, 2)], &[(100, 6)]);
    let client = w.submit(tx.clone()).unwrap();
    w.deliver_all();
    w.crash_client(client);
    w.seal_all(&mut rng);
    w.deliver_all();
    assert_eq!(w.locks_held(), 2, "locked, and nobody is finishing");
    assert!(w.shards()[0].stalled(RECOVERY_EPOCHS).is_empty(), "not yet");
    for _ in 0..RECOVERY_EPOCHS {
        w.rotate(0, &mut rng).unwrap();
    }
    assert_eq!(w.shards()[0].stalled(RECOVERY_EPOCHS), vec![tx.clone()]);
    assert_eq!(w.recover(RECOVERY_EPOCHS), 1);
    assert!(w.settle(4, &mut rng));
    w.assert_ended_everywhere(&tx, Outcome::Committed);
    assert!(w.outputs_exist(&tx));
    assert_eq!(w.total_value(), before);
}

#[test]
fn client_crash_after_a_partial_lock_is_recovered_to_abort() {
    let (mut w, mut rng) = world(4);
    let a = fund(&mut w, 0, 1, 1, 70);
    let b = fund(&mut w, 1, 2, 2, 30);
    // Key 9 does not own b: shard 1 will reject once somebody asks it.
    let tx = spend(&[(a, 1), (b, 9)], &[(100, 6)]);
    let client = w.submit(tx.clone()).unwrap();
    let to_shard_0 = w
        .pending()
        .iter()
        .position(|e| matches!(e.action, ClientAction::Lock { shard: 0, .. }))
        .unwrap();
    w.deliver(to_shard_0);
    w.crash_client(client);
    assert!(w.lose(0), "the request to shard 1 is lost");
    w.deliver_all();
    assert_eq!(w.shards()[1].decision(&tx.txid()), None);
    assert_eq!(w.locks_held(), 1);
    assert!(w.settle(6, &mut rng), "recovery ends it");
    w.assert_ended_everywhere(&tx, Outcome::Aborted);
    assert!(w.unlocked_present(&a) && w.unlocked_present(&b));
    assert_eq!(w.total_value(), 100);
}

#[test]
fn a_request_that_never_arrived_is_decided_during_recovery() {
    let (mut w, mut rng) = world(5);
    let a = fund(&mut w, 0, 1, 1, 70);
    let b = fund(&mut w, 1, 2, 2, 30);
    let tx = spend(&[(a, 1), (b, 2)], &[(90, 6)]);
    // Only shard 0 ever hears from the client, which then vanishes.
    w.shard_mut(0).unwrap().request_lock(&tx).unwrap();
    assert_eq!(w.shards()[1].decision(&tx.txid()), None);
    assert_eq!(w.recover(0), 1);
    assert!(w.settle(6, &mut rng));
    w.assert_ended_everywhere(&tx, Outcome::Committed);
    assert_eq!(w.total_value(), 90);
}

#[test]
fn a_shard_without_enough_online_members_cannot_sign() {
    let (mut w, tx, _) = one_proof(10);
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let shard = w.shard_mut(0).unwrap();
    shard.request_lock(&tx).unwrap();
    shard.set_online(1, false);
    shard.set_online(2, false);
    assert!(matches!(
        shard.seal(&mut rng),
        Err(AtomixError::Signing { shard: 0, .. })
    ));
    shard.set_online(2, true);
    let proofs = shard.seal(&mut rng).unwrap();
    assert_eq!(proofs.len(), 1, "the queued decision was kept");
    assert_eq!(
        proofs[0].verify(&tx.txid(), w.directory()),
        Ok(Decision::Accept { value: 100 })
    );
}

#[test]
fn insufficient_value_aborts_and_a_bad_signature_locks_nothing() {
    let (mut w, mut rng) = world(11);
    let a = fund(&mut w, 0, 1, 1, 100);
    let b = fund(&mut w, 1, 2, 2, 100);
    let greedy = spend(&[(a, 1), (b, 2)], &[(201, 3)]);
    w.submit(greedy.clone()).unwrap();
    assert!(w.settle(4, &mut rng));
    w.assert_ended_everywhere(&greedy, Outcome::Aborted);
    let client = w.client(0).unwrap();
    assert!(matches!(
        client.certificate(),
        Some(Certificate::AbortInsufficient { .. })
    ));

    let mut forged = spend(&[(a, 1), (b, 2)], &[(150, 3)]);
    forged.inputs[1].signature[0] ^= 1;
    w.submit(forged.clone()).unwrap();
    w.deliver_all();
    assert_eq!(
        w.shards()[1].decision(&forged.txid()),
        Some(Decision::Reject {
            reason: RejectReason::BadSignature
        })
    );
    assert!(w.settle(4, &mut rng));
    w.assert_ended_everywhere(&forged, Outcome::Aborted);
    assert!(w.unlocked_present(&a) && w.unlocked_present(&b));
    assert_eq!(w.total_value(), 200);
}

#[test]
fn batched_lock_requests_decide_exactly_as_single_ones() {
    // Two worlds with the same shards and funds: one decides request by request (single
    // signature checks), the other in one call (one batch verification); the decisions, forged
    // signature and conflicting spend included, are the same. A forged copy of a transaction
    // followed by the honest one (same txid, other signatures) in one call is judged by its own
    // signatures, as one at a time would judge it.
    let verifier = Verifier::new(Backend::Cpu).unwrap();
    let (mut single, _) = world(21);
    let (mut batched, _) = world(21);
    let mut txs = Vec::new();
    for w in [&mut single, &mut batched] {
        let a = fund(w, 0, 1, 1, 100);
        let b = fund(w, 0, 2, 2, 100);
        let c = fund(w, 0, 3, 3, 100);
        let d = fund(w, 0, 4, 4, 100);
        let mut forged = spend(&[(b, 2)], &[(100, 4)]);
        forged.inputs[0].signature[5] ^= 1;
        let honest_d = spend(&[(d, 4)], &[(100, 8)]);
        let mut forged_copy_d = honest_d.clone();
        forged_copy_d.inputs[0].signature[7] ^= 1;
        txs = vec![
            spend(&[(a, 1)], &[(100, 5)]),
            forged,
            spend(&[(a, 1)], &[(90, 6)]),
            spend(&[(c, 3)], &[(100, 7)]),
            forged_copy_d,
            honest_d,
        ];
    }
    let one: Vec<Decision> = txs
        .iter()
        .map(|tx| single.shard_mut(0).unwrap().request_lock(tx).unwrap())
        .collect();
    let many: Vec<Decision> = batched
        .shard_mut(0)
        .unwrap()
        .request_locks(&txs, &verifier)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(one, many);
    assert!(one[0].is_accept() && one[3].is_accept());
    assert_eq!(
        one[1],
        Decision::Reject {
            reason: RejectReason::BadSignature
        }
    );
    assert_eq!(
        one[2],
        Decision::Reject {
            reason: RejectReason::Locked
        }
    );
    // The forged copy came first: it is refused, and the decision recorded for the txid stands.
    for decision in &one[4..] {
        assert_eq!(
            *decision,
            Decision::Reject {
                reason: RejectReason::BadSignature
            }
        );
    }
}
