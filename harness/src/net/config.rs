//! A node process's configuration file, and the files of a local network.
//!
//! ```json
//! {
//!   "role": "finality",
//!   "id": 0,
//!   "listen": "127.0.0.1:7100",
//!   "key_file": "node-0.key",
//!   "store": "node-0.redb",
//!   "members": [
//!     { "public_key": "…64 hex…", "proof_of_possession": "…128 hex…", "address": "127.0.0.1:7100" }
//!   ],
//!   "finality": { "fanout": 2, "level_timeout_ms": 20, "view_timeout_ms": 400, "fast_path": true }
//! }
//! ```
//! Paths are relative to the configuration file's folder. The key file holds the node's RFC 8032
//! seed in hex and nothing else; every other member appears only by public key, proof of
//! possession and address. Everything is checked before the node starts: the file's size, unknown
//! fields, every key and proof of possession (the roster is built as finality builds it), that the
//! node's seed gives its listed key, and that the id is in the roster.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use iosv_engine::cosi::schnorr::{MemberKey, Registration, Roster};
use serde::{Deserialize, Serialize};

use super::faults::{LinkFaults, Partition};
use crate::finality::Config as FinalityConfig;
use crate::node::{MICROS_PER_MS, NodeId};

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The protocol role a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A member of a normal league running finality (ByzCoin fast path, PBFT fallback).
    Finality,
    /// An Atomix shard of a ledger network (`super::ledger`): its UTXO set, locks, decisions
    /// and outcomes, its roster's CoSi keys.
    Shard,
    /// A client gateway of a ledger network: submits its share of the signed load, open-loop
    /// at its rate, and drives each transaction through Atomix to its end.
    Gateway,
    /// A co-signer of a co-signed ledger shard (a normal-league validator): applies every
    /// entry of its leader's journal to its own replica and co-signs what it checked.
    Cosigner,
}

/// A roster member as other nodes know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
    #[serde(with = "hex::serde")]
    pub proof_of_possession: [u8; 64],
    pub address: SocketAddr,
}

/// Finality's timing, in milliseconds of real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalityTiming {
    pub fanout: usize,
    pub level_timeout_ms: u64,
    pub view_timeout_ms: u64,
    pub fast_path: bool,
}

impl Default for FinalityTiming {
    fn default() -> Self {
        FinalityTiming {
            fanout: 2,
            level_timeout_ms: 20,
            view_timeout_ms: 400,
            fast_path: true,
        }
    }
}

impl FinalityTiming {
    /// The state machine's configuration (its ticks are the drivers' microseconds).
    pub fn config(&self) -> FinalityConfig {
        FinalityConfig {
            fanout: self.fanout,
            level_timeout: self.level_timeout_ms * MICROS_PER_MS,
            view_timeout: self.view_timeout_ms * MICROS_PER_MS,
            fast_path: self.fast_path,
        }
    }
}

/// A node process's configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub role: Role,
    pub id: NodeId,
    pub listen: SocketAddr,
    pub key_file: PathBuf,
    pub store: PathBuf,
    pub members: Vec<MemberEntry>,
    #[serde(default)]
    pub finality: FinalityTiming,
    /// Where to serve Prometheus metrics (`GET /metrics`), if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SocketAddr>,
    /// Commit the store without waiting for the disk: for measuring what durability costs only
    /// (a crash may then lose what the node signed, and it may sign twice).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsafe_no_fsync: bool,
    /// Faults this node applies to what it sends (`super::faults`).
    #[serde(default, skip_serializing_if = "LinkFaults::is_none")]
    pub link: LinkFaults,
    /// The ledger network a shard or gateway belongs to (the same in every member's file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<super::ledger::LedgerSpec>,
    /// A shard's roster CoSi seeds (hex, one per line, in roster order), relative to this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosi_key_file: Option<PathBuf>,
}

/// A configuration checked and resolved: paths absolute, roster built, key loaded.
pub struct LoadedNode {
    pub config: NodeConfig,
    pub seed: [u8; 32],
    pub roster: Roster,
    pub store: PathBuf,
    /// A shard's roster CoSi seeds (checked against the ledger's directory); empty otherwise.
    pub cosi_seeds: Vec<[u8; 32]>,
}

impl LoadedNode {
    /// Every member's address, by id.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.config.members.iter().map(|m| m.address).collect()
    }

    /// Every member's public key, by id.
    pub fn public_keys(&self) -> Vec<[u8; 32]> {
        self.config.members.iter().map(|m| m.public_key).collect()
    }
}

fn read_bounded(path: &Path, what: &str) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "{what} {} is over {MAX_CONFIG_BYTES} bytes",
            path.display()
        ));
    }
    Ok(text)
}

/// Reads and checks the configuration at `path` (see the module documentation).
pub fn load(path: &Path) -> Result<LoadedNode, String> {
    let text = read_bounded(path, "configuration")?;
    let config: NodeConfig = serde_json::from_str(&text)
        .map_err(|e| format!("configuration {}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let members = config.members.len();
    if config.id as usize >= members {
        return Err(format!(
            "node id {} is not in the roster of {members} members",
            config.id
        ));
    }
    config
        .link
        .validate(members)
        .map_err(|e| format!("configuration {}: link: {e}", path.display()))?;
    let registrations: Vec<Registration> = config
        .members
        .iter()
        .map(|m| Registration {
            public_key: m.public_key,
            proof_of_possession: m.proof_of_possession,
        })
        .collect();
    let roster = Roster::from_registrations(&registrations)
        .map_err(|e| format!("the roster does not register: {e}"))?;
    let key_path = dir.join(&config.key_file);
    let key_text = read_bounded(&key_path, "key file")?;
    let seed: [u8; 32] = hex::decode(key_text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            format!(
                "key file {} does not hold 32 bytes of hex",
                key_path.display()
            )
        })?;
    let own = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    if own != config.members[config.id as usize].public_key {
        return Err(format!(
            "the key in {} is not member {}'s key",
            key_path.display(),
            config.id
        ));
    }
    let cosi_seeds = match config.role {
        Role::Finality => {
            if config.ledger.is_some() || config.cosi_key_file.is_some() {
                return Err("a finality member takes no ledger or cosi_key_file".into());
            }
            Vec::new()
        }
        Role::Shard | Role::Gateway | Role::Cosigner => {
            let spec = config
                .ledger
                .as_ref()
                .ok_or_else(|| format!("a {:?} node needs the ledger section", config.role))?;
            spec.validate(config.role, config.id, members)?;
            match (config.role, &config.cosi_key_file) {
                (Role::Shard | Role::Cosigner, Some(file)) => {
                    let path = dir.join(file);
                    let seeds = read_seeds(&read_bounded(&path, "cosi key file")?)
                        .map_err(|e| format!("cosi key file {}: {e}", path.display()))?;
                    check_cosi_seeds(spec, config.id, &seeds)
                        .map_err(|e| format!("cosi key file {}: {e}", path.display()))?;
                    seeds
                }
                (Role::Shard | Role::Cosigner, None) => {
                    return Err(format!("a {:?} node needs its cosi_key_file", config.role));
                }
                (_, Some(_)) => return Err("a gateway takes no cosi_key_file".into()),
                (_, None) => Vec::new(),
            }
        }
    };
    Ok(LoadedNode {
        store: dir.join(&config.store),
        seed,
        roster,
        cosi_seeds,
        config,
    })
}

/// Checks a shard's or co-signer's CoSi seeds: its whole roster's for a shard signing alone, its
/// own roster member's alone when the shard is co-signed.
fn check_cosi_seeds(
    spec: &super::ledger::LedgerSpec,
    id: NodeId,
    seeds: &[[u8; 32]],
) -> Result<(), String> {
    use super::ledger::Place;
    match (spec.params.place(id), spec.params.cosigned, seeds) {
        (Some(Place::Shard(shard)), false, _) => spec.check_roster_seeds(shard, seeds),
        (Some(Place::Shard(shard)), true, [seed]) => spec.check_member_seed(shard, 0, seed),
        (Some(Place::Cosigner { shard, index }), true, [seed]) => {
            spec.check_member_seed(shard, index, seed)
        }
        _ => Err(format!(
            "{} seeds do not fit node {id} of this ledger",
            seeds.len()
        )),
    }
}

/// 32-byte seeds in hex, one per line.
fn read_seeds(text: &str) -> Result<Vec<[u8; 32]>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            hex::decode(line.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("line {} is not 32 bytes of hex", i + 1))
        })
        .collect()
}

/// A network of finality members on this host, as `iosv net init` and `iosv net up` write it.
#[derive(Clone, Debug)]
pub struct LocalNetwork {
    pub nodes: usize,
    /// Node `i` listens on `127.0.0.1:<base_port + i>`.
    pub base_port: u16,
    pub timing: FinalityTiming,
    /// Delay, jitter and loss on every link (partitions come from `halves`).
    pub link: LinkFaults,
    /// Windows (Unix milliseconds, from–until) in which the first half of the nodes
    /// (`0..nodes/2`) and the second cannot reach each other.
    pub halves: Vec<(u64, u64)>,
    /// Node `i` serves metrics on `127.0.0.1:<metrics_base_port + i>`, if set.
    pub metrics_base_port: Option<u16>,
    /// See [`NodeConfig::unsafe_no_fsync`].
    pub unsafe_no_fsync: bool,
    /// A ledger network (shards, then gateways) instead of a finality league; `nodes` must be
    /// its shards plus gateways.
    pub ledger: Option<super::ledger::LedgerParams>,
    /// The address of each host nodes run on: node `i` listens on
    /// `hosts[i mod hosts]:(base_port + i)` (empty: `127.0.0.1`), metrics too.
    pub hosts: Vec<std::net::IpAddr>,
}

/// Writes the files of `net` into `dir`: `node-<i>.json`, `node-<i>.key` (fresh seeds from the
/// OS). Returns the configuration paths.
pub fn write_local_network(dir: &Path, net: &LocalNetwork) -> Result<Vec<PathBuf>, String> {
    let (nodes, base_port) = (net.nodes, net.base_port);
    if nodes == 0 || nodes > 1000 {
        return Err(format!("{nodes} nodes: between 1 and 1000"));
    }
    if base_port as usize + nodes > u16::MAX as usize {
        return Err(format!("ports {base_port}.. do not fit {nodes} nodes"));
    }
    let ledger = match &net.ledger {
        Some(params) => {
            if params.nodes() != nodes {
                return Err(format!(
                    "{nodes} nodes for a ledger of {} nodes ({} shards, {} gateways)",
                    params.nodes(),
                    params.shards,
                    params.gateways
                ));
            }
            Some(super::ledger::LedgerSpec::generate(params.clone())?)
        }
        None => None,
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let seeds: Vec<[u8; 32]> = (0..nodes).map(|_| rand::random()).collect();
    let ip_of = |i: usize| -> std::net::IpAddr {
        if net.hosts.is_empty() {
            [127, 0, 0, 1].into()
        } else {
            net.hosts[i % net.hosts.len()]
        }
    };
    let members: Vec<MemberEntry> = seeds
        .iter()
        .enumerate()
        .map(|(i, seed)| {
            let reg = MemberKey::from_seed(seed).registration();
            MemberEntry {
                public_key: reg.public_key,
                proof_of_possession: reg.proof_of_possession,
                address: SocketAddr::new(ip_of(i), base_port + i as u16),
            }
        })
        .collect();
    let mut paths = Vec::with_capacity(nodes);
    let half = nodes / 2;
    for (i, seed) in seeds.iter().enumerate() {
        let other_half: Vec<NodeId> = if i < half {
            (half..nodes).map(|j| j as NodeId).collect()
        } else {
            (0..half).map(|j| j as NodeId).collect()
        };
        let mut link = net.link.clone();
        link.partitions
            .extend(net.halves.iter().map(|&(from, until)| Partition {
                from_unix_ms: from,
                until_unix_ms: until,
                peers: other_half.clone(),
            }));
        link.validate(nodes)?;
        let key_file = PathBuf::from(format!("node-{i}.key"));
        write_private(&dir.join(&key_file), hex::encode(seed).as_bytes())?;
        let (role, cosi_key_file) = match &ledger {
            None => (Role::Finality, None),
            Some((spec, cosi)) => {
                use super::ledger::Place;
                let p = &spec.params;
                let (role, seeds): (Role, &[[u8; 32]]) = match p.place(i as NodeId) {
                    Some(Place::Gateway(_)) | None => (Role::Gateway, &[]),
                    Some(Place::Shard(s)) if p.cosigned => {
                        (Role::Shard, std::slice::from_ref(&cosi[s as usize][0]))
                    }
                    Some(Place::Shard(s)) => (Role::Shard, &cosi[s as usize][..]),
                    Some(Place::Cosigner { shard, index }) => (
                        Role::Cosigner,
                        std::slice::from_ref(&cosi[shard as usize][index]),
                    ),
                };
                if seeds.is_empty() {
                    (role, None)
                } else {
                    let file = PathBuf::from(format!("node-{i}.cosi"));
                    let lines: Vec<String> = seeds.iter().map(hex::encode).collect();
                    write_private(&dir.join(&file), lines.join("\n").as_bytes())?;
                    (role, Some(file))
                }
            }
        };
        let config = NodeConfig {
            role,
            id: i as NodeId,
            listen: members[i].address,
            key_file,
            store: PathBuf::from(format!("node-{i}.redb")),
            members: members.clone(),
            finality: net.timing,
            unsafe_no_fsync: net.unsafe_no_fsync,
            metrics: net
                .metrics_base_port
                .map(|p| SocketAddr::new(ip_of(i), p.saturating_add(i as u16))),
            link,
            ledger: ledger.as_ref().map(|(spec, _)| spec.clone()),
            cosi_key_file,
        };
        let path = dir.join(format!("node-{i}.json"));
        let text = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

/// Writes a secret readable by its owner only.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}
