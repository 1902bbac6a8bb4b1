//! Proof-of-Believability: who may process transactions alone, and what it costs to cheat.
//!
//! - [`policy`]: the sharding policy file (league sizes, sampling probability `p`, score weights,
//!   Servi rewards), validated with named errors.
//! - [`score`](mod@score): the believability score from tokens, Servi, contributions and behaviour —
//!   monotone in each, zero once slashed.
//! - [`reputation`]: Servi (issued for service, cleared when its holder validates a block, never
//!   moved by a transaction), contributions, faults, and slashing on a verified engine
//!   [`FraudProof`](iosv_engine::fraud::FraudProof).
//! - [`fixed`]: the integer fixed-point arithmetic that makes scores and league keys the same bits
//!   on every node.
//! - [`epoch`]: the league candidates of an epoch, scored from the ledger and the UTXO set.
//! - [`league`]: each epoch's split of a shard into a believable and a normal league by
//!   VRF-weighted sampling without replacement, checkable by anyone from the VRF proofs; a shard
//!   short of candidates runs a single league (PBFT).
//!
//! Invariants: a slashed validator has score zero and is never drawn believable again; the
//! assignment is a pure function of public inputs (policy, epoch, shard, randomness, scores,
//! tickets); Servi changes only through the ledger's protocol events.

pub mod epoch;
pub mod fixed;
pub mod league;
pub mod policy;
pub mod reputation;
pub mod score;

pub use epoch::{Member, candidates};
pub use fixed::{LeagueKey, Score};
pub use league::{
    Candidate, Draw, Ineligible, LEAGUE_DOMAIN, LeagueAssignment, LeagueError, LeagueMode, Ticket,
    assign, league_alpha, league_key, verify_assignment,
};
pub use policy::{MIN_NORMAL_LEAGUE, PolicyError, ScoreWeights, ServiRewards, ShardingPolicy};
pub use reputation::{
    Contribution, EQUIVOCATION_DOMAIN, Offence, Reputation, ReputationError, SEIZE_DOMAIN,
    SlashError, Slashing, ValidatorId, ValidatorRecord, seize_tokens, token_balance,
};
pub use score::{ScoreInputs, score};
