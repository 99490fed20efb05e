//! Top-level app state: which archive is open, and the commands panels emit.

use super::player_panel::PlayerPanel;
use super::timeline_panel::{CameraTrack, TimelinePanel};
use crate::engine::player::{Player, PlayerCommand};
use crate::timeline::TimeView;
use crate::timeline::ticks::Clock;
use crossbeam_channel::{Receiver, bounded};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tessera_storage::events::{EventDb, camera_of_stream};
use tessera_storage::fsv::{Archive, Stream, StreamSummary};

/// What the loader thread learns about an archive.
#[derive(Debug)]
pub struct ArchiveSnapshot {
    pub streams: Vec<StreamSummary>,
    pub tracks: Vec<CameraTrack>,
    /// Earliest and latest data (video or events), µs.
    pub bounds: (i64, i64),
}

/// What the UI knows about the archive.
pub enum ArchiveState {
    None,
    Loading { path: PathBuf, rx: Receiver<Result<ArchiveSnapshot, String>> },
    Open { path: PathBuf, streams: Vec<StreamSummary>, timeline: Box<TimelinePanel>, player: Option<Box<PlayerPanel>> },
    Failed { path: PathBuf, error: String },
}

impl std::fmt::Debug for ArchiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => write!(f, "None"),
            Self::Loading { path, .. } => write!(f, "Loading({})", path.display()),
            Self::Open { path, streams, .. } => write!(f, "Open({}, {} streams)", path.display(), streams.len()),
            Self::Failed { path, error } => write!(f, "Failed({}: {error})", path.display()),
        }
    }
}

/// Runs on the loader thread: streams, cameras (from streams and events), video spans.
pub fn load_snapshot(path: &Path) -> Result<ArchiveSnapshot, String> {
    let archive = Archive::open(path).map_err(|e| e.to_string())?;
    let db = EventDb::open(path).map_err(|e| e.to_string())?;
    let streams: Vec<StreamSummary> = archive.streams.values().map(Stream::summary).collect();
    let mut video: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let mut bounds = (i64::MAX, i64::MIN);
    for s in archive.streams.values() {
        let spans = video.entry(camera_of_stream(&s.name).to_owned()).or_default();
        for (i, f) in s.files.iter().enumerate() {
            let start = f.start_ms * 1000;
            // A file runs until the next one (files follow each other, ≤ ~1000 s each).
            let end = s.files.get(i + 1).map_or(s.end_us, |n| (n.start_ms * 1000).min(start + 1_010_000_000));
            spans.push((start, end.max(start)));
        }
        bounds = (bounds.0.min(s.start_us), bounds.1.max(s.end_us));
    }
    for (id, camera) in db.cameras().map_err(|e| e.to_string())? {
        video.entry(camera).or_default();
        if let Some((first, last)) = db.event_bounds(id).map_err(|e| e.to_string())? {
            bounds = (bounds.0.min(first * 1000), bounds.1.max(last * 1000));
        }
    }
    if bounds.0 > bounds.1 {
        let now = tessera_storage::UnixMicros::now().0;
        bounds = (now - 86_400_000_000, now);
    }
    let tracks = video
        .into_iter()
        .map(|(camera, mut spans)| {
            spans.sort_unstable();
            CameraTrack { camera, video: spans }
        })
        .collect();
    Ok(ArchiveSnapshot { streams, tracks, bounds })
}

/// Commands panels push; applied once per frame by [`TesseraApp::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    OpenArchive(PathBuf),
    ChooseArchive,
    SetTimeView(TimeView),
    SeekTo(i64),
    ToggleClass(String),
    SetClock(Clock),
    /// The player shows a new frame: move the timeline's playhead to it.
    PlayheadMoved(i64),
    /// Play another stream.
    SelectStream(String),
}

pub struct TesseraApp {
    pub archive: ArchiveState,
    commands: Vec<Command>,
    /// Tick labels in UTC or local time.
    pub clock: Clock,
    /// Pinned "now" (tests, reproducible screenshots); `None` = the system clock.
    pub pinned_now_us: Option<i64>,
    /// An open folder dialog's answer, when it comes.
    dialog: Option<Receiver<Option<PathBuf>>>,
}

impl TesseraApp {
    pub fn new(archive: Option<PathBuf>) -> Self {
        let mut app = Self {
            archive: ArchiveState::None,
            commands: Vec::new(),
            clock: Clock::Local,
            pinned_now_us: None,
            dialog: None,
        };
        if let Some(path) = archive {
            app.open(path);
        }
        app
    }

    /// Load the archive listing on a worker thread.
    pub fn open(&mut self, path: PathBuf) {
        let (tx, rx) = bounded(1);
        let worker_path = path.clone();
        let spawned = std::thread::Builder::new().name("archive-open".into()).spawn(move || {
            let _ = tx.send(load_snapshot(&worker_path));
        });
        self.archive = match spawned {
            Ok(_) => ArchiveState::Loading { path, rx },
            Err(e) => ArchiveState::Failed { path, error: format!("cannot start loader thread: {e}") },
        };
    }

    /// Move finished background work into the UI state.
    pub fn poll(&mut self) {
        if let Some(rx) = &self.dialog
            && let Ok(answer) = rx.try_recv()
        {
            self.dialog = None;
            if let Some(path) = answer {
                self.open(path);
            }
        }
        if let ArchiveState::Loading { path, rx } = &self.archive
            && let Ok(result) = rx.try_recv()
        {
            let path = path.clone();
            self.archive = match result {
                Ok(snapshot) => {
                    let mut timeline = Box::new(TimelinePanel::new(path.clone(), snapshot.tracks, snapshot.bounds));
                    timeline.clock = self.clock;
                    timeline.now_override_us = self.pinned_now_us;
                    // Play the first HD stream (else the first stream) until the user picks one.
                    let stream = snapshot.streams.iter().find(|s| s.name.ends_with("-HD")).or(snapshot.streams.first());
                    let player = stream.and_then(|s| match Player::start(path.clone(), s.name.clone()) {
                        Ok(p) => Some(Box::new(PlayerPanel::new(p))),
                        Err(e) => {
                            tracing::warn!("cannot start the player: {e:#}");
                            None
                        }
                    });
                    ArchiveState::Open { path, streams: snapshot.streams, timeline, player }
                }
                Err(error) => ArchiveState::Failed { path, error },
            };
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
                    if let ArchiveState::Open { timeline, player, .. } = &mut self.archive {
                        timeline.playhead_us = Some(t);
                        if let Some(player) = player {
                            player.send(PlayerCommand::Seek(t));
                        }
                    }
                }
                Command::PlayheadMoved(t) => {
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.playhead_us = Some(t);
                    }
                }
                Command::SelectStream(name) => {
                    if let ArchiveState::Open { path, timeline, player, .. } = &mut self.archive {
                        match Player::start(path.clone(), name) {
                            Ok(p) => {
                                let mut panel = Box::new(PlayerPanel::new(p));
                                if let Some(t) = timeline.playhead_us {
                                    panel.send(PlayerCommand::Seek(t));
                                }
                                *player = Some(panel);
                            }
                            Err(e) => tracing::warn!("cannot play that stream: {e:#}"),
                        }
                    }
                }
                Command::ToggleClass(class) => {
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive
                        && !timeline.hidden.remove(&class)
                    {
                        timeline.hidden.insert(class);
                    }
                }
                Command::SetClock(clock) => {
                    self.clock = clock;
                    if let ArchiveState::Open { timeline, .. } = &mut self.archive {
                        timeline.clock = clock;
                    }
                }
                Command::ChooseArchive => {
                    // The dialog runs on its own thread; the UI keeps drawing meanwhile.
                    let (tx, rx) = bounded(1);
                    let spawned = std::thread::Builder::new().name("folder-dialog".into()).spawn(move || {
                        let _ = tx
                            .send(rfd::FileDialog::new().set_title("Open a Tessera or cyclops archive").pick_folder());
                    });
                    if spawned.is_ok() {
                        self.dialog = Some(rx);
                    }
                }
            }
        }
    }

    /// Draw one frame (callable without eframe, so tests can drive it with kittest).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll();
        let ctx = ui.ctx().clone();
        if self.dialog.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        egui::Panel::top("menu").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Tessera");
                if ui.button("Open archive…").clicked() {
                    self.push(Command::ChooseArchive);
                }
            });
        });
        let mut new_commands = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| match &mut self.archive {
            ArchiveState::None => {
                ui.label("No archive open. Use “Open archive…” or pass a folder on the command line.");
            }
            ArchiveState::Loading { path, .. } => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Opening {} …", path.display()));
                });
                ctx.request_repaint_after(std::time::Duration::from_millis(50));
            }
            ArchiveState::Failed { path, error } => {
                ui.colored_label(egui::Color32::LIGHT_RED, format!("Cannot open {}: {error}", path.display()));
            }
            ArchiveState::Open { path, streams, timeline, player } => {
                ui.label(format!("{}", path.display()));
                if let Some(player) = player {
                    new_commands.extend(player.ui(ui, &timeline.view));
                    ui.add_space(6.0);
                }
                let commands = timeline.ui(ui);
                new_commands.extend(commands);
                ui.add_space(8.0);
                let picked = egui::CollapsingHeader::new("Streams")
                    .default_open(true)
                    .show(ui, |ui| super::streams::streams_ui(ui, streams));
                if let Some(name) = picked.body_returned.flatten() {
                    new_commands.push(Command::SelectStream(name));
                }
            }
        });
        self.commands.extend(new_commands);
        self.apply();
    }
}

impl eframe::App for TesseraApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        TesseraApp::ui(self, ui);
    }
}
