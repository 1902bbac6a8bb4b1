//! The validators as nodes on their league's simulator: what a producer keeps, what auditors
//! find, who answers under crashes and loss, and an equivocating producer's two headers.

use iosv_engine::tx::{BlockHeader, HEADER_VERSION};

use super::*;
use crate::demo::DemoConfig;
use crate::demo::workload::generate;
use crate::sim::network::LinkModel;

const RELIABLE: LinkModel = LinkModel {
    latency: 1,
    jitter: 0,
    loss: 0.0,
    duplicate: 0.0,
};

/// Signed transactions of a small demo load, some of them forged.
fn pending() -> Vec<Pending> {
    let cfg = DemoConfig {
        shards: 1,
        rate: 2_000.0,
        duration_s: 0.2,
        warmup_s: 0.0,
        cross_shard_fraction: 0.0,
        invalid_fraction: 0.1,
        accounts_per_shard: 400,
        ..DemoConfig::default()
    };
    let load = generate(&cfg, &|_| {});
    let items: Vec<Pending> = load.arrivals.into_iter().map(Pending::from).collect();
    assert!(items.iter().any(|p| p.kind == Kind::Invalid));
    assert!(items.iter().any(|p| p.kind != Kind::Invalid));
    items
}

/// Validator 0 produces (with `misbehaviour`); 1 to 4 audit with probability `p`.
fn league(misbehaviour: Misbehaviour, p: f64, link: LinkModel) -> LeagueNet {
    let verifier = Verifier::new(iosv_engine::sig::Backend::Cpu).expect("CPU verifier");
    let validators = (0..5)
        .map(|i| {
            let m = if i == 0 {
                misbehaviour
            } else {
                Misbehaviour::default()
            };
            Validator::new(i, [i as u8 + 1; 32], verifier.clone(), p, m)
        })
        .collect();
    LeagueNet::new(validators, link, 9)
}

fn header(height: u64, tx_count: usize) -> BlockHeader {
    BlockHeader {
        version: HEADER_VERSION,
        shard: 0,
        height,
        prev_hash: [0; 32],
        tx_root: [1; 32],
        tx_count: tx_count as u32,
        pre_state_root: [2; 32],
        state_root: [3; 32],
        timestamp_ms: 0,
        proposer: [0; 32],
    }
}

const AUDITORS: [usize; 4] = [1, 2, 3, 4];

/// Submits `items` to the producer and cuts one block of everything.
fn cut_all(net: &mut LeagueNet, items: Vec<Pending>) -> Cut {
    let n = items.len();
    net.submit(0, items);
    assert_eq!(net.mempool_len(0), n);
    let mut cuts = net.cut(&[0, 3], n);
    assert_eq!(cuts.len(), 1, "only the producer had transactions");
    assert_eq!(net.queued(), 0);
    cuts.pop().expect("one cut").1
}

#[test]
fn an_honest_producer_drops_forgeries_and_every_auditor_answers_clean() {
    let items = pending();
    let mut net = league(Misbehaviour::default(), 0.2, RELIABLE);
    let cut = cut_all(&mut net, items);
    for (kind, keep) in cut.batch.kinds.iter().zip(&cut.keep) {
        assert_eq!(*keep, *kind != Kind::Invalid);
    }
    let mut batch = cut.batch;
    batch.retain(&cut.keep);
    let n = batch.len();
    let proposal = net
        .propose(0, header(0, n), batch, &AUDITORS, false)
        .unwrap_or_else(|_| panic!("the producer is up"));
    assert!(proposal.signed.verify());
    assert_eq!(proposal.body.len(), n, "the block comes back whole");
    let by: Vec<NodeId> = proposal.verdicts.iter().map(|v| v.by).collect();
    assert_eq!(by, vec![1, 2, 3, 4]);
    assert!(proposal.verdicts.iter().all(|v| v.found.is_empty()));
    assert!(
        proposal
            .verdicts
            .iter()
            .all(|v| v.signed == proposal.signed)
    );
    // Each draws its own sample from its own VRF key.
    let sampled: Vec<u64> = proposal.verdicts.iter().map(|v| v.sampled_txs).collect();
    assert!(
        sampled.iter().all(|&s| s > 0 && s < n as u64),
        "{sampled:?}"
    );
    assert!(sampled.windows(2).any(|w| w[0] != w[1]), "{sampled:?}");
}

#[test]
fn a_smuggling_producers_forgeries_are_found_by_a_full_audit() {
    let items = pending();
    let smuggler = Misbehaviour {
        smuggles: true,
        equivocates_at: None,
    };
    let mut net = league(smuggler, 0.2, RELIABLE);
    let cut = cut_all(&mut net, items);
    assert!(cut.keep.iter().all(|k| *k), "it lets everything through");
    let forged: Vec<usize> = (0..cut.batch.len())
        .filter(|&i| cut.batch.kinds[i] == Kind::Invalid)
        .collect();
    let n = cut.batch.len();
    let proposal = net
        .propose(0, header(0, n), cut.batch, &AUDITORS, true)
        .unwrap_or_else(|_| panic!("the producer is up"));
    assert_eq!(proposal.verdicts.len(), 4);
    for verdict in &proposal.verdicts {
        assert_eq!(verdict.sampled_txs, n as u64);
        assert_eq!(verdict.found, forged);
    }
}

#[test]
fn crashed_and_cut_off_auditors_give_no_verdict_and_the_block_comes_back() {
    let items = pending();
    let mut net = league(Misbehaviour::default(), 0.2, RELIABLE);
    net.crash(2);
    let cut = cut_all(&mut net, items.clone());
    let proposal = net
        .propose(0, header(0, cut.batch.len()), cut.batch, &AUDITORS, false)
        .unwrap_or_else(|_| panic!("the producer is up"));
    let by: Vec<NodeId> = proposal.verdicts.iter().map(|v| v.by).collect();
    assert_eq!(by, vec![1, 3, 4], "the crashed auditor answers nothing");
    net.restart(2);
    let cut = cut_all(&mut net, items.clone());
    let proposal = net
        .propose(0, header(1, cut.batch.len()), cut.batch, &AUDITORS, false)
        .unwrap_or_else(|_| panic!("the producer is up"));
    assert_eq!(proposal.verdicts.len(), 4, "back after its restart");

    let lossy = LinkModel {
        loss: 1.0,
        ..RELIABLE
    };
    let mut net = league(Misbehaviour::default(), 0.2, lossy);
    let cut = cut_all(&mut net, items.clone());
    let n = cut.batch.len();
    let proposal = net
        .propose(0, header(0, n), cut.batch, &AUDITORS, false)
        .unwrap_or_else(|_| panic!("the producer is up"));
    assert!(proposal.verdicts.is_empty(), "every block was lost");
    assert_eq!(proposal.body.len(), n);

    // A crashed producer keeps its mempool and proposes nothing.
    let mut net = league(Misbehaviour::default(), 0.2, RELIABLE);
    net.submit(0, items.clone());
    net.crash(0);
    assert!(net.cut(&[0], items.len()).is_empty());
    assert_eq!(net.mempool_len(0), items.len());
    net.restart(0);
    assert_eq!(net.drain(0).len(), items.len());
    assert_eq!(net.queued(), 0);
}

#[test]
fn an_equivocating_producer_shows_its_auditors_two_headers() {
    let items = pending();
    let equivocator = Misbehaviour {
        smuggles: false,
        equivocates_at: Some(1),
    };
    let mut net = league(equivocator, 0.2, RELIABLE);
    for height in 0..2 {
        let cut = cut_all(&mut net, items[..50].to_vec());
        let proposal = net
            .propose(0, header(height, 50), cut.batch, &AUDITORS, false)
            .unwrap_or_else(|_| panic!("the producer is up"));
        let mut seen: Vec<&SignedHeader> = proposal.verdicts.iter().map(|v| &v.signed).collect();
        seen.dedup();
        if height == 0 {
            assert_eq!(seen, vec![&proposal.signed], "its first block is honest");
        } else {
            let twins: Vec<_> = proposal
                .verdicts
                .iter()
                .filter(|v| v.signed != proposal.signed)
                .collect();
            assert_eq!(twins.len(), 2, "the odd-numbered auditors hold the twin");
            assert!(twins.iter().all(|v| v.signed.verify()));
            assert!(twins.iter().all(|v| v.signed.header.height == 1));
        }
    }
}
