//! Durations on the command line (`--every 10s`, `--pre-roll 500ms`): one parser for every
//! command, so units and limits read the same everywhere.

/// A duration in microseconds: a non-negative decimal number with a unit `us`, `ms`, `s`,
/// `m` or `h`. A bare number is seconds when `bare_seconds`, else refused (`0` alone is
/// always zero).
pub fn parse_us(text: &str, bare_seconds: bool) -> Result<i64, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let not_a_duration = || format!("{text:?} is not a duration (like 2s, 500ms, 1.5s, 1m)");
    let scale = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "" if bare_seconds => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        _ => return Err(not_a_duration()),
    };
    let value: f64 = number.parse().map_err(|_| not_a_duration())?;
    let us = (value * scale).round();
    // 2^53 µs is 285 years: beyond it f64 is no longer exact, and no duration here needs it.
    if !(us.is_finite() && us <= 9_007_199_254_740_992.0) {
        return Err(format!("{text:?} is too long a duration"));
    }
    Ok(us as i64)
}
