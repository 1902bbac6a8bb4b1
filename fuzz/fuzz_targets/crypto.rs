//! The small byte decoders of the engine's cryptography, one per first byte (mod 7):
//! - 0: Schnorr CoSi signature `V ‖ r ‖ mask` (`CollectiveSignature::decode`, `Mask::decode`,
//!   `schnorr::verify` against the fixture roster), byte 1 = roster size for the decoders;
//! - 1: Schnorr CoSi round messages (`Commitment`, `Challenge`, `Response` `::decode`);
//! - 2: BLS (`decode_public_key`, `decode_signature`, `CollectiveSignature::decode`,
//!   `bls::verify` against the fixture roster);
//! - 3: BLS roster registration (public key ‖ proof of possession);
//! - 4: VRF (`Proof::from_bytes`, `PublicKey::from_bytes`, `vrf::verify`);
//! - 5: PVSS (`Point::from_bytes`, `DleqProof::from_bytes`, `dleq::verify`);
//! - 6: Schnorr CoSi roster registration (public key ‖ proof of possession).
//!
//! Properties: no panic; strict decoders re-encode to exactly their input (one encoding per
//! value); a collective signature that verifies satisfies its policy; a VRF proof that verifies
//! under the fixture key gives the one output the key's own proof gives (uniqueness).

#![no_main]

use iosv_engine::cosi::bls::{self, decode_public_key, decode_signature};
use iosv_engine::cosi::schnorr::{
    self, Challenge, CollectiveSignature, Commitment, Registration, Response, Roster,
};
use iosv_engine::cosi::{Mask, Policy};
use iosv_engine::pvss::Point;
use iosv_engine::pvss::dleq::{self, DleqProof, DleqStatement};
use iosv_engine::vrf;
use iosv_fuzz::fixtures;
use libfuzzer_sys::fuzz_target;

/// The message the fixture rosters sign (seeds carry real signatures of it).
pub const MSG: &[u8] = b"iosv-fuzz/cosi-message";

fn policy(byte: u8) -> Policy {
    match byte % 3 {
        0 => Policy::Complete,
        1 => Policy::Threshold(usize::from(byte >> 2)),
        _ => Policy::ByzCoin,
    }
}

fn schnorr_signature(data: &[u8]) {
    let [members, policy_byte, rest @ ..] = data else {
        return;
    };
    let members = usize::from(*members);
    if let Ok(sig) = CollectiveSignature::decode(members, rest) {
        assert_eq!(sig.to_bytes(), rest);
        assert_eq!(sig.mask.members(), members);
    }
    if let Ok(mask) = Mask::decode(members, rest) {
        assert_eq!(mask.as_bytes(), rest);
        let present: Vec<usize> = mask.participants().collect();
        let absent: Vec<usize> = mask.absentees().collect();
        assert_eq!(present.len(), mask.count());
        assert_eq!(present.len() + absent.len(), members);
        assert!(present.iter().chain(&absent).all(|&i| i < members));
        assert!(present.iter().all(|&i| mask.get(i)));
        assert!(absent.iter().all(|&i| !mask.get(i)));
    }
    let roster = &fixtures::schnorr().roster;
    let policy = policy(*policy_byte);
    if schnorr::verify(roster, policy, MSG, rest).is_ok() {
        let sig = CollectiveSignature::decode(roster.len(), rest).expect("verified, so decodes");
        assert!(policy.satisfied(roster.len(), sig.mask.count()));
    }
}

fn schnorr_messages(data: &[u8]) {
    let roster: &Roster = &fixtures::schnorr().roster;
    if let Ok(c) = Commitment::decode(roster, data) {
        // V decodes leniently (any encoding of the point): compare the points, not the bytes.
        let again = Commitment::decode(roster, &c.to_bytes()).expect("re-decodes");
        assert_eq!(again, c);
        assert_eq!(c.mask().as_bytes(), &data[32..]);
    }
    if let Ok(c) = Challenge::decode(roster, data) {
        assert_eq!(c.to_bytes(), data);
    }
    if let Ok(r) = Response::decode(roster, data) {
        assert_eq!(r.to_bytes(), data);
    }
}

fn bls_decoders(data: &[u8]) {
    let [policy_byte, rest @ ..] = data else {
        return;
    };
    if let Ok(pk) = decode_public_key(rest) {
        assert_eq!(pk.compress(), rest);
    }
    if let Ok(sig) = decode_signature(rest) {
        assert_eq!(sig.compress(), rest);
    }
    let fixture = fixtures::bls();
    let members = fixture.roster.len();
    if let Ok(sig) = bls::CollectiveSignature::decode(members, rest) {
        assert_eq!(sig.to_bytes(), rest);
    }
    let policy = policy(*policy_byte);
    if bls::verify(&fixture.roster, policy, MSG, rest).is_ok() {
        let sig = bls::CollectiveSignature::decode(members, rest).expect("verified, so decodes");
        assert!(policy.satisfied(members, sig.signers()));
    }
}

fn bls_registration(data: &[u8]) {
    if data.len() < bls::PUBLIC_KEY_LEN {
        return;
    }
    let (pk, pop) = data.split_at(bls::PUBLIC_KEY_LEN);
    let mut roster = fixtures::bls().roster.clone();
    let before = roster.len();
    match roster.register(pk, pop) {
        Ok(index) => {
            assert_eq!(index, before);
            assert_eq!(roster.index_of(pk), Some(index));
            let _ = roster.aggregate_key(&Mask::full(roster.len()));
        }
        Err(e) => {
            assert_eq!(
                roster.len(),
                before,
                "a refused registration changed the roster"
            );
            let _ = e.to_string();
        }
    }
}

fn vrf_decoders(data: &[u8]) {
    if data.len() < vrf::PROOF_LEN + vrf::PUBLIC_KEY_LEN {
        return;
    }
    let (proof_bytes, rest) = data.split_at(vrf::PROOF_LEN);
    let (pk_bytes, alpha) = rest.split_at(vrf::PUBLIC_KEY_LEN);
    if let Ok(proof) = vrf::Proof::from_bytes(proof_bytes) {
        assert_eq!(proof.to_bytes(), proof_bytes);
        let _ = vrf::proof_to_hash(&proof);
    }
    if let Ok(pk) = vrf::PublicKey::from_bytes(pk_bytes) {
        assert_eq!(pk.to_bytes(), pk_bytes);
    }
    let _ = vrf::verify(pk_bytes, alpha, proof_bytes);
    let sk = fixtures::vrf_key();
    if let Ok(beta) = vrf::verify(sk.public().as_bytes(), alpha, proof_bytes) {
        let honest = vrf::proof_to_hash(&vrf::prove(sk, alpha));
        assert_eq!(beta, honest, "two VRF outputs for one key and input");
    }
}

fn pvss_decoders(data: &[u8]) {
    if data.len() < dleq::PROOF_LEN + 4 * 32 {
        if let Ok(bytes) = <[u8; 32]>::try_from(data)
            && let Ok(point) = Point::from_bytes(&bytes)
        {
            assert_eq!(point.to_bytes(), bytes);
        }
        return;
    }
    let (proof_bytes, rest) = data.split_at(dleq::PROOF_LEN);
    let proof = DleqProof::from_bytes(proof_bytes);
    if let Ok(proof) = &proof {
        assert_eq!(proof.to_bytes(), proof_bytes);
    }
    let point = |i: usize| -> Option<Point> {
        let bytes: [u8; 32] = rest[32 * i..32 * (i + 1)].try_into().ok()?;
        let point = Point::from_bytes(&bytes).ok()?;
        assert_eq!(point.to_bytes(), bytes);
        Some(point)
    };
    let points = [point(0), point(1), point(2), point(3)];
    if let (Ok(proof), [Some(g1), Some(h1), Some(g2), Some(h2)]) = (proof, points) {
        let statement = DleqStatement { g1, h1, g2, h2 };
        let _ = dleq::verify(&statement, &proof);
    }
}

fn schnorr_registration(data: &[u8]) {
    let Ok(bytes) = <[u8; 96]>::try_from(data) else {
        return;
    };
    let registration = Registration {
        public_key: bytes[..32].try_into().expect("32 bytes"),
        proof_of_possession: bytes[32..].try_into().expect("64 bytes"),
    };
    let mut builder = Roster::builder();
    if let Ok(index) = builder.register(&registration) {
        assert_eq!(index, 0);
        let roster = builder.build().expect("one member");
        assert_eq!(roster.public_key(0), Some(&registration.public_key));
    }
}

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => schnorr_signature(rest),
        1 => schnorr_messages(rest),
        2 => bls_decoders(rest),
        3 => bls_registration(rest),
        4 => vrf_decoders(rest),
        5 => pvss_decoders(rest),
        _ => schnorr_registration(rest),
    }
});
