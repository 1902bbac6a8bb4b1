//! Reading untrusted files with a size cap.
//!
//! Every file a command reads (configurations, reports, transcripts, baselines) comes from the
//! user and may be anything: a FIFO, `/dev/zero`, a multi-gigabyte log. Nothing here reads a file
//! whole without a cap: [`read_text`] stops at `cap` bytes and refuses the file with an error that
//! names the path and the limit, so memory stays bounded by the cap whatever the file is.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

/// Cap for configuration files (demo and simulator configurations, policies): far above any real
/// one (the default demo configuration is under 1 KiB), low enough that a wrong path costs nothing.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Cap for benchmark reports (`iosv compare`) and gate baselines: `bench all` reports are ~100 KiB.
pub const MAX_REPORT_BYTES: u64 = 16 << 20;
/// Cap for DRP transcripts: `iosv drp --servers 256` writes 0.5–1 MB (groups of 4 to 16).
pub const MAX_TRANSCRIPT_BYTES: u64 = 16 << 20;

/// Reads `path` as UTF-8 text of at most `cap` bytes. `what` names the file's role in errors
/// ("demo configuration", "report").
pub fn read_text(path: &Path, cap: u64, what: &str) -> anyhow::Result<String> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    // A regular file's size is known: one over the cap is refused without reading it.
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() > cap
    {
        anyhow::bail!(
            "{what} {} is larger than the limit of {} bytes",
            path.display(),
            cap
        );
    }
    let mut bytes = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "over it" without reading more.
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    anyhow::ensure!(
        bytes.len() as u64 <= cap,
        "{what} {} is larger than the limit of {} bytes",
        path.display(),
        cap
    );
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{what} {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_cap_is_refused_and_one_at_the_cap_is_read() {
        let dir = std::env::temp_dir().join(format!("iosv-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, "x".repeat(100)).unwrap();
        assert_eq!(read_text(&path, 100, "file").unwrap().len(), 100);
        let err = read_text(&path, 99, "file").unwrap_err().to_string();
        assert!(err.contains("larger than the limit of 99 bytes"), "{err}");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let err = read_text(&path, 99, "file").unwrap_err().to_string();
        assert!(err.contains("not UTF-8"), "{err}");
        let err = read_text(&dir.join("missing"), 99, "file").unwrap_err();
        assert!(err.to_string().contains("cannot read file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_stops_at_the_cap() {
        let err = read_text(Path::new("/dev/zero"), 4096, "configuration").unwrap_err();
        assert!(err.to_string().contains("larger than the limit"), "{err}");
    }
}
