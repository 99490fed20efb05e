//! The event tables: object tracks per camera (class, first/last time, confidence, boxes) in
//! the archive's `tessera.sqlite`. This module owns those tables and their SQL, and nothing
//! else: tiles read events through [`crate::tiles::EventSource`], and "ingest = insert + tile
//! upkeep" lives above both, in [`crate::db`].
//!
//! - [`tables`]: schema, string interning, per-camera state (bounds, duration buckets).
//! - [`store`]: inserting rows, listing events, spans for tiles.
//! - [`boxes`]: the compact `boxes` column.
//! - [`jsonl`]: parsing and validating `events ingest` input, errors naming the line.
//!
//! **Interval index.** A span query ("events overlapping `[a, b]`") must not be widened by
//! the camera's longest event. Each row carries a *duration bucket* — the bit length of
//! `last_ms − first_ms` — and the index is `(camera, bucket, first_ms)`; a query visits the
//! buckets the camera has, each widened only by that bucket's longest possible duration
//! (< 2× the durations it holds). Inserts stay one B-tree index (an R*Tree costs several).

pub mod boxes;
pub mod jsonl;
pub mod store;
pub mod tables;

pub use jsonl::{BoxAt, MAX_LINE_BYTES, NewEvent, parse_jsonl, parse_line, read_line_bounded};
pub use store::EventRow;
pub use tables::Events;

/// Classes per camera (tile rows): the limit; cyclops caps its own tiles at 30.
pub const MAX_CLASSES_PER_CAMERA: usize = 64;

/// Earliest time an event may have: 1970-01-01T00:00:00Z (unix ms 0).
pub const MIN_TIME_MS: i64 = 0;
/// Latest time an event may have: 9999-12-31T23:59:59.999Z. Every later computation in ms,
/// µs or tile seconds stays far inside `i64`.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;
/// Longest event: 24 hours. A tracker's object track is seconds to minutes; a longer one is
/// a fault, and refusing it bounds the tile upkeep one event costs (≤ 85 level-0 tiles, ≤ 190
/// tiles over all levels).
pub const MAX_EVENT_MS: i64 = 24 * 3600 * 1000;

/// The camera a stream belongs to: `<camera>-HD` / `<camera>-LD` → `<camera>`; any other
/// stream name is a camera of its own.
pub fn camera_of_stream(stream: &str) -> &str {
    stream.strip_suffix("-HD").or_else(|| stream.strip_suffix("-LD")).filter(|c| !c.is_empty()).unwrap_or(stream)
}

/// Duration bucket of an event: the bit length of its duration in ms (0 for an instant).
pub fn duration_bucket(first_ms: i64, last_ms: i64) -> u32 {
    64 - (last_ms.saturating_sub(first_ms).max(0) as u64).leading_zeros()
}

/// Longest duration a bucket holds.
pub fn bucket_max_duration_ms(bucket: u32) -> i64 {
    if bucket >= 63 { i64::MAX } else { (1i64 << bucket) - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cameras_of_streams() {
        assert_eq!(camera_of_stream("cam-1-HD"), "cam-1");
        assert_eq!(camera_of_stream("cam-1-LD"), "cam-1");
        assert_eq!(camera_of_stream("garage"), "garage");
        assert_eq!(camera_of_stream("-HD"), "-HD");
    }

    #[test]
    fn buckets_bound_their_durations() {
        assert_eq!(duration_bucket(5, 5), 0);
        assert_eq!(duration_bucket(0, 1), 1);
        assert_eq!(duration_bucket(0, 1023), 10);
        assert_eq!(duration_bucket(0, 1024), 11);
        for d in [0i64, 1, 2, 3, 999, 1000, 86_400_000] {
            let b = duration_bucket(100, 100 + d);
            assert!(d <= bucket_max_duration_ms(b) && (b == 0 || d > bucket_max_duration_ms(b - 1)), "{d}");
        }
        assert!(duration_bucket(0, MAX_EVENT_MS) < 63);
    }
}
