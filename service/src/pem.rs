//! Reading the PEM files of TLS (certificates, keys, CAs): small files, read with a cap so that a
//! wrong path (a device, a huge file) costs nothing; the error names the file.

use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Larger than any certificate chain or key this service needs.
const MAX_PEM: u64 = 1 << 20;

#[derive(Debug, Error)]
pub enum PemError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is over 1 MiB: not a PEM file")]
    TooLarge { path: PathBuf },
}

pub fn read_pem(path: &Path) -> Result<Vec<u8>, PemError> {
    let read_error = |source| PemError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PEM {
        return Err(PemError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}
