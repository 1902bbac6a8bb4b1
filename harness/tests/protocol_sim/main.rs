//! Every protocol role under the one deterministic simulator, each scenario run twice with a
//! byte-identical trace: finality under partitions that heal (`finality`), Atomix with lost and
//! duplicated messages and a restarted input shard (`atomix`), co-signed shards whose members
//! convict a fraudulent leader (`cosigned`), the believable-first demo with 5%
//! loss and crashed normal validators (`demo`), a DRP session over lossy links with a restarted
//! server (`drp`). One test binary for all of them (one link step).

mod atomix;
mod cosigned;
mod demo;
mod drp;
mod finality;
