//! The real-time runner: the same sans-I/O nodes on threads, one per node, in real time, with
//! crossbeam channels as the transport.
//!
//! Each node's thread owns the node and a private timer heap; it waits on its inbox until the next
//! timer is due, feeds the node whichever comes first, and sends the node's messages through
//! [`ChannelTransport`] (an implementation of [`Transport`]). That loop, [`Drive::node`], is the one
//! real-time event loop: the node processes of `crate::net` run it too, with the TCP transport
//! and a checkpoint that makes the node's durable state durable before its messages leave.
//! Time is microseconds since the run's common start instant, so the node sees the same kind of
//! clock as in the simulator. Unlike the simulator the interleaving depends on the OS scheduler:
//! runs are not reproducible event by event, only in what the protocol guarantees.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};

use crate::node::{Effects, Node, NodeId, Time, Transport, dispatch};

/// A message in a node's inbox.
pub struct Envelope<M> {
    pub from: NodeId,
    pub msg: M,
}

/// Delivers messages into the receivers' inboxes (in-process, reliable, FIFO per link).
pub struct ChannelTransport<M> {
    inboxes: Arc<Vec<Sender<Envelope<M>>>>,
}

impl<M> Clone for ChannelTransport<M> {
    fn clone(&self) -> Self {
        Self {
            inboxes: Arc::clone(&self.inboxes),
        }
    }
}

impl<M> Transport<M> for ChannelTransport<M> {
    fn send(&mut self, _now: Time, from: NodeId, to: NodeId, msg: M) {
        if let Some(inbox) = self.inboxes.get(to as usize) {
            // A receiver that already stopped at the end of the run just misses the message.
            let _ = inbox.send(Envelope { from, msg });
        }
    }
}

/// An output with its (real) time and node.
#[derive(Clone, Debug)]
pub struct RtRecord<O> {
    pub at: Time,
    pub node: NodeId,
    pub output: O,
}

/// Runs `nodes` (in id order) for `duration` of real time; returns every output, by time.
pub fn run<N>(nodes: Vec<N>, duration: Duration) -> Vec<RtRecord<N::Output>>
where
    N: Node + Send + 'static,
{
    run_until(nodes, Instant::now(), duration, |_| false).records
}

/// What [`run_until`] hands back: the nodes as they ended, and every output, by time.
pub struct RtRun<N: Node> {
    pub nodes: Vec<N>,
    pub records: Vec<RtRecord<N::Output>>,
}

/// Messages a node takes from its inbox, when they are already waiting, before one checkpoint
/// (group commit: a node process makes one durable commit per batch, not per message). Bounded,
/// so that the first message's effects wait for at most this many others.
const MAX_BATCH: usize = 64;

/// How often a node checks whether the run was stopped, at most (it also checks after every
/// input).
const STOP_CHECK: Duration = Duration::from_millis(5);

/// Runs `nodes` (in id order) from `start` (the run's time origin: time 0 for every node) until
/// `limit` has passed or `stop` — shown every output as it arrives, on the calling thread —
/// says so; returns the nodes and every output, by time.
pub fn run_until<N>(
    nodes: Vec<N>,
    start: Instant,
    limit: Duration,
    mut stop: impl FnMut(&RtRecord<N::Output>) -> bool,
) -> RtRun<N>
where
    N: Node + Send + 'static,
{
    let count = nodes.len() as u32;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..count).map(|_| channel::unbounded()).unzip();
    let transport = ChannelTransport {
        inboxes: Arc::new(senders),
    };
    let (out_tx, out_rx) = channel::unbounded();
    let stopped = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = nodes
        .into_iter()
        .zip(receivers)
        .map(|(node, inbox)| {
            let transport = transport.clone();
            let out = out_tx.clone();
            let stopped = Arc::clone(&stopped);
            thread::spawn(move || {
                let run = Drive {
                    start,
                    limit,
                    roster: count,
                    stopped: &stopped,
                };
                run.node(node, &inbox, transport, &out, |_| true)
            })
        })
        .collect();
    drop(out_tx);
    drop(transport);
    let mut records: Vec<RtRecord<N::Output>> = Vec::new();
    for record in out_rx.iter() {
        if !stopped.load(Ordering::Acquire) && stop(&record) {
            stopped.store(true, Ordering::Release);
        }
        records.push(record);
    }
    let mut nodes = Vec::with_capacity(handles.len());
    for h in handles {
        // A panicking node is a bug in the node: surface it.
        match h.join() {
            Ok(node) => nodes.push(node),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    records.sort_by_key(|r| (r.at, r.node));
    RtRun { nodes, records }
}

/// How one node runs in real time: the run's time origin and length, the roster's size (for
/// [`crate::node::Dest::AllOthers`]) and the flag that stops every node of the run.
pub struct Drive<'a> {
    pub start: Instant,
    pub limit: Duration,
    pub roster: u32,
    pub stopped: &'a AtomicBool,
}

impl Drive<'_> {
    /// Runs `node` until the run's limit, the stop flag or the inbox's end: feeds it its start,
    /// then each message from `inbox` and each of its timers as they fall due, sends what it says
    /// through `transport` and reports its outputs on `out`. After every input — or every batch
    /// of messages that were already waiting, taken in order — and before any of its messages,
    /// timers or outputs take effect, `checkpoint` sees the node (and may take what it
    /// journaled); when it returns false the node stops there, the effects since the last
    /// checkpoint withheld (a node that cannot make its state durable must not speak). Returns
    /// the node as it ended.
    pub fn node<N: Node, T: Transport<N::Msg>>(
        &self,
        mut node: N,
        inbox: &Receiver<Envelope<N::Msg>>,
        mut transport: T,
        out: &Sender<RtRecord<N::Output>>,
        mut checkpoint: impl FnMut(&mut N) -> bool,
    ) -> N {
        let id = node.id();
        let count = self.roster;
        let start = self.start;
        let end = self.limit.as_micros() as Time;
        let now = || start.elapsed().as_micros() as Time;
        let mut timers: BinaryHeap<Reverse<(Time, u64)>> = BinaryHeap::new();
        let mut pending: std::collections::BTreeMap<u64, N::Timer> = Default::default();
        let mut seq = 0u64;
        let mut apply =
            |fx: Effects<N::Msg, N::Timer, N::Output>,
             at: Time,
             timers: &mut BinaryHeap<Reverse<(Time, u64)>>,
             pending: &mut std::collections::BTreeMap<u64, N::Timer>| {
                dispatch(&mut transport, at, id, count, fx.sends);
                for (delay, timer) in fx.timers {
                    timers.push(Reverse((at + delay, seq)));
                    pending.insert(seq, timer);
                    seq += 1;
                }
                for output in fx.outputs {
                    let _ = out.send(RtRecord {
                        at,
                        node: id,
                        output,
                    });
                }
            };
        // Every node starts at the run's origin, time 0 (the same instant for all).
        let mut fx = Effects::default();
        node.on_start(0, &mut fx);
        if !checkpoint(&mut node) {
            return node;
        }
        apply(fx, 0, &mut timers, &mut pending);
        // Whether the inbox was looked at since the due timers began firing: messages already
        // waiting go before a due timer (once per timer), so a node whose timers are always due
        // (a demo shard working through a backlog) still hears its peers, and a node flooded
        // with messages still gets its timers.
        let mut inbox_checked = false;
        loop {
            let t = now();
            if t >= end || self.stopped.load(Ordering::Acquire) {
                break;
            }
            let timer_due = timers.peek().is_some_and(|Reverse((due, _))| *due <= t);
            let first = if timer_due && !inbox_checked {
                inbox_checked = true;
                inbox.try_recv().ok()
            } else if timer_due {
                None
            } else {
                let wake = timers
                    .peek()
                    .map_or(end, |Reverse((due, _))| (*due).min(end))
                    .min(t + STOP_CHECK.as_micros() as Time);
                match inbox.recv_timeout(Duration::from_micros(wake.saturating_sub(t))) {
                    Ok(first) => Some(first),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            };
            if let Some(first) = first {
                // Group commit: the messages already waiting (up to MAX_BATCH) are taken in
                // order, then one checkpoint covers them all before any of their effects, in
                // order, take effect.
                let mut batch = Vec::new();
                let mut next = Some(first);
                while let Some(Envelope { from, msg }) = next.take() {
                    let t = now();
                    let mut fx = Effects::default();
                    node.on_message(t, from, msg, &mut fx);
                    batch.push((fx, t));
                    if batch.len() < MAX_BATCH {
                        next = inbox.try_recv().ok();
                    }
                }
                if !checkpoint(&mut node) {
                    break;
                }
                for (fx, t) in batch {
                    apply(fx, t, &mut timers, &mut pending);
                }
                continue;
            }
            if timer_due {
                inbox_checked = false;
                let Some(Reverse((_, key))) = timers.pop() else {
                    continue;
                };
                if let Some(timer) = pending.remove(&key) {
                    let mut fx = Effects::default();
                    node.on_timer(t, timer, &mut fx);
                    if !checkpoint(&mut node) {
                        break;
                    }
                    apply(fx, t, &mut timers, &mut pending);
                }
            }
        }
        node
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Dest, Traceable};

    /// Node 0's timer is due again the moment it fires (a shard working through a backlog);
    /// node 1 sends it one message at start.
    #[derive(Clone)]
    struct Busy {
        id: NodeId,
    }

    #[derive(Clone, Debug)]
    struct Unit;

    impl Traceable for Unit {
        fn trace(&self) -> serde_json::Value {
            serde_json::Value::Null
        }
    }

    impl Node for Busy {
        type Msg = Unit;
        type Timer = Unit;
        type Output = Unit;

        fn id(&self) -> NodeId {
            self.id
        }

        fn on_start(&mut self, _: Time, fx: &mut Effects<Unit, Unit, Unit>) {
            match self.id {
                0 => fx.timer(0, Unit),
                _ => fx.send(Dest::To(0), Unit),
            }
        }

        fn on_message(&mut self, _: Time, _: NodeId, _: Unit, fx: &mut Effects<Unit, Unit, Unit>) {
            fx.output(Unit);
        }

        fn on_timer(&mut self, _: Time, _: Unit, fx: &mut Effects<Unit, Unit, Unit>) {
            fx.timer(0, Unit);
        }

        fn restart(&self) -> Busy {
            self.clone()
        }
    }

    #[test]
    fn a_node_whose_timers_are_always_due_still_hears_its_peers() {
        let nodes = vec![Busy { id: 0 }, Busy { id: 1 }];
        let records = run(nodes, Duration::from_millis(300));
        assert!(
            records.iter().any(|r| r.node == 0),
            "node 0 never received node 1's message: its due timers starved its inbox"
        );
    }
}
