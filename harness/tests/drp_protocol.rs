//! DRP sessions end to end on the in-memory driver: honest runs of several shapes, and each fault
//! of the issue (bad encrypted share, forged DLEQ proofs in dealing and decryption, a leader
//! equivocating on the choice), plus withheld and tampered messages.

use iosv_harness::drp::{
    DealingFault, Dest, DrpFailure, DrpMsg, ExclusionReason, LeaderFault, LeaderPhase, Refusal,
    ServerFault, ServerPhase, SessionParams,
};
use iosv_harness::sim::drp_net::{DrpNet as Network, Envelope};

fn params(epoch: u64, group_size: u32) -> SessionParams {
    SessionParams {
        epoch,
        previous: [epoch as u8; 32],
        group_size,
    }
}

/// Runs a session; returns the leader's output, asserting every finished server agrees with it
/// and the transcript verifies to it.
fn run_ok(network: &mut Network) -> [u8; 32] {
    network.run();
    let output = match network.leader().result() {
        Some(Ok(o)) => *o,
        other => panic!("session did not succeed: {other:?}"),
    };
    let transcript = network.leader().transcript().expect("transcript");
    assert_eq!(transcript.verify(), Ok(output));
    for server in network.servers() {
        if let Some(o) = server.output() {
            assert_eq!(*o, output, "server {} disagrees", server.index());
        }
    }
    output
}

#[test]
fn honest_sessions_agree_and_verify() {
    for (n, group_size) in [(1, 4), (4, 4), (7, 3), (10, 4), (16, 5)] {
        let mut network = Network::new(n, params(3, group_size), 42).unwrap();
        let output = run_ok(&mut network);
        assert!(network.leader().exclusions().is_empty());
        assert_eq!(network.server_outputs().len(), n as usize, "n = {n}");
        let transcript = network.leader().transcript().unwrap();
        let chosen: usize = transcript.groups.iter().map(|g| g.threshold as usize).sum();
        assert_eq!(transcript.dealings.len(), chosen);

        // Same seed, same output and byte-identical transcript; another epoch, another output.
        let mut again = Network::new(n, params(3, group_size), 42).unwrap();
        assert_eq!(run_ok(&mut again), output);
        assert_eq!(
            serde_json::to_string(again.leader().transcript().unwrap()).unwrap(),
            serde_json::to_string(transcript).unwrap()
        );
        let mut next = Network::new(n, params(4, group_size), 42).unwrap();
        assert_ne!(run_ok(&mut next), output);
    }
}

#[test]
fn output_does_not_depend_on_the_key_seed_alone() {
    // Different servers' randomness (seed) under the same parameters: different secrets.
    let a = run_ok(&mut Network::new(8, params(1, 4), 1).unwrap());
    let b = run_ok(&mut Network::new(8, params(1, 4), 2).unwrap());
    assert_ne!(a, b);
}

fn dealing_fault_is_excluded(fault: ServerFault) {
    let faulty = 1;
    let mut network = Network::new(8, params(5, 4), 7).unwrap();
    network.server_fault(faulty, fault);
    run_ok(&mut network);
    let exclusions = network.leader().exclusions();
    assert_eq!(exclusions.len(), 1, "{exclusions:?}");
    assert_eq!(exclusions[0].server, faulty);
    assert!(matches!(
        &exclusions[0].reason,
        ExclusionReason::Dealing(DealingFault::InvalidEncryptedShares { indices }) if indices.len() == 1
    ));
    let transcript = network.leader().transcript().unwrap();
    assert!(transcript.dealings.iter().all(|d| d.dealer != faulty));
    assert_eq!(network.server_outputs().len(), 8);
}

#[test]
fn bad_encrypted_share_is_excluded() {
    dealing_fault_is_excluded(ServerFault::BadEncryptedShare);
}

#[test]
fn forged_dealing_proof_is_excluded() {
    dealing_fault_is_excluded(ServerFault::ForgedDealingProof);
}

#[test]
fn forged_decryption_proof_is_excluded() {
    // Server 0's shares reach the leader first, so they are checked before the leader has enough.
    let mut network = Network::new(8, params(6, 4), 9).unwrap();
    network.server_fault(0, ServerFault::ForgedDecryptionProof);
    run_ok(&mut network);
    let exclusions = network.leader().exclusions();
    assert!(!exclusions.is_empty());
    for e in exclusions {
        assert_eq!(e.server, 0);
        assert!(
            matches!(&e.reason, ExclusionReason::DecryptedShare { detail, .. } if detail.contains("invalid")),
            "{e:?}"
        );
    }
    let transcript = network.leader().transcript().unwrap();
    let (group, position) = network.session.placement(0).unwrap();
    for (dealing, secret) in transcript.dealings.iter().zip(&transcript.secrets) {
        if network.session.placement(dealing.dealer).unwrap().0 == group {
            assert!(secret.shares.iter().all(|s| s.index != position + 1));
        }
    }
}

#[test]
fn too_many_bad_dealings_in_a_group_abort() {
    // One group of 4 (t = 2): three bad dealers leave one valid dealing.
    let mut network = Network::new(4, params(2, 4), 3).unwrap();
    for s in 0..3 {
        network.server_fault(s, ServerFault::BadEncryptedShare);
    }
    network.run();
    assert_eq!(
        network.leader().result(),
        Some(&Err(DrpFailure::NotEnoughDealings {
            group: 0,
            valid: 1,
            needed: 2
        }))
    );
    assert!(network.server_outputs().is_empty());
}

/// Who signed the transcript's choice (the CoSi mask after `V ‖ r`).
fn signers(network: &Network) -> Vec<u32> {
    let sig = &network.leader().transcript().unwrap().choice_signature;
    let mask = &sig[64..];
    (0..network.servers().count() as u32)
        .filter(|&i| mask[i as usize / 8] >> (i % 8) & 1 == 1)
        .collect()
}

#[test]
fn leader_equivocating_to_half_the_servers_gets_no_signature() {
    let shown_other = vec![0, 1, 2, 3];
    let mut network = Network::new(8, params(8, 4), 11).unwrap();
    network.leader_fault(LeaderFault::EquivocateChoice {
        servers: shown_other.clone(),
    });
    network.run();
    assert_eq!(network.leader().phase(), LeaderPhase::Failed);
    assert_eq!(
        network.leader().result(),
        Some(&Err(DrpFailure::ChoiceRefused {
            servers: shown_other.clone()
        }))
    );
    assert!(network.leader().transcript().is_none());
    for server in network.servers() {
        // Nobody decrypted anything, nobody has an output.
        assert!(server.output().is_none());
        assert_ne!(server.phase(), ServerPhase::Decrypted);
        if shown_other.contains(&server.index()) {
            assert!(
                matches!(server.evidence(), [Refusal::BadChallenge(_)]),
                "{:?}",
                server.evidence()
            );
        }
    }
}

#[test]
fn leader_equivocating_to_a_minority_only_gets_the_majority_choice_signed() {
    // Server 5 sees another choice and refuses the challenge; the 7 others sign the one choice
    // they all verified, in a second attempt without server 5.
    let mut network = Network::new(8, params(8, 4), 11).unwrap();
    network.leader_fault(LeaderFault::EquivocateChoice { servers: vec![5] });
    let output = run_ok(&mut network);
    assert!(matches!(
        network.server(5).unwrap().evidence(),
        [Refusal::BadChallenge(_)]
    ));
    assert!(network.server(5).unwrap().output().is_none());
    assert_eq!(signers(&network), vec![0, 1, 2, 3, 4, 6, 7]);
    assert_eq!(network.server_outputs().len(), 7);
    assert!(network.server_outputs().iter().all(|(_, o)| *o == output));
}

#[test]
fn a_second_different_choice_is_refused_as_equivocation() {
    let mut network = Network::new(8, params(9, 4), 12).unwrap();
    // Server 2 receives the real choice, then another valid one (group 0's dealings reversed).
    network.set_hook(Box::new(|e: Envelope| {
        if let (Dest::Server(2), DrpMsg::Choice { choice, dealings }) = (&e.to, &e.msg) {
            let mut choice = choice.clone();
            let mut dealings = dealings.clone();
            choice.groups[0].dealers.reverse();
            choice.groups[0].dealing_hashes.reverse();
            let t = choice.groups[0].dealers.len();
            dealings[..t].reverse();
            let forged = Envelope {
                msg: DrpMsg::Choice { choice, dealings },
                ..e.clone()
            };
            return vec![e, forged];
        }
        vec![e]
    }));
    run_ok(&mut network);
    let server = network.server(2).unwrap();
    assert!(server.output().is_none());
    assert!(
        matches!(server.evidence(), [Refusal::ConflictingChoice { first, got }] if first != got),
        "{:?}",
        server.evidence()
    );
    // Server 2 withdrew before the challenge; the others signed without it.
    assert_eq!(signers(&network), vec![0, 1, 3, 4, 5, 6, 7]);
}

#[test]
fn a_signer_lost_after_committing_is_dropped_in_a_second_attempt() {
    // Server 4's first response never arrives: the leader times out and retries without it.
    let mut network = Network::new(8, params(16, 4), 19).unwrap();
    network.set_hook(Box::new(|e: Envelope| match (&e.from, &e.msg) {
        (Dest::Server(4), DrpMsg::Response { attempt: 0, .. }) => vec![],
        _ => vec![e],
    }));
    run_ok(&mut network);
    assert_eq!(signers(&network), vec![0, 1, 2, 3, 5, 6, 7]);
    // Server 4 still decrypts and checks the output: it holds the signed choice.
    assert_eq!(network.server_outputs().len(), 8);
}

#[test]
fn a_server_that_missed_the_choice_still_gets_the_output() {
    // Server 6 loses the first choice and server 1's first response is lost too: the retry skips
    // server 6 (it has nothing to co-sign), and with the decrypt request the leader sends the
    // choice again to servers that never committed, so server 6 still decrypts and checks.
    let mut network = Network::new(8, params(18, 4), 21).unwrap();
    let mut lost = false;
    network.set_hook(Box::new(move |e: Envelope| {
        match (&e.from, &e.to, &e.msg) {
            (_, Dest::Server(6), DrpMsg::Choice { .. }) if !lost => {
                lost = true;
                vec![]
            }
            (Dest::Server(1), _, DrpMsg::Response { attempt: 0, .. }) => vec![],
            _ => vec![e],
        }
    }));
    run_ok(&mut network);
    assert!(network.server(6).unwrap().evidence().is_empty());
    assert_eq!(signers(&network), vec![0, 2, 3, 4, 5, 7]);
    assert_eq!(network.server_outputs().len(), 8);
}

#[test]
fn reordered_decrypt_and_reveal_are_buffered() {
    // Server 3 gets the decrypt request before the choice; server 5 gets the reveal before the
    // decrypt request. Both buffer what came early and end with the output.
    let mut network = Network::new(8, params(19, 4), 22).unwrap();
    let mut choice_for_3: Option<Envelope> = None;
    let mut resent = false;
    let mut decrypt_for_5: Option<Envelope> = None;
    network.set_hook(Box::new(move |e: Envelope| match (&e.to, &e.msg) {
        (Dest::Server(3), DrpMsg::Choice { .. }) if choice_for_3.is_none() && !resent => {
            choice_for_3 = Some(e);
            vec![]
        }
        (Dest::Server(3), DrpMsg::Choice { .. }) => {
            resent = true;
            vec![]
        }
        (Dest::Server(3), DrpMsg::Decrypt { .. }) => {
            let choice = choice_for_3.take().expect("the choice was held");
            vec![e, choice]
        }
        (Dest::Server(5), DrpMsg::Decrypt { .. }) => {
            decrypt_for_5 = Some(e);
            vec![]
        }
        (Dest::Server(5), DrpMsg::Reveal { .. }) => {
            let decrypt = decrypt_for_5.take().expect("the decrypt request was held");
            vec![e, decrypt]
        }
        _ => vec![e],
    }));
    run_ok(&mut network);
    for s in [3, 5] {
        assert!(network.server(s).unwrap().evidence().is_empty(), "{s}");
        assert!(network.server(s).unwrap().output().is_some(), "{s}");
    }
    assert_eq!(network.server_outputs().len(), 8);
}

#[test]
fn too_many_lost_signers_fail_after_the_last_attempt() {
    // Every response is lost: the first attempt drops everyone, and the policy cannot be met.
    let mut network = Network::new(8, params(17, 4), 20).unwrap();
    network.set_hook(Box::new(|e: Envelope| match e.msg {
        DrpMsg::Response { .. } => vec![],
        _ => vec![e],
    }));
    network.run();
    assert!(matches!(
        network.leader().result(),
        Some(Err(DrpFailure::ResponsesMissing { servers })) if servers.len() == 8
    ));
    assert!(network.server_outputs().is_empty());
}

#[test]
fn a_dealing_forged_by_the_leader_is_refused_by_every_server() {
    // The leader swaps two encrypted shares of a chosen dealing and rehashes the choice to match:
    // the dealer's signature no longer covers it, and every server refuses to co-sign.
    let mut network = Network::new(8, params(15, 4), 18).unwrap();
    network.set_hook(Box::new(|mut e: Envelope| {
        if let DrpMsg::Choice { choice, dealings } = &mut e.msg {
            let d = &mut dealings[0];
            d.deal.encrypted_shares.swap(0, 1);
            choice.groups[0].dealing_hashes[0] = d.digest(&choice.session);
        }
        vec![e]
    }));
    network.run();
    assert!(matches!(
        network.leader().result(),
        Some(Err(DrpFailure::NotEnoughCommitments { got: 0, .. }))
    ));
    for server in network.servers() {
        assert!(
            matches!(
                server.evidence(),
                [Refusal::BadDealing {
                    fault: DealingFault::BadSignature,
                    ..
                }]
            ),
            "{:?}",
            server.evidence()
        );
    }
}

#[test]
fn withholding_servers_are_survived_by_timeouts() {
    // 10 servers, ByzCoin needs 7 signers; two withhold everything.
    let mut network = Network::new(10, params(10, 5), 13).unwrap();
    network.server_fault(3, ServerFault::Withhold);
    network.server_fault(7, ServerFault::Withhold);
    run_ok(&mut network);
    assert_eq!(network.server_outputs().len(), 8);
}

#[test]
fn too_few_signers_abort() {
    // 4 servers need 3 signers (f = 1); two withhold.
    let mut network = Network::new(4, params(11, 4), 14).unwrap();
    network.server_fault(0, ServerFault::Withhold);
    network.server_fault(1, ServerFault::Withhold);
    network.run();
    assert!(matches!(
        network.leader().result(),
        Some(Err(DrpFailure::NotEnoughCommitments { got: 2, needed: 3 }))
    ));
}

#[test]
fn tampered_reveal_is_refused_by_the_server() {
    // Server 3 hears no other server's shares, so it depends on the leader's reveal, which is
    // tampered on its way: it refuses it and has no output.
    let mut network = Network::new(8, params(12, 4), 15).unwrap();
    network.set_hook(Box::new(|mut e: Envelope| {
        match (&e.from, &e.to, &mut e.msg) {
            (Dest::Server(_), Dest::Server(3), DrpMsg::Shares { .. }) => return vec![],
            (_, Dest::Server(3), DrpMsg::Reveal { secrets }) => {
                let other = secrets[1].recovered;
                secrets[0].recovered = other;
            }
            _ => {}
        }
        vec![e]
    }));
    let output = run_ok(&mut network);
    assert!(network.server(3).unwrap().output().is_none());
    assert!(matches!(
        network.server(3).unwrap().evidence(),
        [Refusal::BadReveal(_)]
    ));
    assert_eq!(network.server_outputs().len(), 7);
    assert!(network.server_outputs().iter().all(|(_, o)| *o == output));
}

#[test]
fn a_leader_withholding_the_reveal_cannot_keep_the_output() {
    // The leader never reveals: servers recover every chosen secret from each other's shares.
    let mut network = Network::new(8, params(20, 4), 23).unwrap();
    network.set_hook(Box::new(|e: Envelope| match e.msg {
        DrpMsg::Reveal { .. } => vec![],
        _ => vec![e],
    }));
    let output = run_ok(&mut network);
    assert_eq!(network.server_outputs().len(), 8);
    assert!(network.server_outputs().iter().all(|(_, o)| *o == output));
}

#[test]
fn forged_shares_between_servers_are_dropped() {
    // Server 0 sends forged decrypted shares to everyone; no server is misled, all agree.
    let mut network = Network::new(8, params(21, 4), 24).unwrap();
    network.server_fault(0, ServerFault::ForgedDecryptionProof);
    network.set_hook(Box::new(|e: Envelope| match e.msg {
        DrpMsg::Reveal { .. } => vec![],
        _ => vec![e],
    }));
    let output = run_ok(&mut network);
    assert_eq!(network.server_outputs().len(), 8);
    assert!(network.server_outputs().iter().all(|(_, o)| *o == output));
}

#[test]
fn dropped_decrypt_request_still_gives_an_output() {
    // Server 0 never hears the decrypt request; the others' shares suffice.
    let mut network = Network::new(8, params(13, 4), 16).unwrap();
    network.set_hook(Box::new(|e: Envelope| match (&e.to, &e.msg) {
        (Dest::Server(0), DrpMsg::Decrypt { .. }) => vec![],
        _ => vec![e],
    }));
    run_ok(&mut network);
    assert!(network.server(0).unwrap().output().is_none());
    assert_eq!(network.server_outputs().len(), 7);
}

#[test]
fn messages_round_trip_through_json() {
    let mut network = Network::new(5, params(14, 5), 17).unwrap();
    network.set_hook(Box::new(|e: Envelope| {
        let json = serde_json::to_string(&e).unwrap();
        vec![serde_json::from_str(&json).unwrap()]
    }));
    run_ok(&mut network);
}
