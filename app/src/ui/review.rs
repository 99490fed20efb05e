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
            commands.push(match &job.output {
                Some(path) => Command::Saved { summary, path: path.clone() },
                None => Command::Notice(summary),
            });
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

/// The folder exports go to when no save dialog can open (and the dialog starts in):
/// `~/Videos`, else the home folder, else the temporary folder.
pub fn export_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    home.as_ref()
        .map(|h| h.join("Videos"))
        .filter(|d| d.is_dir())
        .or(home.filter(|h| h.is_dir()))
        .unwrap_or_else(std::env::temp_dir)
}

/// The default file name of an export, one pattern per kind so kinds never collide:
/// `tessera-frame-<stream>-<time>.png` (the picture's time), `tessera-timeline-<time>.png`
/// (the view's start), `tessera-clip-<stream>-<start>.mp4` (the selection's start). `n > 1`
/// adds `-<n>` before the extension.
pub fn export_name(kind: ExportKind, stream: &str, at_us: i64, n: u32) -> String {
    let stamp = tessera_storage::UnixMicros(at_us).to_rfc3339().replace([':', '.'], "-");
    let stamp = stamp.get(..19).unwrap_or(&stamp);
    let stream: String = stream.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let stem = match kind {
        ExportKind::Frame => format!("tessera-frame-{stream}-{stamp}"),
        ExportKind::Timeline => format!("tessera-timeline-{stamp}"),
        ExportKind::Clip => format!("tessera-clip-{stream}-{stamp}"),
    };
    let suffix = if n > 1 { format!("-{n}") } else { String::new() };
    format!("{stem}{suffix}.{}", kind.extension())
}

/// How many numbered names an export tries before giving up.
const MAX_NAME_TRIES: u32 = 10_000;

/// The first default name in `dir` that no file has (the save dialog's suggestion; nothing is
/// created).
pub fn free_export_path(dir: &Path, kind: ExportKind, stream: &str, at_us: i64) -> PathBuf {
    (1..=MAX_NAME_TRIES)
        .map(|n| dir.join(export_name(kind, stream, at_us, n)))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| dir.join(export_name(kind, stream, at_us, MAX_NAME_TRIES + 1)))
}

/// Take the first default name in `dir` that no file has, creating it empty (`create_new`,
/// so two exports at once never pick one name, nor overwrite anything); the export then
/// writes over it, and removes it if it fails ([`release`]).
pub fn reserve_export_path(dir: &Path, kind: ExportKind, stream: &str, at_us: i64) -> std::io::Result<PathBuf> {
    for n in 1..=MAX_NAME_TRIES {
        let path = dir.join(export_name(kind, stream, at_us, n));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, format!("{}: every name is taken", dir.display())))
}

/// Where an export writes: the path, and whether it was reserved (an empty file made by
/// [`reserve_export_path`], removed again when the export fails or is cancelled).
#[derive(Debug, Clone)]
pub struct ExportTarget {
    pub path: PathBuf,
    pub reserved: bool,
}

/// Remove a reserved, still empty file after a failed export.
pub fn release(target: &ExportTarget) {
    if target.reserved && std::fs::metadata(&target.path).is_ok_and(|m| m.len() == 0) {
        let _ = std::fs::remove_file(&target.path);
    }
}

/// Run `work` and release the target when it fails.
fn releasing(target: &ExportTarget, work: impl FnOnce() -> Result<String, String>) -> Result<String, String> {
    let result = work();
    if result.is_err() {
        release(target);
    }
    result
}

/// A clip export job: `[from, to)` of `stream`.
pub fn clip_job(
    archive: &Path,
    stream: &str,
    (from, to): (i64, i64),
    target: ExportTarget,
) -> Result<Job, WorkerError> {
    let (archive, stream_name, out, written) =
        (archive.to_owned(), stream.to_owned(), target.path.clone(), target.path.clone());
    let work: Work = Box::new(move |progress| {
        releasing(&target, || {
            let spec = ClipSpec { archive, stream: stream_name, from_us: from, to_us: to, out: out.clone() };
            export_clip(&spec, progress)
                .map(|s| format!("Exported {} ({})", out.display(), super::format::count(s.frames, "frame", "frames")))
                .map_err(|e| format!("{e:#}"))
        })
    });
    Job::start(format!("Exporting {stream}"), "export-clip", work).map(|j| j.writing(written))
}

/// A frame export job: the picture on screen as PNG.
pub fn frame_job(picture: &Picture, target: ExportTarget) -> Result<Job, WorkerError> {
    let (frame, color, out, written) = (picture.frame.clone(), picture.color, target.path.clone(), target.path.clone());
    let work: Work = Box::new(move |progress| {
        releasing(&target, || {
            let png = png_of(&frame, color).map_err(|e| format!("{e:#}"))?;
            progress(0.5);
            tessera_engine::output::write_atomically(&out, &png).map_err(|e| format!("{e:#}"))?;
            Ok(format!("Saved the frame to {}", out.display()))
        })
    });
    Job::start("Saving the frame", "export-frame", work).map(|j| j.writing(written))
}

/// A timeline image job: every camera over `[from, to)`, the strips 2000 px wide, coverage
/// style, with the axis (in `clock`), camera names and legend around them.
pub fn timeline_job(
    archive: &Path,
    cameras: Vec<String>,
    (from, to): (i64, i64),
    clock: Clock,
    target: ExportTarget,
) -> Result<Job, WorkerError> {
    let (archive, out, written) = (archive.to_owned(), target.path.clone(), target.path.clone());
    let work: Work = Box::new(move |progress| {
        releasing(&target, || {
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
            let drawn = render_timeline::render(&spec).map_err(|e| format!("{e:#}"))?;
            progress(0.8);
            let png = super::timeline_image::annotate(&drawn, clock).map_err(|e| format!("{e:#}"))?;
            tessera_engine::output::write_atomically(&out, &png).map_err(|e| format!("{e:#}"))?;
            Ok(format!("Saved the timeline to {}", out.display()))
        })
    });
    Job::start("Saving the timeline", "export-timeline", work).map(|j| j.writing(written))
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
            egui::ComboBox::from_label(label)
                .selected_text(selected)
                .show_ui(ui, |ui| {
                    ui.selectable_value(value, None, "all");
                    for option in options.iter().take(clip::MAX_ITEMS) {
                        ui.selectable_value(value, Some(option.clone()), clip::name(option));
                    }
                })
                .response
                .on_hover_text(
                    "Filters this list only. The timeline's legend shows or hides a class on the timeline \
                     and in the video.",
                );
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
        // Refused (a full queue): asked again next frame.
        if self.asked.as_ref() != Some(&query) && timeline.ask(EventQuestion::List(query.clone())) {
            self.asked = Some(query);
        }
        ui.separator();
        let Some((answered, events, total)) = &timeline.event_list else {
            ui.spinner();
            return commands;
        };
        let shown = if *total > events.len() {
            format!(" (the first {})", super::format::number(events.len()))
        } else {
            String::new()
        };
        let stale = self.asked.as_ref() != Some(answered);
        ui.label(RichText::new(events_in_view(*total, &shown)).weak());
        if stale {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
        }
        let now_us = timeline.now_us();
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            for e in events {
                let seconds = (e.last_ms - e.first_ms) as f64 / 1000.0;
                let confidence = e.confidence.map_or(String::new(), |c| format!(" · {:.0} %", c * 100.0));
                let instant = format_instant(e.first_ms * 1000, clock);
                let time = row_time(e.first_ms * 1000, now_us, view.span_us, clock);
                let text = format!(
                    "{time} · {} · {} · {seconds:.1} s{confidence}",
                    clip::name(&e.camera),
                    clip::name(&e.class)
                );
                // One line a row, cut at the panel's edge (the whole row on hover).
                let row = egui::Button::selectable(false, text.as_str()).truncate();
                if ui.add(row).on_hover_text(format!("{text}\n{instant}\nGo to this event")).clicked() {
                    commands.push(Command::JumpToEvent(e.clone()));
                }
            }
        });
        commands
    }
}

/// An event row's start, compact: the time of day, after the date (`1 Nov 11:40:07`) when
/// the view spans more than a day or the event is not of today (in the clock's zone).
fn row_time(t_us: i64, now_us: i64, span_us: i64, clock: Clock) -> String {
    let instant = format_instant(t_us, clock);
    let (Some(date), Some(time)) = (instant.get(..10), instant.get(11..19)) else { return instant };
    let today = format_instant(now_us, clock).get(..10) == Some(date);
    if today && span_us <= 86_400_000_000 {
        return time.to_string();
    }
    match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(day) => format!("{} {time}", day.format("%-d %b")),
        Err(_) => format!("{date} {time}"),
    }
}

/// The Events tab's count line: "1 event in view", "10,000 events in view (the first 500)".
fn events_in_view(total: usize, shown: &str) -> String {
    format!("{} in view{shown}", super::format::count(total, "event", "events"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 2026-01-02T03:04:05Z.
    const AT: i64 = 1_767_323_045_000_000;

    #[test]
    fn event_rows_carry_their_date_unless_today_in_a_short_view() {
        let hour = 3_600_000_000;
        assert_eq!(row_time(AT, AT + hour, hour, Clock::Utc), "03:04:05");
        assert_eq!(row_time(AT, AT + 30 * hour, hour, Clock::Utc), "2 Jan 03:04:05", "yesterday");
        assert_eq!(row_time(AT, AT + hour, 3 * 24 * hour, Clock::Utc), "2 Jan 03:04:05", "a view of days");
    }

    #[test]
    fn default_names_differ_per_kind() {
        assert_eq!(export_name(ExportKind::Frame, "cam-1-HD", AT, 1), "tessera-frame-cam-1-HD-2026-01-02T03-04-05.png");
        assert_eq!(export_name(ExportKind::Timeline, "cam-1-HD", AT, 1), "tessera-timeline-2026-01-02T03-04-05.png");
        assert_eq!(export_name(ExportKind::Clip, "cam 1/HD", AT, 1), "tessera-clip-cam_1_HD-2026-01-02T03-04-05.mp4");
        assert_eq!(export_name(ExportKind::Frame, "cam-1", AT, 3), "tessera-frame-cam-1-2026-01-02T03-04-05-3.png");
    }

    /// A second save of the same kind, stream and second gets `-2`, then `-3`; nothing that
    /// exists is ever overwritten, and the frame and the timeline image never share a name.
    #[test]
    fn default_paths_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let first = reserve_export_path(d, ExportKind::Frame, "cam-1", AT).unwrap();
        std::fs::write(&first, b"the first frame").unwrap();
        let second = reserve_export_path(d, ExportKind::Frame, "cam-1", AT).unwrap();
        let third = reserve_export_path(d, ExportKind::Frame, "cam-1", AT).unwrap();
        let timeline = reserve_export_path(d, ExportKind::Timeline, "cam-1", AT).unwrap();
        let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name(&first), "tessera-frame-cam-1-2026-01-02T03-04-05.png");
        assert_eq!(name(&second), "tessera-frame-cam-1-2026-01-02T03-04-05-2.png");
        assert_eq!(name(&third), "tessera-frame-cam-1-2026-01-02T03-04-05-3.png");
        assert_eq!(name(&timeline), "tessera-timeline-2026-01-02T03-04-05.png");
        assert_eq!(std::fs::read(&first).unwrap(), b"the first frame");
        // The dialog's suggestion: the next free name, nothing created.
        let suggested = free_export_path(d, ExportKind::Frame, "cam-1", AT);
        assert_eq!(name(&suggested), "tessera-frame-cam-1-2026-01-02T03-04-05-4.png");
        assert!(!suggested.exists());
    }

    /// Exports at once each get a name of their own.
    #[test]
    fn concurrent_reservations_get_distinct_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut names: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| reserve_export_path(dir.path(), ExportKind::Clip, "cam-1", AT).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 8);
    }

    /// A failed export removes its empty reservation, never a file it did not make.
    #[test]
    fn a_failed_export_releases_only_its_reservation() {
        let dir = tempfile::tempdir().unwrap();
        let path = reserve_export_path(dir.path(), ExportKind::Clip, "cam-1", AT).unwrap();
        let chosen = dir.path().join("chosen.mp4");
        std::fs::write(&chosen, b"").unwrap();
        let failed = || Err::<String, String>("no video".into());
        assert!(releasing(&ExportTarget { path: path.clone(), reserved: true }, failed).is_err());
        assert!(releasing(&ExportTarget { path: chosen.clone(), reserved: false }, failed).is_err());
        assert!(!path.exists(), "the reservation is gone");
        assert!(chosen.exists(), "the user's file stays");
    }

    #[test]
    fn the_events_count_is_pluralised_and_grouped() {
        assert_eq!(events_in_view(1, ""), "1 event in view");
        assert_eq!(events_in_view(12_345, " (the first 500)"), "12,345 events in view (the first 500)");
    }
}
