//! What a node process reads from strangers, from roster members and from its operator: the
//! first byte picks which (mod 4), the rest is the input.
//! - 0: a connection's first bytes, read by the responder's handshake (`net::channel::respond`),
//!   as a stranger would send them;
//! - 1: a stream of frames under a known key (`FrameOpener::read`), as a roster member — or
//!   anyone who got between two — would send them; frames the fuzzer sealed itself open to what
//!   was sealed;
//! - 2: a node configuration file (`NodeConfig`, its link faults and its ledger section);
//! - 3: a message an Atomix shard or gateway decodes from an authenticated frame (`AtomixMsg`,
//!   JSON with transactions in their canonical encoding), as a Byzantine roster member would
//!   send it.
//!
//! Properties: no panic (every refusal a typed error); no allocation past the frame bound (a
//! length is checked before its frame is read); sealed frames round-trip; an accepted message or
//! configuration round-trips through its encoding.

#![no_main]

use std::io::{Read, Write};

use ed25519_dalek::SigningKey;
use iosv_harness::net::channel::{FrameOpener, FrameSealer, Identity, Members, respond};
use iosv_harness::atomix::AtomixMsg;
use iosv_harness::net::config::NodeConfig;
use libfuzzer_sys::fuzz_target;

/// Reads the fuzzer's bytes, swallows what the responder writes.
struct Scripted<'a> {
    input: &'a [u8],
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Scripted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const MAX_FRAME: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            let keys: Vec<[u8; 32]> = (1..=4u8)
                .map(|s| SigningKey::from_bytes(&[s; 32]).verifying_key().to_bytes())
                .collect();
            let members = Members::new(&keys).expect("valid keys");
            let me = Identity {
                id: 1,
                key: SigningKey::from_bytes(&[2; 32]),
            };
            // A stranger cannot forge the initiator's signature: refusal is the only outcome.
            let result = respond(&mut Scripted { input: rest }, &me, &members, MAX_FRAME);
            assert!(result.is_err(), "a handshake from fuzzed bytes was accepted");
        }
        1 => {
            let key = [9u8; 32];
            let mut opener = FrameOpener::new(&key, MAX_FRAME);
            let mut input = rest;
            // Raw bytes: whatever they are, each read ends in a frame, a clean end or an error.
            for _ in 0..64 {
                match opener.read(&mut input) {
                    Ok(Some(frame)) => assert!(frame.len() <= MAX_FRAME),
                    Ok(None) | Err(_) => break,
                }
            }
            // Sealed by us: the payloads come back, in order.
            let mut sealer = FrameSealer::new(&key, MAX_FRAME);
            let mut opener = FrameOpener::new(&key, MAX_FRAME);
            let mut wire = Vec::new();
            let chunks: Vec<&[u8]> = rest.chunks(97).collect();
            for c in &chunks {
                sealer.write(&mut wire, c).expect("under the bound");
            }
            let mut input = wire.as_slice();
            for c in &chunks {
                assert_eq!(opener.read(&mut input).expect("opens").as_deref(), Some(*c));
            }
            assert!(opener.read(&mut input).expect("clean end").is_none());
        }
        2 => {
            let Some(text) = iosv_fuzz::text(rest) else {
                return;
            };
            if let Ok(config) = serde_json::from_str::<NodeConfig>(text) {
                let members = config.members.len();
                let _ = config.link.validate(members);
                if let Some(ledger) = &config.ledger {
                    let _ = ledger.validate(config.role, config.id, members);
                }
                let json = serde_json::to_string(&config).expect("serializes");
                let again: NodeConfig = serde_json::from_str(&json)
                    .unwrap_or_else(|e| panic!("accepted config refused after a round trip: {e}"));
                assert_eq!(again.id, config.id);
            }
        }
        _ => {
            // The transport hands the node only what decodes; what decodes must re-encode to
            // the same message.
            if let Ok(msg) = serde_json::from_slice::<AtomixMsg>(rest) {
                let json = serde_json::to_vec(&msg).expect("serializes");
                let again: AtomixMsg = serde_json::from_slice(&json)
                    .unwrap_or_else(|e| panic!("decoded message refused after a round trip: {e}"));
                assert_eq!(
                    serde_json::to_vec(&again).expect("serializes"),
                    json,
                    "a message changed in a round trip"
                );
            }
        }
    }
});
