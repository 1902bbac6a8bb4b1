use std::os::unix::net::UnixStream;
use std::thread;

use super::*;

fn identity(seed: u8, id: NodeId) -> Identity {
    Identity {
        id,
        key: SigningKey::from_bytes(&[seed; 32]),
    }
}

fn members(seeds: &[u8]) -> Members {
    let keys: Vec<[u8; 32]> = seeds
        .iter()
        .map(|&s| SigningKey::from_bytes(&[s; 32]).verifying_key().to_bytes())
        .collect();
    Members::new(&keys).unwrap()
}

type Sides = (
    Result<(FrameSealer, FrameOpener), ChannelError>,
    Result<(NodeId, FrameSealer, FrameOpener), ChannelError>,
    UnixStream,
    UnixStream,
);

/// Runs a handshake: `initiator` (as it sees the roster) dials `peer`; `responder` answers.
fn handshake(
    initiator: Identity,
    initiator_view: Members,
    peer: NodeId,
    responder: Identity,
    responder_view: Members,
) -> Sides {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let server = thread::spawn(move || {
        let r = respond(&mut b, &responder, &responder_view, 1024);
        if r.is_err() {
            // Closing ends the initiator's wait after a refusal.
            b.shutdown(std::net::Shutdown::Both).ok();
        }
        (r, b)
    });
    let i = initiate(&mut a, &initiator, &initiator_view, peer, 1024);
    if i.is_err() {
        a.shutdown(std::net::Shutdown::Both).ok();
    }
    let (r, b) = server.join().unwrap();
    (i, r, a, b)
}

#[test]
fn members_exchange_frames_both_ways() {
    let roster = members(&[1, 2, 3]);
    let (i, r, mut a, mut b) = handshake(identity(1, 0), roster.clone(), 2, identity(3, 2), roster);
    let (mut a_send, mut a_recv) = i.unwrap();
    let (from, mut b_send, mut b_recv) = r.unwrap();
    assert_eq!(from, 0);
    for n in 0..3u8 {
        a_send.write(&mut a, &[n; 10]).unwrap();
        b_send.write(&mut b, &[n + 100; 5]).unwrap();
    }
    a_send.write(&mut a, &[]).unwrap();
    for n in 0..3u8 {
        assert_eq!(b_recv.read(&mut b).unwrap().unwrap(), vec![n; 10]);
        assert_eq!(a_recv.read(&mut a).unwrap().unwrap(), vec![n + 100; 5]);
    }
    assert_eq!(b_recv.read(&mut b).unwrap().unwrap(), Vec::<u8>::new());
    drop(a);
    assert!(
        b_recv.read(&mut b).unwrap().is_none(),
        "clean end of stream"
    );
}

#[test]
fn a_hello_for_another_node_or_network_or_from_a_stranger_is_refused() {
    let roster = members(&[1, 2, 3]);
    // Addressed to node 1, answered by node 2.
    let (i, r, ..) = handshake(
        identity(1, 0),
        roster.clone(),
        1,
        identity(3, 2),
        roster.clone(),
    );
    assert!(matches!(r, Err(ChannelError::NotForMe { to: 1, me: 2 })));
    assert!(i.is_err());
    // Another roster: another network id.
    let (_, r, ..) = handshake(
        identity(1, 0),
        members(&[1, 2, 4]),
        2,
        identity(3, 2),
        roster.clone(),
    );
    assert!(matches!(r, Err(ChannelError::Network)));
    // The initiator refuses to dial itself or an id outside the roster.
    let (i, ..) = handshake(
        identity(1, 0),
        roster.clone(),
        7,
        identity(3, 2),
        roster.clone(),
    );
    assert!(matches!(i, Err(ChannelError::NotMember(7))));
}

#[test]
fn an_impostor_fails_the_signature_check_on_either_side() {
    let roster = members(&[1, 2, 3]);
    // Someone with key 9 claims to be node 0.
    let (_, r, ..) = handshake(
        identity(9, 0),
        roster.clone(),
        2,
        identity(3, 2),
        roster.clone(),
    );
    assert!(matches!(r, Err(ChannelError::BadSignature(0))));
    // Someone with key 9 answers for node 2.
    let (i, ..) = handshake(identity(1, 0), roster.clone(), 2, identity(9, 2), roster);
    assert!(matches!(i, Err(ChannelError::BadSignature(2))));
}

#[test]
fn garbage_instead_of_a_hello_is_refused() {
    let roster = members(&[1, 2]);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.write_all(&[0x55; HELLO_LEN]).unwrap();
    let r = respond(&mut b, &identity(2, 1), &roster, 1024);
    assert!(matches!(r, Err(ChannelError::Magic)));
    // A peer that hangs up mid-hello is an I/O error, not a panic.
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.write_all(&MAGIC[..]).unwrap();
    drop(a);
    assert!(matches!(
        respond(&mut b, &identity(2, 1), &roster, 1024),
        Err(ChannelError::Io(_))
    ));
}

fn connected() -> (FrameSealer, UnixStream, FrameOpener, UnixStream) {
    let roster = members(&[1, 2]);
    let (i, r, a, b) = handshake(identity(1, 0), roster.clone(), 1, identity(2, 1), roster);
    let (sealer, _) = i.unwrap();
    let (_, _, opener) = r.unwrap();
    (sealer, a, opener, b)
}

#[test]
fn tampered_replayed_and_oversized_frames_end_the_connection() {
    // Tampered: one bit of the ciphertext flipped.
    let (mut sealer, _a, mut opener, _b) = connected();
    let mut wire = Vec::new();
    sealer.write(&mut wire, b"hello").unwrap();
    wire[6] ^= 1;
    assert!(matches!(
        opener.read(&mut wire.as_slice()),
        Err(ChannelError::Forged)
    ));
    // Replayed: the same frame twice; the second is under the wrong counter.
    let (mut sealer, _a, mut opener, _b) = connected();
    let mut wire = Vec::new();
    sealer.write(&mut wire, b"pay 5").unwrap();
    let twice = [wire.clone(), wire].concat();
    let mut input = twice.as_slice();
    assert_eq!(opener.read(&mut input).unwrap().unwrap(), b"pay 5");
    assert!(matches!(opener.read(&mut input), Err(ChannelError::Forged)));
    // Oversized: refused from the length alone (nothing follows it to read).
    let (_, _a, mut opener, _b) = connected();
    let huge = (u32::MAX).to_le_bytes();
    assert!(matches!(
        opener.read(&mut huge.as_slice()),
        Err(ChannelError::Oversized { max: 1024, .. })
    ));
    // Too short to hold a tag.
    assert!(matches!(
        opener.read(&mut 3u32.to_le_bytes().as_slice()),
        Err(ChannelError::Oversized { .. })
    ));
    // A writer will not send over the bound either.
    let (mut sealer, ..) = connected();
    assert!(matches!(
        sealer.write(&mut Vec::new(), &[0; 1025]),
        Err(ChannelError::Oversized { len: 1025, .. })
    ));
}

#[test]
fn a_frame_cut_short_is_an_error_not_a_clean_end() {
    let (mut sealer, _a, mut opener, _b) = connected();
    let mut wire = Vec::new();
    sealer.write(&mut wire, b"a longer message").unwrap();
    wire.truncate(wire.len() - 3);
    assert!(matches!(
        opener.read(&mut wire.as_slice()),
        Err(ChannelError::Io(_))
    ));
    assert!(opener.read(&mut [0u8; 0].as_slice()).unwrap().is_none());
}
