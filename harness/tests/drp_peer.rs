//! The node-level DRP interface: every validator runs a `DrpPeer` (the leader's node also runs its
//! own server), messages go through a FIFO as JSON, and the leader's phase timer fires when the
//! network is idle.

use std::collections::VecDeque;
use std::sync::Arc;

use iosv_harness::drp::server_keys;
use iosv_harness::drp::{
    DrpPeer, DrpRoster, DrpWire, LeaderFault, PeerStep, ServerFault, ServerKeys, Session,
    SessionParams,
};

struct Run {
    peers: Vec<DrpPeer>,
    outputs: Vec<Option<[u8; 32]>>,
    rejects: Vec<String>,
}

fn run(n: u32, leader: u32, faulty: Option<(u32, ServerFault)>) -> Run {
    let keys: Vec<ServerKeys> = (0..n).map(|i| server_keys(77, i)).collect();
    let roster = DrpRoster::new(keys.iter().map(ServerKeys::member_info).collect()).unwrap();
    let params = SessionParams {
        epoch: 5,
        previous: [3; 32],
        group_size: 4,
    };
    let session = Arc::new(Session::new(params, roster).unwrap());
    let mut queue: VecDeque<(u32, u32, String)> = VecDeque::new();
    let mut timer: Option<u64> = None;
    let mut outputs = vec![None; n as usize];
    let mut rejects = Vec::new();
    let mut absorb = |me: u32,
                      step: PeerStep,
                      queue: &mut VecDeque<(u32, u32, String)>,
                      timer: &mut Option<u64>| {
        for (to, wire) in step.sends {
            queue.push_back((me, to, serde_json::to_string(&wire).unwrap()));
        }
        if step.timer.is_some() {
            *timer = step.timer;
        }
        if let Some(o) = step.output {
            assert!(
                outputs[me as usize].replace(o).is_none(),
                "output reported twice"
            );
        }
        rejects.extend(step.rejects);
    };
    let mut peers = Vec::new();
    for (i, k) in keys.into_iter().enumerate() {
        let i = i as u32;
        let fault = match faulty {
            Some((f, fault)) if f == i => fault,
            _ => ServerFault::Honest,
        };
        let seed = [i as u8 + 1; 32];
        let (peer, step) = DrpPeer::begin_with_faults(
            session.clone(),
            i,
            leader,
            k,
            seed,
            fault,
            LeaderFault::Honest,
        )
        .unwrap();
        absorb(i, step, &mut queue, &mut timer);
        peers.push(peer);
    }
    for _ in 0..10 {
        while let Some((from, to, json)) = queue.pop_front() {
            let wire: DrpWire = serde_json::from_str(&json).unwrap();
            let step = peers[to as usize].on_message(from, wire);
            absorb(to, step, &mut queue, &mut timer);
        }
        match timer.take() {
            Some(tag) => {
                let step = peers[leader as usize].on_timer(tag);
                absorb(leader, step, &mut queue, &mut timer);
            }
            None => break,
        }
    }
    Run {
        peers,
        outputs,
        rejects,
    }
}

#[test]
fn every_peer_reports_the_same_verified_output() {
    let r = run(9, 3, None);
    let leader = r.peers[3].leader().unwrap();
    let output = *leader.result().unwrap().as_ref().unwrap();
    assert_eq!(leader.transcript().unwrap().verify(), Ok(output));
    assert!(
        r.outputs.iter().all(|o| *o == Some(output)),
        "{:?}",
        r.outputs
    );
    assert!(r.rejects.is_empty(), "{:?}", r.rejects);
    assert!(
        r.peers
            .iter()
            .enumerate()
            .all(|(i, p)| (i == 3) == p.leader().is_some())
    );
}

#[test]
fn faults_show_up_as_rejects_and_the_rest_agree() {
    let r = run(9, 0, Some((5, ServerFault::ForgedDealingProof)));
    let leader = r.peers[0].leader().unwrap();
    let output = *leader.result().unwrap().as_ref().unwrap();
    assert!(
        r.rejects.iter().any(|m| m == "drp_excluded_dealing"),
        "{:?}",
        r.rejects
    );
    assert!(r.outputs.iter().all(|o| *o == Some(output)));

    // A withholding server: the leader's timers carry the session on without it.
    let r = run(9, 0, Some((7, ServerFault::Withhold)));
    assert_eq!(r.outputs.iter().filter(|o| o.is_some()).count(), 8);
    assert!(r.outputs[7].is_none());
}
