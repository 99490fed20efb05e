//! One player of the video grid: the picture (Y/U/V textures converted on the GPU,
//! letterboxed), the last good frame kept on screen with a spinner only after 400 ms of
//! waiting, and the transport bar (step, jump, play/pause, speed 1/8×…64×, reverse, go to
//! time) and scrub bar the grid shows for its active tile. The transport asks for
//! [`Transport`] actions; the grid applies them to one tile or, synced, to all.
//!
//! It says what it is showing: "opening <stream>…" until the player thread has opened the
//! stream, the frame's time in the chosen zone, and "no video at <time>" over a dimmed picture
//! where nothing was recorded — never an old frame under its old timestamp as if current.

use super::clip;
use super::command::Command;
use super::sky_overlay::SkyOverlay;
use egui::{Align, Color32, Layout, Rect, RichText, Sense, UiBuilder, Vec2};
use std::time::{Duration, Instant};
use tessera_engine::decoder::ColorMatrix;
use tessera_engine::player::{Picture, Player, PlayerCommand, PlayerFrame};
use tessera_engine::timeline::TimeView;
use tessera_engine::timeline::ticks::{Clock, format_instant};
use tessera_render::video::{ColorSpace, VideoCallback, letterbox};

/// The spinner appears only after this long without the requested frame.
pub const SPINNER_DELAY: Duration = Duration::from_millis(400);
/// The Play/Pause button's width, points (fits "Pause").
const PLAY_BUTTON_W: f32 = 54.0;
const SPEEDS: [f64; 10] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

pub struct PlayerPanel {
    pub player: Player,
    /// The player thread has opened the stream (until then: "opening…").
    pub opened: bool,
    /// The stream could not be opened (the thread has ended).
    pub failed: Option<String>,
    /// The last good picture (kept on screen while the next one decodes).
    pub shown: Option<Picture>,
    /// Nothing is recorded where the playhead is: the picture is dimmed and says so.
    pub no_video_at: Option<i64>,
    pub playing: bool,
    pub speed: f64,
    pub reverse: bool,
    /// Play or pause was just asked: pictures already on their way say the opposite, and
    /// must not flip the button back (until one agrees, or a second has passed).
    expect_playing: Option<(bool, Instant)>,
    /// When the newest request went out with no frame yet (spinner timing).
    pub waiting_since: Option<Instant>,
    pub notice: Option<String>,
    /// Aircraft over the picture (a stream tied to a sky camera).
    pub sky: Option<SkyOverlay>,
    /// Labelled boxes of the picture's moment (observations, from the `observations` thread).
    pub observations: Option<tessera_engine::observations::ObservationBoxes>,
    /// Where the picture was drawn last frame, points (`None`: no picture drawn).
    pub picture_rect: Option<Rect>,
    /// The renderer's texture slot (the grid tile's index).
    pub slot: usize,
    /// Detection boxes of the events at the picture's moment (the active tile's), and the
    /// (camera, time) they are for and were last asked for.
    pub event_boxes: Vec<EventBox>,
    pub event_boxes_for: Option<(String, i64)>,
    pub event_boxes_asked: Option<(String, i64)>,
    /// The stream's newest picture as the player last saw it grow, and when it grew: a
    /// stream a recorder writes (`None` until it grows while open).
    pub newest: Option<(i64, Instant)>,
}

/// At the live edge, a recorder that has written nothing for this long is said to stall.
pub const STALLED_AFTER: Duration = Duration::from_secs(5);

/// A detection box to draw over the picture, in the picture's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct EventBox {
    pub class: String,
    pub confidence: Option<f64>,
    pub rect: [f64; 4],
    pub color: Color32,
}

/// A transport action: the grid applies it to the active tile, or to every tile when synced.
/// A seek is not one: it is [`Command::SeekTo`] wherever it starts (the go-to field and the
/// scrub bar push it too), so the playhead and the players hear it the same way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transport {
    /// Play, or pause when playing (`at`: where to start when nothing is shown yet).
    TogglePlay {
        at: Option<i64>,
    },
    Pause,
    /// Shuttle: play at this speed and direction.
    Shuttle {
        speed: f64,
        reverse: bool,
    },
    Step(i32),
    /// A scrub position while dragging (keyframes only).
    Scrub(i64),
    /// Seek this far from the picture on screen.
    Jump(i64),
    /// To the newest picture, and stay there as the recorder writes (`End`, "Live").
    Live,
}

impl PlayerPanel {
    pub fn new(player: Player) -> Self {
        Self {
            player,
            opened: false,
            failed: None,
            shown: None,
            no_video_at: None,
            playing: false,
            speed: 1.0,
            reverse: false,
            expect_playing: None,
            waiting_since: None,
            notice: None,
            sky: None,
            observations: None,
            picture_rect: None,
            slot: 0,
            event_boxes: Vec::new(),
            event_boxes_for: None,
            event_boxes_asked: None,
            newest: None,
        }
    }

    /// The picture on screen is at the live edge.
    pub fn live(&self) -> bool {
        self.shown.as_ref().is_some_and(|s| s.live)
    }

    /// What the badge over a followed stream's picture says: "LIVE", how far behind the
    /// newest picture it is, or that the recorder stalled. `None` for a stream that has not
    /// grown since it opened (an archive's old recording is not "behind live").
    pub fn live_badge(&self, now: Instant) -> Option<String> {
        let (newest_us, grew_at) = self.newest?;
        let shown = self.shown.as_ref()?;
        let quiet = now.saturating_duration_since(grew_at);
        if shown.live && quiet >= STALLED_AFTER {
            return Some(format!("LIVE · recorder stalled: nothing new for {} s", quiet.as_secs()));
        }
        let behind = (newest_us - shown.frame.time_us).max(0) as f64 / 1e6;
        if shown.live && behind < 1.0 {
            return Some("LIVE".into());
        }
        Some(format!("{} behind live", super::format::duration_text(behind)))
    }

    /// Do what the transport asked. `playing` is the active tile's state, so synced tiles
    /// all go the same way (a tile that had paused on its own is not toggled the other way).
    pub fn act(&mut self, action: Transport, playing: bool) {
        match action {
            Transport::TogglePlay { at } => {
                if playing {
                    self.pause();
                } else {
                    if self.shown.is_none()
                        && let Some(t) = at
                    {
                        self.send(PlayerCommand::Seek(t));
                    }
                    self.play();
                }
            }
            Transport::Pause => self.pause(),
            Transport::Shuttle { speed, reverse } => {
                self.speed = speed;
                self.reverse = reverse;
                self.play();
            }
            Transport::Step(n) => {
                self.send(PlayerCommand::Step(n));
                self.set_playing(false);
            }
            Transport::Scrub(t) => self.send(PlayerCommand::Scrub(t)),
            Transport::Live => {
                self.set_playing(false);
                self.send(PlayerCommand::Live);
            }
            Transport::Jump(d) => {
                // From where the playhead is: a gap's time when there is no video (the dimmed
                // picture kept on screen is from before it).
                if let Some(t) = self.no_video_at.or(self.shown.as_ref().map(|s| s.frame.time_us)) {
                    self.send(PlayerCommand::Seek(t.saturating_add(d)));
                }
            }
        }
    }

    pub fn pause(&mut self) {
        if self.playing {
            self.set_playing(false);
            self.send(PlayerCommand::Pause);
        }
    }

    pub fn send(&mut self, command: PlayerCommand) {
        if matches!(
            command,
            PlayerCommand::Seek(_)
                | PlayerCommand::SeekFrom(_)
                | PlayerCommand::Scrub(_)
                | PlayerCommand::Step(_)
                | PlayerCommand::Live
        ) {
            self.waiting_since.get_or_insert_with(Instant::now);
        }
        let _ = self.player.send(command); // a full queue drops it: a newer one follows
    }

    /// Play at the panel's speed and direction.
    pub fn play(&mut self) {
        self.set_playing(true);
        let speed = if self.reverse { -self.speed } else { self.speed };
        self.send(PlayerCommand::Play(speed));
    }

    /// The transport keys, wherever the focus is except in a text field (consumed, so a
    /// focused button does not act on them too): Space plays/pauses; J and L shuttle
    /// backwards and forwards (again doubles the speed, up to 16×), K pauses; `,` and `.`
    /// step one frame; Shift+←/→ jump 10 s, Ctrl+Shift+←/→ one minute.
    pub fn keyboard(&self, ctx: &egui::Context, playhead: Option<i64>) -> Vec<Transport> {
        let mut out = Vec::new();
        if ctx.egui_wants_keyboard_input() {
            return out;
        }
        let take = |mods: egui::Modifiers, key: egui::Key| ctx.input_mut(|i| i.consume_key(mods, key));
        let none = egui::Modifiers::NONE;
        if take(none, egui::Key::Space) {
            out.push(Transport::TogglePlay { at: playhead });
        }
        if take(none, egui::Key::End) {
            out.push(Transport::Live);
        }
        if take(none, egui::Key::K) && self.playing {
            out.push(Transport::Pause);
        }
        for (key, reverse) in [(egui::Key::J, true), (egui::Key::L, false)] {
            if take(none, key) {
                let speed = if self.playing && self.reverse == reverse { (self.speed * 2.0).min(16.0) } else { 1.0 };
                out.push(Transport::Shuttle { speed, reverse });
            }
        }
        // Every press is a frame: a slow UI frame may carry several presses.
        for (key, frames) in [(egui::Key::Comma, -1), (egui::Key::Period, 1)] {
            let presses = ctx.input_mut(|i| i.count_and_consume_key(none, key));
            if presses > 0 {
                out.push(Transport::Step(frames * i32::try_from(presses).unwrap_or(i32::MAX)));
            }
        }
        let minute = egui::Modifiers::SHIFT | egui::Modifiers::COMMAND;
        for (mods, step) in [(minute, 60_000_000), (egui::Modifiers::SHIFT, 10_000_000)] {
            if take(mods, egui::Key::ArrowLeft) {
                out.push(Transport::Jump(-step));
            }
            if take(mods, egui::Key::ArrowRight) {
                out.push(Transport::Jump(step));
            }
        }
        out
    }

    fn set_playing(&mut self, playing: bool) {
        self.playing = playing;
        self.expect_playing = Some((playing, Instant::now()));
    }

    /// What a picture says about playing, unless it predates the user's last play/pause.
    fn playing_from_player(&mut self, playing: bool) {
        match self.expect_playing {
            Some((expected, since)) if playing != expected && since.elapsed() < Duration::from_secs(1) => {}
            _ => {
                self.expect_playing = None;
                self.playing = playing;
            }
        }
    }

    /// Take in what the player sent: the time of the newest picture (for the timeline's
    /// playhead) and the errors to show as toasts.
    pub fn poll(&mut self, commands: &mut Vec<Command>) -> Option<i64> {
        let mut moved = None;
        // Every message in order (`Player::drain`): an error is never overtaken by a picture.
        let events: Vec<PlayerFrame> = self.player.answers().collect();
        for event in events {
            moved = self.take(event, commands).or(moved);
        }
        moved
    }

    /// Apply one message from the player; the picture's time when it shows one.
    fn take(&mut self, event: PlayerFrame, commands: &mut Vec<Command>) -> Option<i64> {
        let mut moved = None;
        match event {
            PlayerFrame::Opened { .. } => self.opened = true,
            PlayerFrame::Picture(picture) if picture.provisional => {
                // The first stage of a seek (the GOP's keyframe): on screen at once, but the
                // seek goes on — the playhead stays, the spinner may show, and an offscreen
                // screenshot (`offscreen::settled`) waits for the exact picture that follows.
                self.opened = true;
                self.no_video_at = None;
                self.shown = Some(picture);
            }
            PlayerFrame::Picture(picture) => {
                self.opened = true;
                self.waiting_since = None;
                self.no_video_at = None;
                self.notice = picture.notice.clone();
                self.playing_from_player(picture.playing);
                moved = Some(picture.frame.time_us);
                self.shown = Some(picture);
            }
            PlayerFrame::Error(e) => {
                self.waiting_since = None;
                self.playing = false;
                if !self.opened {
                    self.failed = Some(e.clone());
                }
                commands.push(Command::Error { title: format!("{}: cannot play", self.player.stream), detail: e });
            }
            PlayerFrame::Grew { end_us } => self.newest = Some((end_us, Instant::now())),
            PlayerFrame::NoVideo { at_us } => {
                self.opened = true;
                self.waiting_since = None;
                // Nothing to play here: the player has stopped (a picture says otherwise).
                self.playing_from_player(false);
                self.no_video_at = Some(at_us);
                self.notice = None;
                moved = Some(at_us); // the playhead goes there too (a jump into a gap)
            }
        }
        moved
    }

    /// Take in the player's messages and draw the picture into `rect`. Returns the commands
    /// (errors as toasts) and the time of a newly shown picture.
    pub fn picture_ui(&mut self, ui: &mut egui::Ui, rect: Rect, clock: Clock) -> (Vec<Command>, Option<i64>) {
        let mut commands = Vec::new();
        let moved = self.poll(&mut commands);
        self.picture_rect = None;
        let ppp = ui.ctx().pixels_per_point();
        let area = [rect.left() * ppp, rect.top() * ppp, rect.right() * ppp, rect.bottom() * ppp];
        let pic = self.shown.as_ref().map(|s| letterbox(area, s.frame.width as u32, s.frame.height as u32));
        // Black around the picture, not under it: the video pipeline writes every pixel whose
        // centre is in the picture, opaque. One pixel of margin for the viewport's rounding.
        let under_video = pic.map(|p| {
            let (min, max) = ((p[0].ceil() + 1.0, p[1].ceil() + 1.0), (p[2].floor() - 1.0, p[3].floor() - 1.0));
            Rect::from_min_max(egui::pos2(min.0 / ppp, min.1 / ppp), egui::pos2(max.0 / ppp, max.1 / ppp))
        });
        ui.painter().add(super::paint::fill_around(rect, under_video.as_slice(), ppp, Color32::BLACK));
        if let (Some(shown), Some(pic)) = (&self.shown, pic) {
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
                slot: self.slot,
            };
            ui.painter().add(egui_wgpu::Callback::new_paint_callback(rect, callback));
            let picture =
                Rect::from_min_max(egui::pos2(pic[0] / ppp, pic[1] / ppp), egui::pos2(pic[2] / ppp, pic[3] / ppp));
            self.picture_rect = Some(picture);
            if let Some(boxes) = &self.observations
                && self.no_video_at.is_none()
            {
                super::observations::paint_boxes(ui, picture, boxes);
            }
            let current = self.event_boxes_for.as_ref().is_some_and(|(_, t)| *t == shown.frame.time_us);
            if current && self.no_video_at.is_none() {
                paint_event_boxes(ui, picture, (shown.frame.width, shown.frame.height), &self.event_boxes);
            }
            if let Some(sky) = &mut self.sky
                && self.no_video_at.is_none()
                && let Some(e) = sky.paint(ui, picture, shown.frame.time_us)
            {
                commands.push(Command::Error { title: format!("{}: aircraft", self.player.stream), detail: e });
            }
        }
        let inner = rect.shrink(6.0);
        let center = Rect::from_center_size(rect.center(), Vec2::new(rect.width(), 24.0));
        if let Some(at) = self.no_video_at {
            // Dim the old picture: it is not what is at the playhead.
            ui.painter().rect_filled(rect, 0.0, Color32::from_black_alpha(190));
            overlay(
                ui,
                center,
                Layout::top_down(Align::Center),
                format!("no video at {}", format_instant(at, clock)),
                14.0,
            );
        } else if let Some(error) = &self.failed {
            overlay(
                ui,
                center,
                Layout::top_down(Align::Center),
                format!("cannot play {}: {}", clip::name(&self.player.stream), clip::note(error)),
                13.0,
            );
        } else if !self.opened {
            overlay(
                ui,
                center,
                Layout::top_down(Align::Center),
                format!("opening {}…", clip::name(&self.player.stream)),
                14.0,
            );
        } else if let Some(shown) = &self.shown {
            let label = format_instant(shown.frame.time_us, clock);
            overlay(ui, inner, Layout::bottom_up(Align::Min), label, 12.0);
        } else {
            overlay(ui, center, Layout::top_down(Align::Center), "Click the timeline to show video".into(), 14.0);
        }
        if self.waiting_since.is_some_and(|t| t.elapsed() >= SPINNER_DELAY) {
            egui::Spinner::new().size(28.0).paint_at(ui, Rect::from_center_size(rect.center(), Vec2::splat(28.0)));
        }
        if let Some(notice) = &self.notice {
            let text = RichText::new(notice).size(12.0).color(Color32::from_rgb(240, 200, 60));
            ui.new_child(UiBuilder::new().max_rect(inner).layout(Layout::top_down(Align::Max))).label(text);
        }
        if let Some(badge) = self.live_badge(Instant::now()) {
            let color = if badge == "LIVE" { Color32::from_rgb(230, 60, 60) } else { Color32::from_rgb(240, 200, 60) };
            let text = RichText::new(badge).size(12.0).strong().color(color);
            ui.new_child(UiBuilder::new().max_rect(inner).layout(Layout::top_down(Align::Min))).label(text);
        }
        if self.live() {
            // New pictures come as the recorder writes them (the player does not wake the
            // window): look as often as the player does.
            ui.ctx().request_repaint_after(Duration::from_millis(20));
        } else if self.newest.is_some() {
            // A followed stream: the badge's age counts in seconds.
            ui.ctx().request_repaint_after(Duration::from_millis(500));
        }
        if self.playing || self.waiting_since.is_some() || !self.opened {
            ui.ctx().request_repaint_after(Duration::from_millis(10));
        }
        (commands, moved)
    }

    /// The transport bar: step, jump, play/pause, speed, reverse, Skim (lit when `skim` is
    /// on; a click pushes [`Command::ToggleSkim`]) and a "go to time" field (`goto` is its
    /// text; RFC 3339 or the zone's `YYYY-MM-DD HH:MM:SS`). The field's seek is pushed to
    /// `commands` as [`Command::SeekTo`].
    pub fn transport_ui(
        &self,
        ui: &mut egui::Ui,
        playhead: Option<i64>,
        goto: &mut GotoField,
        clock: Clock,
        skim: bool,
        commands: &mut Vec<Command>,
    ) -> Vec<Transport> {
        let mut out = Vec::new();
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(clip::name(&self.player.stream)).strong());
            for (label, hint, d) in
                [("−1m", "Back one minute (Ctrl+Shift+Left)", -60), ("−10s", "Back 10 s (Shift+Left)", -10)]
            {
                if ui.small_button(label).on_hover_text(hint).clicked() {
                    out.push(Transport::Jump(d * 1_000_000));
                }
            }
            if ui.button("|<").on_hover_text("Previous frame (,)").clicked() {
                out.push(Transport::Step(-1));
            }
            // One width for both labels: the bar does not shift when playback starts.
            let play_label = if self.playing { "Pause" } else { "Play" };
            let size = Vec2::new(PLAY_BUTTON_W, ui.spacing().interact_size.y);
            if ui.add_sized(size, egui::Button::new(play_label)).on_hover_text("Play / pause (Space)").clicked() {
                out.push(Transport::TogglePlay { at: playhead });
            }
            if ui.button(">|").on_hover_text("Next frame (.)").clicked() {
                out.push(Transport::Step(1));
            }
            for (label, hint, d) in
                [("+10s", "Forward 10 s (Shift+Right)", 10), ("+1m", "Forward one minute (Ctrl+Shift+Right)", 60)]
            {
                if ui.small_button(label).on_hover_text(hint).clicked() {
                    out.push(Transport::Jump(d * 1_000_000));
                }
            }
            if ui
                .selectable_label(self.live(), "Live")
                .on_hover_text("The newest picture, following the recorder as it writes (End)")
                .clicked()
            {
                out.push(Transport::Live);
            }
            let (mut speed, mut reverse) = (self.speed, self.reverse);
            // Every speed in the list at once (64× without scrolling); no label beside it, so
            // the bar fits two rows in a small window.
            egui::ComboBox::from_id_salt("speed")
                .selected_text(speed_text(speed))
                .width(58.0)
                .height(f32::INFINITY)
                .show_ui(ui, |ui| {
                    for s in SPEEDS {
                        ui.selectable_value(&mut speed, s, speed_text(s));
                    }
                })
                .response
                .on_hover_text("Playback speed (J / L: slower / faster)");
            ui.checkbox(&mut reverse, "Reverse").on_hover_text("Play backwards");
            if (speed, reverse) != (self.speed, self.reverse) {
                out.push(Transport::Shuttle { speed, reverse });
            }
            let hint = if skim {
                "Skim on: events at review speed, quiet spans rushed (S: off)"
            } else {
                "Skim: play events at review speed, rush through quiet spans (S)"
            };
            if ui.selectable_label(skim, "Skim").on_hover_text(hint).clicked() {
                commands.push(Command::ToggleSkim);
            }
            // As wide as the row has room for (wrapping to a new row below 110 points).
            let room = ui.available_width() - ui.spacing().item_spacing.x;
            let width = if room >= 110.0 { room.min(170.0) } else { 170.0_f32.min(ui.max_rect().width() - 8.0) };
            let mut field = egui::TextEdit::singleline(&mut goto.text).hint_text("go to time").desired_width(width);
            if goto.bad {
                field = field.text_color(Color32::LIGHT_RED);
            }
            let response = ui.add(field).on_hover_text("A time (2026-11-01 11:50:00, or RFC 3339); Enter seeks");
            goto.rect = Some(response.rect);
            if response.changed() {
                goto.bad = false;
            }
            if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                match parse_goto(&goto.text, clock) {
                    Some(t) => commands.push(Command::SeekTo(t)),
                    None => goto.bad = true,
                }
            }
        });
        out
    }

    /// A scrub bar over the timeline's visible range: dragging shows keyframes at once,
    /// releasing settles on the exact frame (a [`Command::SeekTo`] pushed to `commands`).
    ///
    /// While dragging, the tile keeps scrubbing (the player decodes keyframes only, so the
    /// big picture follows as fast as the decoder can) and a tooltip at the pointer shows the
    /// stream's preview there from the atlas at once: the preview answers within a frame or
    /// two wherever the decoder lags (long GOPs, 1080p), and the tile shows full resolution
    /// wherever it keeps up. Seeking only on release would leave the big picture still for
    /// the whole drag, which is slower for users who scrub to find a moment by eye.
    pub fn scrub_ui(
        &self,
        ui: &mut egui::Ui,
        view: &TimeView,
        previews: &mut super::previews::Previews,
        clock: Clock,
        commands: &mut Vec<Command>,
    ) -> Vec<Transport> {
        let mut out = Vec::new();
        let (rect, response) = ui.allocate_exact_size(Vec2::new(ui.available_width(), 14.0), Sense::click_and_drag());
        // The theme's track and marker colours (a light theme's bar is not solid black).
        let visuals = ui.visuals();
        ui.painter().rect_filled(rect, 3.0, visuals.widgets.inactive.bg_fill);
        if let Some(t) = self.shown.as_ref().map(|s| s.frame.time_us) {
            let x = rect.left() + view.x_of(t) as f32 * rect.width();
            if rect.x_range().contains(x) {
                ui.painter().rect_filled(
                    Rect::from_center_size(egui::pos2(x, rect.center().y), Vec2::new(4.0, 14.0)),
                    1.0,
                    visuals.strong_text_color(),
                );
            }
        }
        let t_at = |x: f32| view.time_at(f64::from((x - rect.left()) / rect.width()).clamp(0.0, 1.0));
        if (response.dragged() || response.drag_started())
            && let Some(p) = response.interact_pointer_pos()
        {
            out.push(Transport::Scrub(t_at(p.x)));
            let t = t_at(p.x);
            let px_us = view.span_us as f64 / f64::from(rect.width().max(1.0));
            let request = tessera_engine::previews::PreviewRequest {
                stream: self.player.stream.clone(),
                t_us: t,
                tolerance_us: (4.0 * px_us) as i64,
            };
            let lookup = previews.get(ui.ctx(), request);
            egui::Tooltip::for_widget(&response).at_pointer().show(|ui| {
                ui.label(format_instant(t, clock));
                match lookup {
                    super::previews::Lookup::Shown(p) => {
                        let (r, _) = ui.allocate_exact_size(p.size * (240.0 / p.size.x), Sense::hover());
                        p.paint(ui.painter(), r);
                    }
                    super::previews::Lookup::Loading => {
                        ui.label(egui::RichText::new("loading preview…").weak());
                    }
                    super::previews::Lookup::None => {}
                }
            });
        }
        if (response.drag_stopped() || response.clicked())
            && let Some(p) = response.interact_pointer_pos()
        {
            commands.push(Command::SeekTo(t_at(p.x)));
        }
        out
    }
}

/// The "go to time" field: its text, and whether Enter found no time in it.
#[derive(Debug, Default)]
pub struct GotoField {
    pub text: String,
    pub bad: bool,
    /// Where it was drawn last frame (tests check it fits).
    pub rect: Option<Rect>,
}

/// A typed time: RFC 3339, or `YYYY-MM-DD[ T]HH:MM[:SS]` in the clock's zone.
pub fn parse_goto(text: &str, clock: Clock) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = text.parse::<tessera_storage::UnixMicros>() {
        return Some(t.0);
    }
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"].iter().find_map(|f| {
        chrono::NaiveDateTime::parse_from_str(text, f)
            .ok()
            .or_else(|| chrono::NaiveDate::parse_from_str(text, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
    })?;
    let t = match clock {
        Clock::Utc => naive.and_utc(),
        Clock::Local => naive.and_local_timezone(chrono::Local).earliest()?.to_utc(),
    };
    Some(t.timestamp_micros())
}

/// Detection boxes (frame pixels) over the picture rectangle, labelled with class and
/// confidence.
fn paint_event_boxes(ui: &egui::Ui, picture: Rect, (w, h): (usize, usize), boxes: &[EventBox]) {
    let (sx, sy) = (picture.width() / w.max(1) as f32, picture.height() / h.max(1) as f32);
    let painter = ui.painter_at(picture);
    // Drawn at most: every box has a label, and a pile of events at one moment must not make
    // the frame's vertex buffer grow without bound.
    for b in boxes.iter().take(clip::MAX_ITEMS) {
        let r = Rect::from_min_max(
            egui::pos2(picture.left() + b.rect[0] as f32 * sx, picture.top() + b.rect[1] as f32 * sy),
            egui::pos2(picture.left() + b.rect[2] as f32 * sx, picture.top() + b.rect[3] as f32 * sy),
        );
        painter.rect_stroke(r, 0.0, egui::Stroke::new(2.0, b.color), egui::StrokeKind::Outside);
        let text = match b.confidence {
            Some(c) => format!("{} {:.0} %", clip::name(&b.class), c * 100.0),
            None => clip::name(&b.class),
        };
        let galley = painter.layout_no_wrap(text, egui::FontId::proportional(11.0), Color32::BLACK);
        // The tag under the box: a labelled box of the same object (observations) has its
        // tag above, and one must not cover the other.
        let size = galley.size() + Vec2::new(4.0, 2.0);
        let top = if r.bottom() + 2.0 + size.y <= picture.bottom() { r.bottom() + 2.0 } else { r.top() - size.y - 2.0 };
        let label = Rect::from_min_size(egui::pos2(r.left(), top), size);
        painter.rect_filled(label, 1.0, b.color);
        painter.galley(label.min + Vec2::new(2.0, 1.0), galley, Color32::BLACK);
    }
}

/// A label over the picture (a real widget, so screen readers and tests find it).
fn overlay(ui: &mut egui::Ui, rect: Rect, layout: Layout, text: String, size: f32) {
    let text =
        RichText::new(text).size(size).color(Color32::from_gray(230)).background_color(Color32::from_black_alpha(120));
    ui.new_child(UiBuilder::new().max_rect(rect).layout(layout)).label(text);
}

fn speed_text(s: f64) -> String {
    if s < 1.0 { format!("1/{}×", (1.0 / s).round()) } else { format!("{s}×") }
}
