//! Top-level app state: which archive is open, and the commands panels emit. Nothing here
//! touches the disk: archives are opened by [`ArchiveLoader`], streams by the player thread,
//! tiles by the tile feed, and the folder dialog runs on its own thread.

use super::command::Command;
use super::grid::{VideoGrid, streams_to_add};
use super::observations::ObservationsPanel;
use super::player_panel::PlayerPanel;
use super::review::{BookmarksPanel, EventsPanel, ExportKind, ExportTarget};
use super::settings::Settings;
use super::skim::Skim;
use super::sky_overlay::SkyOverlay;
use super::timeline_panel::TimelinePanel;
use super::toasts::Toasts;
use crossbeam_channel::{Receiver, bounded};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tessera_engine::archive_loader::{ArchiveFollower, ArchiveLoader, ArchiveSnapshot};
use tessera_engine::player::{Player, PlayerCommand};
use tessera_engine::timeline::ticks::Clock;
use tessera_engine::trajectories::feed::SkyLink;
use tessera_storage::fsv::StreamSummary;

/// A folder dialog that answers "nothing chosen" faster than this did not open at all (no
/// desktop portal, no zenity): no person cancels a dialog that quickly.
pub const DIALOG_FAILED_WITHIN: Duration = Duration::from_millis(500);

/// What the UI knows about the archive.
pub enum ArchiveState {
    None,
    Loading {
        loader: ArchiveLoader,
    },
    Open {
        path: PathBuf,
        streams: Vec<StreamSummary>,
        timeline: Box<TimelinePanel>,
        grid: VideoGrid,
        /// Streams tied to a sky camera: their player draws aircraft.
        sky: BTreeMap<String, SkyLink>,
        /// The archive's labelling projects (when it has a catalog).
        observations: Option<Box<ObservationsPanel>>,
        bookmarks: Box<BookmarksPanel>,
        events: Box<EventsPanel>,
        skim: Box<Skim>,
        /// Watches the archive as recorders write to it (`None` until the first frame).
        follower: Option<Box<ArchiveFollower>>,
    },
    Failed {
        path: PathBuf,
        error: String,
    },
}

impl std::fmt::Debug for ArchiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => write!(f, "None"),
            Self::Loading { loader } => write!(f, "Loading({})", loader.path.display()),
            Self::Open { path, streams, .. } => write!(f, "Open({}, {} streams)", path.display(), streams.len()),
            Self::Failed { path, error } => write!(f, "Failed({}: {error})", path.display()),
        }
    }
}

/// Shows the folder dialog (blocking; called on the dialog thread).
pub type FolderPicker = fn() -> Option<PathBuf>;

fn rfd_picker() -> Option<PathBuf> {
    rfd::FileDialog::new().set_title("Open a Tessera or cyclops archive").pick_folder()
}

/// A folder dialog in progress.
struct Dialog {
    answer: Receiver<Option<PathBuf>>,
    opened: Instant,
}

pub struct TesseraApp {
    pub archive: ArchiveState,
    commands: Vec<Command>,
    /// Tick labels, the video's time label and the timeline tooltip in UTC or local time.
    pub clock: Clock,
    /// Pinned "now" (tests, reproducible screenshots); `None` = the system clock.
    pub pinned_now_us: Option<i64>,
    /// The folder dialog (replaceable: tests simulate a desktop without one).
    pub folder_picker: FolderPicker,
    dialog: Option<Dialog>,
    /// The folder dialog could not open: say so beside the path field.
    pub dialog_failed: bool,
    /// The path field's text.
    pub path_text: String,
    pub toasts: Toasts,
    /// The `tessera` binary the Projects panel runs populations with (this one; tests, whose
    /// executable is a test harness, point it at the built binary).
    pub tessera_exe: PathBuf,
    /// The side panel's chosen tab.
    pub side_tab: SideTab,
    /// Event jumps (N/P) land this long before the event's start.
    pub preroll_us: i64,
    /// The start of the event N/P last went to: the next step goes on from it (the playhead
    /// sits a pre-roll before it).
    last_event: Option<i64>,
    /// The shortcut sheet is open.
    pub show_help: bool,
    /// Long jobs running (exports).
    pub jobs: Vec<tessera_engine::jobs::Job>,
    /// A save dialog in progress, and what it is for.
    save_dialog: Option<(ExportKind, Dialog)>,
    /// What is kept between runs, and where (`None`: not kept, as in tests).
    pub settings: Settings,
    pub settings_path: Option<PathBuf>,
    /// Show at most this many cameras' strips (`tessera screenshot --cameras`).
    pub camera_limit: Option<usize>,
    /// Where the panels were drawn last frame.
    pub layout: WindowLayout,
    /// Another archive loading while the open one stays in use (it replaces the open one
    /// once loaded; a failure leaves the open one as it is).
    pub opening: Option<ArchiveLoader>,
}

/// The panels' rectangles as drawn last frame, in points (`tessera screenshot --json`).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowLayout {
    pub side_panel: egui::Rect,
    pub timeline_panel: egui::Rect,
}

impl Default for WindowLayout {
    fn default() -> Self {
        Self { side_panel: egui::Rect::NOTHING, timeline_panel: egui::Rect::NOTHING }
    }
}

impl TesseraApp {
    pub fn new(archive: Option<PathBuf>) -> Self {
        let mut app = Self {
            archive: ArchiveState::None,
            commands: Vec::new(),
            clock: Clock::Local,
            pinned_now_us: None,
            folder_picker: rfd_picker,
            dialog: None,
            dialog_failed: false,
            path_text: String::new(),
            toasts: Toasts::default(),
            tessera_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("tessera")),
            side_tab: SideTab::Aircraft,
            preroll_us: 2_000_000,
            last_event: None,
            show_help: false,
            jobs: Vec::new(),
            save_dialog: None,
            settings: Settings::default(),
            settings_path: None,
            camera_limit: None,
            layout: WindowLayout::default(),
            opening: None,
        };
        if let Some(path) = archive {
            app.open(path);
        }
        app
    }

    /// The app with the user's settings (kept in `path`), optionally opening an archive.
    pub fn with_settings(archive: Option<PathBuf>, settings: Settings, path: Option<PathBuf>) -> Self {
        let mut app = Self::new(None);
        app.clock = if settings.utc { Clock::Utc } else { Clock::Local };
        app.preroll_us = (settings.preroll_s.clamp(0.0, 60.0) * 1e6) as i64;
        app.settings = settings;
        app.settings_path = path;
        if let Some(archive) = archive {
            app.open(archive);
        }
        app
    }

    /// Save the settings (on their own thread) after a change.
    fn settings_changed(&mut self) {
        if let Some(path) = &self.settings_path {
            super::settings::save_in_background(path.clone(), self.settings.clone());
        }
    }

    /// Load the archive listing on a worker thread. An open archive stays in use until the
    /// new one has loaded (see [`Self::opening`]).
    pub fn open(&mut self, path: PathBuf) {
        self.path_text = path.display().to_string();
        match ArchiveLoader::start(path.clone()) {
            Ok(loader) if matches!(self.archive, ArchiveState::Open { .. }) => self.opening = Some(loader),
            Ok(loader) => self.archive = ArchiveState::Loading { loader },
            Err(e) => self.open_failed(path, e.to_string()),
        }
    }

    /// Opening `path` failed: a toast says so; with no archive open, the window too.
    fn open_failed(&mut self, path: PathBuf, error: String) {
        self.toasts.open_failed(&path, error.clone());
        if !matches!(self.archive, ArchiveState::Open { .. }) {
            self.archive = ArchiveState::Failed { path, error };
        }
    }

    /// The answer of the archive load in flight, if it has come (the loader is then done).
    fn loaded(&mut self) -> Option<(PathBuf, Result<ArchiveSnapshot, String>)> {
        if let Some(loader) = &self.opening {
            let answer = loader.answers().next()?;
            let path = loader.path.clone();
            self.opening = None;
            return Some((path, answer));
        }
        let ArchiveState::Loading { loader } = &self.archive else { return None };
        Some((loader.path.clone(), loader.answers().next()?))
    }

    /// Move finished background work into the UI state.
    pub fn poll(&mut self) {
        if let Some(dialog) = &self.dialog
            && let Ok(answer) = dialog.answer.try_recv()
        {
            let quick = dialog.opened.elapsed() < DIALOG_FAILED_WITHIN;
            self.dialog = None;
            match answer {
                Some(path) => self.open(path),
                None if quick => self.dialog_failed = true,
                None => {}
            }
        }
        if let Some((kind, dialog)) = &self.save_dialog
            && let Ok(answer) = dialog.answer.try_recv()
        {
            let (kind, quick) = (*kind, dialog.opened.elapsed() < DIALOG_FAILED_WITHIN);
            self.save_dialog = None;
            match answer {
                Some(path) => self.export(kind, Some(path)),
                // No dialog could open: the default place, and say where.
                None if quick => self.export_to_default(kind),
                None => {}
            }
        }
        self.follow();
        let Some((path, result)) = self.loaded() else { return };
        self.archive = match result {
            Ok(snapshot) => {
                // Earlier failures to open are history now (other errors stay up).
                self.toasts.dismiss_failed_opens();
                let mut tracks = snapshot.tracks;
                tracks.truncate(self.camera_limit.unwrap_or(usize::MAX));
                let mut timeline = Box::new(TimelinePanel::new(path.clone(), tracks, snapshot.bounds));
                timeline.clock = self.clock;
                timeline.now_override_us = self.pinned_now_us;
                // Each camera's first stream: its hover previews.
                for s in &snapshot.streams {
                    let camera = tessera_storage::events::camera_of_stream(&s.name).to_string();
                    timeline.camera_streams.entry(camera).or_insert_with(|| s.name.clone());
                }
                // Play the first HD stream (else the first stream) until the user picks one.
                for warning in &snapshot.warnings {
                    self.toasts.error(format!("{}", path.display()), warning.clone());
                }
                // Play the first stream with a sky camera, else the first HD stream, else the
                // first stream, until the user picks one.
                let stream = snapshot
                    .streams
                    .iter()
                    .find(|s| snapshot.sky.contains_key(&s.name))
                    .or_else(|| snapshot.streams.iter().find(|s| s.name.ends_with("-HD")))
                    .or(snapshot.streams.first());
                let mut grid = VideoGrid::default();
                if let Some(panel) = stream.and_then(|s| self.start_player(&path, &s.name, snapshot.sky.get(&s.name))) {
                    grid.set_tile(0, panel);
                }
                let observations =
                    snapshot.catalog.and_then(|dir| match ObservationsPanel::start(dir, self.tessera_exe.clone()) {
                        Ok(panel) => Some(Box::new(panel)),
                        Err(e) => {
                            self.toasts.error("No Projects panel", e.to_string());
                            None
                        }
                    });
                let bookmarks = Box::new(BookmarksPanel::start(path.clone()));
                let (skim, failed) = Skim::start(path.clone());
                self.commands.extend(failed);
                // The layout and style the user left.
                grid.sync = self.settings.sync;
                if !self.settings.coverage {
                    timeline.set_style(tessera_render::timeline::TileStyle::Presence);
                }
                if self.settings.grid_side > 1 {
                    self.push(Command::SetGrid(self.settings.grid_side));
                }
                self.settings.opened(&path);
                self.settings_changed();
                ArchiveState::Open {
                    path,
                    streams: snapshot.streams,
                    timeline,
                    grid,
                    sky: snapshot.sky,
                    observations,
                    bookmarks,
                    events: Box::default(),
                    skim: Box::new(skim),
                    follower: None, // started by the first frame that draws it (it wakes the window)
                }
            }
            Err(error) => return self.open_failed(path, error),
        };
    }

    /// Take in what the archive's follower saw: the streams tree and the timeline's video
    /// spans and extent as recorders wrote. (Cameras that appear while open get their strips
    /// when the archive is opened again: the tile feed's camera list is fixed per open.)
    fn follow(&mut self) {
        let ArchiveState::Open { streams, timeline, follower: Some(follower), .. } = &mut self.archive else { return };
        let Some(growth) = follower.answers().last() else { return };
        *streams = growth.streams;
        for track in &mut timeline.tracks {
            if let Some(spans) = growth.video.get(&track.camera) {
                track.video.clone_from(spans);
            }
        }
        if growth.bounds.0 <= growth.bounds.1 {
            timeline.bounds = (timeline.bounds.0.min(growth.bounds.0), timeline.bounds.1.max(growth.bounds.1));
        }
    }

    /// A player panel for `stream` (its thread opens the stream; failures become toasts).
    fn start_player(&mut self, path: &std::path::Path, stream: &str, sky: Option<&SkyLink>) -> Option<PlayerPanel> {
        match Player::start(path.to_owned(), stream.to_owned()) {
            Ok(p) => {
                let mut panel = PlayerPanel::new(p);
                if let Some(link) = sky {
                    match SkyOverlay::start(link.clone()) {
                        Ok(overlay) => panel.sky = Some(overlay),
                        Err(e) => self.toasts.error(format!("{stream}: no aircraft overlay"), e.to_string()),
                    }
                }
                Some(panel)
            }
            Err(e) => {
                self.toasts.error(format!("Cannot play {stream}"), format!("{e:#}"));
                None
            }
        }
    }

    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    fn apply(&mut self) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                Command::OpenArchive(path) => self.open(path),
                Command::SetTimeView(view) => {
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.view = view;
                    }
                }
                Command::SeekTo(t) => {
                    if let ArchiveState::Open { timeline, grid, skim, .. } = &mut self.archive {
                        timeline.playhead_us = Some(t);
                        grid.seek(t);
                        skim.seeked();
                    }
                }
                Command::SeekFrom(t) => {
                    if let ArchiveState::Open { timeline, grid, skim, .. } = &mut self.archive {
                        timeline.playhead_us = Some(t);
                        grid.seek_from(t);
                        skim.seeked();
                    }
                }
                Command::PlayheadMoved(t) => {
                    if let ArchiveState::Open { timeline, grid, .. } = &mut self.archive {
                        timeline.playhead_us = Some(t);
                        // At the live edge the view scrolls with the newest picture.
                        if grid.active().is_some_and(PlayerPanel::live) {
                            timeline.follow_live(t);
                        }
                    }
                }
                Command::SelectStream(name) => {
                    if let ArchiveState::Open { grid, .. } = &self.archive {
                        let tile = grid.active;
                        self.set_tile_stream(tile, &name);
                    }
                }
                Command::SetTileStream { tile, stream } => self.set_tile_stream(tile, &stream),
                Command::SetGrid(side) => {
                    self.set_grid(side);
                    self.settings.grid_side = side;
                    self.settings_changed();
                }
                Command::SelectTile(i) => {
                    if let ArchiveState::Open { grid, timeline, .. } = &mut self.archive
                        && i < grid.tiles.len()
                    {
                        grid.active = i;
                        if let Some(t) = grid.active().and_then(|p| p.shown.as_ref()).map(|s| s.frame.time_us) {
                            timeline.playhead_us = Some(t);
                        }
                    }
                }
                Command::SelectCamera(camera) => self.select_camera(&camera),
                Command::SetSync(sync) => {
                    self.settings.sync = sync;
                    self.settings_changed();
                    if let ArchiveState::Open { grid, timeline, .. } = &mut self.archive {
                        grid.sync = sync;
                        // Line every tile up on the active one's moment.
                        if let Some(t) = sync.then_some(timeline.playhead_us).flatten() {
                            grid.seek(t);
                        }
                    }
                }
                Command::ToggleClass(class) => {
                    if let ArchiveState::Open { timeline, grid, .. } = &mut self.archive {
                        if !timeline.hidden.remove(&class) {
                            timeline.hidden.insert(class);
                        }
                        // The video's detection boxes follow the legend (drawn again next frame).
                        if let Some(player) = grid.active_mut() {
                            player.event_boxes_for = None;
                        }
                    }
                }
                Command::SetClock(clock) => {
                    self.settings.utc = clock == Clock::Utc;
                    self.settings_changed();
                    self.clock = clock;
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.clock = clock;
                    }
                }
                Command::Error { title, detail } => self.toasts.error(title, detail),
                Command::Notice(title) => self.toasts.notice(title),
                Command::Saved { summary, path } => self.toasts.saved(summary, path),
                Command::MarkSelection { start } => {
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive
                        && let Some(t) = timeline.playhead_us
                    {
                        let (a, b) = timeline.selection.unwrap_or((t, t));
                        let (a, b) = if start { (t, b.max(t)) } else { (a.min(t), t) };
                        timeline.selection = Some((a, b));
                    }
                }
                Command::ClearSelection => {
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.selection = None;
                    }
                }
                Command::Select(a, b) => {
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.selection = Some((a.min(b), a.max(b)));
                    }
                }
                Command::GoToBookmark(b) => {
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.selection = (b.end_us > b.start_us).then_some((b.start_us, b.end_us));
                    }
                    if !b.camera.is_empty() {
                        self.select_camera(&b.camera);
                    }
                    self.push(Command::SeekTo(b.start_us));
                }
                Command::Export { kind, out } => self.export(kind, out),
                Command::ToggleSkim => {
                    if let ArchiveState::Open { grid, timeline, skim, .. } = &mut self.archive {
                        skim.toggle(grid, timeline);
                    }
                }
                Command::SetPreroll(seconds) => {
                    let seconds = seconds.clamp(0.0, 60.0);
                    self.preroll_us = (seconds * 1e6) as i64;
                    self.settings.preroll_s = seconds;
                    self.settings_changed();
                }
                Command::SetTimelineStyle(style) => {
                    self.settings.coverage = style == tessera_render::timeline::TileStyle::Coverage;
                    self.settings_changed();
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.set_style(style);
                    }
                }
                Command::JumpToEvent(event) => {
                    let start = event.first_ms.saturating_mul(1000);
                    self.last_event = Some(start);
                    self.select_camera(&event.camera);
                    self.push(Command::SeekTo(start - self.preroll_us));
                }
                Command::ChooseArchive => {
                    // The dialog runs on its own thread; the UI keeps drawing meanwhile.
                    let (tx, answer) = bounded(1);
                    let picker = self.folder_picker;
                    let spawned = std::thread::Builder::new().name("folder-dialog".into()).spawn(move || {
                        let _ = tx.send(picker());
                    });
                    match spawned {
                        Ok(_) => self.dialog = Some(Dialog { answer, opened: Instant::now() }),
                        Err(e) => {
                            self.dialog_failed = true;
                            self.toasts.error("Cannot show the folder dialog", e.to_string());
                        }
                    }
                }
            }
        }
    }

    /// Show `name` in grid tile `tile` (a new tile when past the end) at the playhead; a
    /// playing tile plays on at the same speed and direction.
    fn set_tile_stream(&mut self, tile: usize, name: &str) {
        let ArchiveState::Open { path, sky, .. } = &self.archive else { return };
        let (path, link) = (path.clone(), sky.get(name).cloned());
        let Some(mut panel) = self.start_player(&path, name, link.as_ref()) else { return };
        let ArchiveState::Open { timeline, grid, .. } = &mut self.archive else { return };
        let old = grid.tiles.get(tile).or(grid.active());
        let playing = old.is_some_and(|p| p.playing);
        if let Some(old) = old {
            panel.speed = old.speed;
            panel.reverse = old.reverse;
        }
        if let Some(t) = timeline.playhead_us {
            panel.send(PlayerCommand::Seek(t));
        }
        if playing {
            panel.play();
        }
        grid.set_tile(tile, panel);
    }

    /// What default export names carry: the active stream, and the time (a clip: the
    /// selection's start; a frame: the picture's time, else the playhead; the timeline: the
    /// view's start).
    fn export_subject(&self, kind: ExportKind) -> (String, i64) {
        let ArchiveState::Open { grid, timeline, .. } = &self.archive else {
            return ("export".to_string(), tessera_storage::UnixMicros::now().0);
        };
        let stream = grid.active().map_or("timeline".to_string(), |p| p.player.stream.clone());
        let playhead = timeline.playhead_us.unwrap_or(timeline.bounds.1);
        let at = match kind {
            ExportKind::Clip => timeline.selection.map_or(playhead, |(a, _)| a),
            ExportKind::Frame => grid.active().and_then(|p| p.shown.as_ref()).map_or(playhead, |p| p.frame.time_us),
            ExportKind::Timeline => timeline.view.start_us,
        };
        (stream, at)
    }

    /// Whether `kind` can be exported now (if not, a notice says what is missing).
    fn can_export(&mut self, kind: ExportKind) -> bool {
        let ArchiveState::Open { grid, timeline, .. } = &self.archive else { return false };
        let missing = match kind {
            ExportKind::Clip if timeline.selection.is_none() || grid.active().is_none() => {
                Some("Mark a range with [ and ] first")
            }
            ExportKind::Frame if grid.active().and_then(|p| p.shown.as_ref()).is_none() => {
                Some("No picture on screen to save")
            }
            _ => None,
        };
        if let Some(missing) = missing {
            self.toasts.notice(missing);
        }
        missing.is_none()
    }

    /// No dialog could open: export under a default name of its own in the default folder
    /// (the notice says where).
    fn export_to_default(&mut self, kind: ExportKind) {
        if !self.can_export(kind) {
            return;
        }
        let (stream, at) = self.export_subject(kind);
        let dir = super::review::export_dir();
        match super::review::reserve_export_path(&dir, kind, &stream, at) {
            Ok(path) => self.start_export(kind, ExportTarget { path, reserved: true }),
            Err(e) => self.toasts.error("Cannot start the export", format!("{}: {e}", dir.display())),
        }
    }

    /// Start an export job (`out: None` asks where first, on the dialog's own thread).
    fn export(&mut self, kind: ExportKind, out: Option<PathBuf>) {
        if !self.can_export(kind) {
            return;
        }
        let Some(out) = out else {
            let (stream, at) = self.export_subject(kind);
            let default = super::review::free_export_path(&super::review::export_dir(), kind, &stream, at);
            let (tx, answer) = bounded(1);
            let spawned = std::thread::Builder::new().name("save-dialog".into()).spawn(move || {
                let mut dialog = rfd::FileDialog::new().set_title("Export");
                if let Some(dir) = default.parent() {
                    dialog = dialog.set_directory(dir);
                }
                if let Some(name) = default.file_name() {
                    dialog = dialog.set_file_name(name.to_string_lossy());
                }
                let _ = tx.send(dialog.save_file());
            });
            match spawned {
                Ok(_) => self.save_dialog = Some((kind, Dialog { answer, opened: Instant::now() })),
                Err(e) => self.toasts.error("Cannot show the save dialog", e.to_string()),
            }
            return;
        };
        self.start_export(kind, ExportTarget { path: out, reserved: false });
    }

    fn start_export(&mut self, kind: ExportKind, target: ExportTarget) {
        let ArchiveState::Open { path, grid, timeline, .. } = &self.archive else {
            super::review::release(&target);
            return;
        };
        let released = target.clone();
        let job = match kind {
            ExportKind::Clip => {
                let (Some((a, b)), Some(player)) = (timeline.selection, grid.active()) else {
                    super::review::release(&released);
                    return;
                };
                super::review::clip_job(path, &player.player.stream, (a, b.max(a + 1)), target)
            }
            ExportKind::Frame => {
                let Some(picture) = grid.active().and_then(|p| p.shown.as_ref()) else {
                    super::review::release(&released);
                    return;
                };
                super::review::frame_job(picture, target)
            }
            ExportKind::Timeline => {
                let cameras = timeline.tracks.iter().map(|t| t.camera.clone()).collect();
                let view = timeline.view;
                super::review::timeline_job(path, cameras, (view.start_us, view.end_us()), self.clock, target)
            }
        };
        match job {
            Ok(job) => self.jobs.push(job),
            Err(e) => {
                super::review::release(&released);
                self.toasts.error("Cannot start the export", e.to_string());
            }
        }
    }

    /// N / P (and Ctrl+→ / Ctrl+←): the next or previous event of the classes shown, on the
    /// active camera, or on every camera on screen when synced.
    fn event_keys(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let ArchiveState::Open { grid, timeline, .. } = &self.archive else { return };
        let pressed =
            |keys: [(egui::Modifiers, egui::Key); 2]| ctx.input_mut(|i| keys.iter().any(|&(m, k)| i.consume_key(m, k)));
        let forward =
            if pressed([(egui::Modifiers::NONE, egui::Key::N), (egui::Modifiers::COMMAND, egui::Key::ArrowRight)]) {
                true
            } else if pressed([(egui::Modifiers::NONE, egui::Key::P), (egui::Modifiers::COMMAND, egui::Key::ArrowLeft)])
            {
                false
            } else {
                return;
            };
        let camera_of = |p: &PlayerPanel| tessera_storage::events::camera_of_stream(&p.player.stream).to_string();
        let mut cameras: Vec<String> = if grid.sync {
            grid.tiles.iter().map(camera_of).collect()
        } else {
            grid.active().map(camera_of).into_iter().collect()
        };
        if cameras.is_empty() {
            cameras = timeline.tracks.iter().map(|t| t.camera.clone()).collect();
        }
        cameras.dedup();
        let playhead = timeline.playhead_us.unwrap_or(timeline.bounds.1);
        // Just after a jump the playhead sits a pre-roll before the event: go on from it.
        let from = match self.last_event {
            Some(start) if (playhead - (start - self.preroll_us)).abs() <= self.preroll_us + 1_000_000 => start,
            _ => playhead,
        };
        timeline.ask_step(cameras, from, forward);
    }

    fn select_camera(&mut self, camera: &str) {
        let ArchiveState::Open { grid, streams, .. } = &self.archive else { return };
        let of_camera = |s: &str| tessera_storage::events::camera_of_stream(s) == camera;
        if let Some(i) = grid.tiles.iter().position(|t| of_camera(&t.player.stream)) {
            self.push(Command::SelectTile(i));
            return;
        }
        let mut candidates: Vec<&str> = streams.iter().map(|s| s.name.as_str()).filter(|s| of_camera(s)).collect();
        candidates.sort_by_key(|s| !s.ends_with("-HD"));
        if let Some(name) = candidates.first().map(|s| s.to_string()) {
            let tile = grid.active;
            self.set_tile_stream(tile, &name);
        }
    }

    /// Show `side`×`side` videos: new tiles show cameras not yet on screen.
    fn set_grid(&mut self, side: usize) {
        let ArchiveState::Open { grid, streams, .. } = &mut self.archive else { return };
        grid.set_side(side);
        let want = grid.side * grid.side - grid.tiles.len();
        let first = grid.tiles.len();
        for (n, name) in streams_to_add(streams, &grid.streams(), want).into_iter().enumerate() {
            self.set_tile_stream(first + n, &name);
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Tessera");
            if ui.button("Open archive…").clicked() {
                self.dialog_failed = false;
                self.push(Command::ChooseArchive);
            }
            let field = egui::TextEdit::singleline(&mut self.path_text)
                .hint_text("/path/to/archive")
                // What the row's other controls leave (~330 points), so "?" stays in a small window.
                .desired_width((ui.available_width() - 330.0).clamp(120.0, 320.0));
            let response = ui.add(field).on_hover_text("The archive's folder");
            let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Open").on_hover_text("Open the folder typed here").clicked() || entered)
                && !self.path_text.trim().is_empty()
            {
                self.dialog_failed = false;
                self.push(Command::OpenArchive(PathBuf::from(self.path_text.trim())));
            }
            if !self.settings.recent.is_empty() {
                let mut chosen = None;
                egui::ComboBox::from_label("Recent").selected_text("archives").show_ui(ui, |ui| {
                    for path in &self.settings.recent {
                        if ui.selectable_label(false, path.display().to_string()).clicked() {
                            chosen = Some(path.clone());
                        }
                    }
                });
                if let Some(path) = chosen {
                    self.push(Command::OpenArchive(path));
                }
            }
            // A toggle showing its state (lit = the light theme is on), like every toggle.
            let hint =
                if self.settings.light_theme { "Light theme on (click: dark)" } else { "Light theme (click: on)" };
            if ui.selectable_label(self.settings.light_theme, "Light").on_hover_text(hint).clicked() {
                self.settings.light_theme = !self.settings.light_theme;
                let theme = if self.settings.light_theme { egui::Theme::Light } else { egui::Theme::Dark };
                ui.ctx().set_theme(theme);
                self.settings_changed();
            }
            if ui.button("?").on_hover_text("Keyboard shortcuts (?)").clicked() {
                self.show_help = !self.show_help;
            }
            if let Some(loader) = &self.opening {
                ui.spinner();
                ui.add(egui::Label::new(format!("Opening {} …", loader.path.display())).truncate());
                ui.ctx().request_repaint_after(Duration::from_millis(50));
            }
            if self.dialog_failed {
                ui.colored_label(
                    egui::Color32::from_rgb(240, 200, 60),
                    "The folder dialog could not open (no desktop portal or zenity): type the path here.",
                );
            }
        });
    }

    /// Draw one frame (callable without eframe, so tests can drive it with kittest).
    ///
    /// Layout: the menu on top; streams (left), the side tabs (right) and the timeline
    /// (bottom, resizable, scrolling when many cameras) around the video grid, which takes
    /// whatever the window has left.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll();
        if let ArchiveState::Open { path, follower: follower @ None, .. } = &mut self.archive {
            // The follower wakes the window when it has news, so an idle archive costs no frames.
            let ctx = ui.ctx().clone();
            *follower = ArchiveFollower::start(path.clone(), move || ctx.request_repaint()).ok().map(Box::new);
        }
        let ctx = ui.ctx().clone();
        if self.dialog.is_some() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        // Transport keys act wherever the focus is (not in text fields): before any widget
        // could take them.
        if let ArchiveState::Open { grid, timeline, .. } = &mut self.archive {
            grid.keyboard(&ctx, timeline.playhead_us);
        }
        self.event_keys(&ctx);
        if !ctx.egui_wants_keyboard_input() {
            for (key, start) in [(egui::Key::OpenBracket, true), (egui::Key::CloseBracket, false)] {
                if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, key)) {
                    self.push(Command::MarkSelection { start });
                }
            }
            if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::S)) {
                self.push(Command::ToggleSkim);
            }
        }
        if !ctx.egui_wants_keyboard_input()
            && ctx.input_mut(|i| {
                i.consume_key(egui::Modifiers::NONE, egui::Key::Questionmark)
                    || i.consume_key(egui::Modifiers::SHIFT, egui::Key::Slash)
            })
        {
            self.show_help = !self.show_help;
        }
        // Escape closes the shortcut sheet.
        if self.show_help
            && !ctx.egui_wants_keyboard_input()
            && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
        {
            self.show_help = false;
        }
        let mut new_commands = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| {
            self.menu_ui(ui);
            super::review::jobs_ui(ui, &mut self.jobs, &mut new_commands);
        });
        let clock = self.clock;
        if let ArchiveState::Open { streams, timeline, grid, observations, bookmarks, events, skim, .. } =
            &mut self.archive
        {
            bookmarks.poll(&mut new_commands);
            new_commands.extend(skim.update(grid, timeline, self.preroll_us, &self.settings, &ctx));
            if let Some(observations) = observations.as_deref_mut() {
                new_commands.extend(observations.poll(&ctx));
                // The labelled boxes of the active picture (asked of the observations thread).
                if let Some(player) = grid.active_mut()
                    && let Some(shown) = &player.shown
                {
                    let (stream, t) = (player.player.stream.clone(), shown.frame.time_us);
                    observations.want_boxes(&stream, t);
                    if let Some(boxes) = observations.boxes_at(&stream, t) {
                        player.observations = Some(boxes.clone());
                    } else if player.observations.as_ref().is_some_and(|b| b.stream != stream) {
                        player.observations = None;
                    }
                }
            }
            // The detection boxes of the active picture's moment (asked of the events thread).
            if let Some(player) = grid.active_mut()
                && let Some(shown) = &player.shown
            {
                let key =
                    (tessera_storage::events::camera_of_stream(&player.player.stream).to_string(), shown.frame.time_us);
                if player.event_boxes_for.as_ref() != Some(&key) {
                    match &timeline.event_boxes {
                        Some((camera, t, boxes)) if (camera, t) == (&key.0, &key.1) => {
                            player.event_boxes = boxes
                                .iter()
                                .filter(|(e, _)| !timeline.hidden.contains(&e.class))
                                .map(|(e, b)| {
                                    let [r, g, bl] = timeline.class_color(&e.class).unwrap_or([255, 255, 255]);
                                    super::player_panel::EventBox {
                                        class: e.class.clone(),
                                        confidence: e.confidence,
                                        rect: [b.x1, b.y1, b.x2, b.y2],
                                        color: egui::Color32::from_rgb(r, g, bl),
                                    }
                                })
                                .collect();
                            player.event_boxes_for = Some(key);
                        }
                        _ if player.event_boxes_asked.as_ref() != Some(&key) => {
                            let asked = timeline.ask(tessera_engine::events_feed::EventQuestion::BoxesAt {
                                camera: key.0.clone(),
                                t_us: key.1,
                            });
                            // Refused (a full queue): asked again next frame.
                            player.event_boxes_asked = asked.then_some(key);
                        }
                        _ => {}
                    }
                    // The answer wakes nothing: keep drawing until it is in (a paused picture
                    // would otherwise stay without its boxes until the pointer moves).
                    if timeline.events.is_some() {
                        ctx.request_repaint_after(Duration::from_millis(30));
                    }
                }
            }
            // Side panels narrower in a small window, so the video and its transport keep room
            // (800 points wide: 144 + 240, leaving ~400 for the video).
            let window_w = ui.available_width();
            let streams_w = (window_w * 0.18).clamp(120.0, 190.0);
            let side_w = (window_w * 0.3).clamp(180.0, 300.0);
            egui::Panel::left("streams").resizable(true).default_size(streams_w).min_size(120.0).show(ui, |ui| {
                ui.strong("Streams");
                let active = grid.active().map(|p| p.player.stream.clone());
                egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
                    if let Some(name) = super::streams::streams_ui(ui, streams, &grid.streams(), active.as_deref()) {
                        new_commands.push(Command::SelectStream(name));
                    }
                });
            });
            let overlay = grid.active().and_then(|p| p.sky.as_ref());
            {
                let side =
                    egui::Panel::right("side").resizable(true).default_size(side_w).min_size(160.0).show(ui, |ui| {
                        let present = |tab: SideTab| match tab {
                            SideTab::Events | SideTab::Bookmarks => true,
                            SideTab::Aircraft => overlay.is_some(),
                            SideTab::Observations => observations.is_some(),
                        };
                        ui.horizontal_wrapped(|ui| {
                            for tab in [SideTab::Events, SideTab::Bookmarks, SideTab::Aircraft, SideTab::Observations] {
                                if present(tab) {
                                    ui.selectable_value(&mut self.side_tab, tab, tab.title());
                                }
                            }
                        });
                        ui.separator();
                        let tab = if present(self.side_tab) { self.side_tab } else { SideTab::Events };
                        match tab {
                            SideTab::Events => {
                                new_commands.extend(events.ui(ui, timeline, clock, self.preroll_us as f64 / 1e6))
                            }
                            SideTab::Bookmarks => {
                                let camera = grid
                                    .active()
                                    .map(|p| tessera_storage::events::camera_of_stream(&p.player.stream).to_string());
                                new_commands.extend(bookmarks.ui(
                                    ui,
                                    timeline.selection,
                                    timeline.playhead_us,
                                    camera.as_deref(),
                                    clock,
                                ));
                            }
                            SideTab::Aircraft => {
                                if let Some(overlay) = overlay {
                                    new_commands.extend(overlay.list_ui(ui));
                                }
                            }
                            SideTab::Observations => {
                                if let Some(observations) = observations.as_deref_mut() {
                                    observations.ui(ui);
                                }
                            }
                        }
                    });
                self.layout.side_panel = side.response.rect;
            }
            timeline.active_camera =
                grid.active().map(|p| tessera_storage::events::camera_of_stream(&p.player.stream).to_string());
            timeline.film_stream = grid.active().map(|p| p.player.stream.clone());
            // The timeline opens at the height its strips want (at most 45 % of the window's
            // height; the video keeps the rest) once the feed has described the cameras' rows,
            // and keeps what the user drags it to; the strips scroll inside it when they
            // do not fit (see `TimelinePanel::ui`).
            timeline.model.poll();
            if !timeline.model.cameras.is_empty() || timeline.tracks.is_empty() {
                let room = ui.available_height();
                let max = (room - 160.0).max(140.0);
                let wanted = timeline.wanted_height().clamp(140.0, (room * 0.45).max(140.0));
                let shown = egui::Panel::bottom(egui::IdSalt::new(("timeline", timeline.root())))
                    .resizable(true)
                    .default_size(wanted.min(max))
                    .size_range(140.0..=max)
                    .show(ui, |ui| new_commands.extend(timeline.ui(ui, &bookmarks.list)));
                self.layout.timeline_panel = shown.response.rect;
            }
        }
        // The central panel's background is painted around the video tiles, which are opaque,
        // not under them (see `super::paint`): a shape reserved below the panel's content, over
        // the panel's rectangle (which is also its clip).
        let frame = egui::Frame::central_panel(ui.style());
        let background = ui.painter().add(egui::Shape::Noop);
        let outer = ui.available_rect_before_wrap();
        let central = egui::CentralPanel::default().frame(frame.fill(egui::Color32::TRANSPARENT));
        central.show(ui, |ui| match &mut self.archive {
            ArchiveState::None => {
                ui.label("No archive open. Use “Open archive…”, type a folder above, or pass one on the command line.");
            }
            ArchiveState::Loading { loader } => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Opening {} …", loader.path.display()));
                });
                ctx.request_repaint_after(Duration::from_millis(50));
            }
            ArchiveState::Failed { path, error } => {
                ui.colored_label(egui::Color32::LIGHT_RED, format!("Cannot open {}: {error}", path.display()));
            }
            ArchiveState::Open { streams, timeline, grid, .. } => {
                let view = timeline.view;
                new_commands.extend(grid.ui(ui, &view, timeline.playhead_us, clock, streams, &mut timeline.previews));
            }
        });
        let opaque = match &self.archive {
            ArchiveState::Open { grid, .. } => grid.opaque.as_slice(),
            _ => &[],
        };
        ui.painter().set(background, super::paint::fill_around(outer, opaque, ctx.pixels_per_point(), frame.fill));
        if self.show_help {
            help_window(&ctx, &mut self.show_help);
        }
        self.commands.extend(new_commands);
        self.apply();
        self.toasts.ui(&ctx);
    }
}

/// The side panel's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideTab {
    Events,
    Bookmarks,
    Aircraft,
    Observations,
}

impl SideTab {
    fn title(self) -> &'static str {
        match self {
            Self::Events => "Events",
            Self::Bookmarks => "Bookmarks",
            Self::Aircraft => "Aircraft",
            Self::Observations => "Projects",
        }
    }
}

/// Every shortcut, in one sheet (`?`).
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    ("J / K / L", "shuttle back / pause / forward (again: faster, up to 16×)"),
    (", / .", "previous / next frame"),
    ("Shift+Left / Right", "back / forward 10 s"),
    ("N / P, Ctrl+Right / Left", "next / previous event of the classes shown"),
    ("Ctrl+Shift+Left / Right", "back / forward one minute"),
    ("+ / −", "zoom the timeline in / out"),
    ("Left / Right", "pan the timeline"),
    ("End", "live: the newest picture, following the recorder"),
    ("Home", "start of the archive"),
    ("wheel, drag", "zoom at the pointer, pan the timeline"),
    ("click the timeline", "go there (on an event: to its start); the strip's camera plays"),
    ("double-click", "fit the timeline to the archive"),
    ("[ / ]", "start / end the selection at the playhead"),
    ("S", "Skim: events at review speed (1×), quiet spans rushed (32×); again: off"),
    ("?", "this sheet"),
    ("Escape", "close this sheet"),
];

fn help_window(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts").open(open).collapsible(false).resizable(false).show(ctx, |ui| {
        egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
            for (keys, what) in SHORTCUTS {
                ui.strong(*keys);
                ui.label(*what);
                ui.end_row();
            }
        });
    });
}

impl eframe::App for TesseraApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        TesseraApp::ui(self, ui);
    }
}
