//! Review tools around the timeline: the selection (`[` `]`), bookmarks (the side panel's
//! tab, drawn on the timeline), exports (clip, frame, timeline image) as jobs with progress
//! and Cancel, and where exports go when no save dialog can open.

use super::clip;
use super::command::Command;
use egui::{Color32, RichText};
use std::path::{Path, PathBuf};
use tessera_engine::bookmarks::{BookmarkReply, BookmarkRequest, BookmarkStore};
use tessera_engine::export::{ClipSpec, export_clip};
use tessera_engine::frame::png_of;
use tessera_engine::jobs::{Job, Outcome, Work};
use tessera_engine::player::Picture;
use tessera_engine::render_timeline::{self, TimelineSpec};
use tessera_engine::timeline::ticks::{Clock, format_instant};
use tessera_engine::worker::WorkerError;
use tessera_storage::db::bookmarks::Bookmark;

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The selection of the active stream as MP4 (remuxed).
    Clip,
    /// The picture on screen as PNG.
    Frame,
    /// The timeline's view as PNG (every camera, as `tessera render-timeline` draws it).
    Timeline,
}

impl ExportKind {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Clip => "mp4",
            Self::Frame | Self::Timeline => "png",
        }
    }
}

/// The Bookmarks tab: the list (click: go there and select the range), a form to add one at
/// the selection or the playhead, delete.
pub struct BookmarksPanel {
    store: Option<BookmarkStore>,
    pub list: Vec<Bookmark>,
    pub name: String,
    pub note: String,
}

impl BookmarksPanel {
    pub fn start(root: PathBuf) -> Self {
        Self { store: BookmarkStore::start(root).ok(), list: Vec::new(), name: String::new(), note: String::new() }
    }

    pub fn send(&self, request: BookmarkRequest) {
        if let Some(store) = &self.store {
            let _ = store.send(request); // dropped when 32 are waiting
        }
    }

    /// Take in the thread's answers (errors as toasts).
    pub fn poll(&mut self, commands: &mut Vec<Command>) {
        let Some(store) = &self.store else { return };
        for reply in store.answers() {
            match reply {
                BookmarkReply::List(list) => self.list = list,
                BookmarkReply::Error(detail) => {
                    commands.push(Command::Error { title: "Bookmarks cannot be saved".into(), detail });
                }
            }
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        selection: Option<(i64, i64)>,
        playhead: Option<i64>,
        camera: Option<&str>,
        clock: Clock,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        let range = selection.or(playhead.map(|t| (t, t)));
        let label = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut self.name).hint_text("what happens here")).labelled_by(label.id);
        let label = ui.label("Note");
        ui.add(egui::TextEdit::multiline(&mut self.note).desired_rows(2)).labelled_by(label.id);
        let what = if selection.is_some() { "Bookmark the selection" } else { "Bookmark the playhead" };
        let can = range.is_some() && !self.name.trim().is_empty();
        if ui
            .add_enabled(can, egui::Button::new(what))
            .on_disabled_hover_text("Name it, and click the timeline first")
            .clicked()
            && let Some((start_us, end_us)) = range
        {
            let bookmark = Bookmark {
                id: 0,
                camera: camera.unwrap_or_default().to_string(),
                start_us,
                end_us,
                name: std::mem::take(&mut self.name),
                note: std::mem::take(&mut self.note),
                created_us: 0,
            };
            self.send(BookmarkRequest::Add(bookmark));
        }
        ui.separator();
        if self.list.is_empty() {
            ui.label(RichText::new("No bookmarks yet. Mark a range with [ and ], name it, and bookmark it.").weak());
        }
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            for b in &self.list {
                ui.horizontal(|ui| {
                    let label = format!("{} · {}", clip::name(&b.name), format_instant(b.start_us, clock));
                    let hover = if b.note.is_empty() { "Go there".to_string() } else { clip::note(&b.note) };
                    if ui.link(label).on_hover_text(hover).clicked() {
                        commands.push(Command::GoToBookmark(b.clone()));
                    }
                    if ui.small_button("×").on_hover_text("Delete this bookmark").clicked() {
                        self.send(BookmarkRequest::Delete(b.id));
                    }
                });
                if !b.note.is_empty() {
                    ui.label(RichText::new(clip::note(&b.note)).small().weak());
                }
            }
        });
        commands
    }
}

/// The running jobs as progress bars with Cancel, top of the window; finished ones become
/// notices or error toasts.
pub fn jobs_ui(ui: &mut egui::Ui, jobs: &mut Vec<Job>, commands: &mut Vec<Command>) {
    jobs.retain(|job| match job.answers().next() {
        None => true,
        Some(Outcome::Done(summary)) => {
            commands.push(Command::Notice(summary));
            false
        }
        Some(Outcome::Cancelled) => {
            commands.push(Command::Notice(format!("{}: cancelled", job.title)));
            false
        }
        Some(Outcome::Failed(detail)) => {
            commands.push(Command::Error { title: format!("{} failed", job.title), detail });
            false
        }
    });
    for job in jobs.iter() {
        ui.horizontal(|ui| {
            ui.label(&job.title);
            ui.add(egui::ProgressBar::new(job.progress()).desired_width(160.0).show_percentage());
            if ui.small_button("Cancel").clicked() {
                job.cancel();
            }
        });
    }
    if !jobs.is_empty() {
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(50));
    }
}

/// Where an export goes when no save dialog can open: `~/Videos` (else the home folder,
/// else the temporary folder), named after what and when.
pub fn default_export_path(kind: ExportKind, what: &str, at_us: i64) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let dir = home
        .as_ref()
        .map(|h| h.join("Videos"))
        .filter(|d| d.is_dir())
        .or(home.filter(|h| h.is_dir()))
        .unwrap_or_else(std::env::temp_dir);
    let stamp = tessera_storage::UnixMicros(at_us).to_rfc3339().replace([':', '.'], "-");
    let what: String = what.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect();
    dir.join(format!("tessera-{what}-{}.{}", stamp.get(..19).unwrap_or(&stamp), kind.extension()))
}

/// A clip export job: `[from, to)` of `stream`.
pub fn clip_job(archive: &Path, stream: &str, (from, to): (i64, i64), out: PathBuf) -> Result<Job, WorkerError> {
    let (archive, stream_name) = (archive.to_owned(), stream.to_owned());
    let work: Work = Box::new(move |progress| {
        let spec = ClipSpec { archive, stream: stream_name, from_us: from, to_us: to, out: out.clone() };
        export_clip(&spec, progress)
            .map(|s| format!("Exported {} ({} frames)", out.display(), s.frames))
            .map_err(|e| format!("{e:#}"))
    });
    Job::start(format!("Exporting {stream}"), "export-clip", work)
}

/// A frame export job: the picture on screen as PNG.
pub fn frame_job(picture: &Picture, out: PathBuf) -> Result<Job, WorkerError> {
    let (frame, color) = (picture.frame.clone(), picture.color);
    let work: Work = Box::new(move |progress| {
        let png = png_of(&frame, color).map_err(|e| format!("{e:#}"))?;
        progress(0.5);
        tessera_engine::output::write_atomically(&out, &png).map_err(|e| format!("{e:#}"))?;
        Ok(format!("Saved {}", out.display()))
    });
    Job::start("Saving the frame", "export-frame", work)
}

/// A timeline image job: every camera over `[from, to)`, 2000 px wide, coverage style.
pub fn timeline_job(
    archive: &Path,
    cameras: Vec<String>,
    (from, to): (i64, i64),
    out: PathBuf,
) -> Result<Job, WorkerError> {
    let archive = archive.to_owned();
    let work: Work = Box::new(move |progress| {
        let spec = TimelineSpec {
            archive,
            cameras,
            from_us: from,
            to_us: to,
            width: 2000,
            now_s: None,
            style: tessera_render::timeline::TileStyle::Coverage,
        };
        progress(0.1);
        render_timeline::write(&spec, &out, None).map_err(|e| format!("{e:#}"))?;
        Ok(format!("Saved {}", out.display()))
    });
    Job::start("Saving the timeline", "export-timeline", work)
}

/// The selection band's colour on the timeline.
pub const SELECTION: Color32 = Color32::from_rgba_premultiplied(60, 90, 140, 70);
/// Bookmark markers.
pub const BOOKMARK: Color32 = Color32::from_rgb(120, 200, 255);

/// Rows the Events list shows at most.
pub const EVENT_LIST_LIMIT: usize = 500;

/// The Events tab: the events in the timeline's view, filtered by camera, class and
/// confidence (zoom or pan the timeline to change the time range); a click goes to one.
#[derive(Default)]
pub struct EventsPanel {
    pub camera: Option<String>,
    pub class: Option<String>,
    pub min_confidence: f32,
    asked: Option<tessera_engine::events_feed::ListQuery>,
}

impl EventsPanel {
    /// Whether the list on screen answers the last question asked (tests and screenshots
    /// wait for it).
    pub fn answered(&self, timeline: &super::timeline_panel::TimelinePanel) -> bool {
        self.asked.is_none() || timeline.event_list.as_ref().map(|l| &l.0) == self.asked.as_ref()
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        timeline: &super::timeline_panel::TimelinePanel,
        clock: Clock,
        preroll_s: f64,
    ) -> Vec<Command> {
        use tessera_engine::events_feed::{EventQuestion, ListQuery};
        let mut commands = Vec::new();
        let cameras: Vec<String> = timeline.tracks.iter().map(|t| t.camera.clone()).collect();
        let mut classes: Vec<String> =
            timeline.model.cameras.iter().flat_map(|c| c.rows.iter().map(|r| r.class.clone())).collect();
        classes.sort();
        classes.dedup();
        let choose = |ui: &mut egui::Ui, label: &str, value: &mut Option<String>, options: &[String]| {
            let selected = value.as_deref().map_or_else(|| "all".to_string(), clip::name);
            egui::ComboBox::from_label(label).selected_text(selected).show_ui(ui, |ui| {
                ui.selectable_value(value, None, "all");
                for option in options.iter().take(clip::MAX_ITEMS) {
                    ui.selectable_value(value, Some(option.clone()), clip::name(option));
                }
            });
        };
        choose(ui, "Camera", &mut self.camera, &cameras);
        choose(ui, "Class", &mut self.class, &classes);
        ui.add(egui::Slider::new(&mut self.min_confidence, 0.0..=1.0).text("min. confidence"));
        let mut preroll = preroll_s;
        let response = ui
            .add(egui::Slider::new(&mut preroll, 0.0..=30.0).text("pre-roll s"))
            .on_hover_text("Jumps to an event (a click here, N and P) land this long before it starts");
        if response.changed() {
            commands.push(Command::SetPreroll(preroll));
        }
        let view = timeline.view;
        let query = ListQuery {
            cameras: self.camera.clone().map_or(cameras, |c| vec![c]),
            from_us: view.start_us,
            to_us: view.end_us(),
            class: self.class.clone(),
            min_confidence: f64::from(self.min_confidence),
            limit: EVENT_LIST_LIMIT,
        };
        if self.asked.as_ref() != Some(&query) {
            timeline.ask(EventQuestion::List(query.clone()));
            self.asked = Some(query);
        }
        ui.separator();
        let Some((answered, events, total)) = &timeline.event_list else {
            ui.spinner();
            return commands;
        };
        let shown = if *total > events.len() { format!(" (the first {})", events.len()) } else { String::new() };
        let stale = self.asked.as_ref() != Some(answered);
        ui.label(RichText::new(format!("{total} events in view{shown}")).weak());
        if stale {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
        }
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            for e in events {
                let seconds = (e.last_ms - e.first_ms) as f64 / 1000.0;
                let confidence = e.confidence.map_or(String::new(), |c| format!(" · {:.0} %", c * 100.0));
                // Compact: the time of day (the whole instant on hover).
                let instant = format_instant(e.first_ms * 1000, clock);
                let time = instant.get(11..19).unwrap_or(&instant);
                let text = format!(
                    "{time} · {} · {} · {seconds:.1} s{confidence}",
                    clip::name(&e.camera),
                    clip::name(&e.class)
                );
                if ui.selectable_label(false, text).on_hover_text(format!("{instant}\nGo to this event")).clicked() {
                    commands.push(Command::JumpToEvent(e.clone()));
                }
            }
        });
        commands
    }
}
