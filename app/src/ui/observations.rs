//! The observations panel (its tab says "Projects"): labelling projects with their population
//! status (badge, progress bar, rows, fps, last error), buttons to populate, reset and
//! configure, and the boxes of the labelled frame at the playhead for the player. Everything
//! is asked of the `observations` thread ([`ObservationFeed`]); the panel draws the latest
//! answers.

use super::clip;
use super::command::Command;
use egui::{Color32, FontId, Pos2, Rect, RichText, Stroke};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tessera_engine::observations::{ObservationAnswer, ObservationBoxes, ObservationFeed, ObservationRequest};
use tessera_engine::worker::WorkerError;
use tessera_storage::observations::ProjectState;

/// Status is re-read this often while the panel is shown (faster while a run is going).
const REFRESH_IDLE: Duration = Duration::from_secs(3);
const REFRESH_BUSY: Duration = Duration::from_millis(500);

/// A project's fps field: pre-filled with the rate stored for its last population, and
/// following that rate (a run from the command line changes it) until the user edits it.
struct FpsField {
    stored: String,
    text: String,
}

impl FpsField {
    fn follow(&mut self, stored: &str) {
        if self.stored != stored {
            if self.text == self.stored {
                self.text = stored.to_string();
            }
            self.stored = stored.to_string();
        }
    }
}

pub struct ObservationsPanel {
    feed: ObservationFeed,
    pub states: Vec<ProjectState>,
    /// The fps field of each project.
    fps: BTreeMap<i64, FpsField>,
    chunk_interval: String,
    compress_after: String,
    last_refresh: Option<Instant>,
    /// A `BoxesAt` is out: one at a time, the latest wanted one next.
    boxes_pending: bool,
    wanted: Option<(String, i64)>,
    /// The latest boxes answered.
    pub boxes: Option<ObservationBoxes>,
    /// The last boxes question failed (said in a toast): nothing more will come for it.
    boxes_failed: bool,
}

impl ObservationsPanel {
    /// The panel of `catalog`; populations run the `tessera` binary `exe`.
    pub fn start(catalog: std::path::PathBuf, exe: std::path::PathBuf) -> Result<Self, WorkerError> {
        Ok(ObservationsPanel {
            feed: ObservationFeed::start(catalog, exe)?,
            states: Vec::new(),
            fps: BTreeMap::new(),
            chunk_interval: String::new(),
            compress_after: String::new(),
            last_refresh: None,
            boxes_pending: false,
            wanted: None,
            boxes: None,
            boxes_failed: false,
        })
    }

    pub fn catalog(&self) -> &std::path::Path {
        &self.feed.catalog
    }

    /// Take in answers and keep status fresh; errors and outcomes become commands (toasts).
    pub fn poll(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        for answer in self.feed.answers() {
            match answer {
                ObservationAnswer::States(states) => self.states = states,
                ObservationAnswer::Boxes(boxes) => {
                    self.boxes_pending = false;
                    self.boxes_failed = false;
                    self.boxes = Some(boxes);
                }
                ObservationAnswer::Done(Ok(_)) => self.last_refresh = None, // show the claim at once
                ObservationAnswer::Done(Err((title, detail))) => {
                    self.boxes_failed |= self.boxes_pending;
                    self.boxes_pending = false;
                    commands.push(Command::Error { title, detail });
                }
            }
        }
        let busy = self.states.iter().any(|s| s.status == "populating");
        let every = if busy { REFRESH_BUSY } else { REFRESH_IDLE };
        if self.last_refresh.is_none_or(|t| t.elapsed() >= every) && self.feed.send(ObservationRequest::Refresh).is_ok()
        {
            self.last_refresh = Some(Instant::now());
        }
        if !self.boxes_pending
            && let Some((stream, t)) = self.wanted.clone()
            && self.boxes.as_ref().is_none_or(|b| b.stream != stream || b.t_us != t)
            && self.feed.send(ObservationRequest::BoxesAt { stream, t_us: t }).is_ok()
        {
            self.boxes_pending = true;
        }
        ctx.request_repaint_after(every);
        commands
    }

    /// The player shows `stream` at `t_us`: fetch its boxes (latest request wins).
    pub fn want_boxes(&mut self, stream: &str, t_us: i64) {
        self.wanted = Some((stream.to_string(), t_us));
    }

    /// The boxes for `stream` at `t_us`, once they have arrived.
    pub fn boxes_at(&self, stream: &str, t_us: i64) -> Option<&ObservationBoxes> {
        self.boxes.as_ref().filter(|b| b.stream == stream && b.t_us == t_us)
    }

    /// Whether the boxes for `stream` at `t_us` are in (or their question failed).
    pub fn boxes_answered(&self, stream: &str, t_us: i64) -> bool {
        self.boxes_at(stream, t_us).is_some() || (self.boxes_failed && !self.boxes_pending)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Projects");
        ui.label(RichText::new(self.feed.catalog.display().to_string()).small().weak());
        if self.states.is_empty() {
            ui.label("No projects yet (tessera catalog import).");
        }
        let mut requests = Vec::new();
        egui::ScrollArea::vertical().id_salt("projects").max_height(ui.available_height() - 90.0).show(ui, |ui| {
            for s in &self.states {
                ui.separator();
                ui.horizontal(|ui| {
                    badge(ui, s);
                    ui.label(RichText::new(format!("{} · {}", s.id, clip::name(&s.name))).strong());
                });
                if s.status == "populating" {
                    ui.add(
                        egui::ProgressBar::new(s.progress as f32).desired_width(ui.available_width()).text(format!(
                            "{:.0}% · {}",
                            s.progress * 100.0,
                            super::format::count(s.rows, "row", "rows")
                        )),
                    );
                } else {
                    ui.label(format!("{} · {} fps", super::format::count(s.rows, "row", "rows"), s.fps));
                }
                if s.stale {
                    // The catalog's message names the command line's `--reset`; here the
                    // button beside it does that.
                    ui.colored_label(
                        Color32::from_rgb(240, 130, 110),
                        RichText::new("Its populator is gone. “Reset and repopulate” takes the project over.").small(),
                    );
                } else if let Some(error) = &s.error {
                    let error = clip::note(error);
                    ui.colored_label(Color32::from_rgb(240, 130, 110), RichText::new(&error).small())
                        .on_hover_text(error);
                }
                ui.horizontal(|ui| {
                    let field =
                        self.fps.entry(s.id).or_insert_with(|| FpsField { stored: s.fps.clone(), text: s.fps.clone() });
                    field.follow(&s.fps);
                    let fps = &mut field.text;
                    let label = ui.label("fps");
                    ui.add(egui::TextEdit::singleline(fps).desired_width(48.0)).labelled_by(label.id);
                    let running = s.status == "populating";
                    if ui.add_enabled(!running, egui::Button::new("Populate")).clicked() {
                        requests.push(ObservationRequest::Populate { project: s.id, fps: fps.clone(), reset: false });
                    }
                    let reset_hint = format!(
                        "Its populator is gone: take the project over and populate it again at {} fps \
                         (as `tessera hypertable populate --reset` does)",
                        clip::name(fps)
                    );
                    if s.stale && ui.button("Reset and repopulate").on_hover_text(reset_hint).clicked() {
                        requests.push(ObservationRequest::Populate { project: s.id, fps: fps.clone(), reset: true });
                    }
                });
            }
        });
        // Chunking and compression are PostgreSQL's (TimescaleDB's); the embedded table only
        // stores them.
        if self.feed.on_server {
            self.table_settings_ui(ui, &mut requests);
        }
        for r in requests {
            let _ = self.feed.send(r); // a busy thread drops a click: the user clicks again
        }
    }
}

impl ObservationsPanel {
    fn table_settings_ui(&mut self, ui: &mut egui::Ui, requests: &mut Vec<ObservationRequest>) {
        ui.separator();
        ui.collapsing("Table settings", |ui| {
            egui::Grid::new("table-settings").num_columns(2).show(ui, |ui| {
                let label = ui.label("Chunk interval");
                ui.add(egui::TextEdit::singleline(&mut self.chunk_interval).hint_text("1 day").desired_width(90.0))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Compress after");
                ui.add(egui::TextEdit::singleline(&mut self.compress_after).hint_text("off").desired_width(90.0))
                    .labelled_by(label.id);
                ui.end_row();
            });
            if ui.button("Apply").clicked() {
                let field = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
                requests.push(ObservationRequest::Configure {
                    chunk_interval: field(&self.chunk_interval),
                    compress_after: field(&self.compress_after),
                });
            }
        });
    }
}

/// A coloured status word.
fn badge(ui: &mut egui::Ui, s: &ProjectState) {
    let (text, color) = match (s.status.as_str(), s.stale) {
        (_, true) => ("lost", Color32::from_rgb(220, 90, 60)),
        ("ready", _) => ("ready", Color32::from_rgb(70, 170, 90)),
        ("populating", _) => ("populating", Color32::from_rgb(70, 130, 220)),
        ("failed", _) => ("failed", Color32::from_rgb(220, 90, 60)),
        _ => ("pending", Color32::from_gray(120)),
    };
    let galley = ui.painter().layout_no_wrap(text.to_string(), FontId::proportional(11.0), Color32::WHITE);
    let (rect, _) = ui.allocate_exact_size(galley.size() + egui::vec2(10.0, 4.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, 4.0, color);
    ui.painter().galley(rect.min + egui::vec2(5.0, 2.0), galley, Color32::WHITE);
}

/// Label colours by name (stable across frames and runs).
pub fn label_color(label: &str) -> Color32 {
    let h = label.bytes().fold(2166136261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619));
    let palette = [
        Color32::from_rgb(255, 200, 60),
        Color32::from_rgb(90, 220, 255),
        Color32::from_rgb(255, 110, 200),
        Color32::from_rgb(140, 255, 120),
        Color32::from_rgb(255, 150, 90),
    ];
    palette[h as usize % palette.len()]
}

/// Draw labelled boxes over the picture `rect` (which shows the boxes' video, scaled).
/// Where a labelled box lands over `picture` (the picture's pixels scaled to its rectangle).
pub fn box_rect(picture: Rect, boxes: &ObservationBoxes, row: &tessera_storage::observations::Observation) -> Rect {
    let (sx, sy) = (picture.width() / boxes.width.max(1) as f32, picture.height() / boxes.height.max(1) as f32);
    let [x, y, w, h] = row.bbox.map(|v| v as f32);
    Rect::from_min_size(Pos2::new(picture.left() + x * sx, picture.top() + y * sy), egui::vec2(w * sx, h * sy))
}

pub fn paint_boxes(ui: &egui::Ui, picture: Rect, boxes: &ObservationBoxes) {
    if boxes.width == 0 || boxes.height == 0 || boxes.rows.is_empty() {
        return;
    }
    let painter = ui.painter().with_clip_rect(picture);
    for r in boxes.rows.iter().take(clip::MAX_ITEMS) {
        let rect = box_rect(picture, boxes, r);
        let color = label_color(&r.label);
        painter.rect_stroke(rect, 0.0, Stroke::new(2.0, color), egui::StrokeKind::Outside);
        let label = clip::name(&r.label);
        let text = match (r.track_id, r.confidence) {
            (Some(id), Some(c)) => format!("{label} #{id} {:.0}%", c * 100.0),
            (Some(id), None) => format!("{label} #{id}"),
            (None, Some(c)) => format!("{label} {:.0}%", c * 100.0),
            (None, None) => label,
        };
        let galley = painter.layout_no_wrap(text, FontId::proportional(11.0), Color32::BLACK);
        let at = Pos2::new(rect.left(), (rect.top() - galley.size().y - 2.0).max(picture.top()));
        painter.rect_filled(Rect::from_min_size(at, galley.size()).expand(1.0), 1.0, color);
        painter.galley(at, galley, Color32::BLACK);
    }
    let caption = format!("labels: {} · classification {}", clip::name(&boxes.project), boxes.classification);
    painter.text(
        Pos2::new(picture.right() - 6.0, picture.top() + 6.0),
        egui::Align2::RIGHT_TOP,
        caption,
        FontId::proportional(11.0),
        Color32::from_white_alpha(200),
    );
}
