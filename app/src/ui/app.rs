//! Top-level app state: which archive is open, and the commands panels emit.

use crossbeam_channel::{Receiver, bounded};
use std::path::PathBuf;
use tessera_storage::fsv::Archive;

/// A stream as the UI shows it (a snapshot, no file handles).
#[derive(Clone, Debug, PartialEq)]
pub struct StreamSummary {
    pub name: String,
    pub start_us: i64,
    pub end_us: i64,
    pub files: usize,
    pub bytes: u64,
}

/// What the UI knows about the archive.
#[derive(Debug)]
pub enum ArchiveState {
    None,
    Loading { path: PathBuf, rx: Receiver<Result<Vec<StreamSummary>, String>> },
    Open { path: PathBuf, streams: Vec<StreamSummary> },
    Failed { path: PathBuf, error: String },
}

/// Commands panels push; applied once per frame by [`TesseraApp::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    OpenArchive(PathBuf),
    ChooseArchive,
}

pub struct TesseraApp {
    pub archive: ArchiveState,
    commands: Vec<Command>,
}

impl TesseraApp {
    pub fn new(archive: Option<PathBuf>) -> Self {
        let mut app = Self { archive: ArchiveState::None, commands: Vec::new() };
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
            let result = Archive::open(&worker_path).map_err(|e| e.to_string()).map(|a| {
                a.streams
                    .values()
                    .map(|s| StreamSummary {
                        name: s.name.clone(),
                        start_us: s.start_us,
                        end_us: s.end_us,
                        files: s.files.len(),
                        bytes: s.bytes(),
                    })
                    .collect()
            });
            let _ = tx.send(result);
        });
        self.archive = match spawned {
            Ok(_) => ArchiveState::Loading { path, rx },
            Err(e) => ArchiveState::Failed { path, error: format!("cannot start loader thread: {e}") },
        };
    }

    /// Move finished background work into the UI state.
    pub fn poll(&mut self) {
        if let ArchiveState::Loading { path, rx } = &self.archive
            && let Ok(result) = rx.try_recv()
        {
            let path = path.clone();
            self.archive = match result {
                Ok(streams) => ArchiveState::Open { path, streams },
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
                Command::ChooseArchive => {
                    // rfd's portal dialog blocks only its own thread; we wait for the answer here
                    // because a modal folder choice is the one thing the user is doing.
                    if let Some(path) =
                        rfd::FileDialog::new().set_title("Open a Tessera or cyclops archive").pick_folder()
                    {
                        self.open(path);
                    }
                }
            }
        }
    }

    /// Draw one frame (callable without eframe, so tests can drive it with kittest).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll();
        let ctx = ui.ctx().clone();
        egui::Panel::top("menu").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Tessera");
                if ui.button("Open archive…").clicked() {
                    self.push(Command::ChooseArchive);
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| match &self.archive {
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
            ArchiveState::Open { path, streams } => {
                ui.label(format!("{}", path.display()));
                super::streams::streams_ui(ui, streams);
            }
        });
        self.apply();
    }
}

impl eframe::App for TesseraApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        TesseraApp::ui(self, ui);
    }
}
