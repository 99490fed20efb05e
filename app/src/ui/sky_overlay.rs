//! Aircraft over the video of a sky-facing camera: markers with callsign, altitude and range,
//! each with its last minute of track, projected at the displayed picture's time (UTC = video
//! time + the camera's `clock_offset_s`); and the Aircraft list beside the player, which jumps
//! to when an aircraft enters the frame. Data comes from [`SkyFeed`]; nothing here waits.

use super::clip;
use super::command::Command;
use egui::{Color32, FontId, Pos2, Rect, RichText, Stroke};
use tessera_engine::trajectories::feed::{Aircraft, SkyFeed, SkyLink};

/// The overlay of one player.
pub struct SkyOverlay {
    pub feed: SkyFeed,
    /// The displayed picture's UTC time and the aircraft then.
    pub at_utc: Option<f64>,
    pub aircraft: Vec<Aircraft>,
    /// A picture has been shown (so traffic is being fetched).
    painted: bool,
}

const MARKER: Color32 = Color32::from_rgb(255, 210, 60);
const TRACK: Color32 = Color32::from_rgba_premultiplied(255, 210, 60, 150);
const MARKER_RADIUS: f32 = 7.0;
/// Pictures narrower than this (points) label only the aircraft under the pointer.
pub const LABELS_WIDTH: f32 = 320.0;
/// Pictures at least this wide label every aircraft with altitude and range; narrower ones
/// (down to [`LABELS_WIDTH`]) with its callsign alone.
pub const FULL_LABELS_WIDTH: f32 = 640.0;

impl SkyOverlay {
    pub fn start(link: SkyLink) -> Result<Self, tessera_engine::worker::WorkerError> {
        Ok(SkyOverlay { feed: SkyFeed::start(link)?, at_utc: None, aircraft: Vec::new(), painted: false })
    }

    /// Video time (µs) → UTC seconds.
    pub fn utc_of(&self, video_us: i64) -> f64 {
        video_us as f64 / 1e6 + self.feed.projector.camera().clock_offset_s
    }

    /// UTC seconds → video time (µs).
    pub fn video_us_of(&self, utc: f64) -> i64 {
        ((utc - self.feed.projector.camera().clock_offset_s) * 1e6).round() as i64
    }

    /// Update for the displayed picture at `video_us` and draw over `picture` (the letterboxed
    /// picture in points). Returns an error to show, once.
    pub fn paint(&mut self, ui: &egui::Ui, picture: Rect, video_us: i64) -> Option<String> {
        self.painted = true;
        let error = self.feed.poll();
        let t = self.utc_of(video_us);
        self.feed.want(t);
        if let Some(aircraft) = self.feed.aircraft_at(t) {
            self.aircraft = aircraft;
            self.at_utc = Some(t);
        } else {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
        }
        let camera = self.feed.projector.camera();
        let (sx, sy) = (picture.width() / camera.width as f32, picture.height() / camera.height as f32);
        let to_screen = |(u, v): (f64, f64)| Pos2::new(picture.left() + u as f32 * sx, picture.top() + v as f32 * sy);
        let painter = ui.painter().with_clip_rect(picture);
        let mut placed: Vec<Rect> = Vec::new();
        // Labels need room: none on a small picture (a grid tile), only the callsign on a
        // middling one; the aircraft under the pointer is labelled whatever the size.
        let hover = ui.input(|i| i.pointer.hover_pos()).filter(|p| picture.contains(*p));
        for a in self.aircraft.iter().filter(|a| a.projection.in_frame) {
            let Some(pixel) = a.projection.pixel else { continue };
            let at = to_screen(pixel);
            let track: Vec<Pos2> = a.track.iter().copied().map(to_screen).collect();
            if track.len() >= 2 {
                painter.line(track, Stroke::new(1.5, TRACK));
            }
            painter.circle_stroke(at, MARKER_RADIUS, Stroke::new(2.0, MARKER));
            let hovered = hover.is_some_and(|p| p.distance(at) <= MARKER_RADIUS + 6.0);
            let Some(label) = label_for(a, picture.width(), hovered) else { continue };
            let galley = painter.layout_no_wrap(label, FontId::proportional(12.0), MARKER);
            // Right of the marker, or left of it near the picture's right edge (and kept
            // inside vertically), so labels are never cut off.
            let size = galley.size();
            let x = if at.x + 10.0 + size.x > picture.right() { at.x - 10.0 - size.x } else { at.x + 10.0 };
            let start = (at.y - 8.0).clamp(picture.top(), (picture.bottom() - size.y).max(picture.top()));
            // Aircraft close together: stack their labels (downwards, else upwards) instead of
            // overprinting them.
            let taken_at =
                |y: f32| placed.iter().find(|r| r.intersects(Rect::from_min_size(Pos2::new(x, y), size))).copied();
            let mut y = start;
            while let Some(taken) = taken_at(y) {
                y = taken.bottom() + 2.0;
            }
            if y + size.y > picture.bottom() {
                y = start;
                while let Some(taken) = taken_at(y) {
                    y = taken.top() - size.y - 2.0;
                }
            }
            let text_rect = Rect::from_min_size(Pos2::new(x, y), size);
            placed.push(text_rect);
            // A label pushed away from its marker by others points back at it.
            let near = text_rect.expand(2.0).clamp(at);
            if near.distance(at) > MARKER_RADIUS + 4.0 {
                let from = at + (near - at).normalized() * MARKER_RADIUS;
                painter.line_segment([from, near], Stroke::new(1.0, MARKER));
            }
            painter.rect_filled(text_rect.expand(2.0), 2.0, Color32::from_black_alpha(150));
            painter.galley(text_rect.min, galley, MARKER);
        }
        error
    }

    /// The Aircraft list: everyone within range, in the order they first enter the frame; a
    /// click jumps to when that aircraft enters the frame (or entered it, when in view).
    pub fn list_ui(&self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.heading("Aircraft");
        let Some(t) = self.at_utc else {
            if self.painted {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("loading traffic…");
                });
            } else {
                ui.label("Aircraft in the camera's view appear here and over the picture.");
            }
            return commands;
        };
        let in_view = self.aircraft.iter().filter(|a| a.projection.in_frame).count();
        ui.label(format!(
            "{} in view, {} within range",
            super::format::number(in_view),
            super::format::number(self.aircraft.len())
        ));
        if let Some(e) = &self.feed.error {
            ui.colored_label(Color32::LIGHT_RED, e);
        }
        ui.separator();
        // The order does not follow the playhead (a jump must not move the row under the
        // pointer): first entry into the frame, then name; while the pointer is over the list,
        // rows keep their places and newcomers go last.
        let mut order: Vec<&Aircraft> = self.aircraft.iter().collect();
        order.sort_by(|a, b| {
            let enters = |a: &Aircraft| a.first_in_frame_at.unwrap_or(f64::INFINITY);
            enters(a).total_cmp(&enters(b)).then_with(|| a.source_id.cmp(&b.source_id))
        });
        let frozen_id = egui::Id::unique("aircraft list order");
        let frozen: Option<Vec<String>> = ui.data(|d| d.get_temp(frozen_id));
        let list_rect = ui.available_rect_before_wrap();
        let mut ids: Vec<String> = Vec::new();
        if let Some(frozen) = frozen.filter(|_| ui.rect_contains_pointer(list_rect)) {
            let place = |a: &Aircraft| frozen.iter().position(|id| *id == a.source_id).unwrap_or(usize::MAX);
            order.sort_by_key(|a| place(a)); // stable: newcomers keep their order, last
            // Rows that leave for a moment keep their places (a seek shows its keyframe's
            // moment first, where an aircraft may be out of range, then the exact picture's).
            ids = frozen;
        }
        for a in &order {
            if !ids.contains(&a.source_id) {
                ids.push(a.source_id.clone());
            }
        }
        ui.data_mut(|d| d.insert_temp(frozen_id, ids));
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            for a in order {
                ui.horizontal(|ui| {
                    let state = if a.projection.in_frame {
                        RichText::new("in view").color(MARKER)
                    } else if a.projection.in_front {
                        RichText::new("out of frame").weak()
                    } else {
                        RichText::new("behind").weak()
                    };
                    ui.label(RichText::new(clip::name(&a.callsign)).strong());
                    ui.label(state);
                });
                ui.label(
                    RichText::new(format!(
                        "{:.0} ft · {:.1} km · {}",
                        a.position.height_m / 0.3048,
                        a.projection.range_m / 1000.0,
                        a.source_id
                    ))
                    .small(),
                );
                match a.enters_frame_at {
                    Some(enter) => {
                        let label = if (enter - t).abs() < 1.0 {
                            "entered now".to_string()
                        } else if enter < t {
                            format!("entered {:.0} s ago", t - enter)
                        } else {
                            format!("enters in {:.0} s", enter - t)
                        };
                        if ui.small_button(label).on_hover_text("Show the moment it enters the frame").clicked() {
                            commands.push(Command::SeekFrom(self.video_us_of(enter)));
                        }
                    }
                    None => {
                        ui.label(RichText::new("not in frame in this window").small().weak());
                    }
                }
                ui.add_space(4.0);
            }
        });
        commands
    }
}

/// The label of an aircraft drawn on a picture `width` points wide (see [`LABELS_WIDTH`]).
fn label_for(a: &Aircraft, width: f32, hovered: bool) -> Option<String> {
    if hovered || width >= FULL_LABELS_WIDTH {
        Some(format!(
            "{}\n{:.0} ft · {:.1} km",
            clip::name(&a.callsign),
            a.position.height_m / 0.3048,
            a.projection.range_m / 1000.0
        ))
    } else if width >= LABELS_WIDTH {
        Some(clip::name(&a.callsign).to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_engine::trajectories::projection::{Position, Projection};

    #[test]
    fn small_pictures_label_only_the_aircraft_under_the_pointer() {
        let a = Aircraft {
            source_id: "x-1".into(),
            callsign: "AAL123".into(),
            position: Position { lat: 42.0, lon: -71.0, height_m: 3048.0 },
            projection: Projection { range_m: 12_345.0, in_front: true, pixel: Some((5.0, 5.0)), in_frame: true },
            track: Vec::new(),
            enters_frame_at: None,
            first_in_frame_at: None,
        };
        let full = Some("AAL123\n10000 ft · 12.3 km".to_string());
        assert_eq!(label_for(&a, 1000.0, false), full);
        assert_eq!(label_for(&a, 400.0, false).as_deref(), Some("AAL123"));
        assert_eq!(label_for(&a, 300.0, false), None, "a 2×2 tile of a small window");
        assert_eq!(label_for(&a, 300.0, true), full, "hovered");
    }
}
