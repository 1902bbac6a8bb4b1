//! The randomness-protocol integration point: the simulator runs any `RandomnessProtocol`
//! (`sim::run_with`), and a protocol sees the round and the previous epoch's randomness it chains
//! from. A recording wrapper around the placeholder stands in for the DRP here.

mod sim_common;

use std::sync::{Arc, Mutex};

use iosv_harness::epoch::{
    Behavior, RandomnessEffects, RandomnessProtocol, Round, RoundContext, SignedAnnouncement,
    ValidatorKeys,
};
use iosv_harness::node::NodeId;
use iosv_harness::sim::{self, run::placeholder};

type Seen = Arc<Mutex<Vec<(NodeId, Round, Option<(u64, [u8; 32])>)>>>;

struct Recording {
    inner: SignedAnnouncement,
    seen: Seen,
}

impl RandomnessProtocol for Recording {
    type Msg = <SignedAnnouncement as RandomnessProtocol>::Msg;

    fn name(&self) -> &'static str {
        "recording-placeholder"
    }

    fn begin(&mut self, ctx: &RoundContext<'_>, fx: &mut RandomnessEffects<Self::Msg>) {
        self.seen
            .lock()
            .unwrap()
            .push((ctx.me, ctx.round, ctx.previous));
        self.inner.begin(ctx, fx);
    }

    fn on_message(
        &mut self,
        ctx: &RoundContext<'_>,
        from: NodeId,
        msg: Self::Msg,
        fx: &mut RandomnessEffects<Self::Msg>,
    ) {
        self.inner.on_message(ctx, from, msg, fx);
    }

    fn on_timer(
        &mut self,
        ctx: &RoundContext<'_>,
        tag: u64,
        fx: &mut RandomnessEffects<Self::Msg>,
    ) {
        self.inner.on_timer(ctx, tag, fx);
    }

    fn restart(&self) -> Self {
        Self {
            inner: self.inner.restart(),
            seen: Arc::clone(&self.seen),
        }
    }
}

#[test]
fn a_custom_protocol_runs_and_sees_the_previous_randomness() {
    let seen: Seen = Arc::default();
    let cfg = sim_common::config(8);
    let make = |id: NodeId, keys: &ValidatorKeys, b: Behavior| Recording {
        inner: placeholder(id, keys, b),
        seen: Arc::clone(&seen),
    };
    let (report, trace) = sim::run_with(&cfg, 3, 3, Vec::new(), make).unwrap();
    sim_common::assert_guarantees(&report);
    assert_eq!(report.randomness_protocol, "recording-placeholder");
    assert_eq!(report.checks.epochs_with_randomness, 3);
    // The wrapper changes nothing on the wire: same trace as the plain placeholder.
    assert_eq!(trace, sim::run(&cfg, 3, 3, Vec::new()).unwrap().1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3 * 8, "every node began one round per epoch");
    for (node, round, previous) in seen.iter() {
        let want = (round.epoch > 0).then(|| {
            let e = &report.checks.epochs[round.epoch as usize - 1];
            let mut v = [0u8; 32];
            hex::decode_to_slice(e.value.as_ref().unwrap(), &mut v).unwrap();
            (round.epoch - 1, v)
        });
        assert_eq!(*previous, want, "node {node} round {round:?}");
    }
}
