//! `events ingest` input: one object track per line,
//! `{"camera","class","first_ms","last_ms","confidence"?,"boxes"?:[{"t_ms","x1","y1","x2","y2"}]}`.
//! Times lie in 1970 … 9999 and an event lasts at most 24 h ([`super::MAX_EVENT_MS`]);
//! `camera` and `class` are names ([`crate::names`]: 1 … 255 bytes, printable); a line is at
//! most [`MAX_LINE_BYTES`] and is refused before it is parsed (or read whole) when longer.
//! Errors name the line. `events ingest` stores nothing of a file with a bad line.

use super::{MAX_EVENT_MS, MAX_TIME_MS, MIN_TIME_MS};
use serde::{Deserialize, Serialize};
use std::io::BufRead;

/// The longest line read, `\n` excluded: 1 MiB. A track with a box a second for an hour is
/// about 250 KB of JSON, so real input fits; a longer line is refused after reading at most
/// this much of it, so one line never costs more memory than this.
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxAt {
    pub t_ms: i64,
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub camera: String,
    pub class: String,
    pub first_ms: i64,
    pub last_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boxes: Vec<BoxAt>,
}

impl NewEvent {
    /// Semantic checks beyond the JSON shape.
    pub fn validate(&self) -> Result<(), String> {
        crate::names::check_name("camera", &self.camera)?;
        crate::names::check_name("class", &self.class)?;
        // Times and durations are checked before anything is computed from them: a ±9999-year
        // span must be refused here, not tiled.
        for (field, t) in [("first_ms", self.first_ms), ("last_ms", self.last_ms)] {
            if !(MIN_TIME_MS..=MAX_TIME_MS).contains(&t) {
                return Err(format!(
                    "{field} {t} is outside 1970-01-01 … 9999-12-31 (unix ms {MIN_TIME_MS}…{MAX_TIME_MS})"
                ));
            }
        }
        if self.last_ms < self.first_ms {
            return Err(format!("last_ms {} is before first_ms {}", self.last_ms, self.first_ms));
        }
        if self.last_ms - self.first_ms > MAX_EVENT_MS {
            return Err(format!(
                "the event lasts {:.1} h, longer than the {} h maximum",
                (self.last_ms - self.first_ms) as f64 / 3.6e6,
                MAX_EVENT_MS / 3_600_000
            ));
        }
        if let Some(c) = self.confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(format!("confidence {c} is not in [0, 1]"));
        }
        for (i, b) in self.boxes.iter().enumerate() {
            if ![b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite()) {
                return Err(format!("boxes[{i}] has a non-finite coordinate"));
            }
        }
        Ok(())
    }
}

/// Parse and validate one line (1-based `number` for the message).
pub fn parse_line(line: &str, number: usize) -> Result<NewEvent, String> {
    let event: NewEvent = serde_json::from_str(line).map_err(|e| format!("line {number}: {e}"))?;
    event.validate().map_err(|e| format!("line {number}: {e}"))?;
    Ok(event)
}

/// Read line `number` (1-based, for messages) of `input` into `buf`, without its `\n`;
/// `None` at the end of the input. A line over `max` bytes is an error once `max + 1` of its
/// bytes are seen (the rest is not read), as is one that is not UTF-8.
pub fn read_line_bounded<'a>(
    input: &mut impl BufRead,
    buf: &'a mut Vec<u8>,
    number: usize,
    max: usize,
) -> Result<Option<&'a str>, String> {
    buf.clear();
    let mut seen = false;
    loop {
        let available = match input.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("line {number}: {e}")),
        };
        if available.is_empty() {
            break;
        }
        seen = true;
        let (take, newline) = match memchr::memchr(b'\n', available) {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if buf.len() + take > max {
            return Err(format!("line {number}: longer than the {max}-byte line limit"));
        }
        buf.extend_from_slice(&available[..take]);
        input.consume(take + usize::from(newline));
        if newline {
            break;
        }
    }
    if !seen {
        return Ok(None);
    }
    std::str::from_utf8(buf)
        .map(Some)
        .map_err(|e| format!("line {number}: not UTF-8 (byte {} of the line)", e.valid_up_to()))
}

/// Parse every line; blank lines are skipped. The error names the line (1-based).
pub fn parse_jsonl(text: &str) -> Result<Vec<NewEvent>, String> {
    let mut events = Vec::new();
    let mut input = text.as_bytes();
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        number += 1;
        let Some(line) = read_line_bounded(&mut input, &mut buf, number, MAX_LINE_BYTES)? else { break };
        if !line.trim().is_empty() {
            events.push(parse_line(line, number)?);
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_lines() {
        let ok = r#"{"camera":"cam-1","class":"person","first_ms":1000,"last_ms":2000,"confidence":0.9,"boxes":[{"t_ms":1000,"x1":1,"y1":2,"x2":3,"y2":4}]}

{"camera":"cam-2","class":"car","first_ms":5,"last_ms":5}"#;
        let events = parse_jsonl(ok).expect("valid");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].boxes.len(), 1);
        for (bad, needle) in [
            ("{\"camera\":\"c\",\"class\":\"p\",\"first_ms\":5,\"last_ms\":4}", "line 2: last_ms"),
            ("{\"camera\":\"c\",\"class\":\"p\",\"first_ms\":\"x\",\"last_ms\":4}", "line 2:"),
            ("{\"camera\":\"\",\"class\":\"p\",\"first_ms\":1,\"last_ms\":4}", "line 2: camera"),
            ("{\"camera\":\"c\",\"class\":\"p\",\"first_ms\":1,\"last_ms\":4,\"confidence\":7}", "line 2: confidence"),
            ("not json", "line 2:"),
            ("{\"camera\":\"c\",\"class\":\"p\",\"first_ms\":-9223372036854775808,\"last_ms\":4}", "line 2: first_ms"),
            ("{\"camera\":\"c\",\"class\":\"p\",\"first_ms\":0,\"last_ms\":315569520000000}", "line 2: last_ms"),
            ("{\"camera\":\"c\",\"class\":\"p\",\"first_ms\":0,\"last_ms\":86400001}", "line 2: the event lasts"),
        ] {
            let text = format!("{}\n{bad}\n", ok.lines().next().unwrap_or_default());
            let err = parse_jsonl(&text).err().unwrap_or_default();
            assert!(err.starts_with(needle), "{err}");
        }
    }

    proptest::proptest! {
        /// Event lines of any shape are accepted or rejected with a line number, never a panic.
        #[test]
        fn jsonl_never_panics(text in "[{}\\[\\]\":,a-z0-9_ .\\n-]{0,200}") {
            if let Err(e) = parse_jsonl(&text) {
                proptest::prop_assert!(e.starts_with("line "));
            }
        }
    }
}
