//! Non-UI work on named worker threads, talked to through bounded channels.
//!
//! - [`archive_loader`]: opens an archive (video index, event database) for the UI.
//! - [`tile_feed`]: answers tile requests from the event database for the timeline.
//! - [`bookmarks`]: the archive's bookmarks, read and written off the UI thread.
//! - [`jobs`]: long jobs (exports) with progress and cancel.
//! - [`events_feed`]: next/previous event and the events under the pointer.
//! - [`decoder`]: the video decoder trait and its openh264 backend.
//! - [`playback`]: frames by time, GOP decoding and the decoded-GOP cache.
//! - [`player`]: the per-stream player thread (seek, scrub, step, play at a speed).
//! - [`sky_feed`]: aircraft for the overlay of a sky-facing camera (feder queries, cached).
//! - [`labels`]: labelling projects — population status, starting populations, and the boxes
//!   of the labelled frame at the playhead.

pub mod archive_loader;
pub mod bookmarks;
pub mod decoder;
pub mod events_feed;
#[cfg(feature = "ffmpeg")]
pub mod ffmpeg_decoder;
pub mod jobs;
pub mod labels;
pub mod playback;
pub mod player;
pub mod sky_feed;
pub mod tile_feed;
