//! The timeline panel: one strip per camera (class rows drawn on the GPU from tile textures,
//! recorded video beneath), shared time view, ticks, the "now" edge, the playhead, a class
//! legend with toggles. Input becomes [`Command`]s the app applies after the frame.

use super::clip;
use super::command::Command;
use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};
use std::collections::{BTreeMap, BTreeSet};
use tessera_engine::events_feed::{EventAnswer, EventQuestion, EventsFeed, ListQuery};
use tessera_engine::timeline::ticks::{Clock, format_instant, ticks};
use tessera_engine::timeline::{StripArea, TimeView, TimelineModel};
use tessera_render::timeline::{TileStyle, TimelineCallback};
use tessera_storage::events::{BoxAt, EventRow};

/// Layout in points.
const LABEL_H: f32 = 16.0;
const ROW_H: f32 = 7.0;
const ROW_PITCH: f32 = 9.0;
const VIDEO_H: f32 = 5.0;
const CAMERA_GAP: f32 = 8.0;
const AXIS_H: f32 = 18.0;
/// The date strip above the axis (days, with nights shaded).
const DATE_H: f32 = 14.0;
/// Days the date strip draws at most (wider views have dates as ticks).
const DATE_STRIP_DAYS: i64 = 62;

pub use tessera_engine::archive_loader::CameraTrack;

pub struct TimelinePanel {
    /// The archive (a style change starts a new tile feed on it).
    root: std::path::PathBuf,
    pub model: TimelineModel,
    pub view: TimeView,
    pub tracks: Vec<CameraTrack>,
    /// Hidden classes (legend toggles).
    pub hidden: BTreeSet<String>,
    pub clock: Clock,
    pub playhead_us: Option<i64>,
    /// Pinned clock (tests); `None` = the system clock.
    pub now_override_us: Option<i64>,
    /// Data extent for fit-all, µs.
    pub bounds: (i64, i64),
    /// Where the strips were drawn last frame (tests aim the pointer with it).
    pub rect: Rect,
    /// The camera of the active video tile: its strip's name is marked.
    pub active_camera: Option<String>,
    /// Event questions (hover, next/previous) go to the `events` thread.
    pub events: Option<EventsFeed>,
    /// The newest answer about the events under the pointer.
    pub hover: Option<Hover>,
    /// What was last asked about the pointer (asked again only when it changes).
    asked: Option<(String, i64, i64)>,
    /// The range marked with `[` and `]` (start ≤ end once both are set).
    pub selection: Option<(i64, i64)>,
    /// The newest answer for the Events list.
    pub event_list: Option<(ListQuery, Vec<EventRow>, usize)>,
    /// The newest detection boxes at a picture's moment: camera, time, boxes.
    pub event_boxes: Option<EventBoxes>,
}

/// Detection boxes at a picture's moment: camera, time (µs), each event with its box.
pub type EventBoxes = (String, i64, Vec<(EventRow, BoxAt)>);

/// The events under the pointer's column on a camera's strip.
#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    pub camera: String,
    pub from_us: i64,
    pub to_us: i64,
    pub events: Vec<tessera_storage::events::EventRow>,
}

impl TimelinePanel {
    /// The panel of an archive, drawing coverage (the GUI's default).
    pub fn new(root: std::path::PathBuf, tracks: Vec<CameraTrack>, bounds: (i64, i64)) -> Self {
        Self::with_style(root, tracks, bounds, TileStyle::Coverage)
    }

    pub fn with_style(
        root: std::path::PathBuf,
        tracks: Vec<CameraTrack>,
        bounds: (i64, i64),
        style: TileStyle,
    ) -> Self {
        let cameras = tracks.iter().map(|t| t.camera.clone()).collect();
        let root_for_events = root.clone();
        Self {
            model: TimelineModel::start(root.clone(), cameras, style),
            root,
            view: TimeView::fit(bounds.0, bounds.1),
            tracks,
            hidden: BTreeSet::new(),
            clock: Clock::Local,
            playhead_us: None,
            now_override_us: None,
            bounds,
            rect: Rect::NOTHING,
            active_camera: None,
            events: EventsFeed::start(root_for_events).ok(),
            hover: None,
            asked: None,
            selection: None,
            event_list: None,
            event_boxes: None,
        }
    }

    pub fn now_us(&self) -> i64 {
        self.now_override_us.unwrap_or_else(|| tessera_storage::UnixMicros::now().0)
    }

    /// Draw the panel; returns the commands the user's input produced (and the tile feed's
    /// failures, as toasts).
    pub fn ui(&mut self, ui: &mut egui::Ui, bookmarks: &[tessera_storage::db::bookmarks::Bookmark]) -> Vec<Command> {
        self.model.poll();
        let mut commands: Vec<Command> = (self.model.take_errors().into_iter())
            .map(|detail| Command::Error { title: "Timeline tiles cannot be read".into(), detail })
            .collect();
        self.take_answers(&mut commands);
        self.legend_ui(ui, &mut commands);
        let width = ui.available_width().max(100.0);
        let strip_heights: Vec<f32> = (0..self.tracks.len())
            .map(|i| {
                let rows = self
                    .model
                    .cameras
                    .get(i)
                    .map_or(0, |c| c.rows.iter().filter(|r| !self.hidden.contains(&r.class)).count())
                    .min(tessera_render::timeline::MAX_ROWS); // as many as the plan draws
                LABEL_H + ROW_PITCH * rows as f32 + VIDEO_H + CAMERA_GAP
            })
            .collect();
        let height = AXIS_H + strip_heights.iter().sum::<f32>();
        let (date_rect, _) = ui.allocate_exact_size(Vec2::new(width, DATE_H), Sense::hover());
        self.date_strip(ui, date_rect);
        let (rect, response) = ui.allocate_exact_size(Vec2::new(width, height), Sense::click_and_drag());
        self.rect = rect;
        self.input(ui, rect, &response, &mut commands);
        // The camera strip under the pointer.
        let camera_at = |y: f32| {
            let mut bottom = rect.top() + AXIS_H;
            for (track, h) in self.tracks.iter().zip(&strip_heights) {
                bottom += h;
                if y > rect.top() + AXIS_H && y <= bottom {
                    return Some(track.camera.clone());
                }
            }
            None
        };
        let pointer_camera = response.hover_pos().and_then(|p| camera_at(p.y).map(|c| (c, p.x)));
        // A click on a camera's strip also makes that camera the active tile's.
        if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
            && let Some(camera) = camera_at(p.y)
            && self.active_camera.as_deref() != Some(camera.as_str())
        {
            commands.push(Command::SelectCamera(camera));
        }
        self.ask_about_pointer(rect, pointer_camera.as_ref());

        let now_us = self.now_us();
        let painter = ui.painter_at(rect);
        let ppp = ui.ctx().pixels_per_point();
        let x_of = |t: i64| rect.left() + (self.view.x_of(t) as f32) * rect.width();
        // Axis with ticks.
        for tick in ticks(&self.view, f64::from(rect.width()), 90.0, self.clock) {
            let x = x_of(tick.t_us);
            painter.line_segment(
                [Pos2::new(x, rect.top() + AXIS_H - 4.0), Pos2::new(x, rect.bottom())],
                Stroke::new(1.0, Color32::from_gray(55)),
            );
            painter.text(
                Pos2::new(x + 3.0, rect.top() + 2.0),
                egui::Align2::LEFT_TOP,
                tick.label,
                egui::FontId::proportional(11.0),
                Color32::from_gray(170),
            );
        }
        // Strips: the event rows go to the GPU in one callback, planned exactly as
        // `tessera bench timeline` plans them; labels and video in egui.
        let area = StripArea {
            x0: (rect.left() * ppp).round(),
            y0: ((rect.top() + AXIS_H) * ppp).round(),
            width: (rect.width() * ppp).round(),
            row_height: (ROW_H * ppp).round(),
            row_pitch: (ROW_PITCH * ppp).round(),
            header: (LABEL_H * ppp).round(),
            footer: ((VIDEO_H + CAMERA_GAP) * ppp).round(),
        };
        let hidden = &self.hidden;
        let plans = self.model.plans(&self.view, area, now_us, &|r| !hidden.contains(&r.class));
        let mut y = rect.top() + AXIS_H;
        for (i, (track, h)) in self.tracks.iter().zip(&strip_heights).enumerate() {
            // Cameras the feed has not described yet have no plan: no rows.
            let (rows_top, rows_bottom) =
                plans.get(i).map_or((y + LABEL_H, y + LABEL_H), |p| (p.rect[1] / ppp, p.rect[3] / ppp));
            let active = self.active_camera.as_deref() == Some(track.camera.as_str());
            let camera = clip::name(&track.camera);
            let name = if active { format!("{camera}  · active") } else { camera };
            let color = if active { Color32::from_rgb(240, 200, 60) } else { Color32::from_gray(210) };
            painter.text(
                Pos2::new(rect.left() + 2.0, rows_top - LABEL_H + 1.0),
                egui::Align2::LEFT_TOP,
                name,
                egui::FontId::proportional(12.0),
                color,
            );
            // Recorded video beneath the events.
            let video_y = rows_bottom + 1.0;
            for &(a, b) in &track.video {
                if b < self.view.start_us || a > self.view.end_us() {
                    continue;
                }
                let (xa, xb) = (x_of(a).max(rect.left()), x_of(b).min(rect.right()));
                painter.rect_filled(
                    Rect::from_min_max(Pos2::new(xa, video_y), Pos2::new(xb.max(xa + 1.0), video_y + VIDEO_H - 1.0)),
                    0.0,
                    Color32::from_rgb(70, 110, 170),
                );
            }
            y += h;
        }
        // The callback owns its copy (egui keeps it until the frame is painted).
        let plans = plans.to_vec();
        let viewport_px = [
            (rect.left() * ppp).round(),
            (rect.top() * ppp).round(),
            (rect.width() * ppp).round(),
            (rect.height() * ppp).round(),
        ];
        painter.add(egui_wgpu::Callback::new_paint_callback(rect, TimelineCallback { plans, viewport_px }));
        // The selection, and the bookmarks as flags on the axis.
        if let Some((a, b)) = self.selection {
            let (xa, xb) = (x_of(a).max(rect.left()), x_of(b).min(rect.right()));
            if xb >= rect.left() && xa <= rect.right() {
                let band = Rect::from_min_max(Pos2::new(xa, rect.top()), Pos2::new(xb.max(xa + 2.0), rect.bottom()));
                painter.rect_filled(band, 0.0, super::review::SELECTION);
            }
        }
        for b in bookmarks {
            let (xa, xb) = (x_of(b.start_us), x_of(b.end_us));
            if xb < rect.left() || xa > rect.right() {
                continue;
            }
            let top = rect.top() + AXIS_H - 5.0;
            painter.rect_filled(
                Rect::from_min_max(
                    Pos2::new(xa.max(rect.left()), top),
                    Pos2::new(xb.min(rect.right()).max(xa + 3.0), top + 4.0),
                ),
                1.0,
                super::review::BOOKMARK,
            );
            painter.line_segment(
                [Pos2::new(xa, top), Pos2::new(xa, rect.bottom())],
                Stroke::new(1.0, super::review::BOOKMARK.gamma_multiply(0.5)),
            );
        }
        // The now edge and the playhead.
        let now_x = x_of(now_us);
        if rect.x_range().contains(now_x) {
            painter.line_segment(
                [Pos2::new(now_x, rect.top()), Pos2::new(now_x, rect.bottom())],
                Stroke::new(1.5, Color32::from_rgb(240, 200, 60)),
            );
        }
        if let Some(p) = self.playhead_us {
            let x = x_of(p);
            painter.line_segment(
                [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                Stroke::new(1.5, Color32::WHITE),
            );
        }
        if let Some(pos) = response.hover_pos() {
            let t = self.view.time_at(f64::from((pos.x - rect.left()) / rect.width()));
            let mut text = format_instant(t, self.clock);
            if let Some(hover) = self.hover_at(pointer_camera.as_ref()) {
                text.push_str(&hover_text(hover, self.clock));
            }
            response.clone().on_hover_text_at_pointer(text);
        }
        if self.model.pending() > 0 {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(16));
        }
        commands
    }

    /// The days of the view above the axis: each day's name where it starts (or at the left
    /// edge), its midnight marked, and the night (18:00–06:00 in the clock's zone) shaded.
    fn date_strip(&self, ui: &egui::Ui, rect: Rect) {
        let painter = ui.painter_at(rect);
        let x_of = |t: i64| rect.left() + (self.view.x_of(t) as f32) * rect.width();
        let days = tessera_engine::timeline::ticks::days(&self.view, self.clock, DATE_STRIP_DAYS);
        let day_px = days.first().map_or(0.0, |d| x_of(d.end_us) - x_of(d.start_us));
        let night = Color32::from_rgba_unmultiplied(0, 0, 30, 110);
        for day in &days {
            let hour = (day.end_us - day.start_us) / 24;
            for (a, b) in [(day.start_us, day.start_us + 6 * hour), (day.start_us + 18 * hour, day.end_us)] {
                let (xa, xb) = (x_of(a).max(rect.left()), x_of(b).min(rect.right()));
                if xb > xa {
                    painter.rect_filled(
                        Rect::from_min_max(Pos2::new(xa, rect.top()), Pos2::new(xb, rect.bottom())),
                        0.0,
                        night,
                    );
                }
            }
            let x = x_of(day.start_us);
            if rect.x_range().contains(x) {
                painter.line_segment(
                    [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                    Stroke::new(1.0, Color32::from_gray(120)),
                );
            }
            // A name where there is room for one (every day down to ~70 px a day).
            if day_px >= 70.0 || days.len() == 1 {
                painter.text(
                    Pos2::new(x.max(rect.left()) + 3.0, rect.center().y),
                    egui::Align2::LEFT_CENTER,
                    &day.label,
                    egui::FontId::proportional(10.5),
                    Color32::from_gray(200),
                );
            }
        }
    }

    /// Draw coverage or presence: a new tile feed for the new meaning of the tiles.
    pub fn set_style(&mut self, style: TileStyle) {
        if self.model.style() != style {
            let cameras = self.tracks.iter().map(|t| t.camera.clone()).collect();
            self.model = TimelineModel::start(self.root.clone(), cameras, style);
        }
    }

    /// Ask the `events` thread a question (the answer lands in this panel's fields).
    pub fn ask(&self, question: EventQuestion) {
        if let Some(feed) = &self.events {
            let _ = feed.send(question); // a full queue drops it: the UI asks again
        }
    }

    /// The colour of `class` on the timeline.
    pub fn class_color(&self, class: &str) -> Option<[u8; 3]> {
        self.model.cameras.iter().flat_map(|c| &c.rows).find(|r| r.class == class).map(|r| r.color)
    }

    /// Ask the `events` thread for the next (`forward`) or previous event from `from_us`
    /// on `cameras`, among the classes shown.
    pub fn ask_step(&self, cameras: Vec<String>, from_us: i64, forward: bool) {
        let mut classes: BTreeSet<String> = BTreeSet::new();
        for cam in &self.model.cameras {
            classes.extend(cam.rows.iter().map(|r| r.class.clone()).filter(|c| !self.hidden.contains(c)));
        }
        if let Some(feed) = &self.events {
            let _ =
                feed.send(EventQuestion::Step { cameras, from_us, forward, classes: classes.into_iter().collect() });
        }
    }

    fn take_answers(&mut self, commands: &mut Vec<Command>) {
        let Some(feed) = &self.events else { return };
        for answer in feed.answers() {
            match answer {
                EventAnswer::Under { camera, from_us, to_us, events } => {
                    self.hover = Some(Hover { camera, from_us, to_us, events });
                }
                EventAnswer::List { query, events, total, error } => {
                    if let Some(detail) = error {
                        commands.push(Command::Error { title: "Events cannot be listed".into(), detail });
                    }
                    self.event_list = Some((query, events, total));
                }
                EventAnswer::BoxesAt { camera, t_us, boxes, error } => {
                    if let Some(detail) = error {
                        commands.push(Command::Error { title: "Detection boxes cannot be read".into(), detail });
                    }
                    self.event_boxes = Some((camera, t_us, boxes));
                }
                EventAnswer::Step { event: Some(event), .. } => commands.push(Command::JumpToEvent(event)),
                EventAnswer::Step { event: None, forward } => commands.push(Command::Notice(
                    if forward {
                        "No later event of the classes shown"
                    } else {
                        "No earlier event of the classes shown"
                    }
                    .into(),
                )),
                EventAnswer::Error(detail) => {
                    commands.push(Command::Error { title: "Events cannot be read".into(), detail });
                }
            }
        }
    }

    /// Ask about the events in the pointer's column (±3 px) when it moved to another one.
    fn ask_about_pointer(&mut self, rect: Rect, pointer: Option<&(String, f32)>) {
        let Some((camera, x)) = pointer else { return };
        let time_at = |x: f32| self.view.time_at(f64::from((x - rect.left()) / rect.width()));
        let (from_us, to_us) = (time_at(x - 3.0), time_at(x + 3.0));
        let key = (camera.clone(), from_us, to_us);
        if self.asked.as_ref() != Some(&key)
            && let Some(feed) = &self.events
        {
            let _ = feed.send(EventQuestion::Under { camera: camera.clone(), from_us, to_us });
            self.asked = Some(key);
        }
    }

    /// The hover answer for where the pointer is now (the same camera, overlapping times).
    fn hover_at(&self, pointer: Option<&(String, f32)>) -> Option<&Hover> {
        let (camera, _) = pointer?;
        let (_, from, to) = self.asked.as_ref()?;
        self.hover.as_ref().filter(|h| &h.camera == camera && h.from_us <= *to && h.to_us >= *from)
    }

    fn legend_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let mut classes: BTreeMap<String, [u8; 3]> = BTreeMap::new();
        for cam in &self.model.cameras {
            for row in &cam.rows {
                classes.entry(row.class.clone()).or_insert(row.color);
            }
        }
        ui.horizontal(|ui| {
            let more = classes.len().saturating_sub(clip::MAX_ITEMS);
            for (class, [r, g, b]) in classes.into_iter().take(clip::MAX_ITEMS) {
                let on = !self.hidden.contains(&class);
                let color = if on { Color32::from_rgb(r, g, b) } else { Color32::from_gray(90) };
                let (swatch, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                ui.painter().rect_filled(swatch, 2.0, color);
                let text = egui::RichText::new(clip::short(&class)).color(if on {
                    Color32::from_gray(220)
                } else {
                    Color32::from_gray(110)
                });
                let hint = format!("{}: show or hide this class", clip::name(&class));
                if ui.selectable_label(on, text).on_hover_text(hint).clicked() {
                    commands.push(Command::ToggleClass(class));
                }
            }
            if more > 0 {
                ui.label(
                    egui::RichText::new(format!("and {} more", super::format::count(more, "class", "classes"))).weak(),
                );
            }
            ui.separator();
            let clock_label = match self.clock {
                Clock::Utc => "UTC",
                Clock::Local => "Local time",
            };
            if ui.button(clock_label).on_hover_text("Tick labels in UTC or local time").clicked() {
                commands.push(Command::SetClock(if self.clock == Clock::Utc { Clock::Local } else { Clock::Utc }));
            }
            let coverage = self.model.style() == TileStyle::Coverage;
            let (label, hint) = if coverage {
                ("Coverage", "Brighter = more of the time under a pixel has the class. Click: presence (any detection)")
            } else {
                ("Presence", "Lit wherever the class was seen at all. Click: coverage (how much of the time)")
            };
            if ui.button(label).on_hover_text(hint).clicked() {
                commands.push(Command::SetTimelineStyle(if coverage {
                    TileStyle::Presence
                } else {
                    TileStyle::Coverage
                }));
            }
            if let Some((a, b)) = self.selection {
                ui.separator();
                ui.label(
                    egui::RichText::new(format!("selection {}", span_text((b - a).max(0))))
                        .color(Color32::from_gray(170)),
                );
                if ui.small_button("Zoom to").on_hover_text("Fit the view to the selection").clicked() {
                    let margin = ((b - a) / 20).max(500_000);
                    commands.push(Command::SetTimeView(TimeView::new(a - margin, (b - a) + 2 * margin)));
                }
                if ui.small_button("Export clip").on_hover_text("The active stream's selection as MP4").clicked() {
                    commands.push(Command::Export { kind: super::review::ExportKind::Clip, out: None });
                }
                if ui.small_button("Clear").clicked() {
                    commands.push(Command::ClearSelection);
                }
                ui.separator();
            }
            if ui.small_button("Save image").on_hover_text("The timeline's view as a PNG").clicked() {
                commands.push(Command::Export { kind: super::review::ExportKind::Timeline, out: None });
            }
            if ui.button("Fit all").clicked() {
                commands.push(Command::SetTimeView(TimeView::fit(self.bounds.0, self.bounds.1)));
            }
            ui.label(egui::RichText::new(span_text(self.view.span_us)).color(Color32::from_gray(150)));
        });
    }

    fn input(&self, ui: &egui::Ui, rect: Rect, response: &egui::Response, commands: &mut Vec<Command>) {
        let fraction = |x: f32| f64::from((x - rect.left()) / rect.width()).clamp(0.0, 1.0);
        let mut view = self.view;
        if response.hovered() {
            let (scroll, zoom, pointer) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.pointer.hover_pos()));
            let anchor = pointer.map_or(0.5, |p| fraction(p.x));
            if scroll.y != 0.0 {
                view = view.zoom((-f64::from(scroll.y) / 200.0).exp(), anchor);
            }
            if scroll.x != 0.0 {
                view = view.pan(-f64::from(scroll.x) / f64::from(rect.width()));
            }
            if zoom != 1.0 {
                view = view.zoom(1.0 / f64::from(zoom), anchor);
            }
        }
        // Keys act wherever the pointer and focus are, except in a text field.
        if !ui.ctx().egui_wants_keyboard_input() {
            ui.input(|i| {
                if i.key_pressed(egui::Key::Plus) || i.key_pressed(egui::Key::Equals) {
                    view = view.zoom(0.5, 0.5);
                }
                if i.key_pressed(egui::Key::Minus) {
                    view = view.zoom(2.0, 0.5);
                }
                if i.key_pressed(egui::Key::ArrowLeft) {
                    view = view.pan(-0.1);
                }
                if i.key_pressed(egui::Key::ArrowRight) {
                    view = view.pan(0.1);
                }
                if i.key_pressed(egui::Key::Home) {
                    view = TimeView::new(self.bounds.0 - view.span_us / 50, view.span_us);
                }
                if i.key_pressed(egui::Key::End) {
                    view = TimeView::new(self.bounds.1 - view.span_us * 49 / 50, view.span_us);
                }
            });
        }
        if response.dragged() {
            view = view.pan(-f64::from(response.drag_delta().x) / f64::from(rect.width()));
        }
        if response.double_clicked() {
            view = TimeView::fit(self.bounds.0, self.bounds.1);
        } else if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
        {
            // On an event: its start; elsewhere: the time under the pointer.
            let under = self.hover.as_ref().filter(|h| h.events.iter().any(|_| true)).and_then(|h| {
                let t = self.view.time_at(fraction(p.x));
                (t >= h.from_us && t <= h.to_us).then(|| h.events.iter().map(|e| e.first_ms * 1000).min()).flatten()
            });
            commands.push(Command::SeekTo(under.unwrap_or_else(|| self.view.time_at(fraction(p.x)))));
        }
        if view != self.view {
            commands.push(Command::SetTimeView(view));
        }
    }
}

/// The tooltip lines for the events under the pointer: one line per event (class, start,
/// duration, confidence); several events are counted by class first, with the column's time
/// range only when some of them are not listed.
fn hover_text(hover: &Hover, clock: Clock) -> String {
    const LISTED: usize = 6;
    let mut text = format!("\n{}", clip::name(&hover.camera));
    let line = |e: &tessera_storage::events::EventRow| {
        let seconds = (e.last_ms - e.first_ms) as f64 / 1000.0;
        let confidence = e.confidence.map_or(String::new(), |c| format!(" · {:.0} % confident", c * 100.0));
        format!("{} · {} · {seconds:.1} s{confidence}", clip::name(&e.class), format_instant(e.first_ms * 1000, clock))
    };
    match hover.events.as_slice() {
        [] => return text + ": no events here",
        [one] => return format!("{text}: {}\nclick: go to its start", line(one)),
        _ => {}
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &hover.events {
        *counts.entry(e.class.as_str()).or_default() += 1;
    }
    let distinct = counts.len();
    let mut counts: Vec<String> = counts
        .iter()
        .take(8)
        .map(|(class, n)| format!("{} {}", super::format::number(*n), clip::name(class)))
        .collect();
    if distinct > 8 {
        counts.push(format!("{} more", super::format::count(distinct - 8, "class", "classes")));
    }
    text.push_str(&format!(": {}", counts.join(", ")));
    if hover.events.len() > LISTED {
        text.push_str(&format!(
            " from {} to {}",
            format_instant(hover.from_us, clock),
            format_instant(hover.to_us, clock)
        ));
    }
    for e in hover.events.iter().take(LISTED) {
        text.push_str(&format!("\n{}", line(e)));
    }
    if hover.events.len() > LISTED {
        text.push_str(&format!("\n… and {} more", super::format::number(hover.events.len() - LISTED)));
    }
    text + "\nclick: go to the earliest start"
}

fn span_text(span_us: i64) -> String {
    let s = span_us as f64 / 1e6;
    match s {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s if s < 2.0 * 86_400.0 => format!("{:.1} h", s / 3600.0),
        s if s < 60.0 * 86_400.0 => format!("{:.1} days", s / 86_400.0),
        s => format!("{:.1} years", s / (365.25 * 86_400.0)),
    }
}
