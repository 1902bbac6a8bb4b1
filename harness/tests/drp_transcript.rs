//! DRP transcripts: every tamper is caught by the check that owns the tampered value, through the
//! library and through `iosv verify-drp`; any single-byte change of a key field is rejected.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use iosv_harness::drp::server_keys;
use iosv_harness::drp::{Check, SessionParams, SignedDealing, Transcript};
use iosv_harness::sim::drp_net::DrpNet as Network;
use proptest::prelude::*;

const SEED: u64 = 21;

fn honest() -> &'static Transcript {
    static T: OnceLock<Transcript> = OnceLock::new();
    T.get_or_init(|| {
        let params = SessionParams {
            epoch: 17,
            previous: [9; 32],
            group_size: 4,
        };
        let mut network = Network::new(8, params, SEED).unwrap();
        network.run();
        network.leader().transcript().unwrap().clone()
    })
}

fn failing_check(t: &Transcript) -> Option<Check> {
    t.verify().err().map(|f| f.check)
}

#[test]
fn the_honest_transcript_verifies() {
    let t = honest();
    assert_eq!(t.verify(), Ok(t.output));
    assert_eq!(t.groups.len(), 2);
    assert_eq!(t.dealings.len(), 4);
}

type Tamper = Box<dyn Fn(&mut Transcript)>;

/// A tamper for each check, named after the check that must catch it.
fn tampers() -> Vec<(Check, Tamper)> {
    vec![
        (Check::Version, Box::new(|t| t.version = 2)),
        (
            Check::Roster,
            Box::new(|t| t.roster[1].cosi_pop = t.roster[0].cosi_pop),
        ),
        (Check::GroupingSeed, Box::new(|t| t.params.previous[0] ^= 1)),
        (Check::GroupingSeed, Box::new(|t| t.params.epoch += 1)),
        (
            Check::GroupingSeed,
            Box::new(|t| t.grouping_seed[5] ^= 0x10),
        ),
        (
            Check::Groups,
            Box::new(|t| {
                let a = t.groups[0].members[0];
                t.groups[0].members[0] = t.groups[1].members[0];
                t.groups[1].members[0] = a;
            }),
        ),
        (Check::Groups, Box::new(|t| t.groups[0].threshold = 1)),
        (Check::Choice, Box::new(|t| t.choice.session[0] ^= 1)),
        (
            Check::Choice,
            Box::new(|t| t.choice.groups[0].dealers[0] = t.groups[1].members[0]),
        ),
        (
            Check::DealingSignatures,
            Box::new(|t| t.dealings[0].signature[3] ^= 1),
        ),
        (
            Check::DealingSignatures,
            Box::new(|t| t.choice.groups[1].dealing_hashes[0][0] ^= 1),
        ),
        (
            Check::DealingSignatures,
            Box::new(|t| t.dealings.swap(0, 1)),
        ),
        (
            Check::DealingProofs,
            Box::new(|t| {
                // A dealer re-signs its own dealing with two encrypted shares swapped, and the
                // choice is rehashed to match: only the PVSS proofs can catch it.
                let d = &mut t.dealings[0];
                d.deal.encrypted_shares.swap(0, 1);
                let digest = SignedDealing::hash(&t.choice.session, d.dealer, &d.deal);
                d.signature = server_keys(SEED, d.dealer).sign(&digest);
                t.choice.groups[0].dealing_hashes[0] = digest;
            }),
        ),
        (Check::ChoiceCosi, Box::new(|t| t.choice_signature[40] ^= 1)),
        (
            Check::ChoiceCosi,
            Box::new(|t| {
                let last = t.choice_signature.len() - 1;
                t.choice_signature[last] &= 0x7f;
            }),
        ),
        (
            Check::DecryptedShares,
            Box::new(|t| t.secrets[0].shares[0].proof = t.secrets[0].shares[1].proof),
        ),
        (
            Check::DecryptedShares,
            Box::new(|t| t.secrets[1].shares[1] = t.secrets[1].shares[0]),
        ),
        (Check::DecryptedShares, Box::new(|t| t.secrets.truncate(3))),
        (
            Check::DecryptedShares,
            Box::new(|t| {
                t.secrets[2].shares.pop();
            }),
        ),
        (
            Check::Recovery,
            Box::new(|t| t.secrets[0].recovered = t.secrets[1].recovered),
        ),
        (Check::Output, Box::new(|t| t.output[31] ^= 0x80)),
    ]
}

#[test]
fn each_tamper_is_named_by_its_check() {
    for (k, (check, tamper)) in tampers().into_iter().enumerate() {
        let mut t = honest().clone();
        tamper(&mut t);
        assert_eq!(failing_check(&t), Some(check), "tamper {k}");
    }
}

fn iosv() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iosv"))
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("iosv-drp-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs `iosv verify-drp` on `contents`: exit code and standard output.
fn verify_drp(name: &str, contents: &str) -> (i32, String) {
    let path = temp_file(name, contents);
    let out = iosv().arg("verify-drp").arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn verify_drp_command() {
    let t = honest();
    let (code, stdout) = verify_drp("valid.json", &serde_json::to_string(t).unwrap());
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.trim(), format!("output {}", hex::encode(t.output)));

    for (k, (check, tamper)) in tampers().into_iter().enumerate() {
        let mut bad = t.clone();
        tamper(&mut bad);
        let json = serde_json::to_string_pretty(&bad).unwrap();
        let (code, stdout) = verify_drp(&format!("tamper-{k}.json"), &json);
        assert_eq!(code, 1, "tamper {k}: {stdout}");
        assert!(
            stdout.starts_with(&format!("FAIL {}: ", check.name())),
            "tamper {k}: {stdout}"
        );
    }

    let (code, _) = verify_drp("truncated.json", r#"{"version": 1"#);
    assert_eq!(code, 2);
    let mut value = serde_json::to_value(t).unwrap();
    value["output"] = "zz".into();
    let (code, _) = verify_drp("bad-hex.json", &value.to_string());
    assert_eq!(code, 2);
    let missing = iosv()
        .args(["verify-drp", "/nonexistent/iosv-drp.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}

/// A well-formed 32-byte value that is neither a canonical point nor a canonical scalar.
const NOT_A_POINT: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

#[test]
fn a_damaged_point_or_scalar_is_named_by_its_check_and_owner() {
    let t = honest();
    let dealer = t.dealings[1].dealer;
    let secret_dealer = t.secrets[0].dealer;
    let share_server = t.secrets[0].shares[1].index;
    let cases = [
        ("/roster/3/pvss_key", "roster", "server 3".to_string()),
        (
            "/dealings/1/deal/commitments/0",
            "dealing-proofs",
            format!("dealer {dealer}"),
        ),
        (
            "/dealings/1/deal/encrypted_shares/2",
            "dealing-proofs",
            format!("dealer {dealer}"),
        ),
        (
            "/dealings/1/deal/proofs/0/r",
            "dealing-proofs",
            format!("dealer {dealer}"),
        ),
        (
            "/secrets/0/shares/1/share",
            "decrypted-shares",
            format!("dealer {secret_dealer}, share of server {share_server}"),
        ),
        (
            "/secrets/0/shares/1/proof/a1",
            "decrypted-shares",
            format!("dealer {secret_dealer}, share of server {share_server}"),
        ),
        (
            "/secrets/0/recovered",
            "recovery",
            format!("dealer {secret_dealer}"),
        ),
    ];
    for (pointer, check, owner) in cases {
        let mut value = honest_json().clone();
        *value.pointer_mut(pointer).unwrap() = NOT_A_POINT.into();
        let (code, stdout) = verify_drp("damaged-point.json", &value.to_string());
        assert_eq!(code, 1, "{pointer}: {stdout}");
        assert!(
            stdout.starts_with(&format!("FAIL {check}: {owner}: ")),
            "{pointer}: {stdout}"
        );
    }
}

#[test]
fn unknown_fields_are_refused_at_every_level() {
    for pointer in [
        "",
        "/params",
        "/roster/0",
        "/groups/0",
        "/choice",
        "/choice/groups/0",
        "/dealings/0",
        "/dealings/0/deal",
        "/dealings/0/deal/proofs/0",
        "/secrets/0",
        "/secrets/0/shares/0",
        "/secrets/0/shares/0/proof",
    ] {
        let mut value = honest_json().clone();
        value
            .pointer_mut(pointer)
            .and_then(|v| v.as_object_mut())
            .unwrap_or_else(|| panic!("{pointer} is an object"))
            .insert("extra".into(), 1.into());
        let err = Transcript::from_json(&value.to_string()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `extra`"),
            "{pointer}: {err}"
        );
    }
}

#[test]
fn drp_command_writes_a_transcript_that_verifies() {
    let path = std::env::temp_dir().join(format!("iosv-drp-{}-run.json", std::process::id()));
    let run = iosv()
        .args([
            "drp",
            "--servers",
            "9",
            "--group-size",
            "3",
            "--fault",
            "forged-dealing-proof",
            "--faulty-server",
            "4",
            "--out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(run.status.success(), "{stdout}");
    assert!(stdout.contains("excluded server 4"), "{stdout}");
    let output_line = stdout.lines().find(|l| l.starts_with("output ")).unwrap();
    let check = iosv()
        .args(["verify-drp", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(check.status.code(), Some(0));
    let verdict: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(verdict["valid"], true);
    assert_eq!(
        format!("output {}", verdict["output"].as_str().unwrap()),
        output_line
    );
}

/// JSON pointers of the hex fields a tamper must never get past.
const HEX_FIELDS: &[&str] = &[
    "/output",
    "/grouping_seed",
    "/params/previous",
    "/choice/session",
    "/choice/groups/0/dealing_hashes/0",
    "/choice/groups/1/dealing_hashes/1",
    "/choice_signature",
    "/dealings/0/signature",
    "/dealings/1/deal/commitments/0",
    "/dealings/2/deal/encrypted_shares/1",
    "/dealings/3/deal/proofs/2/a1",
    "/dealings/0/deal/proofs/0/r",
    "/secrets/0/shares/0/share",
    "/secrets/1/shares/1/proof/a2",
    "/secrets/2/shares/0/proof/r",
    "/secrets/3/recovered",
    "/roster/1/cosi_key",
    "/roster/2/cosi_pop",
    "/roster/3/pvss_key",
    "/roster/4/pvss_binding",
];

/// Integer fields, tampered in their low byte.
const INT_FIELDS: &[&str] = &[
    "/params/epoch",
    "/params/group_size",
    "/groups/0/members/1",
    "/groups/1/threshold",
    "/choice/groups/0/dealers/1",
    "/dealings/2/dealer",
    "/dealings/1/deal/threshold",
    "/secrets/0/dealer",
    "/secrets/1/shares/0/index",
];

fn honest_json() -> &'static serde_json::Value {
    static V: OnceLock<serde_json::Value> = OnceLock::new();
    V.get_or_init(|| serde_json::to_value(honest()).unwrap())
}

/// Rejected: either it no longer parses as a transcript, or a check fails.
fn rejected(value: serde_json::Value) -> bool {
    match serde_json::from_value::<Transcript>(value) {
        Ok(t) => t.verify().is_err(),
        Err(_) => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_single_byte_tamper_of_a_hex_field_is_rejected(
        field in 0..HEX_FIELDS.len(),
        position in any::<usize>(),
        flip in 1..=255u8,
    ) {
        let mut value = honest_json().clone();
        let slot = value.pointer_mut(HEX_FIELDS[field]).unwrap();
        let mut bytes = hex::decode(slot.as_str().unwrap()).unwrap();
        let i = position % bytes.len();
        bytes[i] ^= flip;
        *slot = hex::encode(&bytes).into();
        prop_assert!(rejected(value), "{} byte {i} ^ {flip:#x}", HEX_FIELDS[field]);
    }

    #[test]
    fn any_change_of_an_integer_field_is_rejected(
        field in 0..INT_FIELDS.len(),
        flip in 1..=255u64,
    ) {
        let mut value = honest_json().clone();
        let slot = value.pointer_mut(INT_FIELDS[field]).unwrap();
        *slot = (slot.as_u64().unwrap() ^ flip).into();
        prop_assert!(rejected(value), "{} ^ {flip:#x}", INT_FIELDS[field]);
    }
}
