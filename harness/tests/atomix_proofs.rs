//! Atomix, refused proofs and certificates: replayed and misbound proofs, proofs from a stale
//! roster (refused, then re-certified), tampered proofs, and certificates through JSON.

use iosv_engine::tx::TxId;
use iosv_harness::atomix::{
    AtomixError, AtomixProof, Certificate, CertificateError, Decision, Outcome, ProofError,
    RejectReason, ShardInfo, VerifiedBatches,
};

mod atomix_world;
use atomix_world::fixtures::{fund, one_proof, spend, world};

#[test]
fn replayed_and_misbound_proofs_are_refused() {
    let (mut w, mut rng) = world(6);
    let a = fund(&mut w, 0, 1, 1, 100);
    let b = fund(&mut w, 1, 2, 2, 100);
    let a2 = fund(&mut w, 0, 3, 1, 100);
    let b2 = fund(&mut w, 1, 4, 2, 100);
    let tx = spend(&[(a, 1), (b, 2)], &[(200, 3)]);
    let other = spend(&[(a2, 1), (b2, 2)], &[(200, 3)]);
    w.submit(tx.clone()).unwrap();
    w.submit(other.clone()).unwrap();
    w.deliver_all();
    w.seal_all(&mut rng);
    // Hold the finishes: take tx's commit certificate first.
    let cert = w.client(0).unwrap().certificate().unwrap().clone();
    assert!(matches!(cert, Certificate::Commit { .. }));
    // tx's certificate presented for `other`: every proof names another txid.
    let dir = w.directory().clone();
    let roots: Vec<[u8; 32]> = w
        .shards()
        .iter()
        .map(|s| s.state().utxo().consistency_digest())
        .collect();
    let refused = w.shard_mut(0).unwrap().finish(&other, &cert, &dir);
    assert!(
        matches!(
            refused,
            Err(AtomixError::Certificate(CertificateError::Proof {
                source: ProofError::WrongTransaction { .. },
                ..
            }))
        ),
        "{refused:?}"
    );
    // A proof from shard 1 relabelled as shard 0's (and the reverse) is refused.
    let Certificate::Commit { proofs } = &cert else {
        unreachable!()
    };
    let mut relabelled = proofs.clone();
    relabelled[0].statement.shard = 1 - relabelled[0].statement.shard;
    let refused =
        w.shard_mut(0)
            .unwrap()
            .finish(&tx, &Certificate::Commit { proofs: relabelled }, &dir);
    assert!(refused.is_err(), "{refused:?}");
    // Only one proof: the other input shard's acceptance is missing.
    let refused = w.shard_mut(0).unwrap().finish(
        &tx,
        &Certificate::Commit {
            proofs: vec![proofs[0].clone()],
        },
        &dir,
    );
    assert!(matches!(
        refused,
        Err(AtomixError::Certificate(
            CertificateError::MissingShard { .. }
        ))
    ));
    // An acceptance is no abort evidence.
    let refused = w.shard_mut(0).unwrap().finish(
        &tx,
        &Certificate::AbortRejected {
            proof: Box::new(proofs[0].clone()),
        },
        &dir,
    );
    assert!(matches!(
        refused,
        Err(AtomixError::Certificate(
            CertificateError::NotARejection { .. }
        ))
    ));
    let after: Vec<[u8; 32]> = w
        .shards()
        .iter()
        .map(|s| s.state().utxo().consistency_digest())
        .collect();
    assert_eq!(roots, after, "no refusal changed any state");

    assert!(w.settle(4, &mut rng));
    w.assert_ended_everywhere(&tx, Outcome::Committed);
    w.assert_ended_everywhere(&other, Outcome::Committed);
    let total = w.total_value();
    let settled: Vec<[u8; 32]> = w
        .shards()
        .iter()
        .map(|s| s.state().utxo().consistency_digest())
        .collect();
    let delivered = w.delivered().len();
    assert!(delivered >= 4);
    for i in 0..delivered {
        let verdict = w.replay(i).unwrap();
        assert!(
            matches!(verdict, Err(AtomixError::Replay { .. })),
            "{verdict:?}"
        );
    }
    assert_eq!(w.total_value(), total);
    let after: Vec<[u8; 32]> = w
        .shards()
        .iter()
        .map(|s| s.state().utxo().consistency_digest())
        .collect();
    assert_eq!(after, settled, "replays changed no state");
}

#[test]
fn proofs_from_a_stale_roster_are_refused_then_recertified() {
    let (mut w, mut rng) = world(7);
    let a = fund(&mut w, 0, 1, 1, 100);
    let b = fund(&mut w, 1, 2, 2, 100);
    let tx = spend(&[(a, 1), (b, 2)], &[(195, 3)]);
    w.submit(tx.clone()).unwrap();
    w.deliver_all();
    w.seal_all(&mut rng);
    w.rotate(0, &mut rng).unwrap();
    // The finishes carry shard 0's proof from epoch 0: refused as stale everywhere.
    assert!(w.settle(6, &mut rng));
    assert!(w.refusals().iter().any(|e| matches!(
        e,
        AtomixError::Certificate(CertificateError::Proof {
            source: ProofError::StaleRoster {
                shard: 0,
                proof_epoch: 0,
                current_epoch: 1
            },
            ..
        })
    )));
    w.assert_ended_everywhere(&tx, Outcome::Committed);
    assert_eq!(w.total_value(), 195);
}

#[test]
fn tampered_proofs_are_refused() {
    let (w, tx, proof) = one_proof(8);
    let txid = tx.txid();
    let dir = w.directory();
    assert_eq!(
        proof.verify(&txid, dir),
        Ok(Decision::Accept { value: 100 })
    );
    let json = serde_json::to_string(&proof).unwrap();
    let back: AtomixProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back.verify(&txid, dir), Ok(Decision::Accept { value: 100 }));

    let mut inflated = proof.clone();
    inflated.statement.decision = Decision::Accept { value: 1000 };
    assert_eq!(inflated.verify(&txid, dir), Err(ProofError::NotIncluded));

    let mut flipped = proof.clone();
    flipped.statement.decision = Decision::Reject {
        reason: RejectReason::Locked,
    };
    assert_eq!(flipped.verify(&txid, dir), Err(ProofError::NotIncluded));

    let mut forged = proof.clone();
    forged.signature[40] ^= 1;
    assert!(matches!(
        forged.verify(&txid, dir),
        Err(ProofError::BadSignature { shard: 0, .. })
    ));

    let mut moved = proof.clone();
    moved.header.seq += 1;
    assert!(matches!(
        moved.verify(&txid, dir),
        Err(ProofError::BadSignature { .. })
    ));

    let mut other_shard = proof.clone();
    other_shard.statement.shard = 1;
    assert!(matches!(
        other_shard.verify(&txid, dir),
        Err(ProofError::HeaderMismatch { .. })
    ));

    // Same epoch number, another roster: refused before any curve work.
    let (w2, _, _) = one_proof(9);
    let mut dir2 = dir.clone();
    let impostor = w2.shards()[0].info();
    dir2.update(ShardInfo::new(
        0,
        impostor.epoch,
        impostor.roster.clone(),
        impostor.policy,
    ));
    assert!(matches!(
        proof.verify(&txid, &dir2),
        Err(ProofError::RosterMismatch { shard: 0, .. })
    ));
    assert!(matches!(
        proof.verify(&TxId([0; 32]), dir),
        Err(ProofError::WrongTransaction { .. })
    ));

    // With a cache of verified batches: the signature is checked once, everything else always.
    let mut cache = VerifiedBatches::new();
    assert_eq!(
        proof.verify_cached(&txid, dir, &mut cache),
        Ok(Decision::Accept { value: 100 })
    );
    assert_eq!(
        inflated.verify_cached(&txid, dir, &mut cache),
        Err(ProofError::NotIncluded)
    );
    assert!(matches!(
        forged.verify_cached(&txid, dir, &mut cache),
        Err(ProofError::BadSignature { .. })
    ));
    assert!(matches!(
        proof.verify_cached(&txid, &dir2, &mut cache),
        Err(ProofError::RosterMismatch { .. })
    ));
}

#[test]
fn certificates_round_trip_through_json() {
    let (mut w, mut rng) = world(12);
    let a = fund(&mut w, 0, 1, 1, 100);
    let b = fund(&mut w, 2, 2, 2, 100);
    let tx = spend(&[(a, 1), (b, 2)], &[(200, 3)]);
    w.submit(tx.clone()).unwrap();
    w.deliver_all();
    w.seal_all(&mut rng);
    let cert = w.client(0).unwrap().certificate().unwrap().clone();
    let json = serde_json::to_string(&cert).unwrap();
    let back: Certificate = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cert);
    assert_eq!(
        back.verify(&tx, w.map(), w.directory()),
        Ok(Outcome::Committed)
    );
}
