//! The player panel: the picture (Y/U/V textures converted on the GPU, letterboxed), the last
//! good frame kept on screen with a spinner only after 400 ms of waiting, transport controls
//! (step, play/pause, speed 1/8×…64×, reverse) and a scrub bar over the timeline's view.

use super::app::Command;
use crate::engine::decoder::ColorMatrix;
use crate::engine::player::{Picture, Player, PlayerCommand, PlayerFrame};
use crate::timeline::TimeView;
use egui::{Color32, Rect, Sense, Vec2};
use std::time::{Duration, Instant};
use tessera_render::video::{ColorSpace, VideoCallback, letterbox};

/// The spinner appears only after this long without the requested frame.
pub const SPINNER_DELAY: Duration = Duration::from_millis(400);
const SPEEDS: [f64; 10] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

pub struct PlayerPanel {
    pub player: Player,
    /// The last good picture (kept on screen while the next one decodes).
    pub shown: Option<Picture>,
    pub playing: bool,
    pub speed: f64,
    pub reverse: bool,
    /// When the newest request went out with no frame yet (spinner timing).
    pub waiting_since: Option<Instant>,
    pub notice: Option<String>,
}

impl PlayerPanel {
    pub fn new(player: Player) -> Self {
        Self { player, shown: None, playing: false, speed: 1.0, reverse: false, waiting_since: None, notice: None }
    }

    pub fn send(&mut self, command: PlayerCommand) {
        if matches!(command, PlayerCommand::Seek(_) | PlayerCommand::Scrub(_) | PlayerCommand::Step(_)) {
            self.waiting_since.get_or_insert_with(Instant::now);
        }
        self.player.send(command);
    }

    /// Take in frames; the time of the newest (for the timeline's playhead).
    pub fn poll(&mut self) -> Option<i64> {
        let event = self.player.latest()?;
        self.waiting_since = None;
        match event {
            PlayerFrame::Opened { .. } => None,
            PlayerFrame::Picture(picture) => {
                self.notice = picture.notice.clone();
                self.playing = picture.playing;
                let t = picture.frame.time_us;
                self.shown = Some(picture);
                Some(t)
            }
            PlayerFrame::Error(e) => {
                self.playing = false;
                self.notice = Some(e);
                None
            }
            PlayerFrame::NoVideo { at_us } => {
                self.playing = false;
                self.notice = Some(format!("no video at or before {}", tessera_storage::UnixMicros(at_us)));
                None
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, view: &TimeView) -> Vec<Command> {
        let mut commands = Vec::new();
        if let Some(t) = self.poll() {
            commands.push(Command::PlayheadMoved(t));
        }
        let width = ui.available_width();
        let height = (width * 9.0 / 16.0).min(360.0);
        let (rect, _) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
        ui.painter().rect_filled(rect, 0.0, Color32::BLACK);
        let ppp = ui.ctx().pixels_per_point();
        if let Some(shown) = &self.shown {
            let area = [rect.left() * ppp, rect.top() * ppp, rect.right() * ppp, rect.bottom() * ppp];
            let pic = letterbox(area, shown.frame.width as u32, shown.frame.height as u32);
            let m = ColorMatrix::of(shown.color, shown.frame.height);
            let viewport_px = [
                (rect.left() * ppp).round(),
                (rect.top() * ppp).round(),
                (rect.width() * ppp).round(),
                (rect.height() * ppp).round(),
            ];
            let callback = VideoCallback {
                frame: shown.frame.clone(),
                id: shown.id,
                color: ColorSpace { kr: m.kr, kb: m.kb, full_range: m.full_range },
                rect_px: pic,
                viewport_px,
            };
            ui.painter().add(egui_wgpu::Callback::new_paint_callback(rect, callback));
            let label = tessera_storage::UnixMicros(shown.frame.time_us).to_rfc3339();
            ui.painter().text(
                rect.left_bottom() + Vec2::new(6.0, -6.0),
                egui::Align2::LEFT_BOTTOM,
                label,
                egui::FontId::monospace(12.0),
                Color32::from_gray(230),
            );
        } else {
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Click the timeline to show video",
                egui::FontId::proportional(14.0),
                Color32::from_gray(140),
            );
        }
        if self.waiting_since.is_some_and(|t| t.elapsed() >= SPINNER_DELAY) {
            egui::Spinner::new().size(28.0).paint_at(ui, Rect::from_center_size(rect.center(), Vec2::splat(28.0)));
        }
        if let Some(notice) = &self.notice {
            ui.painter().text(
                rect.right_top() + Vec2::new(-6.0, 6.0),
                egui::Align2::RIGHT_TOP,
                notice,
                egui::FontId::proportional(12.0),
                Color32::from_rgb(240, 200, 60),
            );
        }
        self.transport_ui(ui);
        self.scrub_ui(ui, view);
        if self.playing || self.waiting_since.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(10));
        }
        commands
    }

    fn transport_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(&self.player.stream);
            if ui.button("|<").on_hover_text("Previous frame").clicked() {
                self.send(PlayerCommand::Step(-1));
                self.playing = false;
            }
            let play_label = if self.playing { "Pause" } else { "Play" };
            if ui.button(play_label).on_hover_text("Play / pause").clicked() {
                self.playing = !self.playing;
                let speed = if self.reverse { -self.speed } else { self.speed };
                self.send(if self.playing { PlayerCommand::Play(speed) } else { PlayerCommand::Pause });
            }
            if ui.button(">|").on_hover_text("Next frame").clicked() {
                self.send(PlayerCommand::Step(1));
                self.playing = false;
            }
            let before = (self.speed, self.reverse);
            egui::ComboBox::from_label("Speed").selected_text(speed_text(self.speed)).show_ui(ui, |ui| {
                for s in SPEEDS {
                    ui.selectable_value(&mut self.speed, s, speed_text(s));
                }
            });
            ui.checkbox(&mut self.reverse, "Reverse");
            if self.playing && before != (self.speed, self.reverse) {
                let speed = if self.reverse { -self.speed } else { self.speed };
                self.send(PlayerCommand::Play(speed));
            }
        });
    }

    /// A scrub bar over the timeline's visible range: dragging shows keyframes at once,
    /// releasing settles on the exact frame.
    fn scrub_ui(&mut self, ui: &mut egui::Ui, view: &TimeView) {
        let (rect, response) = ui.allocate_exact_size(Vec2::new(ui.available_width(), 14.0), Sense::click_and_drag());
        ui.painter().rect_filled(rect, 3.0, Color32::from_gray(45));
        if let Some(t) = self.shown.as_ref().map(|s| s.frame.time_us) {
            let x = rect.left() + view.x_of(t) as f32 * rect.width();
            if rect.x_range().contains(x) {
                ui.painter().rect_filled(
                    Rect::from_center_size(egui::pos2(x, rect.center().y), Vec2::new(4.0, 14.0)),
                    1.0,
                    Color32::WHITE,
                );
            }
        }
        let t_at = |x: f32| view.time_at(f64::from((x - rect.left()) / rect.width()).clamp(0.0, 1.0));
        if (response.dragged() || response.drag_started())
            && let Some(p) = response.interact_pointer_pos()
        {
            self.send(PlayerCommand::Scrub(t_at(p.x)));
        }
        if (response.drag_stopped() || response.clicked())
            && let Some(p) = response.interact_pointer_pos()
        {
            self.send(PlayerCommand::Seek(t_at(p.x)));
        }
    }
}

fn speed_text(s: f64) -> String {
    if s < 1.0 { format!("1/{}×", (1.0 / s).round()) } else { format!("{s}×") }
}
