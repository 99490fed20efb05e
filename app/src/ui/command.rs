//! What the panels ask of the app: [`Command`]s, pushed while drawing and applied once per
//! frame by [`super::TesseraApp`]. A module of its own so a panel that pushes commands does
//! not import the app.

use super::review::ExportKind;
use std::path::PathBuf;
use tessera_engine::timeline::TimeView;
use tessera_engine::timeline::ticks::Clock;

/// Commands panels push; applied once per frame by the app (`TesseraApp::apply`).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    OpenArchive(PathBuf),
    ChooseArchive,
    SetTimeView(TimeView),
    /// Seek: the playhead goes to the time at once, and the active tile's player (every
    /// tile's, synced) is asked for the picture there. The one spelling of a seek in the UI:
    /// the timeline, the transport bar's go-to field and scrub bar, jumps and bookmarks all
    /// push it, and the grid hands it to the players as `PlayerCommand::Seek`.
    SeekTo(i64),
    /// A seek to the first picture at or after the time (`PlayerCommand::SeekFrom`): where
    /// something starts to be seen, such as an aircraft entering the frame.
    SeekFrom(i64),
    ToggleClass(String),
    SetClock(Clock),
    /// The player shows a new frame: move the timeline's playhead to it.
    PlayheadMoved(i64),
    /// Play another stream in the active tile (at the playhead, playing on if it was).
    SelectStream(String),
    /// Show `side`×`side` videos.
    SetGrid(usize),
    /// Show `stream` in grid tile `tile`.
    SetTileStream {
        tile: usize,
        stream: String,
    },
    /// Make a grid tile the active one (the transport, playhead and overlays follow it).
    SelectTile(usize),
    SetSync(bool),
    /// The user picked a camera (its timeline strip): the tile showing it becomes active,
    /// else the active tile shows it.
    SelectCamera(String),
    /// Go to an event (N/P): its camera becomes the active tile's, the playhead goes to its
    /// start less the pre-roll.
    JumpToEvent(tessera_storage::events::EventRow),
    /// `[` (start) or `]` (end): mark the selection at the playhead.
    MarkSelection {
        start: bool,
    },
    ClearSelection,
    /// Mark this range (µs) as the selection.
    Select(i64, i64),
    /// Export `kind`; `out: None` asks where with a save dialog.
    Export {
        kind: ExportKind,
        out: Option<PathBuf>,
    },
    /// Go to a bookmark: its range becomes the selection, the playhead its start.
    GoToBookmark(tessera_storage::db::bookmarks::Bookmark),
    /// Skim mode on or off (the transport's Skim button, key S).
    ToggleSkim,
    /// How long before an event its jumps land, seconds.
    SetPreroll(f64),
    /// Draw the timeline's coverage or presence.
    SetTimelineStyle(tessera_render::timeline::TileStyle),
    /// Something worth a short notice (nothing failed).
    Notice(String),
    /// A file was written (an export): a notice naming it that stays until dismissed; a click
    /// opens its folder.
    Saved {
        summary: String,
        path: std::path::PathBuf,
    },
    /// Something failed: shown as a toast.
    Error {
        title: String,
        detail: String,
    },
}
