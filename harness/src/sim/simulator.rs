//! The discrete-event loop: a virtual clock, the event queue, the network model and the nodes.
//!
//! Invariants:
//! - the clock only moves forward, to the time of the event being run;
//! - each event is traced before its effects are scheduled, and the effects of one node input are
//!   scheduled in the order the node listed them (sends, then timers, then outputs);
//! - a crashed node runs nothing: messages reaching it are dropped (traced), and its timers die
//!   with its incarnation; a restart replaces it by [`Node::restart`] (durable state only) and
//!   starts it again;
//! - nothing here reads a clock, a global RNG or a hash map's iteration order, so a run is a pure
//!   function of the nodes, the network model, the seed and the schedule.

use std::io::{self, Write};

use serde_json::json;

use super::network::{Fate, SimNetwork};
use super::queue::EventQueue;
use super::trace::Trace;
use crate::node::{Effects, Node, NodeId, Time, Traceable, dispatch};

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

    /// Runs the next event due at or before `until`; `None` when there is none. What the driver
    /// must handle is appended to `out`.
    pub fn step(&mut self, until: Time, out: &mut Vec<Happening<N::Output>>) -> io::Result<bool> {
        let Some((at, event)) = self.queue.pop_until(until) else {
            return Ok(false);
        };
        self.now = at;
        match event {
            Event::Start(node) => {
                self.trace.event(at, "start", json!({"node": node}))?;
                self.input(node, out, |n, now, fx| n.on_start(now, fx))?;
            }
            Event::Deliver { from, to, id, msg } => {
                if !self.is_up(to) {
                    self.trace.event(
                        at,
                        "drop",
                        json!({"m": id, "from": from, "to": to, "reason": "receiver_down"}),
                    )?;
                } else {
                    self.trace
                        .event(at, "deliver", json!({"m": id, "from": from, "to": to}))?;
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
                    self.trace
                        .event(at, "timer", json!({"node": node, "timer": timer.trace()}))?;
                    self.input(node, out, |n, now, fx| n.on_timer(now, timer, fx))?;
                }
            }
            Event::Crash(node) => {
                if let Some(slot) = self.slots.get_mut(node as usize).filter(|s| s.up) {
                    slot.up = false;
                    slot.incarnation += 1;
                    self.trace.event(at, "crash", json!({"node": node}))?;
                }
            }
            Event::Restart(node) => {
                if let Some(slot) = self.slots.get_mut(node as usize).filter(|s| !s.up) {
                    slot.node = slot.node.restart();
                    slot.up = true;
                    self.trace.event(at, "restart", json!({"node": node}))?;
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
                self.trace
                    .event(at, ev, json!({"partition": i, "groups": groups}))?;
            }
            Event::External(tag) => out.push(Happening::External { at, tag }),
        }
        Ok(true)
    }

    /// Gives one input to a node and schedules its effects.
    fn input(
        &mut self,
        node: NodeId,
        out: &mut Vec<Happening<N::Output>>,
        call: impl FnOnce(&mut N, Time, &mut Effects<N::Msg, N::Timer, N::Output>),
    ) -> io::Result<()> {
        let now = self.now;
        let nodes = self.nodes();
        let Some(slot) = self.slots.get_mut(node as usize) else {
            return Ok(());
        };
        let mut fx = Effects::default();
        call(&mut slot.node, now, &mut fx);
        let incarnation = slot.incarnation;
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
                    let mut fields =
                        json!({"m": id, "from": from, "to": to, "at": at, "msg": msg.trace()});
                    if copy {
                        fields["dup"] = true.into();
                    }
                    self.trace.event(now, "send", fields)?;
                    self.queue.push(at, Event::Deliver { from, to, id, msg });
                }
                Fate::Dropped {
                    from,
                    to,
                    reason,
                    msg,
                } => {
                    self.trace.event(
                        now,
                        "drop",
                        json!({"m": id, "from": from, "to": to, "reason": reason.code(), "msg": msg.trace()}),
                    )?;
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
            self.trace
                .event(now, "output", json!({"node": node, "out": output.trace()}))?;
            out.push(Happening::Output {
                at: now,
                node,
                output,
            });
        }
        Ok(())
    }
}
