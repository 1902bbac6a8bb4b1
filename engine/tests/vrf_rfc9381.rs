//! ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381 Appendix B.3 (Examples 16, 17, 18), every
//! intermediate value the RFC prints, and the rejections verification must make.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use iosv_engine::vrf::suite::{encode_to_curve, nonce_string, point_to_string, string_to_point};
use iosv_engine::vrf::{
    PROOF_LEN, Proof, PublicKey, SecretKey, VrfError, proof_to_hash, prove, verify,
};

struct Vector {
    sk: &'static str,
    pk: &'static str,
    alpha: &'static str,
    /// The secret scalar `x` (clamped, little-endian).
    x: &'static str,
    /// The counter at which try-and-increment succeeded.
    ctr: u8,
    /// encode_to_curve's output `H`.
    h: &'static str,
    /// The nonce string `k_string` (`k = k_string mod L`).
    k: &'static str,
    /// `U = k·B`.
    u: &'static str,
    /// `V = k·H`.
    v: &'static str,
    pi: &'static str,
    beta: &'static str,
}

/// RFC 9381 Appendix B.3; SK, PK and alpha are RFC 8032 §7.1 TEST 1, 2 and 3.
const VECTORS: [Vector; 3] = [
    // Example 16
    Vector {
        sk: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        alpha: "",
        x: "307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f006904de94f",
        ctr: 0,
        h: "91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318",
        k: "7100f3d9eadb6dc4743b029736ff283f5be494128df128df2817106f345b8594\
            b6d6da2d6fb0b4c0257eb337675d96eab49cf39e66cc2c9547c2bf8b2a6afae4",
        u: "aef27c725be964c6a9bf4c45ca8e35df258c1878b838f37d9975523f09034071",
        v: "5016572f71466c646c119443455d6cb9b952f07d060ec8286d678615d55f954f",
        pi: "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f\
             26f8a57ccaed74ee1b190bed1f479d97\
             27d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
        beta: "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff\
               66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
    },
    // Example 17
    Vector {
        sk: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        alpha: "72",
        x: "68bd9ed75882d52815a97585caf4790a7f6c6b3b7f821c5e259a24b02e502e51",
        ctr: 1,
        h: "5b659fc3d4e9263fd9a4ed1d022d75eaacc20df5e09f9ea937502396598dc551",
        k: "42589bbf0c485c3c91c1621bb4bfe04aed7be76ee48f9b00793b2342acb9c167\
            cab856f9f9d4febc311330c20b0a8afd3743d05433e8be8d32522ecdc16cc5ce",
        u: "1dcb0a4821a2c48bf53548228b7f170962988f6d12f5439f31987ef41f034ab3",
        v: "fd03c0bf498c752161bae4719105a074630a2aa5f200ff7b3995f7bfb1513423",
        pi: "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593\
             3bf0864a62558b3ed7f2fea45c92a465\
             301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
        beta: "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb\
               5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
    },
    // Example 18
    Vector {
        sk: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        alpha: "af82",
        x: "909a8b755ed902849023a55b15c23d11ba4d7f4ec5c2f51b1325a181991ea95c",
        ctr: 0,
        h: "bf4339376f5542811de615e3313d2b36f6f53c0acfebb482159711201192576a",
        k: "38b868c335ccda94a088428cbf3ec8bc7955bfaffe1f3bd2aa2c59fc31a0febc\
            59d0e1af3715773ce11b3bbdd7aba8e3505d4b9de6f7e4a96e67e0d6bb6d6c3a",
        u: "2bae73e15a64042fcebf062abe7e432b2eca6744f3e8265bc38e009cd577ecd5",
        v: "88cba1cb0d4f9b649d9a86026b69de076724a93a65c349c988954f0961c5d506",
        pi: "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80\
             96bb474e53895c362d8628ee9f9ea3c0\
             e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
        beta: "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45\
               2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
    },
];

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test vector hex")
}

fn array<const N: usize>(s: &str) -> [u8; N] {
    unhex(s).try_into().expect("test vector length")
}

#[test]
fn rfc9381_b3_keys() {
    for v in &VECTORS {
        let sk = SecretKey::from_seed(&array(v.sk));
        assert_eq!(hex::encode(sk.public().as_bytes()), v.pk);
        assert_eq!(hex::encode(sk.secret_scalar_bytes()), v.x);
        assert_eq!(PublicKey::from_bytes(&unhex(v.pk)).unwrap(), *sk.public());
    }
}

#[test]
fn rfc9381_b3_intermediate_values() {
    for v in &VECTORS {
        let sk = SecretKey::from_seed(&array(v.sk));
        let (h, ctr) = encode_to_curve(&unhex(v.pk), &unhex(v.alpha)).unwrap();
        assert_eq!(ctr, v.ctr, "try_and_increment counter for {}", v.pk);
        let h_string = point_to_string(&h);
        assert_eq!(hex::encode(h_string), v.h);

        let k_string = nonce_string(&sk, &h_string);
        assert_eq!(hex::encode(k_string), v.k);
        let k = Scalar::from_bytes_mod_order_wide(&k_string);
        assert_eq!(
            hex::encode(point_to_string(&EdwardsPoint::mul_base(&k))),
            v.u
        );
        assert_eq!(hex::encode(point_to_string(&(h * k))), v.v);
    }
}

#[test]
fn rfc9381_b3_prove() {
    for v in &VECTORS {
        let sk = SecretKey::from_seed(&array(v.sk));
        let pi = prove(&sk, &unhex(v.alpha));
        assert_eq!(hex::encode(pi.to_bytes()), v.pi);
        assert_eq!(hex::encode(proof_to_hash(&pi)), v.beta);
        // Gamma = x·H.
        let (h, _) = encode_to_curve(&unhex(v.pk), &unhex(v.alpha)).unwrap();
        let x = Scalar::from_bytes_mod_order(array(v.x));
        assert_eq!(*pi.gamma(), h * x);
    }
}

#[test]
fn rfc9381_b3_verify() {
    for v in &VECTORS {
        let beta = verify(&unhex(v.pk), &unhex(v.alpha), &unhex(v.pi)).unwrap();
        assert_eq!(hex::encode(beta), v.beta);
        let proof = Proof::from_bytes(&unhex(v.pi)).unwrap();
        assert_eq!(hex::encode(proof.to_bytes()), v.pi);
        assert_eq!(hex::encode(proof_to_hash(&proof)), v.beta);
    }
}

#[test]
fn round_trip_with_random_keys() {
    let mut rng = rand::rng();
    for len in [0usize, 1, 31, 32, 100] {
        let sk = SecretKey::generate(&mut rng);
        let alpha: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let pi = prove(&sk, &alpha);
        let beta = verify(sk.public().as_bytes(), &alpha, &pi.to_bytes()).unwrap();
        assert_eq!(beta, proof_to_hash(&pi));
        // Deterministic: the same key and input give the same proof.
        assert_eq!(prove(&sk, &alpha), pi);
    }
}

#[test]
fn flipped_bits_in_proof_are_rejected() {
    for v in &VECTORS {
        let pk = unhex(v.pk);
        let alpha = unhex(v.alpha);
        let pi = unhex(v.pi);
        for byte in 0..PROOF_LEN {
            for bit in 0..8 {
                let mut bad = pi.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    verify(&pk, &alpha, &bad).is_err(),
                    "flipped bit {bit} of byte {byte} accepted"
                );
            }
        }
    }
}

#[test]
fn flipped_bits_in_alpha_are_rejected() {
    for v in &VECTORS {
        let pk = unhex(v.pk);
        let pi = unhex(v.pi);
        let alpha = unhex(v.alpha);
        for byte in 0..alpha.len() {
            for bit in 0..8 {
                let mut bad = alpha.clone();
                bad[byte] ^= 1 << bit;
                assert_eq!(verify(&pk, &bad, &pi), Err(VrfError::InvalidProof));
            }
        }
        let mut longer = alpha.clone();
        longer.push(0);
        assert_eq!(verify(&pk, &longer, &pi), Err(VrfError::InvalidProof));
    }
}

#[test]
fn flipped_bits_in_public_key_are_rejected() {
    for v in &VECTORS {
        let pk = unhex(v.pk);
        let alpha = unhex(v.alpha);
        let pi = unhex(v.pi);
        for byte in 0..32 {
            for bit in 0..8 {
                let mut bad = pk.clone();
                bad[byte] ^= 1 << bit;
                assert!(verify(&bad, &alpha, &pi).is_err());
            }
        }
    }
}

#[test]
fn proof_for_another_key_is_rejected() {
    let a = SecretKey::from_seed(&array(VECTORS[0].sk));
    let b = SecretKey::from_seed(&array(VECTORS[1].sk));
    let pi = prove(&a, b"alpha");
    assert_eq!(
        verify(b.public().as_bytes(), b"alpha", &pi.to_bytes()),
        Err(VrfError::InvalidProof)
    );
}

/// L, the order of the prime-order subgroup, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

#[test]
fn non_canonical_s_is_rejected() {
    for v in &VECTORS {
        let pi = unhex(v.pi);
        let s: [u8; 32] = pi[48..].try_into().unwrap();
        // s + L is the same residue, so a verifier reducing mod L would accept it.
        let mut bad = pi.clone();
        bad[48..].copy_from_slice(&add_le(&s, &L));
        assert_eq!(
            verify(&unhex(v.pk), &unhex(v.alpha), &bad),
            Err(VrfError::NonCanonicalS)
        );
        for s in [L, add_le(&L, &[1; 32]), [0xff; 32]] {
            let mut bad = pi.clone();
            bad[48..].copy_from_slice(&s);
            assert_eq!(Proof::from_bytes(&bad), Err(VrfError::NonCanonicalS));
        }
    }
}

#[test]
fn small_order_public_keys_are_rejected() {
    let pi = unhex(VECTORS[0].pi);
    for point in EIGHT_TORSION {
        let bytes = point_to_string(&point);
        assert_eq!(
            PublicKey::from_bytes(&bytes),
            Err(VrfError::SmallOrderPublicKey)
        );
        assert_eq!(verify(&bytes, b"", &pi), Err(VrfError::SmallOrderPublicKey));
    }
    // A key with a small-order component but a large-order part passes validate_key (RFC 9381
    // §5.4.5 rejects only 8·Y = O); a proof from the honest key does not verify under it.
    let sk = SecretKey::from_seed(&array(VECTORS[0].sk));
    let mixed = sk.public().point() + EIGHT_TORSION[1];
    let mixed = point_to_string(&mixed);
    assert!(PublicKey::from_bytes(&mixed).is_ok());
    assert_eq!(verify(&mixed, b"", &pi), Err(VrfError::InvalidProof));
}

#[test]
fn undecodable_inputs_are_rejected() {
    let v = &VECTORS[0];
    // y = 2 is not the y-coordinate of any curve point.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert!(string_to_point(&not_a_point).is_none());
    assert_eq!(
        verify(&not_a_point, b"", &unhex(v.pi)),
        Err(VrfError::PublicKeyNotAPoint)
    );
    let mut pi = unhex(v.pi);
    pi[..32].copy_from_slice(&not_a_point);
    assert_eq!(
        verify(&unhex(v.pk), b"", &pi),
        Err(VrfError::GammaNotAPoint)
    );
    // A non-canonical encoding of a valid point: y = p + 1 encodes the identity's y = 1.
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    assert_eq!(
        PublicKey::from_bytes(&non_canonical),
        Err(VrfError::PublicKeyNotAPoint)
    );
    let mut pi = unhex(v.pi);
    pi[..32].copy_from_slice(&non_canonical);
    assert_eq!(
        verify(&unhex(v.pk), b"", &pi),
        Err(VrfError::GammaNotAPoint)
    );
}

#[test]
fn wrong_lengths_are_rejected() {
    let v = &VECTORS[0];
    let pk = unhex(v.pk);
    let pi = unhex(v.pi);
    for len in [0, 1, 79, 81, 96, 160] {
        let mut bad = pi.clone();
        bad.resize(len, 0);
        assert_eq!(verify(&pk, b"", &bad), Err(VrfError::ProofLength(len)));
    }
    for len in [0, 31, 33, 64] {
        let mut bad = pk.clone();
        bad.resize(len, 0);
        assert_eq!(verify(&bad, b"", &pi), Err(VrfError::PublicKeyLength(len)));
    }
}

#[test]
fn basepoint_encoding_sanity() {
    // Guards the helpers the tests above rely on.
    let b = point_to_string(&ED25519_BASEPOINT_POINT);
    assert_eq!(string_to_point(&b), Some(ED25519_BASEPOINT_POINT));
}
