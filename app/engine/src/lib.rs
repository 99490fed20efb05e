//! tessera-engine: everything Tessera does that is neither a window nor a command line. The
//! GUI (`tessera::ui`) and the CLI (`tessera::cli`) both stand on it; it depends on neither
//! (it is its own crate, so the compiler keeps it that way) and on no egui panel or clap.
//!
//! Worker threads, talked to through bounded channels, all of one shape ([`worker`]: `start`,
//! `send`, `answers`):
//!
//! - [`archive_loader`]: opens an archive (video index, event database) for the UI.
//! - [`tile_feed`]: answers tile requests from the event database for the timeline.
//! - [`bookmarks`]: the archive's bookmarks, read and written off the UI thread.
//! - [`jobs`]: long jobs (exports) with progress and cancel.
//! - [`events_feed`]: next/previous event and the events under the pointer.
//! - [`decoder`]: the video decoder trait and its backends (FFmpeg by default, openh264).
//! - [`playback`]: frames by time, GOP decoding and the decoded-GOP cache.
//! - [`player`]: the per-stream player thread (seek, scrub, step, play at a speed, follow the
//!   live edge of a stream a recorder writes).
//! - [`live`]: the live edge's decoder, fed each access unit once as it is written.
//! - [`archive_loader`]'s follower: the streams and their spans as recorders add to them.
//! - [`previews`]: keyframe previews — building them (`previews build`, import), one at a time
//!   (`previews get`), and the `previews` thread for the GUI's hover and filmstrip.
//! - [`observations`]: labelling projects' observations — population status, starting
//!   populations, and the boxes of the labelled frame at the playhead.
//! - [`trajectories`]: flight trajectories over sky-facing cameras — the camera file and the
//!   projection into the picture ([`trajectories::projection`]), and the aircraft for the
//!   overlay ([`trajectories::feed`]).
//! - [`skim::feed`]: skim plans for the GUI's Skim mode.
//!
//! Logic and outputs:
//!
//! - [`timeline`]: the time view, ticks, palettes, and strip plans for the renderer.
//! - [`export`]: a range of a stream as MP4 or Annex-B (`tessera export`, the GUI's clip export).
//! - [`frame`]: the picture at a time as PNG or I420 (`tessera frame`, the GUI's Save frame).
//! - [`render_timeline`]: the timeline strips drawn offscreen to a PNG (`tessera
//!   render-timeline`, the GUI's timeline image).
//! - [`skim`]: which spans to play at speed and which to rush through (`tessera skim`, Skim
//!   mode).
//! - [`output`]: atomic writes of the files the user asked for.

pub mod archive_loader;
pub mod bookmarks;
pub mod decoder;
pub mod events_feed;
pub mod export;
#[cfg(feature = "ffmpeg")]
pub mod ffmpeg_decoder;
pub mod frame;
pub mod jobs;
pub mod live;
pub mod observations;
pub mod output;
pub mod playback;
pub mod player;
pub mod previews;
pub mod render_timeline;
pub mod skim;
pub mod tile_feed;
pub mod timeline;
pub mod trajectories;
pub mod worker;
