//! DRP transcripts, as `iosv verify-drp` reads them: `Transcript::from_json` (serde with the path
//! of any damage followed back to the check it belongs to), then `Transcript::verify`; and plain
//! `serde_json::from_str::<Transcript>`, which must agree. Properties: no panic (every failure a
//! typed `TranscriptDamage` or `CheckFailure`), bounded allocation; both parsers accept the same
//! inputs and give the same transcript; a parsed transcript round-trips through JSON; a verified
//! transcript's output is the one it records, and verification is deterministic.

#![no_main]

use iosv_harness::drp::Transcript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some(text) = iosv_fuzz::text(data) else {
        return;
    };
    let plain = serde_json::from_str::<Transcript>(text);
    let transcript = match Transcript::from_json(text) {
        Ok(t) => t,
        Err(damage) => {
            let _ = damage.to_string();
            assert!(
                plain.is_err(),
                "serde accepted what from_json refused: {damage}"
            );
            return;
        }
    };
    assert_eq!(
        plain.as_ref().ok(),
        Some(&transcript),
        "from_json accepted what serde refused"
    );
    let json = serde_json::to_string(&transcript).expect("a parsed transcript serializes");
    let back = Transcript::from_json(&json).expect("and parses back");
    assert_eq!(back, transcript);
    let verdict = transcript.verify();
    iosv_fuzz::trace(|| match &verdict {
        Ok(_) => "verified".to_string(),
        Err(f) => format!("failed check {}", f.check.name()),
    });
    match verdict {
        Ok(output) => {
            assert_eq!(output, transcript.output);
            assert_eq!(back.verify(), Ok(output));
        }
        Err(failure) => {
            let _ = failure.to_string();
            let _ = failure.check.name();
        }
    }
});
