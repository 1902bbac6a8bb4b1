//! The authenticated, encrypted channel between two roster members over any byte stream.
//!
//! **Handshake** (three fixed-size messages, so an unauthenticated peer can make a node read at
//! most [`HELLO_LEN`] bytes and allocate nothing): both sides pick an ephemeral X25519 key;
//! each signs the transcript — the initiator's hello (network id, both node ids, its ephemeral
//! key) and the responder's ephemeral key — with its roster Ed25519 key, under its role's label.
//! 1. initiator → responder: `MAGIC ‖ network ‖ from ‖ to ‖ eph_i` ([`HELLO_LEN`] bytes);
//! 2. responder → initiator: `eph_r ‖ sig_r` where `sig_r` signs
//!    `NET_HANDSHAKE ‖ "responder" ‖ SHA-256(NET_HANDSHAKE ‖ hello ‖ eph_r)`;
//! 3. initiator → responder: `sig_i`, the same under `"initiator"`.
//!
//! The responder refuses a hello for another network (roster digest), for another node, or from
//! an id outside the roster (or its own); each side verifies the other's signature with the key
//! the roster gives that id (RFC 8032 strict verification), so a node exchanges frames only with
//! the roster member it meant, and a man in the middle who relays the handshake cannot read or
//! write frames: the keys come from the ephemeral Diffie–Hellman secret, which signatures over
//! both ephemeral keys bind to the two identities. Fresh ephemeral keys per connection give
//! forward secrecy and make frames of an old connection useless on a new one.
//!
//! **Frames**: `len ‖ ChaCha20-Poly1305(key of this direction, nonce = counter, aad = len)`,
//! `len` a little-endian `u32`. A reader refuses a length above its bound before allocating; a
//! frame that does not authenticate (tampered, replayed, reordered, cut) ends the connection.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::domain::{NET_HANDSHAKE, NET_SESSION_KEY};
use crate::node::NodeId;

/// The first bytes of every connection: protocol and version.
pub const MAGIC: &[u8; 8] = b"IOSVNET1";
/// The hello's length: magic, network id, two node ids, an X25519 key.
pub const HELLO_LEN: usize = 8 + 32 + 4 + 4 + 32;
const REPLY_LEN: usize = 32 + 64;
const FINISH_LEN: usize = 64;
/// Bytes a frame adds to its payload: the length and the Poly1305 tag.
pub const FRAME_OVERHEAD: usize = 4 + 16;

/// Why a connection was refused or ended.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("not an iosv node connection (wrong magic)")]
    Magic,
    #[error("the peer belongs to another network (roster digest differs)")]
    Network,
    #[error("the hello is addressed to node {to}, this is node {me}")]
    NotForMe { to: NodeId, me: NodeId },
    #[error("node {0} is not a member of the roster (or is this node)")]
    NotMember(NodeId),
    #[error("node {0}'s handshake signature does not verify under its roster key")]
    BadSignature(NodeId),
    #[error("degenerate key exchange (low-order ephemeral key)")]
    LowOrder,
    #[error("frame of {len} bytes is over the bound of {max}")]
    Oversized { len: usize, max: usize },
    #[error("frame does not authenticate (tampered, replayed or cut)")]
    Forged,
    #[error("frame counter exhausted")]
    Exhausted,
}

/// The members a node may talk to: the network's id and each member's Ed25519 public key, by
/// node id.
#[derive(Clone, Debug)]
pub struct Members {
    network: [u8; 32],
    keys: Vec<VerifyingKey>,
}

impl Members {
    /// The members with these public keys (node `i` has `keys[i]`). Fails on a key that is not a
    /// valid Ed25519 point encoding.
    pub fn new(keys: &[[u8; 32]]) -> Result<Members, String> {
        let mut h = Sha256::new();
        h.update(NET_HANDSHAKE);
        h.update(b"network");
        h.update((keys.len() as u64).to_le_bytes());
        let mut parsed = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            h.update(key);
            parsed.push(
                VerifyingKey::from_bytes(key)
                    .map_err(|_| format!("node {i}'s public key is not a valid Ed25519 key"))?,
            );
        }
        Ok(Members {
            network: h.finalize().into(),
            keys: parsed,
        })
    }

    /// The network's id: a digest of the roster, so nodes of different rosters never connect.
    pub fn network(&self) -> [u8; 32] {
        self.network
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn key(&self, id: NodeId) -> Option<&VerifyingKey> {
        self.keys.get(id as usize)
    }
}

/// A node's own identity: its id and roster key.
#[derive(Clone)]
pub struct Identity {
    pub id: NodeId,
    pub key: SigningKey,
}

/// Keys of one connection, one per direction.
struct SessionKeys {
    send: [u8; 32],
    recv: [u8; 32],
}

fn transcript_hash(hello: &[u8; HELLO_LEN], eph_r: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(NET_HANDSHAKE);
    h.update(hello);
    h.update(eph_r);
    h.finalize().into()
}

fn signed_message(role: &[u8], transcript: &[u8; 32]) -> Vec<u8> {
    [NET_HANDSHAKE, role, transcript].concat()
}

fn session_keys(
    shared: &[u8; 32],
    transcript: &[u8; 32],
    initiator: bool,
) -> Result<SessionKeys, ChannelError> {
    if shared == &[0u8; 32] {
        return Err(ChannelError::LowOrder);
    }
    let derive = |direction: &[u8]| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(NET_SESSION_KEY);
        h.update(shared);
        h.update(transcript);
        h.update(direction);
        h.finalize().into()
    };
    let (i2r, r2i) = (
        derive(b"initiator->responder"),
        derive(b"responder->initiator"),
    );
    Ok(if initiator {
        SessionKeys {
            send: i2r,
            recv: r2i,
        }
    } else {
        SessionKeys {
            send: r2i,
            recv: i2r,
        }
    })
}

fn verify(
    members: &Members,
    id: NodeId,
    message: &[u8],
    sig: &[u8; 64],
) -> Result<(), ChannelError> {
    let key = members.key(id).ok_or(ChannelError::NotMember(id))?;
    key.verify_strict(message, &Signature::from_bytes(sig))
        .map_err(|_| ChannelError::BadSignature(id))
}

fn ephemeral() -> ([u8; 32], [u8; 32]) {
    let secret: [u8; 32] = rand::random();
    (secret, MontgomeryPoint::mul_base_clamped(secret).to_bytes())
}

/// Runs the initiator's side of the handshake with node `peer` over `stream`; returns the frame
/// writer and reader of the connection.
pub fn initiate<S: Read + Write>(
    stream: &mut S,
    me: &Identity,
    members: &Members,
    peer: NodeId,
    max_frame: usize,
) -> Result<(FrameSealer, FrameOpener), ChannelError> {
    if members.key(peer).is_none() || peer == me.id {
        return Err(ChannelError::NotMember(peer));
    }
    let (secret, eph_i) = ephemeral();
    let mut hello = [0u8; HELLO_LEN];
    hello[..8].copy_from_slice(MAGIC);
    hello[8..40].copy_from_slice(&members.network);
    hello[40..44].copy_from_slice(&me.id.to_le_bytes());
    hello[44..48].copy_from_slice(&peer.to_le_bytes());
    hello[48..80].copy_from_slice(&eph_i);
    stream.write_all(&hello)?;
    stream.flush()?;
    let mut reply = [0u8; REPLY_LEN];
    stream.read_exact(&mut reply)?;
    let eph_r: [u8; 32] = reply[..32].try_into().expect("32 bytes");
    let sig_r: [u8; 64] = reply[32..].try_into().expect("64 bytes");
    let transcript = transcript_hash(&hello, &eph_r);
    verify(
        members,
        peer,
        &signed_message(b"responder", &transcript),
        &sig_r,
    )?;
    let sig_i = me
        .key
        .sign(&signed_message(b"initiator", &transcript))
        .to_bytes();
    stream.write_all(&sig_i)?;
    stream.flush()?;
    let shared = MontgomeryPoint(eph_r).mul_clamped(secret).to_bytes();
    let keys = session_keys(&shared, &transcript, true)?;
    Ok(sealed_pair(keys, max_frame))
}

/// Runs the responder's side of the handshake over `stream`; returns the authenticated peer's id
/// and the frame writer and reader of the connection.
pub fn respond<S: Read + Write>(
    stream: &mut S,
    me: &Identity,
    members: &Members,
    max_frame: usize,
) -> Result<(NodeId, FrameSealer, FrameOpener), ChannelError> {
    let mut hello = [0u8; HELLO_LEN];
    stream.read_exact(&mut hello)?;
    if &hello[..8] != MAGIC {
        return Err(ChannelError::Magic);
    }
    if hello[8..40] != members.network {
        return Err(ChannelError::Network);
    }
    let from = NodeId::from_le_bytes(hello[40..44].try_into().expect("4 bytes"));
    let to = NodeId::from_le_bytes(hello[44..48].try_into().expect("4 bytes"));
    if to != me.id {
        return Err(ChannelError::NotForMe { to, me: me.id });
    }
    if members.key(from).is_none() || from == me.id {
        return Err(ChannelError::NotMember(from));
    }
    let eph_i: [u8; 32] = hello[48..80].try_into().expect("32 bytes");
    let (secret, eph_r) = ephemeral();
    let transcript = transcript_hash(&hello, &eph_r);
    let sig_r = me
        .key
        .sign(&signed_message(b"responder", &transcript))
        .to_bytes();
    let mut reply = [0u8; REPLY_LEN];
    reply[..32].copy_from_slice(&eph_r);
    reply[32..].copy_from_slice(&sig_r);
    stream.write_all(&reply)?;
    stream.flush()?;
    let mut sig_i = [0u8; FINISH_LEN];
    stream.read_exact(&mut sig_i)?;
    verify(
        members,
        from,
        &signed_message(b"initiator", &transcript),
        &sig_i,
    )?;
    let shared = MontgomeryPoint(eph_i).mul_clamped(secret).to_bytes();
    let keys = session_keys(&shared, &transcript, false)?;
    let (sealer, opener) = sealed_pair(keys, max_frame);
    Ok((from, sealer, opener))
}

fn sealed_pair(keys: SessionKeys, max_frame: usize) -> (FrameSealer, FrameOpener) {
    (
        FrameSealer::new(&keys.send, max_frame),
        FrameOpener::new(&keys.recv, max_frame),
    )
}

fn nonce(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}

/// Seals the frames one side writes.
pub struct FrameSealer {
    cipher: ChaCha20Poly1305,
    counter: u64,
    max_frame: usize,
}

impl FrameSealer {
    /// A sealer under `key` (a direction's key from the handshake), counting from frame 0.
    pub fn new(key: &[u8; 32], max_frame: usize) -> FrameSealer {
        FrameSealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            counter: 0,
            max_frame,
        }
    }

    /// Writes `payload` as the next frame.
    pub fn write<W: Write>(&mut self, out: &mut W, payload: &[u8]) -> Result<(), ChannelError> {
        if payload.len() > self.max_frame {
            return Err(ChannelError::Oversized {
                len: payload.len(),
                max: self.max_frame,
            });
        }
        let len = u32::try_from(payload.len() + 16).map_err(|_| ChannelError::Oversized {
            len: payload.len(),
            max: self.max_frame,
        })?;
        let len_bytes = len.to_le_bytes();
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce(self.counter)),
                Payload {
                    msg: payload,
                    aad: &len_bytes,
                },
            )
            .map_err(|_| ChannelError::Forged)?;
        self.counter = self.counter.checked_add(1).ok_or(ChannelError::Exhausted)?;
        out.write_all(&len_bytes)?;
        out.write_all(&sealed)?;
        Ok(())
    }
}

/// Opens the frames one side reads.
pub struct FrameOpener {
    cipher: ChaCha20Poly1305,
    counter: u64,
    max_frame: usize,
}

impl FrameOpener {
    /// An opener under `key` (a direction's key from the handshake), expecting frame 0 first.
    pub fn new(key: &[u8; 32], max_frame: usize) -> FrameOpener {
        FrameOpener {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            counter: 0,
            max_frame,
        }
    }

    /// Reads and opens the next frame. `Ok(None)` when the stream ended cleanly between frames.
    pub fn read<R: Read>(&mut self, input: &mut R) -> Result<Option<Vec<u8>>, ChannelError> {
        let mut len_bytes = [0u8; 4];
        if !read_exact_or_eof(input, &mut len_bytes)? {
            return Ok(None);
        }
        let len = u32::from_le_bytes(len_bytes) as usize;
        if len < 16 || len - 16 > self.max_frame {
            return Err(ChannelError::Oversized {
                len: len.saturating_sub(16),
                max: self.max_frame,
            });
        }
        let mut sealed = vec![0u8; len];
        input.read_exact(&mut sealed)?;
        let payload = self
            .cipher
            .decrypt(
                Nonce::from_slice(&nonce(self.counter)),
                Payload {
                    msg: &sealed,
                    aad: &len_bytes,
                },
            )
            .map_err(|_| ChannelError::Forged)?;
        self.counter = self.counter.checked_add(1).ok_or(ChannelError::Exhausted)?;
        Ok(Some(payload))
    }
}

/// Fills `buf`; `Ok(false)` if the stream ended before its first byte.
fn read_exact_or_eof<R: Read>(input: &mut R, buf: &mut [u8]) -> Result<bool, ChannelError> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
