//! The TCP transport: a node's messages to and from the other roster members over authenticated,
//! encrypted connections ([`super::channel`]), behind the same [`Transport`] trait the simulator
//! and the in-process runner implement.
//!
//! Shape: a node dials every other member once for what it sends (one writer thread per peer,
//! redialling with backoff) and accepts one connection from every member for what it receives
//! (one reader thread per peer, a newer connection from the same member replacing the older).
//! Every bound an untrusted peer could push against is fixed:
//! - a connection that has not finished its handshake within `handshake_timeout` is dropped, and
//!   at most `max_inbound` connections (handshaking or not) are open at once;
//! - a frame's length is checked against `max_frame` before anything is allocated for it;
//! - each peer's send queue holds at most `send_queue` messages: a peer that is down or does not
//!   read loses the messages that do not fit (counted), never the node's memory; a write stuck
//!   longer than `write_timeout` drops the connection;
//! - the inbox holds at most `inbox` messages: readers wait when it is full, so a fast peer is
//!   slowed by TCP's flow control rather than buffered.
//!
//! Delivery is what the trait promises: messages on one connection arrive in order, once; a
//! broken connection loses what was in flight, so protocols above keep their own retries (the
//! finality members' view changes and catch-up do).

use std::io::{self, BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam::channel::{
    self, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::channel::{Identity, Members, initiate, respond};
use super::faults::{Emulator, LinkFaults, Verdict};
use crate::node::{NodeId, Time, Transport};
use crate::runtime::Envelope;

/// The transport's bounds and timings.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Largest message, encoded, in bytes.
    pub max_frame: usize,
    /// Messages queued per peer before new ones are dropped.
    pub send_queue: usize,
    /// Messages received and not yet taken by the node before readers wait.
    pub inbox: usize,
    /// Longest a handshake may take.
    pub handshake_timeout: Duration,
    /// Longest one write may block before the connection is dropped.
    pub write_timeout: Duration,
    /// Inbound connections open at once, handshaking or established.
    pub max_inbound: usize,
    /// First and longest wait between dials of a peer that cannot be reached.
    pub redial: (Duration, Duration),
}

impl NetConfig {
    /// Defaults for a roster of `members`.
    pub fn for_members(members: usize) -> NetConfig {
        NetConfig {
            max_frame: 8 << 20,
            send_queue: 8192,
            inbox: 16384,
            handshake_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_inbound: 2 * members + 8,
            redial: (Duration::from_millis(20), Duration::from_secs(1)),
        }
    }
}

/// What the transport counted, for metrics and tests.
#[derive(Debug, Default)]
pub struct NetCounters {
    /// Frames written to peers.
    pub sent: AtomicU64,
    /// Frames read and decoded from peers.
    pub received: AtomicU64,
    /// Messages dropped because a peer's queue was full.
    pub dropped_full: AtomicU64,
    /// Messages lost with a connection that broke while they were being written.
    pub lost_in_flight: AtomicU64,
    /// Messages over the frame bound, never sent.
    pub oversized: AtomicU64,
    /// Outbound connections established (handshake done).
    pub dialed: AtomicU64,
    /// Inbound connections established (handshake done).
    pub accepted: AtomicU64,
    /// Inbound connections refused: handshake failed or timed out, or too many open.
    pub refused: AtomicU64,
    /// Inbound connections ended by a bad frame (over the bound, forged, undecodable).
    pub bad_frames: AtomicU64,
    /// Messages dropped by the emulated loss.
    pub emulated_drops: AtomicU64,
    /// Messages dropped by an emulated partition.
    pub partitioned: AtomicU64,
}

/// A snapshot of [`NetCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetStats {
    pub sent: u64,
    pub received: u64,
    pub dropped_full: u64,
    pub lost_in_flight: u64,
    pub oversized: u64,
    pub dialed: u64,
    pub accepted: u64,
    pub refused: u64,
    pub bad_frames: u64,
    pub emulated_drops: u64,
    pub partitioned: u64,
}

impl NetCounters {
    pub fn snapshot(&self) -> NetStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NetStats {
            sent: get(&self.sent),
            received: get(&self.received),
            dropped_full: get(&self.dropped_full),
            lost_in_flight: get(&self.lost_in_flight),
            oversized: get(&self.oversized),
            dialed: get(&self.dialed),
            accepted: get(&self.accepted),
            refused: get(&self.refused),
            bad_frames: get(&self.bad_frames),
            emulated_drops: get(&self.emulated_drops),
            partitioned: get(&self.partitioned),
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// This node and whom it talks to: its identity, the roster's keys and every member's address
/// (`addrs[i]` for node `i`).
#[derive(Clone)]
pub struct Endpoint {
    pub identity: Identity,
    pub members: Members,
    pub addrs: Vec<SocketAddr>,
}

/// State the transport's threads share.
struct Shared {
    endpoint: Endpoint,
    config: NetConfig,
    counters: Arc<NetCounters>,
    stop: AtomicBool,
    inbound: AtomicUsize,
    /// The established inbound connection of each member (and its generation), so that a newer
    /// one can close it and shutdown can close them all.
    readers: Mutex<Vec<Option<(u64, TcpStream)>>>,
    generation: AtomicU64,
}

/// A message queued for a peer: when it may leave (emulated delay) and its encoding.
type Queued = (Option<Instant>, Vec<u8>);

/// A node's outgoing side: implements [`Transport`] by encoding each message (JSON) and queueing
/// it for its peer's writer thread, after the emulated link faults if any.
pub struct TcpTransport<M> {
    queues: Vec<Option<Sender<Queued>>>,
    counters: Arc<NetCounters>,
    max_frame: usize,
    emulator: Option<Emulator>,
    _msg: PhantomData<fn(M)>,
}

impl<M: Serialize> Transport<M> for TcpTransport<M> {
    fn send(&mut self, _now: Time, _from: NodeId, to: NodeId, msg: M) {
        let Some(Some(queue)) = self.queues.get(to as usize) else {
            return;
        };
        let due = match self.emulator.as_mut().map(|e| e.judge(to)) {
            None => None,
            Some(Verdict::Send(d)) if d.is_zero() => None,
            Some(Verdict::Send(d)) => Some(Instant::now() + d),
            Some(Verdict::Lost) => {
                bump(&self.counters.emulated_drops);
                return;
            }
            Some(Verdict::Partitioned) => {
                bump(&self.counters.partitioned);
                return;
            }
        };
        let bytes = match serde_json::to_vec(&msg) {
            Ok(b) if b.len() <= self.max_frame => b,
            _ => {
                bump(&self.counters.oversized);
                return;
            }
        };
        match queue.try_send((due, bytes)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&self.counters.dropped_full),
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Owns the transport's threads: stops them on [`NetHandle::shutdown`] or drop.
pub struct NetHandle {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    /// The listener's address: a connection to it wakes the acceptor to see the stop flag.
    own_addr: SocketAddr,
}

impl NetHandle {
    pub fn counters(&self) -> Arc<NetCounters> {
        Arc::clone(&self.shared.counters)
    }

    pub fn stats(&self) -> NetStats {
        self.shared.counters.snapshot()
    }

    /// Stops dialling, accepting and reading; closes every connection; waits for the listener
    /// and writer threads.
    pub fn shutdown(&mut self) {
        if self.shared.stop.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = TcpStream::connect_timeout(&self.own_addr, Duration::from_secs(1));
        if let Ok(readers) = self.shared.readers.lock() {
            for (_, stream) in readers.iter().flatten() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for NetHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the transport of `endpoint` on `listener` (bound to this node's address): returns the
/// transport to hand the node's loop, the inbox it reads, and the handle that stops it all.
pub fn start<M>(
    listener: TcpListener,
    endpoint: Endpoint,
    config: NetConfig,
    faults: LinkFaults,
) -> io::Result<(TcpTransport<M>, Receiver<Envelope<M>>, NetHandle)>
where
    M: DeserializeOwned + Send + 'static,
{
    if endpoint.addrs.len() != endpoint.members.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} addresses for {} members",
                endpoint.addrs.len(),
                endpoint.members.len()
            ),
        ));
    }
    let me = endpoint.identity.id;
    let own_addr = listener.local_addr()?;
    let members = endpoint.members.len();
    let counters = Arc::new(NetCounters::default());
    let shared = Arc::new(Shared {
        readers: Mutex::new((0..members).map(|_| None).collect()),
        endpoint,
        config: config.clone(),
        counters: Arc::clone(&counters),
        stop: AtomicBool::new(false),
        inbound: AtomicUsize::new(0),
        generation: AtomicU64::new(0),
    });
    let (inbox_tx, inbox_rx) = channel::bounded(config.inbox);
    let mut threads = Vec::new();
    let mut queues = Vec::with_capacity(members);
    for peer in 0..members as NodeId {
        if peer == me {
            queues.push(None);
            continue;
        }
        let (tx, rx) = channel::bounded::<Queued>(config.send_queue);
        queues.push(Some(tx));
        let shared = Arc::clone(&shared);
        threads.push(
            thread::Builder::new()
                .name(format!("iosv-net-to-{peer}"))
                .spawn(move || writer(&shared, peer, &rx))?,
        );
    }
    {
        let shared = Arc::clone(&shared);
        threads.push(
            thread::Builder::new()
                .name("iosv-net-accept".into())
                .spawn(move || acceptor::<M>(&shared, &listener, &inbox_tx))?,
        );
    }
    Ok((
        TcpTransport {
            queues,
            counters,
            max_frame: config.max_frame,
            emulator: (!faults.is_none()).then(|| Emulator::new(faults)),
            _msg: PhantomData,
        },
        inbox_rx,
        NetHandle {
            shared,
            threads,
            own_addr,
        },
    ))
}

/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);

/// Sleeps `wait` in slices, returning false early if the transport stopped.
fn sleep_unless_stopped(shared: &Shared, wait: Duration) -> bool {
    let mut left = wait;
    while !left.is_zero() {
        if shared.stop.load(Ordering::Acquire) {
            return false;
        }
        let slice = left.min(POLL);
        thread::sleep(slice);
        left -= slice;
    }
    !shared.stop.load(Ordering::Acquire)
}

/// Dials `peer` and keeps writing its queue, redialling when the connection breaks.
fn writer(shared: &Shared, peer: NodeId, queue: &Receiver<Queued>) {
    let (first, longest) = shared.config.redial;
    let mut backoff = first;
    let addr = shared.endpoint.addrs[peer as usize];
    while !shared.stop.load(Ordering::Acquire) {
        let connected = TcpStream::connect_timeout(&addr, shared.config.handshake_timeout)
            .and_then(|s| {
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(shared.config.handshake_timeout))?;
                s.set_write_timeout(Some(shared.config.handshake_timeout))?;
                Ok(s)
            })
            .map_err(|e| e.to_string())
            .and_then(|mut s| {
                let (sealer, _) = initiate(
                    &mut s,
                    &shared.endpoint.identity,
                    &shared.endpoint.members,
                    peer,
                    shared.config.max_frame,
                )
                .map_err(|e| e.to_string())?;
                s.set_write_timeout(Some(shared.config.write_timeout))
                    .map_err(|e| e.to_string())?;
                Ok((s, sealer))
            });
        let (stream, mut sealer) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(peer, error = %e, "dial failed");
                if !sleep_unless_stopped(shared, backoff) {
                    return;
                }
                backoff = (backoff * 2).min(longest);
                continue;
            }
        };
        bump(&shared.counters.dialed);
        backoff = first;
        let mut out = BufWriter::with_capacity(64 << 10, stream);
        loop {
            let first_msg = match queue.recv_timeout(POLL) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    if shared.stop.load(Ordering::Acquire) {
                        return;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            // Write what is queued as one burst, then flush.
            let mut written = 0u64;
            let mut failed = false;
            for (due, msg) in std::iter::once(first_msg).chain(queue.try_iter().take(256)) {
                if failed {
                    bump(&shared.counters.lost_in_flight);
                    continue;
                }
                if let Some(wait) = due.and_then(|d| d.checked_duration_since(Instant::now())) {
                    // An emulated delay: what is written so far goes first.
                    if out.flush().is_err() {
                        failed = true;
                        bump(&shared.counters.lost_in_flight);
                        continue;
                    }
                    thread::sleep(wait);
                }
                match sealer.write(&mut out, &msg) {
                    Ok(()) => written += 1,
                    Err(_) => {
                        failed = true;
                        bump(&shared.counters.lost_in_flight);
                    }
                }
            }
            if !failed && out.flush().is_err() {
                failed = true;
                shared
                    .counters
                    .lost_in_flight
                    .fetch_add(written, Ordering::Relaxed);
                written = 0;
            }
            shared.counters.sent.fetch_add(written, Ordering::Relaxed);
            if failed {
                tracing::debug!(peer, "connection broke; redialling");
                break;
            }
        }
    }
}

/// Accepts connections until stopped, each handshaken and read on its own thread.
fn acceptor<M>(shared: &Arc<Shared>, listener: &TcpListener, inbox: &Sender<Envelope<M>>)
where
    M: DeserializeOwned + Send + 'static,
{
    while !shared.stop.load(Ordering::Acquire) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                thread::sleep(POLL);
                continue;
            }
        };
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        if shared.inbound.fetch_add(1, Ordering::AcqRel) >= shared.config.max_inbound {
            shared.inbound.fetch_sub(1, Ordering::AcqRel);
            bump(&shared.counters.refused);
            continue;
        }
        let shared = Arc::clone(shared);
        let inbox = inbox.clone();
        let spawned = thread::Builder::new()
            .name("iosv-net-from".into())
            .spawn(move || {
                reader::<M>(&shared, stream, &inbox);
                shared.inbound.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            tracing::warn!("could not start a reader thread");
        }
    }
}

/// Handshakes an inbound connection and reads its frames into the inbox until it ends.
fn reader<M: DeserializeOwned>(
    shared: &Shared,
    mut stream: TcpStream,
    inbox: &Sender<Envelope<M>>,
) {
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_nodelay(true))
        .and_then(|()| stream.set_read_timeout(Some(shared.config.handshake_timeout)))
        .and_then(|()| stream.set_write_timeout(Some(shared.config.handshake_timeout)));
    if setup.is_err() {
        bump(&shared.counters.refused);
        return;
    }
    let (from, _, mut opener) = match respond(
        &mut stream,
        &shared.endpoint.identity,
        &shared.endpoint.members,
        shared.config.max_frame,
    ) {
        Ok(ok) => ok,
        Err(e) => {
            tracing::debug!(error = %e, "inbound handshake refused");
            bump(&shared.counters.refused);
            return;
        }
    };
    if stream.set_read_timeout(None).is_err() {
        return;
    }
    // This connection replaces any older one from the same member.
    let generation = shared.generation.fetch_add(1, Ordering::Relaxed);
    match (stream.try_clone(), shared.readers.lock()) {
        (Ok(clone), Ok(mut readers)) => {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            if let Some((_, old)) = readers[from as usize].replace((generation, clone)) {
                let _ = old.shutdown(Shutdown::Both);
            }
        }
        _ => return,
    }
    bump(&shared.counters.accepted);
    let mut input = BufReader::with_capacity(64 << 10, &stream);
    loop {
        let bytes = match opener.read(&mut input) {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(super::channel::ChannelError::Io(_)) => break,
            Err(e) => {
                tracing::debug!(from, error = %e, "bad frame; closing");
                bump(&shared.counters.bad_frames);
                break;
            }
        };
        let msg: M = match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(from, error = %e, "undecodable message; closing");
                bump(&shared.counters.bad_frames);
                break;
            }
        };
        bump(&shared.counters.received);
        let mut envelope = Envelope { from, msg };
        loop {
            match inbox.send_timeout(envelope, POLL) {
                Ok(()) => break,
                Err(SendTimeoutError::Timeout(e)) => {
                    if shared.stop.load(Ordering::Acquire) {
                        return;
                    }
                    envelope = e;
                }
                Err(SendTimeoutError::Disconnected(_)) => return,
            }
        }
    }
    if let Ok(mut readers) = shared.readers.lock()
        && readers[from as usize]
            .as_ref()
            .is_some_and(|(g, _)| *g == generation)
    {
        readers[from as usize] = None;
    }
}
