//! The placeholder protocol, driven by hand: the honest flow, and every forged or misdirected
//! message rejected.

use std::collections::BTreeMap;

use super::announce::{Placeholder, SignedAnnouncement, value_for};
use super::lottery::{Lottery, ValidLottery};
use super::randomness::{RandomnessEffects, RandomnessProtocol, Round, RoundContext};
use super::roster::{self, Roster, ValidatorKeys};
use crate::node::{Dest, NodeId};

const N: u32 = 4;
const ROUND: Round = Round {
    epoch: 2,
    view: 0,
    rank: 0,
    leader: 0,
};

struct Setup {
    keys: Vec<ValidatorKeys>,
    roster: Roster,
    lotteries: BTreeMap<NodeId, ValidLottery>,
}

fn setup() -> Setup {
    let (keys, roster) = roster::generate(5, N);
    let lotteries = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (i as NodeId, Lottery::draw(&k.vrf, i as NodeId, 2, 0).1))
        .collect();
    Setup {
        keys,
        roster,
        lotteries,
    }
}

fn ctx<'a>(s: &'a Setup, me: NodeId) -> RoundContext<'a> {
    RoundContext {
        round: ROUND,
        me,
        now: 0,
        deadline: 100,
        roster: &s.roster,
        lotteries: &s.lotteries,
        previous: None,
    }
}

fn begin(s: &Setup, me: NodeId) -> (SignedAnnouncement, RandomnessEffects<Placeholder>) {
    let mut p = SignedAnnouncement::new(s.keys[me as usize].sig.clone());
    let mut fx = RandomnessEffects::default();
    p.begin(&ctx(s, me), &mut fx);
    (p, fx)
}

fn deliver(
    s: &Setup,
    p: &mut SignedAnnouncement,
    me: NodeId,
    from: NodeId,
    msg: Placeholder,
) -> RandomnessEffects<Placeholder> {
    let mut fx = RandomnessEffects::default();
    p.on_message(&ctx(s, me), from, msg, &mut fx);
    fx
}

/// Runs the honest flow and returns the leader's certificate.
fn certificate(s: &Setup) -> Placeholder {
    let (mut leader, fx) = begin(s, 0);
    let announce = fx.sends[0].1.clone();
    assert_eq!(fx.sends[0].0, Dest::AllOthers);
    let mut cert = None;
    for node in 1..3 {
        let (mut p, _) = begin(s, node);
        let fx = deliver(s, &mut p, node, 0, announce.clone());
        assert!(fx.rejects.is_empty(), "{:?}", fx.rejects);
        assert!(fx.output.is_none(), "a node waits for the certificate");
        let (dest, ack) = fx.sends[0].clone();
        assert_eq!(dest, Dest::To(0));
        let fx = deliver(s, &mut leader, 0, node, ack);
        assert!(fx.rejects.is_empty(), "{:?}", fx.rejects);
        if let Some((_, c)) = fx.sends.first() {
            cert = Some(c.clone());
            assert!(
                fx.output.is_some(),
                "the leader accepts with its certificate"
            );
        }
    }
    cert.expect("3 of 4 acknowledgements are a quorum")
}

#[test]
fn honest_flow_certifies_the_leaders_value() {
    let s = setup();
    let cert = certificate(&s);
    let (mut p, _) = begin(&s, 3);
    let fx = deliver(&s, &mut p, 3, 0, cert);
    let want = value_for(&ROUND, &s.lotteries[&0].beta);
    assert_eq!(fx.output.map(|o| o.value), Some(want));
}

fn rejected(s: &Setup, from: NodeId, msg: Placeholder) -> String {
    let (mut p, _) = begin(s, 3);
    let fx = deliver(s, &mut p, 3, from, msg);
    assert!(fx.output.is_none());
    fx.rejects.join(",")
}

#[test]
fn forged_certificates_are_rejected() {
    let s = setup();
    let Placeholder::Certificate { round, value, acks } = certificate(&s) else {
        panic!("not a certificate")
    };
    let cert = |value, acks| Placeholder::Certificate { round, value, acks };
    assert_eq!(
        rejected(&s, 1, cert(value, acks.clone())),
        "certificate_not_from_leader"
    );
    let mut wrong = value;
    wrong[0] ^= 1;
    assert_eq!(
        rejected(&s, 0, cert(wrong, acks.clone())),
        "certificate_wrong_value"
    );
    assert_eq!(
        rejected(&s, 0, cert(value, acks[..2].to_vec())),
        "certificate_without_quorum"
    );
    let mut dup = acks.clone();
    dup[1] = dup[0].clone();
    assert_eq!(
        rejected(&s, 0, cert(value, dup)),
        "certificate_duplicate_signer"
    );
    let mut bad = acks.clone();
    bad[2].1[10] ^= 1;
    assert_eq!(
        rejected(&s, 0, cert(value, bad)),
        "certificate_bad_signature"
    );
    let mut short = acks.clone();
    short[2].1.truncate(10);
    assert_eq!(
        rejected(&s, 0, cert(value, short)),
        "certificate_bad_signature"
    );
    let mut stranger = acks.clone();
    stranger[2].0 = 99;
    assert_eq!(
        rejected(&s, 0, cert(value, stranger)),
        "certificate_bad_signature"
    );
    let many = vec![acks[0].clone(); 5];
    assert_eq!(
        rejected(&s, 0, cert(value, many)),
        "certificate_too_many_acks"
    );
    let other_round = Placeholder::Certificate {
        round: Round { rank: 1, ..round },
        value,
        acks,
    };
    assert_eq!(rejected(&s, 0, other_round), "wrong_round");
}

#[test]
fn forged_announcements_and_acks_are_rejected() {
    let s = setup();
    let (_, fx) = begin(&s, 0);
    let Placeholder::Announce {
        round,
        value,
        signature,
    } = fx.sends[0].1.clone()
    else {
        panic!("not an announcement")
    };
    let mut sig = signature.clone();
    sig[0] ^= 1;
    assert_eq!(
        rejected(
            &s,
            0,
            Placeholder::Announce {
                round,
                value,
                signature: sig
            }
        ),
        "announce_bad_signature"
    );
    assert_eq!(
        rejected(
            &s,
            2,
            Placeholder::Announce {
                round,
                value,
                signature: signature.clone()
            }
        ),
        "announce_not_from_leader"
    );
    // A leader that signs a value its lottery does not fix.
    let mut corrupt = SignedAnnouncement::corrupting(s.keys[0].sig.clone());
    let mut fx = RandomnessEffects::default();
    corrupt.begin(&ctx(&s, 0), &mut fx);
    assert!(fx.output.is_none());
    assert_eq!(
        rejected(&s, 0, fx.sends[0].1.clone()),
        "announce_wrong_value"
    );
    // Acknowledgements: only the leader collects them, once per signer, correctly signed.
    assert_eq!(
        rejected(
            &s,
            1,
            Placeholder::Ack {
                round,
                value,
                signature: signature.clone()
            }
        ),
        "ack_to_non_leader"
    );
    let (mut leader, _) = begin(&s, 0);
    let fx = deliver(
        &s,
        &mut leader,
        0,
        1,
        Placeholder::Ack {
            round,
            value,
            signature,
        },
    );
    assert_eq!(fx.rejects, vec!["ack_bad_signature".to_string()]);
}

#[test]
fn a_node_vouches_for_one_round_per_epoch_even_after_a_restart() {
    let s = setup();
    let (_, fx) = begin(&s, 0);
    let announce0 = fx.sends[0].1.clone();
    let (mut node, _) = begin(&s, 3);
    let fx = deliver(&s, &mut node, 3, 0, announce0);
    assert!(matches!(fx.sends[0].1, Placeholder::Ack { .. }));

    // The backup's round of the same epoch: node 3 is locked and does not vouch again, even
    // after a restart.
    let backup = Round {
        rank: 1,
        leader: 1,
        ..ROUND
    };
    let ctx1 = |me| RoundContext {
        round: backup,
        ..ctx(&s, me)
    };
    let mut leader1 = SignedAnnouncement::new(s.keys[1].sig.clone());
    let mut fx = RandomnessEffects::default();
    leader1.begin(&ctx1(1), &mut fx);
    let announce1 = fx.sends[0].1.clone();
    let mut node = node.restart();
    let mut fx = RandomnessEffects::default();
    node.begin(&ctx1(3), &mut fx);
    node.on_message(&ctx1(3), 1, announce1, &mut fx);
    assert!(
        fx.sends.is_empty(),
        "no second acknowledgement in one epoch"
    );
    assert_eq!(fx.rejects, vec!["locked_to_an_earlier_round".to_string()]);

    // A fresh node vouches for the backup's round.
    let (mut other, _) = begin(&s, 2);
    let mut fx = RandomnessEffects::default();
    other.begin(&ctx1(2), &mut fx);
    let mut l1 = SignedAnnouncement::new(s.keys[1].sig.clone());
    let mut lfx = RandomnessEffects::default();
    l1.begin(&ctx1(1), &mut lfx);
    other.on_message(&ctx1(2), 1, lfx.sends[0].1.clone(), &mut fx);
    assert!(matches!(fx.sends[0].1, Placeholder::Ack { .. }));
}
