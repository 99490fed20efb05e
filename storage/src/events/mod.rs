//! The event database: object tracks per camera (class, first/last time, confidence, boxes),
//! in Tessera's own SQLite file `<archive>/tessera.sqlite` (WAL), which also holds the tile
//! store. cyclops recordings keep their `videos.sqlite` untouched: its events are mirrored in
//! (see [`cyclops`]).
//!
//! - [`db`]: schema, string interning, camera state.
//! - [`jsonl`]: parsing `events ingest` input, all-or-nothing with line numbers.
//! - [`store`]: inserting and listing events.

pub mod cyclops;
pub mod db;
pub mod jsonl;
pub mod store;

pub use db::{EventDb, EventsError};
pub use jsonl::{BoxAt, NewEvent, parse_jsonl};
pub use store::EventRow;

/// Classes per camera (tile rows): the limit; cyclops caps its own tiles at 30.
pub const MAX_CLASSES_PER_CAMERA: usize = 64;

/// The camera a stream belongs to: `<camera>-HD` / `<camera>-LD` → `<camera>`; any other
/// stream name is a camera of its own.
pub fn camera_of_stream(stream: &str) -> &str {
    stream.strip_suffix("-HD").or_else(|| stream.strip_suffix("-LD")).filter(|c| !c.is_empty()).unwrap_or(stream)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cameras_of_streams() {
        assert_eq!(super::camera_of_stream("cam-1-HD"), "cam-1");
        assert_eq!(super::camera_of_stream("cam-1-LD"), "cam-1");
        assert_eq!(super::camera_of_stream("garage"), "garage");
        assert_eq!(super::camera_of_stream("-HD"), "-HD");
    }
}
