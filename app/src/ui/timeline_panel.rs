//! The timeline panel: one strip per camera (class rows drawn on the GPU from tile textures,
//! recorded video beneath), shared time view, ticks, the "now" edge, the playhead, a class
//! legend with toggles, Skim's plan (quiet spans hatched over the strips), and the active
//! stream's filmstrip under the axis (previews from [`super::previews`]), with a preview in the
//! hover tooltip. Input becomes [`Command`]s the app applies after the frame.

use super::clip;
use super::command::Command;
use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};
use std::collections::{BTreeMap, BTreeSet};
use tessera_engine::events_feed::{EventAnswer, EventQuestion, EventsFeed, ListQuery};
use tessera_engine::previews::PreviewRequest;
use tessera_engine::timeline::ticks::{Clock, format_instant, ticks};
use tessera_engine::timeline::{StripArea, TimeView, TimelineModel};
use tessera_render::timeline::{TileStyle, TimelineCallback};
use tessera_storage::events::{BoxAt, EventRow};

/// Layout in points.
const AXIS_H: f32 = 18.0;
/// The date strip above the axis (days, with nights shaded).
const DATE_H: f32 = 14.0;
/// The filmstrip lane under the axis (the active stream's previews), when a stream is active.
const FILM_H: f32 = 46.0;
/// About one filmstrip preview per this many points.
const FILM_CELL_W: f32 = 120.0;
/// The hover tooltip's preview, points wide.
const TOOLTIP_PREVIEW_W: f32 = 240.0;
/// A drag that starts this close to the playhead (points) moves the playhead, not the view.
const PLAYHEAD_GRAB: f32 = 5.0;
/// Days the date strip draws at most (wider views have dates as ticks).
const DATE_STRIP_DAYS: i64 = 62;
/// The toolbar and legend rows when neither wraps, with the panel's margins (for the height
/// the panel asks for).
const TOOLBAR_H: f32 = 80.0;

/// How tall a camera's strip is drawn: its name above, a row per class, recorded video
/// beneath, a gap to the next camera.
#[derive(Clone, Copy, Debug, PartialEq)]
struct StripMetrics {
    label_h: f32,
    row_h: f32,
    row_pitch: f32,
    video_h: f32,
    gap: f32,
    font: f32,
}

/// Strips when they all fit.
const ROOMY: StripMetrics =
    StripMetrics { label_h: 16.0, row_h: 7.0, row_pitch: 9.0, video_h: 5.0, gap: 8.0, font: 12.0 };
/// Strips when roomy ones would not fit: still a readable name and a 5-point row per class
/// (a row never shrinks to a line); past this the strips scroll.
const COMPACT: StripMetrics =
    StripMetrics { label_h: 13.0, row_h: 5.0, row_pitch: 6.0, video_h: 4.0, gap: 4.0, font: 11.0 };

impl StripMetrics {
    fn strip_height(&self, rows: usize) -> f32 {
        self.label_h + self.row_pitch * rows as f32 + self.video_h + self.gap
    }

    fn total(&self, rows: &[usize]) -> f32 {
        rows.iter().map(|&n| self.strip_height(n)).sum()
    }
}

/// The timeline's colours, from the theme (legible on dark and light alike).
struct Colors {
    grid: Color32,
    tick_text: Color32,
    name: Color32,
    active: Color32,
    video: Color32,
    now: Color32,
    playhead: Color32,
    night: Color32,
    date_text: Color32,
    midnight: Color32,
    /// Skim's quiet spans: hatching over the strips.
    quiet: Color32,
}

impl Colors {
    fn of(visuals: &egui::Visuals) -> Self {
        if visuals.dark_mode {
            Self {
                grid: Color32::from_gray(55),
                tick_text: Color32::from_gray(170),
                name: Color32::from_gray(210),
                active: Color32::from_rgb(240, 200, 60),
                video: Color32::from_rgb(70, 110, 170),
                now: Color32::from_rgb(240, 200, 60),
                playhead: Color32::WHITE,
                night: Color32::from_rgba_unmultiplied(0, 0, 30, 110),
                date_text: Color32::from_gray(200),
                midnight: Color32::from_gray(120),
                quiet: Color32::from_rgba_unmultiplied(200, 200, 200, 70),
            }
        } else {
            Self {
                grid: Color32::from_gray(200),
                tick_text: Color32::from_gray(60),
                name: Color32::from_gray(20),
                active: Color32::from_rgb(170, 100, 0),
                video: Color32::from_rgb(70, 110, 170),
                now: Color32::from_rgb(200, 120, 0),
                playhead: Color32::from_rgb(200, 0, 40),
                night: Color32::from_rgba_unmultiplied(40, 60, 140, 40),
                date_text: Color32::from_gray(40),
                midnight: Color32::from_gray(140),
                quiet: Color32::from_rgba_unmultiplied(60, 60, 60, 70),
            }
        }
    }
}

/// Where the panel drew its parts last frame, in points (`tessera screenshot --json` and the
/// tests read it).
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineLayout {
    /// From the date strip's top to the bottom of the strips in view.
    pub timeline: Rect,
    /// The axis with the tick labels.
    pub ticks: Rect,
    /// Each camera's strip in view (its name, rows and video), clipped to the view.
    pub strips: Vec<(String, Rect)>,
    /// The strips do not all fit: they scroll.
    pub scrolls: bool,
    /// The filmstrip lane (`Rect::NOTHING` without an active stream).
    pub filmstrip: Rect,
}

impl Default for TimelineLayout {
    fn default() -> Self {
        Self {
            timeline: Rect::NOTHING,
            ticks: Rect::NOTHING,
            strips: Vec::new(),
            scrolls: false,
            filmstrip: Rect::NOTHING,
        }
    }
}

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
    /// Where the parts were drawn last frame.
    pub layout: TimelineLayout,
    /// Skim mode's plan (drawn with its quiet spans hatched), while Skim is on.
    pub skim: Option<super::skim::SkimShown>,
    /// The strips' scroll offset and whether the pointer was over them (Alt+wheel scrolls).
    strips_offset: f32,
    strips_hovered: bool,
    /// Previews on screen (filmstrip, tooltips, the scrub bar's drag): the `previews` thread
    /// and the atlas.
    pub previews: super::previews::Previews,
    /// The active tile's stream: the filmstrip's (set by the app each frame).
    pub film_stream: Option<String>,
    /// Each camera's stream for its hover previews (the first of the camera's; the active
    /// camera uses the stream on screen).
    pub camera_streams: BTreeMap<String, String>,
    /// The filmstrip's cells as drawn last frame.
    filmstrip: Vec<FilmCell>,
    /// The keyframe time of the preview in the hover tooltip last frame.
    hover_preview: Option<i64>,
    /// The playhead is being dragged (a drag that started on it).
    dragging_playhead: bool,
}

/// One filmstrip cell as drawn: its time range, the time it asks for (its middle) and the
/// keyframe whose preview it shows.
#[derive(Clone, Debug, PartialEq)]
pub struct FilmCell {
    pub from_us: i64,
    pub to_us: i64,
    pub t_us: i64,
    pub shown_us: Option<i64>,
    pub rect: Rect,
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
    /// The live edge moved to `t`: the data now reaches it, and the view scrolls so that it
    /// stays in the view's last twentieth (a view that does not show it is left alone: the
    /// user looks elsewhere).
    pub fn follow_live(&mut self, t: i64) {
        self.bounds.1 = self.bounds.1.max(t);
        let view = self.view;
        if (view.start_us..=view.end_us() + view.span_us / 10).contains(&t) && t > view.end_us() - view.span_us / 20 {
            self.view = TimeView::new(t - view.span_us * 19 / 20, view.span_us);
        }
    }

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
        let root_for_previews = root.clone();
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
            layout: TimelineLayout::default(),
            skim: None,
            strips_offset: 0.0,
            strips_hovered: false,
            previews: super::previews::Previews::start(root_for_previews),
            film_stream: None,
            camera_streams: BTreeMap::new(),
            filmstrip: Vec::new(),
            hover_preview: None,
            dragging_playhead: false,
        }
    }

    /// The archive this panel shows.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    pub fn now_us(&self) -> i64 {
        self.now_override_us.unwrap_or_else(|| tessera_storage::UnixMicros::now().0)
    }

    /// The height the panel wants for everything it holds (toolbar, legend, date strip, axis
    /// and every strip at its roomy size), points: the window opens the timeline at this
    /// height when the window has room.
    pub fn wanted_height(&self) -> f32 {
        let rows = self.rows_per_camera();
        TOOLBAR_H + DATE_H + AXIS_H + self.film_h() + ROOMY.total(&rows)
    }

    /// The filmstrip lane's height: none without an active stream.
    fn film_h(&self) -> f32 {
        if self.film_stream.is_some() { FILM_H } else { 0.0 }
    }

    /// The keyframe time (µs) of the preview the hover tooltip showed last frame.
    pub fn hover_preview(&self) -> Option<i64> {
        self.hover_preview
    }

    /// The filmstrip's cells as drawn last frame.
    pub fn filmstrip(&self) -> &[FilmCell] {
        &self.filmstrip
    }

    /// The stream whose previews `camera`'s strip shows on hover.
    fn preview_stream(&self, camera: &str) -> Option<String> {
        self.film_stream
            .clone()
            .filter(|s| tessera_storage::events::camera_of_stream(s) == camera)
            .or_else(|| self.camera_streams.get(camera).cloned())
    }

    /// Rows each camera's strip draws (the legend's toggles applied, as the plan draws them).
    fn rows_per_camera(&self) -> Vec<usize> {
        (0..self.tracks.len())
            .map(|i| {
                self.model
                    .cameras
                    .get(i)
                    .map_or(0, |c| c.rows.iter().filter(|r| !self.hidden.contains(&r.class)).count())
                    .min(tessera_render::timeline::MAX_ROWS) // as many as the plan draws
            })
            .collect()
    }

    /// Draw the panel; returns the commands the user's input produced (and the tile feed's
    /// failures, as toasts).
    ///
    /// Top to bottom: the actions (fixed places; the selection's come last), the class
    /// legend (wrapping), the date strip and the axis (always in view), then the camera
    /// strips, roomy when they fit, compact when not, and scrolling (a scroll bar, or the
    /// wheel with Alt) when even compact strips do not fit; the wheel itself zooms.
    pub fn ui(&mut self, ui: &mut egui::Ui, bookmarks: &[tessera_storage::db::bookmarks::Bookmark]) -> Vec<Command> {
        self.model.poll();
        self.previews.begin_frame(ui.ctx());
        let mut commands: Vec<Command> = (self.model.take_errors().into_iter())
            .map(|detail| Command::Error { title: "Timeline tiles cannot be read".into(), detail })
            .collect();
        self.take_answers(&mut commands);
        self.toolbar_ui(ui, &mut commands);
        self.legend_ui(ui, &mut commands);
        let colors = Colors::of(ui.visuals());
        let rows = self.rows_per_camera();
        let film_h = self.film_h();
        let strips_room = (ui.available_height() - DATE_H - AXIS_H - film_h).max(ROOMY.strip_height(1));
        let metrics = if ROOMY.total(&rows) <= strips_room { ROOMY } else { COMPACT };
        let scrolls = metrics.total(&rows) > strips_room + 0.5;
        // A solid scroll bar beside the strips (not over the newest data); the axis keeps the
        // strips' width so a time has one x above and below.
        let scroll_style = egui::style::ScrollStyle::solid();
        let bar = if scrolls { scroll_style.allocated_width() } else { 0.0 };
        let width = (ui.available_width() - bar).max(100.0);
        let (date_rect, _) = ui.allocate_exact_size(Vec2::new(width, DATE_H), Sense::hover());
        self.date_strip(ui, date_rect, &colors);
        let (axis_rect, axis_response) = ui.allocate_exact_size(Vec2::new(width, AXIS_H), Sense::click_and_drag());
        let now_us = self.now_us();
        let ppp = ui.ctx().pixels_per_point();
        let view = self.view;
        let x_of = move |rect: Rect, t: i64| rect.left() + (view.x_of(t) as f32) * rect.width();
        let tick_list = ticks(&self.view, f64::from(width), 90.0, self.clock);
        {
            let painter = ui.painter_at(axis_rect);
            for tick in &tick_list {
                let x = x_of(axis_rect, tick.t_us);
                painter.line_segment(
                    [Pos2::new(x, axis_rect.bottom() - 4.0), Pos2::new(x, axis_rect.bottom())],
                    Stroke::new(1.0, colors.grid),
                );
                // A label that would run off the right edge is left out (not cut).
                let galley =
                    painter.layout_no_wrap(tick.label.clone(), egui::FontId::proportional(11.0), colors.tick_text);
                if x + 3.0 + galley.size().x <= axis_rect.right() {
                    painter.galley(Pos2::new(x + 3.0, axis_rect.top() + 2.0), galley, colors.tick_text);
                }
            }
        }
        // The filmstrip takes input as the axis does (click to seek, drag to pan, wheel zoom).
        let film = (film_h > 0.0).then(|| ui.allocate_exact_size(Vec2::new(width, film_h), Sense::click_and_drag()));
        let film_rect = film.as_ref().map(|(r, _)| *r);
        match film_rect {
            Some(film) => self.filmstrip_ui(ui, film, &colors),
            None => self.filmstrip.clear(),
        }
        // The strips, in their own scroll area (scrolled by its bar or Alt+wheel).
        let alt_wheel = ui.input(|i| if i.modifiers.alt { i.smooth_scroll_delta.y } else { 0.0 });
        let mut area = egui::ScrollArea::vertical()
            .id_salt("timeline strips")
            .scroll_source(egui::scroll_area::ScrollSource::SCROLL_BAR)
            .auto_shrink([false, false])
            .max_height(strips_room);
        if alt_wheel != 0.0 && self.strips_hovered {
            area = area.vertical_scroll_offset((self.strips_offset - alt_wheel).max(0.0));
        }
        let hidden = &self.hidden;
        let tracks = &self.tracks;
        let model = &mut self.model;
        let active_camera = self.active_camera.as_deref();
        let skim = self.skim.as_ref();
        let output = ui.scope(|ui| {
            ui.spacing_mut().scroll = scroll_style;
            area.show(ui, |ui| {
                let content = Vec2::new(width, metrics.total(&rows));
                let (rect, response) = ui.allocate_exact_size(content, Sense::click_and_drag());
                // The axis's x range exactly (the scroll area may place its content a fraction
                // of a point off): a time has one x above and below.
                let rect = Rect::from_x_y_ranges(axis_rect.x_range(), rect.y_range());
                let visible = ui.clip_rect().intersect(rect);
                let painter = ui.painter_at(visible);
                for tick in &tick_list {
                    let x = x_of(rect, tick.t_us);
                    painter.line_segment(
                        [Pos2::new(x, visible.top()), Pos2::new(x, visible.bottom())],
                        Stroke::new(1.0, colors.grid),
                    );
                }
                // The event rows go to the GPU in one callback, planned exactly as
                // `tessera bench timeline` plans them; names and video in egui.
                let area = StripArea {
                    x0: (rect.left() * ppp).round(),
                    y0: (rect.top() * ppp).round(),
                    width: (rect.width() * ppp).round(),
                    row_height: (metrics.row_h * ppp).round(),
                    row_pitch: (metrics.row_pitch * ppp).round(),
                    header: (metrics.label_h * ppp).round(),
                    footer: ((metrics.video_h + metrics.gap) * ppp).round(),
                };
                let plans = model.plans(&view, area, now_us, &|r| !hidden.contains(&r.class));
                let mut strips = Vec::new();
                let mut y = rect.top();
                for (i, (track, &n)) in tracks.iter().zip(&rows).enumerate() {
                    let h = metrics.strip_height(n);
                    let strip =
                        Rect::from_min_max(Pos2::new(rect.left(), y), Pos2::new(rect.right(), y + h - metrics.gap));
                    y += h;
                    strips.push((track.camera.clone(), strip));
                    if !strip.intersects(visible) {
                        continue;
                    }
                    // Cameras the feed has not described yet have no plan: no rows.
                    let rows_bottom = plans.get(i).map_or(strip.top() + metrics.label_h, |p| p.rect[3] / ppp);
                    let active = active_camera == Some(track.camera.as_str());
                    let camera = clip::name(&track.camera);
                    let name = if active { format!("{camera}  · active") } else { camera };
                    painter.text(
                        Pos2::new(strip.left() + 2.0, strip.top() + 1.0),
                        egui::Align2::LEFT_TOP,
                        name,
                        egui::FontId::proportional(metrics.font),
                        if active { colors.active } else { colors.name },
                    );
                    // Recorded video beneath the events.
                    let video_y = rows_bottom + 1.0;
                    for &(a, b) in &track.video {
                        if b < view.start_us || a > view.end_us() {
                            continue;
                        }
                        let (xa, xb) = (x_of(rect, a).max(rect.left()), x_of(rect, b).min(rect.right()));
                        painter.rect_filled(
                            Rect::from_min_max(
                                Pos2::new(xa, video_y),
                                Pos2::new(xb.max(xa + 1.0), video_y + metrics.video_h - 1.0),
                            ),
                            0.0,
                            colors.video,
                        );
                    }
                }
                // Only the visible part goes to the GPU: egui_wgpu clamps a callback's viewport
                // to the window, which would squeeze a taller one (rows drawn at the wrong pitch).
                if visible.is_positive() {
                    let plans = plans.to_vec(); // the callback owns its copy until painted
                    painter.add(egui_wgpu::Callback::new_paint_callback(
                        visible,
                        TimelineCallback { plans, rect: visible },
                    ));
                    if let Some(skim) = skim {
                        hatch_quiet_spans(&painter, rect, visible, &view, skim, colors.quiet);
                    }
                }
                (rect, visible, response, strips)
            })
        });
        let output = output.inner;
        let (content_rect, visible, strips_response, strips) = output.inner;
        self.strips_offset = output.state.clamped_offset().y;
        self.strips_hovered = strips_response.hovered();
        // The whole timeline under the axis and the strips in view: input, overlays, layout.
        let rect = Rect::from_min_max(axis_rect.min, Pos2::new(axis_rect.right(), output.inner_rect.bottom()));
        self.rect = rect;
        let mut response = axis_response.union(strips_response);
        if let Some((_, film_response)) = film {
            response = response.union(film_response);
        }
        self.layout = TimelineLayout {
            timeline: Rect::from_min_max(date_rect.min, rect.max),
            ticks: axis_rect,
            strips: strips
                .iter()
                .filter(|(_, r)| r.intersects(visible))
                .map(|(camera, r)| (camera.clone(), r.intersect(visible)))
                .collect(),
            scrolls: output.content_size.y > output.inner_rect.height() + 0.5,
            filmstrip: film_rect.unwrap_or(Rect::NOTHING),
        };
        self.input(ui, rect, &response, &mut commands);
        // The camera strip under the pointer.
        let camera_at = |p: Pos2| {
            (visible.contains(p))
                .then(|| strips.iter().find(|(_, r)| r.expand2(Vec2::new(0.0, metrics.gap / 2.0)).contains(p)))
                .flatten()
                .map(|(camera, _)| camera.clone())
        };
        let _ = content_rect;
        let pointer_camera = response.hover_pos().and_then(|p| camera_at(p).map(|c| (c, p.x)));
        // A click on a camera's strip also makes that camera the active tile's.
        if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
            && let Some(camera) = camera_at(p)
            && self.active_camera.as_deref() != Some(camera.as_str())
        {
            commands.push(Command::SelectCamera(camera));
        }
        self.ask_about_pointer(rect, pointer_camera.as_ref());
        self.overlays(ui, rect, bookmarks, now_us, &colors);
        self.hover_preview = None;
        if self.dragging_playhead
            && let Some(pos) = response.interact_pointer_pos()
        {
            // Dragging the playhead: the active stream's preview at the pointer at once; the
            // exact frame on release (see `input`).
            let t = self.view.time_at(f64::from((pos.x - rect.left()) / rect.width()).clamp(0.0, 1.0));
            let stream = self.film_stream.clone();
            let text = format_instant(t, self.clock);
            let px_us = self.view.span_us as f64 / f64::from(rect.width().max(1.0));
            self.preview_tooltip(ui, &response, stream, t, px_us, text);
        } else if let Some(pos) = response.hover_pos() {
            let t = self.view.time_at(f64::from((pos.x - rect.left()) / rect.width()));
            let mut text = format_instant(t, self.clock);
            if let Some(hover) = self.hover_at(pointer_camera.as_ref()) {
                text.push_str(&hover_text(hover, self.clock));
            }
            // Over the filmstrip: the active stream; over a strip: that camera's.
            let stream = if film_rect.is_some_and(|r| r.contains(pos)) {
                self.film_stream.clone()
            } else {
                pointer_camera.as_ref().and_then(|(camera, _)| self.preview_stream(camera))
            };
            let px_us = self.view.span_us as f64 / f64::from(rect.width().max(1.0));
            self.preview_tooltip(ui, &response, stream, t, px_us, text);
        }
        if self.model.pending() > 0 {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(16));
        }
        commands
    }

    /// The active stream's filmstrip in `rect`: one cell per [`film_step`] of time (about
    /// [`FILM_CELL_W`] points), each showing the preview nearest its middle. Cells are fixed
    /// to multiples of the step, so panning keeps their requests (and the atlas's previews);
    /// cells without recorded video ask for nothing and stay empty.
    fn filmstrip_ui(&mut self, ui: &egui::Ui, rect: Rect, colors: &Colors) {
        self.filmstrip.clear();
        let Some(stream) = self.film_stream.clone() else { return };
        let camera = tessera_storage::events::camera_of_stream(&stream);
        let video: &[(i64, i64)] = self.tracks.iter().find(|t| t.camera == camera).map_or(&[], |t| &t.video);
        let view = self.view;
        let step = film_step(view.span_us, rect.width());
        let x_of = |t: i64| rect.left() + (view.x_of(t) as f32) * rect.width();
        let mut cells: Vec<(i64, i64)> = (view.start_us.div_euclid(step)..=view.end_us().div_euclid(step))
            .map(|k| (k * step, k * step + step))
            .filter(|&(a, b)| video.iter().any(|&(va, vb)| va < b && vb > a))
            .collect();
        // Most wanted last (the thread serves the newest request first): the cells farthest
        // from the playhead (else the view's middle) are asked first.
        let focus = self.playhead_us.filter(|&t| (view.start_us..=view.end_us()).contains(&t));
        let focus = focus.unwrap_or(view.start_us + view.span_us / 2);
        cells.sort_by_key(|&(a, b)| std::cmp::Reverse((a + (b - a) / 2).abs_diff(focus)));
        let painter = ui.painter_at(rect);
        for (from_us, to_us) in cells {
            let t_us = from_us + step / 2;
            let cell = Rect::from_x_y_ranges(x_of(from_us)..=x_of(to_us), rect.y_range()).shrink2(Vec2::new(1.0, 2.0));
            let request = PreviewRequest { stream: stream.clone(), t_us, tolerance_us: step / 2 };
            let shown = match self.previews.get(ui.ctx(), request) {
                // Zoomed in past the keyframe spacing, neighbouring cells show the same
                // keyframe: the picture nearest each place.
                super::previews::Lookup::Shown(p) => {
                    p.paint(&painter, p.fit(cell));
                    Some(p.t_us)
                }
                super::previews::Lookup::Loading => {
                    painter.rect_stroke(cell, 2.0, Stroke::new(1.0, colors.grid), egui::StrokeKind::Inside);
                    None
                }
                _ => None,
            };
            self.filmstrip.push(FilmCell { from_us, to_us, t_us, shown_us: shown, rect: cell });
        }
        self.filmstrip.sort_by_key(|c| c.from_us);
    }

    /// The tooltip at the pointer: `text`, and the preview of `stream` at `t_us` (its keyframe's
    /// time under it; "loading…" until it arrives). Shown at once, without egui's tooltip
    /// delay: the preview is what the pointer is there for.
    fn preview_tooltip(
        &mut self,
        ui: &egui::Ui,
        response: &egui::Response,
        stream: Option<String>,
        t_us: i64,
        px_us: f64,
        text: String,
    ) {
        // Only where the camera recorded (within a few pixels): elsewhere the nearest keyframe
        // may be hours away, and its picture would pass for this moment's.
        let slack = (4.0 * px_us) as i64;
        let recorded = |stream: &String| {
            let camera = tessera_storage::events::camera_of_stream(stream);
            self.tracks.iter().filter(|track| track.camera == camera).any(|track| {
                track.video.iter().any(|&(a, b)| a.saturating_sub(slack) <= t_us && t_us < b.saturating_add(slack))
            })
        };
        let no_video = stream.as_ref().is_some_and(|s| !recorded(s));
        let stream = stream.filter(|_| !no_video);
        // A stored preview within a few pixels' time answers at once; otherwise the
        // nearest keyframe is decoded.
        let lookup = stream.map(|stream| {
            let request = PreviewRequest { stream, t_us, tolerance_us: (4.0 * px_us) as i64 };
            self.previews.get(ui.ctx(), request)
        });
        if let Some(super::previews::Lookup::Shown(p)) = lookup {
            self.hover_preview = Some(p.t_us);
        }
        let clock = self.clock;
        egui::Tooltip::for_widget(response).at_pointer().show(|ui| {
            ui.label(text);
            match lookup {
                Some(super::previews::Lookup::Shown(p)) => {
                    let size = p.size * (TOOLTIP_PREVIEW_W / p.size.x);
                    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
                    p.paint(ui.painter(), rect);
                    ui.label(egui::RichText::new(format!("keyframe {}", format_instant(p.t_us, clock))).weak());
                }
                Some(super::previews::Lookup::Loading) => {
                    ui.label(egui::RichText::new("loading preview…").weak());
                }
                _ if no_video => {
                    ui.label(egui::RichText::new("no video recorded here").weak());
                }
                _ => {}
            }
        });
    }

    /// The selection, the bookmarks (flags on the axis), the now edge and the playhead, over
    /// the axis and the strips in view.
    fn overlays(
        &self,
        ui: &egui::Ui,
        rect: Rect,
        bookmarks: &[tessera_storage::db::bookmarks::Bookmark],
        now_us: i64,
        colors: &Colors,
    ) {
        let painter = ui.painter_at(rect);
        let x_of = |t: i64| rect.left() + (self.view.x_of(t) as f32) * rect.width();
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
        let now_x = x_of(now_us);
        if rect.x_range().contains(now_x) {
            painter.line_segment(
                [Pos2::new(now_x, rect.top()), Pos2::new(now_x, rect.bottom())],
                Stroke::new(1.5, colors.now),
            );
        }
        if let Some(p) = self.playhead_us {
            let x = x_of(p);
            painter.line_segment(
                [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                Stroke::new(1.5, colors.playhead),
            );
        }
    }

    /// The days of the view above the axis: each day's name where it starts (or at the left
    /// edge), its midnight marked, and the night (18:00–06:00 in the clock's zone) shaded. A
    /// name that would run into the next one is left out (the left edge's, pushed right,
    /// is the usual case).
    fn date_strip(&self, ui: &egui::Ui, rect: Rect, colors: &Colors) {
        let painter = ui.painter_at(rect);
        let x_of = |t: i64| rect.left() + (self.view.x_of(t) as f32) * rect.width();
        let days = tessera_engine::timeline::ticks::days(&self.view, self.clock, DATE_STRIP_DAYS);
        for day in &days {
            let hour = (day.end_us - day.start_us) / 24;
            for (a, b) in [(day.start_us, day.start_us + 6 * hour), (day.start_us + 18 * hour, day.end_us)] {
                let (xa, xb) = (x_of(a).max(rect.left()), x_of(b).min(rect.right()));
                if xb > xa {
                    painter.rect_filled(
                        Rect::from_min_max(Pos2::new(xa, rect.top()), Pos2::new(xb, rect.bottom())),
                        0.0,
                        colors.night,
                    );
                }
            }
            let x = x_of(day.start_us);
            if rect.x_range().contains(x) {
                painter.line_segment(
                    [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                    Stroke::new(1.0, colors.midnight),
                );
            }
        }
        let font = egui::FontId::proportional(10.5);
        for (i, day) in days.iter().enumerate() {
            let left = x_of(day.start_us).max(rect.left()) + 3.0;
            let galley = painter.layout_no_wrap(day.label.clone(), font.clone(), colors.date_text);
            // Room up to the next day's name (its midnight), or the strip's end.
            let room_end = days.get(i + 1).map_or(rect.right(), |next| x_of(next.start_us));
            if left + galley.size().x + 4.0 <= room_end || days.len() == 1 {
                painter.galley(Pos2::new(left, rect.center().y - galley.size().y / 2.0), galley, colors.date_text);
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

    /// Ask the `events` thread a question (the answer lands in this panel's fields); false
    /// when it was not sent (a full queue: ask again).
    pub fn ask(&self, question: EventQuestion) -> bool {
        self.events.as_ref().is_some_and(|feed| feed.send(question).is_ok())
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

    /// The actions, in places that do not move: the clock and tile style (each showing its
    /// state), Save image, Fit all, the span; then, when there is one, the selection's.
    /// Wraps inside the panel's width.
    fn toolbar_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.horizontal_wrapped(|ui| {
            let utc = self.clock == Clock::Utc;
            if ui.selectable_label(!utc, "Local").on_hover_text("Times in local time").clicked() && utc {
                commands.push(Command::SetClock(Clock::Local));
            }
            if ui.selectable_label(utc, "UTC").on_hover_text("Times in UTC").clicked() && !utc {
                commands.push(Command::SetClock(Clock::Utc));
            }
            ui.separator();
            let coverage = self.model.style() == TileStyle::Coverage;
            let coverage_hint = "Brighter = more of the time under a pixel has the class";
            if ui.selectable_label(coverage, "Coverage").on_hover_text(coverage_hint).clicked() && !coverage {
                commands.push(Command::SetTimelineStyle(TileStyle::Coverage));
            }
            let presence_hint = "Lit wherever the class was seen at all";
            if ui.selectable_label(!coverage, "Presence").on_hover_text(presence_hint).clicked() && coverage {
                commands.push(Command::SetTimelineStyle(TileStyle::Presence));
            }
            ui.separator();
            if ui.small_button("Save image").on_hover_text("The timeline's view as a PNG").clicked() {
                commands.push(Command::Export { kind: super::review::ExportKind::Timeline, out: None });
            }
            if ui.small_button("Fit all").on_hover_text("The whole archive (double-click the timeline)").clicked() {
                commands.push(Command::SetTimeView(TimeView::fit(self.bounds.0, self.bounds.1)));
            }
            ui.label(egui::RichText::new(span_text(self.view.span_us)).weak());
            if let Some((a, b)) = self.selection {
                ui.separator();
                ui.label(egui::RichText::new(format!("selection {}", span_text((b - a).max(0)))).weak());
                if ui.small_button("Zoom to").on_hover_text("Fit the view to the selection").clicked() {
                    let margin = ((b - a) / 20).max(500_000);
                    commands.push(Command::SetTimeView(TimeView::new(a - margin, (b - a) + 2 * margin)));
                }
                if ui.small_button("Export clip").on_hover_text("The active stream's selection as MP4").clicked() {
                    commands.push(Command::Export { kind: super::review::ExportKind::Clip, out: None });
                }
                if ui.small_button("Clear").on_hover_text("Forget the selection").clicked() {
                    commands.push(Command::ClearSelection);
                }
            }
        });
    }

    /// The classes, each a toggle showing whether its row is shown; wraps inside the width.
    fn legend_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let mut classes: BTreeMap<String, [u8; 3]> = BTreeMap::new();
        for cam in &self.model.cameras {
            for row in &cam.rows {
                classes.entry(row.class.clone()).or_insert(row.color);
            }
        }
        if classes.is_empty() {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            let more = classes.len().saturating_sub(clip::MAX_ITEMS);
            for (class, [r, g, b]) in classes.into_iter().take(clip::MAX_ITEMS) {
                let on = !self.hidden.contains(&class);
                let color = if on { Color32::from_rgb(r, g, b) } else { Color32::from_gray(120) };
                let (swatch, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                ui.painter().rect_filled(swatch, 2.0, color);
                let text = egui::RichText::new(clip::short(&class));
                let text = if on { text } else { text.weak().strikethrough() };
                let hint = format!("{}: {} this class", clip::name(&class), if on { "hide" } else { "show" });
                if ui.selectable_label(on, text).on_hover_text(hint).clicked() {
                    commands.push(Command::ToggleClass(class));
                }
            }
            if more > 0 {
                ui.label(
                    egui::RichText::new(format!("and {} more", super::format::count(more, "class", "classes"))).weak(),
                );
            }
        });
    }

    fn input(&mut self, ui: &egui::Ui, rect: Rect, response: &egui::Response, commands: &mut Vec<Command>) {
        let fraction = |x: f32| f64::from((x - rect.left()) / rect.width()).clamp(0.0, 1.0);
        let mut view = self.view;
        if response.hovered() {
            let (mut scroll, zoom, pointer) =
                ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.pointer.hover_pos()));
            if ui.input(|i| i.modifiers.alt) {
                scroll.y = 0.0; // Alt+wheel scrolls the strips
            }
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
            // +/− zoom about the playhead when it is in view (it stays put), else the centre.
            let at = self.playhead_us.map(|t| self.view.x_of(t)).filter(|x| (0.0..=1.0).contains(x)).unwrap_or(0.5);
            ui.input(|i| {
                if i.key_pressed(egui::Key::Plus) || i.key_pressed(egui::Key::Equals) {
                    view = view.zoom(0.5, at);
                }
                if i.key_pressed(egui::Key::Minus) {
                    view = view.zoom(2.0, at);
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
        // A drag that starts on the playhead moves it (a preview follows the pointer; the
        // exact frame on release); any other drag pans the view.
        if response.drag_started()
            && let (Some(p), Some(t)) = (ui.input(|i| i.pointer.press_origin()), self.playhead_us)
        {
            let x = rect.left() + self.view.x_of(t) as f32 * rect.width();
            self.dragging_playhead = (p.x - x).abs() <= PLAYHEAD_GRAB;
        }
        if self.dragging_playhead {
            if response.drag_stopped() || !response.dragged() {
                self.dragging_playhead = false;
                if let Some(p) = response.interact_pointer_pos().or(ui.input(|i| i.pointer.latest_pos())) {
                    commands.push(Command::SeekTo(self.view.time_at(fraction(p.x))));
                }
            }
        } else if response.dragged() {
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

/// The filmstrip's time per cell for a view of `span_us` over `width` points: the time of
/// [`FILM_CELL_W`] points rounded up to a power of √2 µs (cells 120–170 points wide), so a
/// zoom band has one step and cell times repeat while panning.
fn film_step(span_us: i64, width: f32) -> i64 {
    let raw = (span_us as f64 * f64::from(FILM_CELL_W) / f64::from(width.max(1.0))).max(1.0);
    let half_powers = (2.0 * raw.log2()).ceil();
    (2f64.powf(half_powers / 2.0).round() as i64).max(1)
}

/// Hatching between hatch lines, points.
const HATCH_SPACING: f32 = 8.0;

/// Hatch Skim's quiet spans over the strips (`rect`: the strips' whole area; `visible`: the
/// part in view). The lines are spaced from the strips' left edge, so neighbouring spans'
/// hatching lines up; spans under half a point wide are left out (events crowd them).
fn hatch_quiet_spans(
    painter: &egui::Painter,
    rect: Rect,
    visible: Rect,
    view: &TimeView,
    skim: &super::skim::SkimShown,
    color: Color32,
) {
    let x_of = |t: i64| rect.left() + (view.x_of(t) as f32) * rect.width();
    let segments = &skim.plan.segments;
    let first = segments.partition_point(|s| s.to_us <= view.start_us);
    let stroke = Stroke::new(1.0, color);
    let h = visible.height();
    for s in segments[first..].iter().take_while(|s| s.from_us < view.end_us()) {
        if s.speed == skim.speed {
            continue;
        }
        let (xa, xb) = (x_of(s.from_us).max(visible.left()), x_of(s.to_us).min(visible.right()));
        if xb - xa < 0.5 {
            continue;
        }
        let area = Rect::from_x_y_ranges(xa..=xb, visible.y_range());
        let painter = painter.with_clip_rect(area);
        painter.rect_filled(area, 0.0, color.gamma_multiply(0.35));
        let mut x = rect.left() + ((xa - h - rect.left()) / HATCH_SPACING).floor() * HATCH_SPACING;
        while x < xb {
            painter.line_segment([Pos2::new(x, area.bottom()), Pos2::new(x + h, area.top())], stroke);
            x += HATCH_SPACING;
        }
    }
}
