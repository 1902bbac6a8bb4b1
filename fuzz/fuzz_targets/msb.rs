//! Signed Micro State Blocks (serde JSON), verified against the fixture chain's roster of their
//! epoch (epoch 1's for an epoch the chain does not have), and their collective signature bytes
//! decoded on their own. Properties: no panic; a parsed MSB round-trips through JSON; a decoded
//! collective signature re-encodes to its bytes; an MSB that verifies has the contents of one the
//! roster really signed (nothing else can be made to verify without the roster's keys).

#![no_main]

use iosv_engine::cosi::schnorr::CollectiveSignature;
use iosv_harness::msb::SignedMsb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some(text) = iosv_fuzz::text(data) else {
        return;
    };
    let Ok(signed) = serde_json::from_str::<SignedMsb>(text) else {
        return;
    };
    let json = serde_json::to_string(&signed).expect("a parsed MSB serializes");
    let back: SignedMsb = serde_json::from_str(&json).expect("and parses back");
    assert_eq!(back, signed);
    let _ = signed.msb.hash();

    let fixture = iosv_fuzz::fixtures::msb();
    let roster = fixture
        .trust
        .rosters
        .get(&signed.msb.epoch)
        .or_else(|| fixture.trust.rosters.get(&1))
        .expect("the fixture chain has epoch 1");
    if let Ok(sig) = CollectiveSignature::decode(roster.len(), &signed.signature) {
        assert_eq!(sig.to_bytes(), signed.signature);
    }
    match signed.verify(roster) {
        Ok(()) => assert!(
            fixture.msbs.iter().any(|m| m.msb == signed.msb),
            "an MSB the roster never signed verified: {:?}",
            signed.msb
        ),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
