//! The event trace: one JSON object per line, with a running SHA-256 of the bytes written.
//!
//! Invariant: a line is a pure function of the event (JSON maps are sorted by key, numbers are
//! integers), so the same run gives byte-identical traces on every machine.

use std::io::{self, Write};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::node::Time;

/// Writes trace lines to `W` and digests them.
pub struct Trace<W: Write> {
    out: W,
    hasher: Sha256,
    lines: u64,
    buf: Vec<u8>,
    enabled: bool,
}

impl Trace<io::Sink> {
    /// A trace that records nothing, for drivers that only need the run (the demo's finality
    /// rounds): no event is built, written or digested.
    pub fn disabled() -> Self {
        let mut t = Trace::new(io::sink());
        t.enabled = false;
        t
    }
}

impl<W: Write> Trace<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            hasher: Sha256::new(),
            lines: 0,
            buf: Vec::with_capacity(256),
            enabled: true,
        }
    }

    /// Whether events are written. A disabled trace (see [`Trace::disabled`]) writes nothing,
    /// and its users skip building the events.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Writes `{"t": now, "ev": event, ...fields}`; `fields` must be a JSON object (others are
    /// written under the key `"data"`).
    pub fn event(&mut self, now: Time, event: &str, fields: Value) -> io::Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let mut map = match fields {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                let mut m = Map::new();
                m.insert("data".into(), other);
                m
            }
        };
        map.insert("t".into(), Value::from(now));
        map.insert("ev".into(), Value::from(event));
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &map).map_err(io::Error::other)?;
        self.buf.push(b'\n');
        self.hasher.update(&self.buf);
        self.lines += 1;
        self.out.write_all(&self.buf)
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// SHA-256 of every byte written so far, in hex.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
