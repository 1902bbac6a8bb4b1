//! Value parsers and limits shared by several commands' arguments (clap `value_parser`s):
//! each turns untrusted text into a bounded value or a usage error naming the bound.

/// Highest offered rate `pipeline` accepts: far above what any machine commits, low enough that
/// the interval between submissions stays a representable, non-zero duration.
pub const MAX_OFFERED_RATE: f64 = 100_000_000.0;

/// Longest message `gen-sigs` makes.
pub const MAX_GEN_MSG_LEN: usize = 1 << 20;

/// `--rate`: a finite number of transactions per second in [1, MAX_OFFERED_RATE].
pub(crate) fn offered_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of transactions per second"))?;
    if !(1.0..=MAX_OFFERED_RATE).contains(&rate) {
        return Err(format!(
            "{text} transactions per second is outside 1 to {MAX_OFFERED_RATE:.0}"
        ));
    }
    Ok(rate)
}

/// A faulty fraction: finite, in [0, 1).
pub(crate) fn faulty_fraction(text: &str) -> Result<f64, String> {
    let fraction: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a fraction"))?;
    if !(0.0..1.0).contains(&fraction) {
        return Err(format!("{text} is outside [0, 1)"));
    }
    Ok(fraction)
}

/// `--msg-len`: bytes, at most MAX_GEN_MSG_LEN.
pub(crate) fn message_length(text: &str) -> Result<usize, String> {
    let len: usize = text
        .parse()
        .map_err(|_| format!("`{text}` is not a length in bytes"))?;
    if len > MAX_GEN_MSG_LEN {
        return Err(format!(
            "{len} bytes is over the limit of {MAX_GEN_MSG_LEN}"
        ));
    }
    Ok(len)
}
