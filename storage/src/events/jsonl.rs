//! `events ingest` input: one object track per line,
//! `{"camera","class","first_ms","last_ms","confidence"?,"boxes"?:[{"t_ms","x1","y1","x2","y2"}]}`.
//! The whole input is validated before anything is written; errors name the line.

use serde::{Deserialize, Serialize};

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
        if self.camera.trim().is_empty() {
            return Err("camera is empty".into());
        }
        if self.class.trim().is_empty() {
            return Err("class is empty".into());
        }
        if self.last_ms < self.first_ms {
            return Err(format!("last_ms {} is before first_ms {}", self.last_ms, self.first_ms));
        }
        // ±year 10000: keeps every later i64 ms/s computation far from overflow.
        const LIMIT_MS: i64 = 253_402_300_800_000;
        if self.first_ms.abs() > LIMIT_MS || self.last_ms.abs() > LIMIT_MS {
            return Err("time out of range (beyond year 9999)".into());
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

/// Parse every line; blank lines are skipped. The error names the line (1-based).
pub fn parse_jsonl(text: &str) -> Result<Vec<NewEvent>, String> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: NewEvent = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        event.validate().map_err(|e| format!("line {}: {e}", i + 1))?;
        events.push(event);
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
        ] {
            let text = format!("{}\n{bad}\n", ok.lines().next().unwrap_or_default());
            let err = parse_jsonl(&text).err().unwrap_or_default();
            assert!(err.starts_with(needle), "{err}");
        }
    }
}
