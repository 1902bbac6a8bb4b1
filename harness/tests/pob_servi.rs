//! Servi and slashing: Servi is issued for service and cleared when its holder validates a block,
//! no transaction moves it (transfers of every shape to and from validators change tokens only),
//! two headers signed for one height (equivocation) convict their signer, and a real engine fraud
//! proof against a believable validator's block clears its Servi and score,
//! seizes its tokens and keeps it out of every later believable league; invalid, replayed and
//! misdirected proofs are refused without effect.

use ed25519_dalek::SigningKey;
use iosv_engine::fraud::{FraudKind, SignedHeader};
use iosv_engine::sampling::revalidate;
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::{
    BlockHeader, HEADER_VERSION, OutPoint, Transaction, TxId, TxInput, TxOutput, tx_root,
};
use iosv_engine::utxo::{ShardState, UtxoSet};
use iosv_engine::vrf::SecretKey;
use iosv_engine::workload::signing_key;
use iosv_harness::pob::{
    Contribution, LeagueMode, Member, Offence, Reputation, Score, ShardingPolicy, SlashError,
    Ticket, assign, candidates, seize_tokens, token_balance,
};

const SEED: u64 = 0x5e41;

fn key(i: u64) -> SigningKey {
    signing_key(SEED, i)
}

fn pk(i: u64) -> [u8; 32] {
    key(i).verifying_key().to_bytes()
}

fn genesis(i: u32) -> OutPoint {
    OutPoint {
        txid: TxId([0x6e; 32]),
        index: i,
    }
}

fn spend(prev: &[(OutPoint, u64)], outputs: &[(u64, u64)]) -> Transaction {
    let mut tx = Transaction {
        inputs: prev
            .iter()
            .map(|&(p, _)| TxInput {
                prev: p,
                owner: [0; 32],
                signature: [0; 64],
            })
            .collect(),
        outputs: outputs
            .iter()
            .map(|&(amount, owner)| TxOutput {
                amount,
                owner: pk(owner),
            })
            .collect(),
    };
    let keys: Vec<SigningKey> = prev.iter().map(|&(_, k)| key(k)).collect();
    tx.sign(&keys).unwrap();
    tx
}

/// Genesis output `i` of 100 owned by key `i`, for keys 0..10.
fn state() -> UtxoSet {
    let set = UtxoSet::new();
    for i in 0..10 {
        set.insert_genesis(
            genesis(i),
            TxOutput {
                amount: 100,
                owner: pk(u64::from(i)),
            },
        )
        .unwrap();
    }
    set
}

const VALIDATORS: [u64; 3] = [0, 1, 2];

#[test]
fn servi_is_issued_for_service_cleared_by_a_block_and_never_moved_by_transactions() {
    let policy = ShardingPolicy::default();
    let mut rep = Reputation::new();
    for v in VALIDATORS {
        rep.register(pk(v));
    }
    rep.reward(&pk(0), Contribution::Sample, &policy.servi)
        .unwrap();
    rep.reward(&pk(0), Contribution::Cosignature, &policy.servi)
        .unwrap();
    rep.reward(&pk(1), Contribution::Sample, &policy.servi)
        .unwrap();
    let servi_before: Vec<u64> = VALIDATORS.iter().map(|&v| rep.servi(&pk(v))).collect();
    assert_eq!(servi_before, [2, 1, 0]);

    // Transfers of every shape touching validators: out of one, into one, between two, several
    // inputs, several outputs, and a fee.
    let set = state();
    let tokens_before: Vec<u64> = VALIDATORS
        .iter()
        .map(|&v| token_balance(&set, &pk(v)))
        .collect();
    let t1 = spend(&[(genesis(0), 0)], &[(60, 5), (40, 1)]);
    let t2 = spend(&[(genesis(5), 5)], &[(100, 2)]);
    let t3 = spend(&[(genesis(1), 1), (genesis(2), 2)], &[(150, 0), (45, 7)]);
    set.apply_block(&[t1, t2, t3]).unwrap();
    let tokens_after: Vec<u64> = VALIDATORS
        .iter()
        .map(|&v| token_balance(&set, &pk(v)))
        .collect();
    assert_eq!(tokens_before, [100, 100, 100]);
    assert_eq!(tokens_after, [150, 40, 100], "tokens moved");
    let servi_after: Vec<u64> = VALIDATORS.iter().map(|&v| rep.servi(&pk(v))).collect();
    assert_eq!(servi_after, servi_before, "Servi did not");
    let scores: Vec<Score> = VALIDATORS
        .iter()
        .zip(&tokens_after)
        .map(|(&v, &t)| rep.score(&pk(v), t, &policy.weights))
        .collect();
    assert!(scores[0] > scores[1] && scores[0] > scores[2], "{scores:?}");

    // Validating a block spends the Servi and counts as a contribution.
    let contributions = rep.record(&pk(0)).unwrap().contributions;
    assert_eq!(rep.block_validated(&pk(0)), Ok(2));
    assert_eq!(rep.servi(&pk(0)), 0);
    assert_eq!(rep.record(&pk(0)).unwrap().contributions, contributions + 1);
    assert!(
        rep.reward(&pk(9), Contribution::Sample, &policy.servi)
            .is_err()
    );

    let json = serde_json::to_string(&rep).unwrap();
    let back: Reputation = serde_json::from_str(&json).unwrap();
    assert_eq!(back.record(&pk(1)), rep.record(&pk(1)));
}

const BELIEVABLE: u64 = 1;

/// A block proposed by validator `BELIEVABLE` whose second transaction has a bad signature; the
/// fraud proof for it, built from a sampling finding, and the pre-state.
fn fraudulent_block() -> (iosv_engine::fraud::FraudProof, ShardState) {
    let mut set = ShardState::new(state());
    let mut bad = spend(&[(genesis(4), 4)], &[(100, 8)]);
    bad.inputs[0].signature[0] ^= 1;
    let txs = vec![spend(&[(genesis(3), 3)], &[(100, 7)]), bad];
    let header = BlockHeader {
        version: HEADER_VERSION,
        shard: 0,
        height: 5,
        prev_hash: [1; 32],
        tx_root: tx_root(&txs),
        tx_count: txs.len() as u32,
        pre_state_root: set.root(),
        state_root: [0; 32],
        timestamp_ms: 1_700_000_000_000,
        proposer: [0; 32],
    };
    let signed = SignedHeader::sign(header, &key(BELIEVABLE));
    let all: Vec<usize> = (0..txs.len()).collect();
    let findings = revalidate(
        set.utxo(),
        &txs,
        &all,
        &Verifier::new(Backend::Cpu).unwrap(),
    );
    assert_eq!(findings.len(), 1);
    let proof = set.prove_fraud(&signed, &txs, findings[0].index).unwrap();
    (proof, set)
}

#[test]
fn a_real_fraud_proof_slashes_the_believable_proposer() {
    let policy = ShardingPolicy {
        believable_league_size: 2,
        normal_league_size: 4,
        ..ShardingPolicy::default()
    };
    let mut rep = Reputation::new();
    let members: Vec<u64> = (0..7).collect();
    for &v in &members {
        rep.register(pk(v));
    }
    for _ in 0..5 {
        rep.reward(&pk(BELIEVABLE), Contribution::Sample, &policy.servi)
            .unwrap();
    }
    let (proof, mut set) = fraudulent_block();
    let tokens = token_balance(set.utxo(), &pk(BELIEVABLE));
    assert!(rep.score(&pk(BELIEVABLE), tokens, &policy.weights) > Score::ZERO);

    // A tampered proof (the header's signature no longer verifies) is refused, changing nothing.
    let mut tampered = proof.clone();
    tampered.header.signature[10] ^= 1;
    let before = rep.record(&pk(BELIEVABLE));
    assert!(matches!(rep.slash(&tampered), Err(SlashError::Invalid(_))));
    assert_eq!(rep.record(&pk(BELIEVABLE)), before);
    // A proof convicting someone who is not a validator here is refused.
    assert!(matches!(
        Reputation::new().slash(&proof),
        Err(SlashError::UnknownValidator(v)) if v == pk(BELIEVABLE)
    ));

    let slashing = rep.slash(&proof).unwrap();
    assert_eq!(slashing.validator, pk(BELIEVABLE));
    assert_eq!(
        slashing.offence,
        Offence::Fraud {
            kind: FraudKind::BadSignature
        }
    );
    assert_eq!(slashing.servi_forfeited, 5);
    let record = rep.record(&pk(BELIEVABLE)).unwrap();
    assert!(record.slashed && record.servi == 0 && record.contributions == 0);
    assert_eq!(
        rep.score(&pk(BELIEVABLE), tokens, &policy.weights),
        Score::ZERO
    );
    assert!(
        rep.reward(&pk(BELIEVABLE), Contribution::Sample, &policy.servi)
            .is_err(),
        "a slashed validator earns no more Servi"
    );
    // The same proof again is a replay.
    assert_eq!(
        rep.slash(&proof),
        Err(SlashError::AlreadyApplied(slashing.header_hash))
    );

    // Its tokens are seized for compensation.
    assert_eq!(
        seize_tokens(&mut set, &pk(BELIEVABLE), &slashing.header_hash),
        Ok(100)
    );
    assert_eq!(token_balance(set.utxo(), &pk(BELIEVABLE)), 0);
    assert_eq!(set.lock_count(), 0);

    // It is never drawn believable again.
    let vrf: Vec<SecretKey> = members
        .iter()
        .map(|&v| SecretKey::from_seed(&key(v).to_bytes()))
        .collect();
    let shard: Vec<Member> = members
        .iter()
        .zip(&vrf)
        .map(|(&v, sk)| Member {
            id: pk(v),
            vrf_key: sk.public().to_bytes(),
        })
        .collect();
    let candidates = candidates(&shard, &rep, set.utxo(), &policy.weights);
    for (c, &v) in candidates.iter().zip(&members) {
        let expected = rep.score(&pk(v), token_balance(set.utxo(), &pk(v)), &policy.weights);
        assert_eq!(c.score, expected);
    }
    assert_eq!(candidates[BELIEVABLE as usize].score, Score::ZERO);
    for epoch in 0..100u64 {
        let randomness = [epoch as u8; 32];
        let tickets: Vec<Ticket> = vrf
            .iter()
            .map(|sk| Ticket::draw(sk, epoch, 0, &randomness))
            .collect();
        let a = assign(&policy, epoch, 0, &randomness, &candidates, &tickets).unwrap();
        assert_eq!(a.mode, LeagueMode::TwoLeagues);
        assert!(!a.is_believable(&pk(BELIEVABLE)));
    }
}

#[test]
fn an_equivocating_believable_validator_is_slashed() {
    let header = |tx_root: u8, height: u64| BlockHeader {
        version: HEADER_VERSION,
        shard: 3,
        height,
        prev_hash: [1; 32],
        tx_root: [tx_root; 32],
        tx_count: 1,
        pre_state_root: [2; 32],
        state_root: [3; 32],
        timestamp_ms: 1,
        proposer: [0; 32],
    };
    let mut rep = Reputation::new();
    rep.register(pk(BELIEVABLE));
    rep.reward(
        &pk(BELIEVABLE),
        Contribution::Sample,
        &ShardingPolicy::default().servi,
    )
    .unwrap();
    let a = SignedHeader::sign(header(1, 9), &key(BELIEVABLE));
    let b = SignedHeader::sign(header(2, 9), &key(BELIEVABLE));
    let later = SignedHeader::sign(header(2, 10), &key(BELIEVABLE));
    let other = SignedHeader::sign(header(2, 9), &key(4));
    let mut forged = b.clone();
    forged.signature[3] ^= 1;
    for (x, y) in [(&a, &a), (&a, &later), (&a, &other), (&a, &forged)] {
        assert!(matches!(
            rep.slash_equivocation(x, y),
            Err(SlashError::NotEquivocation(_))
        ));
    }
    assert!(!rep.record(&pk(BELIEVABLE)).unwrap().slashed);
    let slashing = rep.slash_equivocation(&a, &b).unwrap();
    assert_eq!(slashing.offence, Offence::Equivocation);
    assert_eq!(slashing.servi_forfeited, 1);
    assert!(rep.record(&pk(BELIEVABLE)).unwrap().slashed);
    assert_eq!(
        rep.slash_equivocation(&b, &a),
        Err(SlashError::AlreadyApplied(slashing.header_hash)),
        "the same pair in either order is one offence"
    );
}
