//! The `boxes` column of an event: its detection boxes over time, compact and exact to f32.
//!
//! Format (version 1): byte `0x01`, then per box a zigzag LEB128 varint of `t_ms` minus the
//! previous box's `t_ms` (the first box: minus the event's `first_ms`), then `x1 y1 x2 y2` as
//! little-endian f32. ~18 bytes a box against ~70 as JSON, and encoding costs no float
//! formatting (which was most of ingest's time). Databases of schema 1 hold JSON arrays
//! (first byte `[`); [`decode`] reads both.

use super::BoxAt;

const VERSION: u8 = 1;

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push(z as u8 | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn get_varint(data: &[u8], pos: &mut usize) -> Option<i64> {
    let mut z = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        z |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some((z >> 1) as i64 ^ -((z & 1) as i64));
        }
    }
    None
}

/// Encode boxes relative to the event's first time (`None` when there are none).
pub fn encode(first_ms: i64, boxes: &[BoxAt]) -> Option<Vec<u8>> {
    if boxes.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(1 + boxes.len() * 18);
    out.push(VERSION);
    let mut prev = first_ms;
    for b in boxes {
        put_varint(&mut out, b.t_ms.wrapping_sub(prev));
        prev = b.t_ms;
        for v in [b.x1, b.y1, b.x2, b.y2] {
            out.extend_from_slice(&(v as f32).to_le_bytes());
        }
    }
    Some(out)
}

/// Decode a `boxes` value (ours, or the JSON of schema 1).
pub fn decode(first_ms: i64, data: &[u8]) -> Result<Vec<BoxAt>, String> {
    match data.first() {
        None => Ok(Vec::new()),
        Some(b'[') => serde_json::from_slice(data).map_err(|e| format!("boxes: {e}")),
        Some(&VERSION) => {
            let mut pos = 1;
            let mut prev = first_ms;
            let mut out = Vec::new();
            while pos < data.len() {
                let delta = get_varint(data, &mut pos).ok_or("boxes: truncated time")?;
                prev = prev.wrapping_add(delta);
                let mut v = [0f64; 4];
                for slot in &mut v {
                    let bytes = data.get(pos..pos + 4).ok_or("boxes: truncated coordinate")?;
                    *slot = f64::from(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
                    pos += 4;
                }
                out.push(BoxAt { t_ms: prev, x1: v[0], y1: v[1], x2: v[2], y2: v[3] });
            }
            Ok(out)
        }
        Some(other) => Err(format!("boxes: unknown format byte {other:#04x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips_to_f32(first in 0i64..253_402_300_799_999, boxes in prop::collection::vec((-100_000i64..100_000, -1e4f64..1e4, -1e4f64..1e4, -1e4f64..1e4, -1e4f64..1e4), 1..20)) {
            let boxes: Vec<BoxAt> = boxes.into_iter().map(|(dt, x1, y1, x2, y2)| BoxAt { t_ms: first + dt, x1, y1, x2, y2 }).collect();
            let blob = encode(first, &boxes).unwrap_or_default();
            let back = decode(first, &blob).map_err(TestCaseError::fail)?;
            prop_assert_eq!(back.len(), boxes.len());
            for (a, b) in back.iter().zip(&boxes) {
                prop_assert_eq!(a.t_ms, b.t_ms);
                prop_assert_eq!(a.x1, f64::from(b.x1 as f32));
                prop_assert_eq!(a.y2, f64::from(b.y2 as f32));
            }
        }

        #[test]
        fn decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..100)) {
            let _ = decode(0, &data);
        }
    }

    #[test]
    fn reads_schema_1_json() {
        let json = br#"[{"t_ms":5,"x1":1,"y1":2,"x2":3,"y2":4}]"#;
        assert_eq!(decode(0, json), Ok(vec![BoxAt { t_ms: 5, x1: 1.0, y1: 2.0, x2: 3.0, y2: 4.0 }]));
        assert!(decode(0, &[7]).is_err());
    }
}
