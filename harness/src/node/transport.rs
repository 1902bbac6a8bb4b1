//! The network behind a trait: the simulator's network model, the real-time runner's channels and a
//! future socket transport all take a node's outgoing messages through [`Transport`].

use super::{Dest, NodeId, Time};

/// Carries messages between nodes. Delivery is not promised: a transport may delay, drop or
/// (for a crashed receiver) discard a message; it never alters one.
pub trait Transport<M> {
    /// Hands `msg` from `from` to the network for `to`, at time `now`.
    fn send(&mut self, now: Time, from: NodeId, to: NodeId, msg: M);
}

/// Sends each of `sends` through `transport`, expanding [`Dest::AllOthers`] to every other node of
/// a roster of `nodes` in ascending id order (so the order of sends is deterministic).
pub fn dispatch<M: Clone, T: Transport<M> + ?Sized>(
    transport: &mut T,
    now: Time,
    from: NodeId,
    nodes: u32,
    sends: Vec<(Dest, M)>,
) {
    for (dest, msg) in sends {
        match dest {
            Dest::To(to) => transport.send(now, from, to, msg),
            Dest::AllOthers => {
                for to in (0..nodes).filter(|&to| to != from) {
                    transport.send(now, from, to, msg.clone());
                }
            }
        }
    }
}
