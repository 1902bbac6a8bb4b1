//! Validators as separate processes on a real network: the TCP transport between roster members
//! and the node process around one sans-I/O node.
//!
//! - [`channel`]: the authenticated, encrypted channel (a signed X25519 handshake binding each
//!   connection to a roster member's Ed25519 key, then ChaCha20-Poly1305 frames with bounded
//!   lengths).
//! - [`transport`]: [`transport::TcpTransport`], the [`crate::node::Transport`] over those
//!   channels, with every queue and connection count bounded.
//!
//! The nodes themselves are the protocol's state machines, unchanged: a process runs one of them
//! with the real-time runner's event loop (`crate::runtime::Drive`), the TCP transport in place
//! of the in-process channels.

pub mod channel;
pub mod transport;
