//! Running the inputs of distinct nodes at one virtual instant on the rayon pool, with the run
//! (order of effects, message ids, trace) identical to running them one by one.
//!
//! Why it is the same run: a node's input touches only that node's own state, so inputs to
//! distinct nodes commute; their effects are then scheduled one node at a time, in the order the
//! serial loop would have run the inputs. Anything those effects schedule for the same instant
//! goes behind the events already queued for it (the queue breaks ties by insertion), so it runs
//! after the whole group in both loops. A group stops at the first event that is not a delivery
//! to an up node not yet in it (a crash, a timer, a second message to the same node), which then
//! runs alone, in its turn.

use std::io::{self, Write};

use rayon::prelude::*;
use serde_json::json;

use super::{Event, Happening, Simulator, Slot};
use crate::node::{Effects, Node, NodeId, Time};

type Fx<N> = Effects<<N as Node>::Msg, <N as Node>::Timer, <N as Node>::Output>;

/// The slots of `ids` (distinct), in the order of `ids`.
fn slots_of<'a, N>(slots: &'a mut [Slot<N>], ids: &[NodeId]) -> Vec<&'a mut Slot<N>> {
    let mut picked: Vec<(usize, &'a mut Slot<N>)> = slots
        .iter_mut()
        .enumerate()
        .filter_map(|(i, slot)| {
            ids.iter()
                .position(|&id| id as usize == i)
                .map(|pos| (pos, slot))
        })
        .collect();
    picked.sort_by_key(|(pos, _)| *pos);
    picked.into_iter().map(|(_, slot)| slot).collect()
}

impl<N: Node + Send, W: Write> Simulator<N, W> {
    /// [`Simulator::drive_node`] for several distinct nodes at once: each up node of `nodes`
    /// gets `call` now, on the pool; the inputs are traced and their effects scheduled in the
    /// order of `nodes`, as if they had been given one after the other.
    pub fn drive_nodes(
        &mut self,
        nodes: &[NodeId],
        what: &str,
        out: &mut Vec<Happening<N::Output>>,
        call: impl Fn(&mut N, Time, &mut Fx<N>) + Sync,
    ) -> io::Result<()> {
        let mut ids: Vec<NodeId> = Vec::with_capacity(nodes.len());
        for &id in nodes {
            if self.is_up(id) && !ids.contains(&id) {
                ids.push(id);
            }
        }
        let now = self.now;
        let effects: Vec<Fx<N>> = slots_of(&mut self.slots, &ids)
            .into_par_iter()
            .map(|slot| {
                let mut fx = Effects::default();
                call(&mut slot.node, now, &mut fx);
                fx
            })
            .collect();
        for (id, fx) in ids.into_iter().zip(effects) {
            self.log(now, "input", || json!({"node": id, "what": what}))?;
            self.schedule(id, fx, out)?;
        }
        Ok(())
    }

    /// [`Simulator::step`], except that the deliveries due at the same instant to distinct up
    /// nodes, one after the other in the queue, run together on the pool (see the module
    /// documentation for why the run is the same).
    pub fn step_parallel(
        &mut self,
        until: Time,
        out: &mut Vec<Happening<N::Output>>,
    ) -> io::Result<bool> {
        let Some((at, first)) = self.queue.pop_until(until) else {
            return Ok(false);
        };
        let to_up = |slots: &[Slot<N>], event: &Event<N>, taken: &[NodeId]| {
            matches!(event, Event::Deliver { to, .. }
                if slots.get(*to as usize).is_some_and(|s| s.up) && !taken.contains(to))
        };
        if !to_up(&self.slots, &first, &[]) {
            self.run(at, first, out)?;
            return Ok(true);
        }
        let mut group = vec![first];
        let mut targets: Vec<NodeId> = Vec::new();
        loop {
            if let Some(Event::Deliver { to, .. }) = group.last() {
                targets.push(*to);
            }
            let slots = &self.slots;
            let Some(next) = self.queue.pop_at_if(at, |e| to_up(slots, e, &targets)) else {
                break;
            };
            group.push(next);
        }
        if group.len() == 1 {
            let event = group.pop().expect("one event");
            self.run(at, event, out)?;
            return Ok(true);
        }
        self.now = at;
        let mut deliveries = Vec::with_capacity(group.len());
        let mut messages = Vec::with_capacity(group.len());
        for event in group {
            if let Event::Deliver { from, to, id, msg } = event {
                deliveries.push((from, to, id));
                messages.push((from, msg));
            }
        }
        let effects: Vec<Fx<N>> = slots_of(&mut self.slots, &targets)
            .into_par_iter()
            .zip(messages)
            .map(|(slot, (from, msg))| {
                let mut fx = Effects::default();
                slot.node.on_message(at, from, msg, &mut fx);
                fx
            })
            .collect();
        for ((from, to, id), fx) in deliveries.into_iter().zip(effects) {
            self.delivered += 1;
            self.log(at, "deliver", || json!({"m": id, "from": from, "to": to}))?;
            self.schedule(to, fx, out)?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;
    use crate::node::{Dest, Traceable};
    use crate::sim::network::{LinkModel, SimNetwork};

    #[derive(Clone, Debug, PartialEq)]
    struct Hop(u64);

    impl Traceable for Hop {
        fn trace(&self) -> Value {
            json!({"hop": self.0})
        }
    }

    /// Floods hops to its next two neighbours, sets a zero-delay timer now and then, and
    /// remembers everything it was given, in order.
    #[derive(Clone)]
    struct Relay {
        id: NodeId,
        n: NodeId,
        seen: History,
    }

    impl Node for Relay {
        type Msg = Hop;
        type Timer = Hop;
        type Output = Hop;

        fn id(&self) -> NodeId {
            self.id
        }

        fn on_start(&mut self, _: Time, fx: &mut Fx<Self>) {
            if self.id == 0 {
                fx.send(Dest::AllOthers, Hop(0));
            }
        }

        fn on_message(&mut self, _: Time, from: NodeId, msg: Hop, fx: &mut Fx<Self>) {
            self.seen.push((from, msg.0));
            if msg.0 < 4 {
                fx.send(Dest::To((self.id + 1) % self.n), Hop(msg.0 + 1));
                fx.send(Dest::To((self.id + 2) % self.n), Hop(msg.0 + 1));
            }
            if msg.0 % 2 == 1 {
                fx.timer(0, Hop(msg.0));
            }
            fx.output(msg);
        }

        fn on_timer(&mut self, _: Time, timer: Hop, _: &mut Fx<Self>) {
            self.seen.push((self.id, 100 + timer.0));
        }

        fn restart(&self) -> Self {
            Relay {
                seen: Vec::new(),
                ..self.clone()
            }
        }
    }

    /// What a node was given: (from, hop), timers as (itself, 100 + hop).
    type History = Vec<(NodeId, u64)>;

    /// The trace, the nodes' histories and the outputs of one run: serial or parallel steps and
    /// driver inputs, with `link`.
    fn run(parallel: bool, link: LinkModel) -> (Vec<u8>, Vec<History>, usize) {
        let n = 6;
        let nodes = (0..n)
            .map(|id| Relay {
                id,
                n,
                seen: Vec::new(),
            })
            .collect();
        let net = SimNetwork::new(link, BTreeMap::new(), Vec::new(), 7);
        let mut sim = Simulator::new(nodes, net, Vec::new());
        sim.schedule_crash(4, 2);
        sim.schedule_restart(4, 5);
        sim.schedule_external(3, 0);
        let mut out = Vec::new();
        loop {
            let more = if parallel {
                sim.step_parallel(u64::MAX, &mut out).unwrap()
            } else {
                sim.step(u64::MAX, &mut out).unwrap()
            };
            if matches!(out.last(), Some(Happening::External { .. })) {
                let poke = |node: &mut Relay, now: Time, fx: &mut Fx<Relay>| {
                    node.on_message(now, 99, Hop(3), fx);
                };
                if parallel {
                    sim.drive_nodes(&[5, 1, 3, 1], "poke", &mut out, poke)
                        .unwrap();
                } else {
                    for id in [5, 1, 3] {
                        sim.drive_node(id, "poke", &mut out, |node, now, fx| poke(node, now, fx))
                            .unwrap();
                    }
                }
            }
            if !more {
                break;
            }
        }
        let (nodes, trace) = sim.into_parts();
        (
            trace,
            nodes.into_iter().map(|r| r.seen).collect(),
            out.len(),
        )
    }

    #[test]
    fn parallel_steps_and_inputs_give_the_serial_run() {
        for link in [
            LinkModel {
                latency: 1,
                jitter: 0,
                loss: 0.0,
                duplicate: 0.0,
            },
            LinkModel {
                latency: 1,
                jitter: 1,
                loss: 0.1,
                duplicate: 0.2,
            },
        ] {
            let serial = run(false, link);
            let parallel = run(true, link);
            assert!(serial.2 > 20, "the run delivers enough to compare");
            assert_eq!(serial.1, parallel.1, "the nodes' histories");
            assert_eq!(serial.2, parallel.2, "the outputs");
            assert_eq!(
                String::from_utf8(serial.0).unwrap(),
                String::from_utf8(parallel.0).unwrap(),
                "the traces"
            );
        }
    }
}
