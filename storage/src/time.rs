//! One time type across crates: UTC microseconds since the Unix epoch in an `i64`.
//!
//! Command-line times are RFC 3339 (`Z` or an offset) or an integer of unix microseconds.

use std::fmt;

/// UTC microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMicros(pub i64);

impl UnixMicros {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms * 1000)
    }
    /// Seconds, rounded towards negative infinity (as tile math wants).
    pub const fn secs_floor(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    /// Parse RFC 3339 (`2024-05-01T12:00:00Z`, `...+02:00`) or an integer of unix µs.
    pub fn parse(text: &str) -> Result<Self, TimeParseError> {
        let text = text.trim();
        if let Ok(us) = text.parse::<i64>() {
            return Ok(Self(us));
        }
        let parsed = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| TimeParseError(format!("'{text}' is neither RFC 3339 nor unix µs ({e})")))?;
        Ok(Self(parsed.timestamp_micros()))
    }
    /// RFC 3339 in UTC with microseconds, for messages and JSON.
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_micros(self.0) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            None => format!("{}µs", self.0),
        }
    }
    pub fn now() -> Self {
        Self(chrono::Utc::now().timestamp_micros())
    }
}

impl fmt::Display for UnixMicros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Command-line times: `#[arg(long)] at: UnixMicros` parses with this (clap's value parser
/// for any `FromStr` type).
impl std::str::FromStr for UnixMicros {
    type Err = TimeParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TimeParseError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_integer_micros() {
        assert_eq!(UnixMicros::parse("1700000000123456").ok(), Some(UnixMicros(1_700_000_000_123_456)));
        assert_eq!(UnixMicros::parse("-5").ok(), Some(UnixMicros(-5)));
    }

    #[test]
    fn parses_rfc3339_with_offsets() {
        let z = UnixMicros::parse("2023-11-14T22:13:20Z").ok();
        let off = UnixMicros::parse("2023-11-15T00:13:20.000+02:00").ok();
        assert_eq!(z, Some(UnixMicros(1_700_000_000_000_000)));
        assert_eq!(z, off);
        assert_eq!(UnixMicros::parse("2023-11-14T22:13:20.5Z").ok(), Some(UnixMicros(1_700_000_000_500_000)));
    }

    #[test]
    fn rejects_garbage() {
        assert!(UnixMicros::parse("yesterday").is_err());
        assert!(UnixMicros::parse("2023-11-14 22:13").is_err());
    }

    #[test]
    fn floors_negative_times() {
        assert_eq!(UnixMicros(-1).secs_floor(), -1);
        assert_eq!(UnixMicros(1_999_999).secs_floor(), 1);
    }
}
