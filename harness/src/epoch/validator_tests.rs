//! The validator driven by hand, without a simulator: what it sends, sets and reports for each
//! input, and the lottery checks the simulations do not reach (unknown nodes, impersonation,
//! lotteries from excluded validators, the early-lottery buffer).

use std::sync::Arc;

use super::announce::{Placeholder, SignedAnnouncement};
use super::lottery::Lottery;
use super::message::{Message, Output, Timer};
use super::roster::{self, ValidatorKeys};
use super::validator::{Behavior, EpochParams, Validator};
use crate::node::{Dest, Effects, Node, NodeId};

const N: u32 = 4;
const DELTA: u64 = 1_000;
const PARAMS: EpochParams = EpochParams {
    delta: DELTA,
    epoch_len: 20 * DELTA,
    max_views: 3,
};

type Fx = Effects<Message<Placeholder>, Timer, Output>;

fn node(me: NodeId) -> (Validator<SignedAnnouncement>, Vec<ValidatorKeys>) {
    let (keys, roster) = roster::generate(9, N);
    let v = Validator::new(
        me,
        keys[me as usize].clone(),
        Arc::new(roster),
        PARAMS,
        Behavior::Honest,
        SignedAnnouncement::new(keys[me as usize].sig.clone()),
    );
    (v, keys)
}

fn lottery(keys: &[ValidatorKeys], node: NodeId, epoch: u64, view: u32) -> Message<Placeholder> {
    Message::Lottery(Lottery::draw(&keys[node as usize].vrf, node, epoch, view).0)
}

fn rejects(fx: &Fx) -> Vec<&'static str> {
    fx.outputs
        .iter()
        .filter_map(|o| match o {
            Output::LotteryRejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

#[test]
fn start_draws_and_sends_the_lottery_and_sets_the_close() {
    let (mut v, _) = node(0);
    let mut fx = Fx::default();
    v.on_start(0, &mut fx);
    assert_eq!(fx.timers, vec![(0, Timer::EpochStart { epoch: 0 })]);
    let mut fx = Fx::default();
    v.on_timer(0, Timer::EpochStart { epoch: 0 }, &mut fx);
    assert!(
        fx.timers
            .contains(&(DELTA, Timer::LotteryClose { epoch: 0, view: 0 }))
    );
    assert!(
        fx.timers
            .contains(&(PARAMS.epoch_len, Timer::EpochStart { epoch: 1 }))
    );
    assert!(matches!(
        &fx.sends[..],
        [(Dest::AllOthers, Message::Lottery(l))] if l.node == 0 && l.epoch == 0 && l.view == 0
    ));
    // A restart mid-epoch waits for the next epoch.
    let mut fx = Fx::default();
    v.restart().on_start(PARAMS.epoch_len / 2, &mut fx);
    assert_eq!(
        fx.timers,
        vec![(PARAMS.epoch_len / 2, Timer::EpochStart { epoch: 1 })]
    );
}

#[test]
fn lottery_checks() {
    let (mut v, keys) = node(0);
    v.on_start(0, &mut Fx::default());
    // Before the first epoch starts: its view-0 lottery is kept for it, any other refused.
    let mut fx = Fx::default();
    v.on_message(0, 1, lottery(&keys, 1, 5, 0), &mut fx);
    v.on_message(0, 1, lottery(&keys, 1, 0, 0), &mut fx);
    assert_eq!(rejects(&fx), vec!["no_epoch"]);
    v.on_timer(0, Timer::EpochStart { epoch: 0 }, &mut Fx::default());

    let mut fx = Fx::default();
    v.on_message(1, 2, lottery(&keys, 1, 0, 0), &mut fx); // node 2 sends node 1's lottery
    v.on_message(
        1,
        99,
        Message::Lottery(Lottery {
            node: 99,
            ..lottery_of(&keys, 1)
        }),
        &mut fx,
    );
    v.on_message(1, 1, lottery(&keys, 1, 0, 0), &mut fx); // already counted from the buffer
    v.on_message(1, 1, lottery(&keys, 1, 0, 5), &mut fx);
    v.on_message(1, 1, lottery(&keys, 1, 3, 0), &mut fx);
    assert_eq!(
        rejects(&fx),
        vec![
            "sender_mismatch",
            "unknown_node",
            "duplicate",
            "wrong_view",
            "wrong_epoch"
        ]
    );
    // Early lotteries for the next view are kept, one per node, and only in their owner's name.
    let mut fx = Fx::default();
    v.on_message(1, 2, lottery(&keys, 2, 0, 1), &mut fx);
    v.on_message(1, 2, lottery(&keys, 2, 0, 1), &mut fx);
    v.on_message(1, 2, lottery(&keys, 3, 0, 1), &mut fx);
    assert_eq!(rejects(&fx), vec!["duplicate", "sender_mismatch"]);

    v.on_message(2, 2, lottery(&keys, 2, 0, 0), &mut Fx::default());
    let mut fx = Fx::default();
    v.on_timer(DELTA, Timer::LotteryClose { epoch: 0, view: 0 }, &mut fx);
    assert!(fx.outputs.iter().any(|o| matches!(
        o,
        Output::Ranked {
            lotteries: 3,
            quorum: true,
            ..
        }
    )));
    let mut fx = Fx::default();
    v.on_message(DELTA + 1, 3, lottery(&keys, 3, 0, 0), &mut fx);
    assert_eq!(rejects(&fx), vec!["late"]);
}

fn lottery_of(keys: &[ValidatorKeys], node: NodeId) -> Lottery {
    Lottery::draw(&keys[node as usize].vrf, node, 0, 0).0
}

#[test]
fn excluded_candidates_lose_their_lotteries_for_the_epoch() {
    let (mut v, keys) = node(0);
    v.on_timer(0, Timer::EpochStart { epoch: 0 }, &mut Fx::default());
    for n in 1..N {
        v.on_message(1, n, lottery(&keys, n, 0, 0), &mut Fx::default());
    }
    let mut fx = Fx::default();
    v.on_timer(DELTA, Timer::LotteryClose { epoch: 0, view: 0 }, &mut fx);
    let candidates = fx
        .outputs
        .iter()
        .find_map(|o| match o {
            Output::Ranked { candidates, .. } => Some(candidates.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(candidates.len(), 3);
    // Nobody delivers: each candidate's window ends, then the view.
    let mut excluded = Vec::new();
    let mut next_view = false;
    for rank in 0..3u8 {
        let mut fx = Fx::default();
        let now = DELTA * (2 + u64::from(rank));
        v.on_timer(
            now,
            Timer::CandidateDeadline {
                epoch: 0,
                view: 0,
                rank,
            },
            &mut fx,
        );
        for o in &fx.outputs {
            match o {
                Output::LeaderExcluded { leader, .. } => excluded.push(leader.to_owned()),
                Output::ViewFailed { view: 0, .. } => next_view = true,
                _ => {}
            }
        }
    }
    assert_eq!(excluded, candidates);
    assert!(next_view);
    // In view 1 an excluded validator's lottery is refused; if node 0 itself was excluded it
    // does not draw.
    let mut fx = Fx::default();
    for &c in candidates.iter().filter(|&&c| c != 0) {
        v.on_message(4 * DELTA + 1, c, lottery(&keys, c, 0, 1), &mut fx);
    }
    assert!(rejects(&fx).iter().all(|&r| r == "excluded"));
    assert_eq!(
        rejects(&fx).len(),
        candidates.iter().filter(|&&c| c != 0).count()
    );
}
