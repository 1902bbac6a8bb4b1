//! The JSON-lines verifier (`iosv verify`): `jsonl::parse_line` on the input as one line, and
//! `jsonl::stream::verify_stream` on the input as a whole stream (two workers, small chunks),
//! against a line-by-line reference. Properties: no panic; a parsed line formats back to a line
//! that parses to the same item; the stream writes exactly one verdict per input line, in order,
//! equal to what parsing and verifying that line alone gives.

#![no_main]

use iosv_engine::jsonl::stream::{StreamOptions, verify_stream};
use iosv_engine::jsonl::{MAX_LINE_LEN, MAX_MSG_LEN, Verdict, format_line, parse_line};
use iosv_engine::sig::{SigRef, verify_single};
use libfuzzer_sys::fuzz_target;

/// The verdict of one line, as the stream must give it.
fn reference(line: &[u8]) -> Verdict {
    if line.len() > MAX_LINE_LEN {
        return Verdict::Error(iosv_engine::jsonl::LineError::LineTooLong.to_string());
    }
    match parse_line(line) {
        Ok(item) if verify_single(item.as_ref()) => Verdict::Valid,
        Ok(_) => Verdict::Invalid,
        Err(e) => Verdict::Error(e.to_string()),
    }
}

/// Splits like the stream: on `\n`, one trailing `\r` removed, no empty line after a final `\n`.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.is_empty() || data.ends_with(b"\n") {
        out.pop();
    }
    out.into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    if let Ok(item) = parse_line(data) {
        assert!(item.msg.len() <= MAX_MSG_LEN);
        let line = format_line(item.as_ref());
        assert_eq!(parse_line(line.as_bytes()), Ok(item));
    }

    let Some((&shape, input)) = data.split_first() else {
        return;
    };
    let options = StreamOptions {
        batch: usize::from(shape % 4) + 1,
        threads: 2,
    };
    let check = |items: &[SigRef<'_>]| -> std::io::Result<Vec<bool>> {
        Ok(items.iter().map(|item| verify_single(*item)).collect())
    };
    let mut output = Vec::new();
    let summary =
        verify_stream(input, &mut output, options, &check).expect("in-memory streams cannot fail");
    let mut expected = Vec::new();
    let lines = lines(input);
    for line in &lines {
        reference(line).write_to(&mut expected);
    }
    assert_eq!(summary.lines, lines.len() as u64);
    assert_eq!(
        summary.valid + summary.invalid + summary.errors,
        summary.lines
    );
    assert_eq!(
        String::from_utf8_lossy(&output),
        String::from_utf8_lossy(&expected),
        "the stream's verdicts differ from line-by-line verification"
    );
});
