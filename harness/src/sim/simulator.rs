//! The discrete-event loop: a virtual clock, the event queue, the network model and the nodes.
//!
//! Invariants:
//! - the clock only moves forward, to the time of the event being run;
//! - each event is traced before its effects are scheduled, and the effects of one node input are
//!   scheduled in the order the node listed them (sends, then timers, then outputs);
//! - a crashed node runs nothing: messages reaching it are dropped (traced), and its timers die
//!   with its incarnation; a restart replaces it by [`Node::restart`] (durable state only) and
//!   starts it again;
//! - besides messages and timers, a node gets only the driver's own inputs
//!   ([`Simulator::drive_node`], traced as `input`), at the current time;
//! - an untraced simulator ([`Simulator::untraced`]) runs the same events in the same order; it
//!   only skips building and writing them;
//! - nothing here reads a clock, a global RNG or a hash map's iteration order, so a run is a pure
//!   function of the nodes, the network model, the seed and the schedule.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::network::{Fate, SimNetwork};
use super::queue::EventQueue;
use super::trace::Trace;
use crate::node::{Effects, Node, NodeId, Time, Traceable, dispatch};

mod parallel;

enum Event<N: Node> {
    Start(NodeId),
    Deliver {
        from: NodeId,
        to: NodeId,
        id: u64,
        msg: N::Msg,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        timer: N::Timer,
    },
    Crash(NodeId),
    Restart(NodeId),
    PartitionStart(usize),
    PartitionEnd(usize),
    External(u64),
}

/// Something the driver of the simulation must handle.
#[derive(Debug)]
pub enum Happening<O> {
    /// A node reported an output at `at`.
    Output { at: Time, node: NodeId, output: O },
    /// An event the driver scheduled with [`Simulator::schedule_external`] is due.
    External { at: Time, tag: u64 },
}

struct Slot<N> {
    node: N,
    up: bool,
    incarnation: u32,
}

/// A deterministic simulation of `N` nodes over a [`SimNetwork`].
pub struct Simulator<N: Node, W: Write> {
    now: Time,
    queue: EventQueue<Event<N>>,
    slots: Vec<Slot<N>>,
    net: SimNetwork<N::Msg>,
    trace: Trace<W>,
    next_msg: u64,
    delivered: u64,
}

impl<N: Node> Simulator<N, io::Sink> {
    /// A simulator that keeps no trace (no event is built): for drivers that only need the run.
    pub fn untraced(nodes: Vec<N>, net: SimNetwork<N::Msg>) -> Self {
        let mut sim = Simulator::new(nodes, net, io::sink());
        sim.trace = Trace::disabled();
        sim
    }
}

impl<N: Node, W: Write> Simulator<N, W> {
    /// Nodes must be given in id order (`nodes[i].id() == i`); every node starts at time 0.
    pub fn new(nodes: Vec<N>, net: SimNetwork<N::Msg>, trace: W) -> Self {
        let mut queue = EventQueue::default();
        for (i, p) in net.partitions().iter().enumerate() {
            queue.push(p.start, Event::PartitionStart(i));
            queue.push(p.end, Event::PartitionEnd(i));
        }
        let slots = nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| {
                debug_assert_eq!(node.id() as usize, i);
                queue.push(0, Event::Start(i as NodeId));
                Slot {
                    node,
                    up: true,
                    incarnation: 0,
                }
            })
            .collect();
        Self {
            now: 0,
            queue,
            slots,
            net,
            trace: Trace::new(trace),
            next_msg: 0,
            delivered: 0,
        }
    }

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn nodes(&self) -> u32 {
        self.slots.len() as u32
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        self.slots.get(node as usize).is_some_and(|s| s.up)
    }

    pub fn node(&self, node: NodeId) -> Option<&N> {
        self.slots.get(node as usize).map(|s| &s.node)
    }

    /// The node itself, for a driver that scripts it (a test's fault injection). Changing a node
    /// here is part of the run: a deterministic driver keeps the run deterministic.
    pub fn node_mut(&mut self, node: NodeId) -> Option<&mut N> {
        self.slots.get_mut(node as usize).map(|s| &mut s.node)
    }

    /// Messages delivered to a node that was up, so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Gives node `node` (if up) an input from the driver now — what its operator or its
    /// application tells it, not a message — traced as `input` with `what`, and schedules its
    /// effects like any other input's.
    pub fn drive_node(
        &mut self,
        node: NodeId,
        what: &str,
        out: &mut Vec<Happening<N::Output>>,
        call: impl FnOnce(&mut N, Time, &mut Effects<N::Msg, N::Timer, N::Output>),
    ) -> io::Result<()> {
        if !self.is_up(node) {
            return Ok(());
        }
        let at = self.now;
        self.log(at, "input", || json!({"node": node, "what": what}))?;
        self.input(node, out, call)
    }

    /// Cuts the network now into `groups` (lifts the cut with `None`), traced as `cut`: see
    /// [`SimNetwork::set_cut`]. Nothing changes (and nothing is traced) when the cut is already
    /// `groups`.
    pub fn set_cut(&mut self, groups: Option<Vec<Vec<NodeId>>>) -> io::Result<()> {
        if self.net.cut() == groups.as_deref() {
            return Ok(());
        }
        let at = self.now;
        let fields = groups.clone();
        self.net.set_cut(groups);
        self.log(at, "cut", || json!({"groups": fields}))
    }

    pub fn schedule_crash(&mut self, node: NodeId, at: Time) {
        self.queue.push(at, Event::Crash(node));
    }

    pub fn schedule_restart(&mut self, node: NodeId, at: Time) {
        self.queue.push(at, Event::Restart(node));
    }

    /// An event for the driver, returned by [`Simulator::step`] as [`Happening::External`].
    pub fn schedule_external(&mut self, at: Time, tag: u64) {
        self.queue.push(at.max(self.now), Event::External(tag));
    }

    pub fn trace_mut(&mut self) -> &mut Trace<W> {
        &mut self.trace
    }

    pub fn trace(&self) -> &Trace<W> {
        &self.trace
    }

    pub fn into_trace(self) -> W {
        self.trace.into_inner()
    }

    /// The nodes (in id order) and the trace's writer, at the end of a run.
    pub fn into_parts(self) -> (Vec<N>, W) {
        let nodes = self.slots.into_iter().map(|s| s.node).collect();
        (nodes, self.trace.into_inner())
    }

    /// Runs the next event due at or before `until`; `None` when there is none. What the driver
    /// must handle is appended to `out`.
    pub fn step(&mut self, until: Time, out: &mut Vec<Happening<N::Output>>) -> io::Result<bool> {
        let Some((at, event)) = self.queue.pop_until(until) else {
            return Ok(false);
        };
        self.run(at, event, out)?;
        Ok(true)
    }

    /// Runs one event due at `at` (the clock moves there).
    fn run(
        &mut self,
        at: Time,
        event: Event<N>,
        out: &mut Vec<Happening<N::Output>>,
    ) -> io::Result<()> {
        self.now = at;
        match event {
            Event::Start(node) => {
                if self.is_up(node) {
                    self.log(at, "start", || json!({"node": node}))?;
                    self.input(node, out, |n, now, fx| n.on_start(now, fx))?;
                }
            }
            Event::Deliver { from, to, id, msg } => {
                if !self.is_up(to) {
                    self.log(
                        at,
                        "drop",
                        || json!({"m": id, "from": from, "to": to, "reason": "receiver_down"}),
                    )?;
                } else {
                    self.delivered += 1;
                    self.log(at, "deliver", || json!({"m": id, "from": from, "to": to}))?;
                    self.input(to, out, |n, now, fx| n.on_message(now, from, msg, fx))?;
                }
            }
            Event::Timer {
                node,
                incarnation,
                timer,
            } => {
                let live = self
                    .slots
                    .get(node as usize)
                    .is_some_and(|s| s.up && s.incarnation == incarnation);
                if live {
                    self.log(
                        at,
                        "timer",
                        || json!({"node": node, "timer": timer.trace()}),
                    )?;
                    self.input(node, out, |n, now, fx| n.on_timer(now, timer, fx))?;
                }
            }
            Event::Crash(node) => {
                if let Some(slot) = self.slots.get_mut(node as usize).filter(|s| s.up) {
                    slot.up = false;
                    slot.incarnation += 1;
                    self.log(at, "crash", || json!({"node": node}))?;
                }
            }
            Event::Restart(node) => {
                if let Some(slot) = self.slots.get_mut(node as usize).filter(|s| !s.up) {
                    slot.node = slot.node.restart();
                    slot.up = true;
                    self.log(at, "restart", || json!({"node": node}))?;
                    self.input(node, out, |n, now, fx| n.on_start(now, fx))?;
                }
            }
            Event::PartitionStart(i) | Event::PartitionEnd(i) => {
                let start = matches!(event, Event::PartitionStart(_));
                let groups = self.net.partitions()[i].groups.clone();
                let ev = if start {
                    "partition_start"
                } else {
                    "partition_end"
                };
                self.log(at, ev, || json!({"partition": i, "groups": groups}))?;
            }
            Event::External(tag) => out.push(Happening::External { at, tag }),
        }
        Ok(())
    }

    /// Writes a trace event, building its fields only when the trace is enabled.
    fn log(&mut self, at: Time, event: &str, fields: impl FnOnce() -> Value) -> io::Result<()> {
        if self.trace.enabled() {
            self.trace.event(at, event, fields())?;
        }
        Ok(())
    }

    /// Gives one input to a node and schedules its effects.
    fn input(
        &mut self,
        node: NodeId,
        out: &mut Vec<Happening<N::Output>>,
        call: impl FnOnce(&mut N, Time, &mut Effects<N::Msg, N::Timer, N::Output>),
    ) -> io::Result<()> {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(node as usize) else {
            return Ok(());
        };
        let mut fx = Effects::default();
        call(&mut slot.node, now, &mut fx);
        self.schedule(node, fx, out)
    }

    /// Schedules the effects of one input of `node` (at the current time): its sends through the
    /// network, its timers, its outputs.
    fn schedule(
        &mut self,
        node: NodeId,
        fx: Effects<N::Msg, N::Timer, N::Output>,
        out: &mut Vec<Happening<N::Output>>,
    ) -> io::Result<()> {
        let now = self.now;
        let nodes = self.nodes();
        let Some(incarnation) = self.slots.get(node as usize).map(|s| s.incarnation) else {
            return Ok(());
        };
        dispatch(&mut self.net, now, node, nodes, fx.sends);
        let fates: Vec<Fate<N::Msg>> = self.net.drain().collect();
        for fate in fates {
            let id = self.next_msg;
            self.next_msg += 1;
            match fate {
                Fate::Deliver {
                    from,
                    to,
                    at,
                    msg,
                    copy,
                } => {
                    self.log(now, "send", || {
                        let mut fields =
                            json!({"m": id, "from": from, "to": to, "at": at, "msg": msg.trace()});
                        if copy {
                            fields["dup"] = true.into();
                        }
                        fields
                    })?;
                    self.queue.push(at, Event::Deliver { from, to, id, msg });
                }
                Fate::Dropped {
                    from,
                    to,
                    reason,
                    msg,
                } => {
                    self.log(now, "drop", || {
                        json!({"m": id, "from": from, "to": to, "reason": reason.code(), "msg": msg.trace()})
                    })?;
                }
            }
        }
        for (delay, timer) in fx.timers {
            self.queue.push(
                now + delay,
                Event::Timer {
                    node,
                    incarnation,
                    timer,
                },
            );
        }
        for output in fx.outputs {
            self.log(
                now,
                "output",
                || json!({"node": node, "out": output.trace()}),
            )?;
            out.push(Happening::Output {
                at: now,
                node,
                output,
            });
        }
        Ok(())
    }
}
