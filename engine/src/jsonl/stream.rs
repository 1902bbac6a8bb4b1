//! Streaming verification of JSON-lines input: bounded memory on any input size, all cores, output
//! in input order.
//!
//! A reader thread cuts the input into chunks of `batch` lines; worker threads parse and verify
//! chunks; the calling thread writes results in order. A chunk may only be read after taking one of
//! `in_flight` tokens, and its token comes back once it is written, so at most `in_flight` chunks are
//! in memory at any time whatever the input size or the order in which workers finish. A line longer
//! than [`MAX_LINE_LEN`] is not kept: the reader skips to its end and the line gets an error.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::ops::Range;

use crossbeam::channel;

use super::{LineError, MAX_LINE_LEN, Verdict, parse_line};
use crate::sig::{SigItem, SigRef};

#[derive(Clone, Copy, Debug)]
pub struct StreamOptions {
    /// Lines per chunk, and so the largest verification batch.
    pub batch: usize,
    /// Worker threads (at least 1).
    pub threads: usize,
}

impl StreamOptions {
    /// Chunks allowed in memory at once: enough to keep every worker busy while the writer waits
    /// for a slow chunk, and the reader one chunk ahead.
    fn in_flight(&self) -> usize {
        2 * self.threads.max(1) + 2
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamSummary {
    pub lines: u64,
    pub valid: u64,
    pub invalid: u64,
    pub errors: u64,
}

/// Buffers of a chunk that was written, handed back to the reader with the chunk's token, so that
/// steady-state reading allocates nothing.
#[derive(Default)]
struct Recycled {
    bytes: Vec<u8>,
    lines: Vec<Option<Range<usize>>>,
}

/// A chunk of input lines in one buffer.
struct Chunk {
    seq: u64,
    bytes: Vec<u8>,
    /// Each line's range in `bytes`, or `None` for a line that was too long to keep.
    lines: Vec<Option<Range<usize>>>,
}

struct Done {
    seq: u64,
    /// Set when the verifier failed on this chunk: the stream stops with this error.
    failed: Option<io::Error>,
    output: Vec<u8>,
    summary: StreamSummary,
    recycled: Recycled,
}

/// Verifies every line of `input` with `check` (a batch verifier: one verdict per signature, in
/// order) and writes one output line per input line to `output`, in input order. A `check` that
/// fails (a verifier that could not start, say) stops the stream with its error; the lines before
/// the failing chunk have been written, none after.
pub fn verify_stream<R, W, F>(
    input: R,
    mut output: W,
    options: StreamOptions,
    check: &F,
) -> io::Result<StreamSummary>
where
    R: BufRead + Send,
    W: Write,
    F: Fn(&[SigRef<'_>]) -> io::Result<Vec<bool>> + Sync,
{
    let batch = options.batch.max(1);
    let threads = options.threads.max(1);
    let (token_tx, token_rx) = channel::bounded::<Recycled>(options.in_flight());
    for _ in 0..options.in_flight() {
        token_tx
            .send(Recycled::default())
            .expect("token channel has room");
    }
    let (chunk_tx, chunk_rx) = channel::bounded::<Chunk>(threads);
    let (done_tx, done_rx) = channel::bounded::<Done>(options.in_flight());

    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_chunks(input, batch, &token_rx, &chunk_tx));
        for _ in 0..threads {
            let chunk_rx = chunk_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                for chunk in chunk_rx {
                    if done_tx.send(judge_chunk(chunk, check)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(chunk_rx);
        drop(done_tx);

        let mut total = StreamSummary::default();
        let mut next = 0u64;
        let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
        let mut write_result = Ok(());
        for done in done_rx.iter() {
            waiting.insert(done.seq, done);
            while let Some(ready) = waiting.remove(&next) {
                if write_result.is_ok() {
                    write_result = match ready.failed {
                        Some(e) => Err(e),
                        None => output.write_all(&ready.output),
                    };
                }
                if write_result.is_err() {
                    // Stop everything: dropping the receiver makes the workers and reader return.
                    drop(done_rx);
                    drop(token_tx);
                    return finish(reader.join(), write_result, total);
                }
                total.lines += ready.summary.lines;
                total.valid += ready.summary.valid;
                total.invalid += ready.summary.invalid;
                total.errors += ready.summary.errors;
                next += 1;
                let _ = token_tx.send(ready.recycled);
            }
        }
        let write_result = write_result.and_then(|()| output.flush());
        finish(reader.join(), write_result, total)
    })
}

fn finish(
    reader: std::thread::Result<io::Result<()>>,
    write_result: io::Result<()>,
    total: StreamSummary,
) -> io::Result<StreamSummary> {
    let read_result = reader.unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")));
    write_result?;
    read_result?;
    Ok(total)
}

/// Reads `input` into chunks of up to `batch` lines, each after taking a token.
fn read_chunks<R: BufRead>(
    mut input: R,
    batch: usize,
    tokens: &channel::Receiver<Recycled>,
    chunks: &channel::Sender<Chunk>,
) -> io::Result<()> {
    let mut seq = 0u64;
    loop {
        let Ok(mut recycled) = tokens.recv() else {
            return Ok(()); // the writer stopped
        };
        recycled.bytes.clear();
        recycled.lines.clear();
        let mut chunk = Chunk {
            seq,
            bytes: recycled.bytes,
            lines: recycled.lines,
        };
        while chunk.lines.len() < batch {
            match read_bounded_line(&mut input, &mut chunk.bytes)? {
                LineRead::Eof => break,
                LineRead::Line(range) => chunk.lines.push(Some(range)),
                LineRead::TooLong => chunk.lines.push(None),
            }
        }
        if chunk.lines.is_empty() {
            return Ok(());
        }
        let last = chunk.lines.len() < batch;
        if chunks.send(chunk).is_err() {
            return Ok(());
        }
        if last {
            return Ok(());
        }
        seq += 1;
    }
}

enum LineRead {
    Eof,
    Line(Range<usize>),
    TooLong,
}

/// Appends the next line (without `\n` or `\r\n`) to `buf`, keeping at most [`MAX_LINE_LEN`] bytes
/// of it; a longer line is consumed up to its end and dropped.
fn read_bounded_line<R: BufRead>(input: &mut R, buf: &mut Vec<u8>) -> io::Result<LineRead> {
    let start = buf.len();
    let mut seen_any = false;
    let mut too_long = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        seen_any = true;
        let (take, found_newline) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if !too_long {
            if buf.len() - start + take > MAX_LINE_LEN {
                too_long = true;
                buf.truncate(start);
            } else {
                buf.extend_from_slice(&available[..take]);
            }
        }
        input.consume(take + usize::from(found_newline));
        if found_newline {
            break;
        }
    }
    if !seen_any {
        return Ok(LineRead::Eof);
    }
    if too_long {
        return Ok(LineRead::TooLong);
    }
    // Only this line's own bytes: the buffer holds the chunk's earlier lines too, and an empty
    // line must not take a `\r` from the line before it (found by the `jsonl` fuzz target).
    if buf.len() > start && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(LineRead::Line(start..buf.len()))
}

fn judge_chunk<F>(chunk: Chunk, check: &F) -> Done
where
    F: Fn(&[SigRef<'_>]) -> io::Result<Vec<bool>>,
{
    let parsed: Vec<Result<SigItem, LineError>> = chunk
        .lines
        .iter()
        .map(|line| match line {
            Some(range) => parse_line(&chunk.bytes[range.clone()]),
            None => Err(LineError::LineTooLong),
        })
        .collect();
    let refs: Vec<SigRef<'_>> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().map(SigItem::as_ref))
        .collect();
    let (verdicts, failed) = match check(&refs) {
        Ok(v) => (v, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let mut verdicts = verdicts.into_iter();

    let mut summary = StreamSummary {
        lines: chunk.lines.len() as u64,
        ..StreamSummary::default()
    };
    let mut output = Vec::with_capacity(chunk.lines.len() * 16);
    for p in &parsed {
        let verdict = match p {
            Ok(_) => match verdicts.next() {
                Some(true) => Verdict::Valid,
                Some(false) => Verdict::Invalid,
                None => Verdict::Error("internal: verifier returned too few verdicts".into()),
            },
            Err(e) => Verdict::Error(e.to_string()),
        };
        match verdict {
            Verdict::Valid => summary.valid += 1,
            Verdict::Invalid => summary.invalid += 1,
            Verdict::Error(_) => summary.errors += 1,
        }
        verdict.write_to(&mut output);
    }
    drop(verdicts);
    drop(refs);
    drop(parsed);
    Done {
        seq: chunk.seq,
        failed,
        output,
        summary,
        recycled: Recycled {
            bytes: chunk.bytes,
            lines: chunk.lines,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let options = StreamOptions {
            batch: 4,
            threads: 2,
        };
        let check = |items: &[SigRef<'_>]| Ok(vec![false; items.len()]);
        verify_stream(input, &mut out, options, &check).expect("stream");
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn an_empty_line_after_a_line_ending_in_cr_cr_is_its_own_line() {
        // Found by the `jsonl` fuzz target (fuzz/regressions/jsonl/): `x\r\r\n` then an empty
        // line. Stripping the empty line's "\r" used to pop the previous line's last byte, and
        // the worker panicked slicing past the buffer (`iosv verify` exited 101).
        let lines = verdicts(b"x\r\r\n\n");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| l.starts_with("{\"error\"")),
            "{lines:?}"
        );
        let lines = verdicts(b"a\r\n\r\n\n\r\r\n");
        assert_eq!(lines.len(), 4, "{lines:?}");
    }
}
