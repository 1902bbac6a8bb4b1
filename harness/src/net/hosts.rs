//! Nodes on several machines: a hosts file says where each node runs, and the launcher starts,
//! signals and collects remote nodes over SSH.
//!
//! The hosts file, one host per line (`#` starts a comment):
//! ```text
//! # where node i runs: line i mod lines
//! local       127.0.0.1
//! ops@node-b  10.0.0.2
//! ```
//! The first field is `local` (this machine) or an SSH destination; the second is the address the
//! node listens on and that the other nodes dial (port: base port + node id). Node `i` runs on
//! line `i mod lines`.
//!
//! A remote node runs `REMOTE_EXE node --config DIR/node-i.json` over `ssh DEST`, its standard
//! output and error carried back into its local log. Before the launch, the node's configuration
//! and key files are copied to the same folder `DIR` on its host (`ssh DEST mkdir -p DIR`, `scp`);
//! SIGKILL and SIGTERM go through `ssh DEST pkill -f 'node --config DIR/node-i.json'`; after the
//! stop, its store is copied back for the checks. Every machine therefore needs `iosv` at
//! `REMOTE_EXE` (by default the launcher's own path), SSH access without a password prompt
//! (`BatchMode`), and the same folder path writable. `IOSV_SSH` and `IOSV_SCP` replace the `ssh`
//! and `scp` programs (each a command line split on spaces): the tests point them at scripts that
//! run the same steps on this machine, so the remote path is exercised on loopback.
//!
//! Paths and destinations go through a remote shell, so they are checked to hold only
//! `[A-Za-z0-9/._@-]` (and not to start with `-`): nothing a shell would expand or split.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Largest hosts file read.
const MAX_HOSTS_BYTES: u64 = 64 << 10;
/// Most hosts in a file.
const MAX_HOSTS: usize = 1_000;

/// One line of a hosts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The SSH destination, or `None` for this machine.
    pub ssh: Option<String>,
    /// The address the node listens on and is dialed at.
    pub ip: IpAddr,
}

/// Whether `s` may go through a remote shell unquoted.
fn shell_safe(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._@-".contains(c))
}

/// Reads a hosts file (see the module documentation).
pub fn read_hosts(path: &Path) -> Result<Vec<Host>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("hosts file {}: {e}", path.display()))?
        .len();
    if len > MAX_HOSTS_BYTES {
        return Err(format!(
            "hosts file {}: {len} bytes, at most {MAX_HOSTS_BYTES}",
            path.display()
        ));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("hosts file {}: {e}", path.display()))?;
    parse_hosts(&text).map_err(|e| format!("hosts file {}: {e}", path.display()))
}

/// Parses a hosts file's text.
pub fn parse_hosts(text: &str) -> Result<Vec<Host>, String> {
    let mut hosts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [dest, ip] = fields[..] else {
            return Err(format!(
                "line {}: expected `local|SSH_DESTINATION ADDRESS`",
                n + 1
            ));
        };
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("line {}: '{ip}' is not an IP address", n + 1))?;
        let ssh = match dest {
            "local" => None,
            d if shell_safe(d) => Some(d.to_string()),
            d => {
                return Err(format!(
                    "line {}: '{d}' is not a plain SSH destination",
                    n + 1
                ));
            }
        };
        hosts.push(Host { ssh, ip });
        if hosts.len() > MAX_HOSTS {
            return Err(format!("more than {MAX_HOSTS} hosts"));
        }
    }
    if hosts.is_empty() {
        return Err("no host".into());
    }
    Ok(hosts)
}

/// The `pgrep`/`pkill -f` pattern of the node process of configuration `config`: exactly its
/// command line's tail, and written so that it does not match itself — the shell that runs
/// `pkill` has the pattern in its own command line, and `[n]ode` as a regular expression does
/// not match the text `[n]ode`.
pub fn node_pattern(config: &Path) -> Result<String, String> {
    Ok(format!(
        "[n]ode --config {}$",
        safe_path(config)?.replace('.', "\\.")
    ))
}

/// How the launcher reaches remote hosts.
#[derive(Clone, Debug)]
pub struct Remote {
    ssh: Vec<String>,
    scp: Vec<String>,
    /// `iosv` on the remote hosts.
    pub exe: PathBuf,
}

fn program(var: &str, default: &[&str]) -> Result<Vec<String>, String> {
    let words: Vec<String> = match std::env::var(var) {
        Ok(v) => v.split_whitespace().map(str::to_string).collect(),
        Err(_) => default.iter().map(|s| s.to_string()).collect(),
    };
    if words.is_empty() {
        return Err(format!("{var} is empty"));
    }
    Ok(words)
}

fn safe_path(path: &Path) -> Result<&str, String> {
    path.to_str()
        .filter(|p| shell_safe(p) && path.is_absolute())
        .ok_or_else(|| {
            format!(
                "{}: a path for remote hosts must be absolute and hold only [A-Za-z0-9/._@-]",
                path.display()
            )
        })
}

impl Remote {
    /// SSH and SCP from `IOSV_SSH` and `IOSV_SCP` (default `ssh -o BatchMode=yes` and
    /// `scp -q -o BatchMode=yes`), running `exe` on the remote hosts.
    pub fn from_env(exe: PathBuf) -> Result<Remote, String> {
        safe_path(&exe)?;
        Ok(Remote {
            ssh: program("IOSV_SSH", &["ssh", "-o", "BatchMode=yes"])?,
            scp: program("IOSV_SCP", &["scp", "-q", "-o", "BatchMode=yes"])?,
            exe,
        })
    }

    /// `ssh DEST -- COMMAND` (the command is one shell line on the remote side).
    pub fn command(&self, dest: &str, line: &str) -> Command {
        let mut c = Command::new(&self.ssh[0]);
        c.args(&self.ssh[1..]).arg(dest).arg("--").arg(line);
        c
    }

    fn run(&self, mut c: Command, what: &str) -> Result<(), String> {
        let out = c
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what}: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The command line that starts the node of configuration `config` on its host.
    pub fn node_line(&self, config: &Path) -> Result<String, String> {
        Ok(format!(
            "{} node --config {}",
            safe_path(&self.exe)?,
            safe_path(config)?
        ))
    }

    /// Copies `files` into the folder `dir` (same path) on `dest`.
    pub fn push(&self, dest: &str, dir: &Path, files: &[PathBuf]) -> Result<(), String> {
        let remote_dir = safe_path(dir)?;
        self.run(
            self.command(dest, &format!("mkdir -p {remote_dir}")),
            &format!("make {remote_dir} on {dest}"),
        )?;
        let mut c = Command::new(&self.scp[0]);
        c.args(&self.scp[1..]);
        for f in files {
            c.arg(safe_path(f)?);
        }
        c.arg(format!("{dest}:{remote_dir}/"));
        self.run(c, &format!("copy the node files to {dest}"))
    }

    /// Copies `path` on `dest` to the same path here.
    pub fn pull(&self, dest: &str, path: &Path) -> Result<(), String> {
        let p = safe_path(path)?;
        let mut c = Command::new(&self.scp[0]);
        c.args(&self.scp[1..]).arg(format!("{dest}:{p}")).arg(p);
        self.run(c, &format!("copy {p} back from {dest}"))
    }

    /// Sends `signal` (`KILL`, `TERM`) to the node of configuration `config` on `dest`.
    pub fn signal(&self, dest: &str, config: &Path, signal: &str) -> Result<(), String> {
        let line = format!("pkill -{signal} -f '{}'", node_pattern(config)?);
        // pkill exits 1 when nothing matched (the node had exited): not an error here.
        let _ = self.command(dest, &line).stdin(Stdio::null()).output();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_files_parse_and_bad_lines_are_refused() {
        let hosts =
            parse_hosts("# two hosts\nlocal 127.0.0.1\nops@node-b 10.0.0.2 # the other\n").unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].ssh, None);
        assert_eq!(hosts[1].ssh.as_deref(), Some("ops@node-b"));
        assert_eq!(hosts[1].ip, "10.0.0.2".parse::<IpAddr>().unwrap());
        for bad in [
            "",
            "# nothing\n",
            "local\n",
            "local 127.0.0.1 extra\n",
            "local not-an-ip\n",
            "-oProxyCommand=x 127.0.0.1\n",
            "a;rm 127.0.0.1\n",
            "a$(x) 127.0.0.1\n",
        ] {
            assert!(parse_hosts(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn paths_for_a_remote_shell_are_plain() {
        assert!(safe_path(Path::new("/tmp/iosv-net/node-1.json")).is_ok());
        for bad in [
            "relative/node.json",
            "/tmp/a b",
            "/tmp/$(x)",
            "/tmp/a'b",
            "/tmp/a;b",
        ] {
            assert!(safe_path(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
