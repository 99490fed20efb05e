//! The video grid: 1, 2×2 or 3×3 players, each tile showing the stream its header picks.
//! One tile is active: its picture moves the timeline's playhead, the transport bar below
//! the grid shows its state, and the side panel's overlays follow it. With sync on, every
//! transport action (play, pause, shuttle, step, seek, jump, scrub) goes to all tiles, so all
//! cameras show the same moment; with it off, only the active tile moves.
//!
//! The grid never starts players itself (the app does, with the sky overlays and toasts);
//! it only draws tiles and applies transport actions, which are channel sends.

use super::clip;
use super::command::Command;
use super::player_panel::{GotoField, PlayerPanel, Transport};
use egui::{Color32, Rect, Sense, Stroke, UiBuilder, Vec2};
use tessera_engine::player::PlayerCommand;
use tessera_engine::timeline::TimeView;
use tessera_engine::timeline::ticks::Clock;
use tessera_storage::fsv::StreamSummary;

/// Tiles per side the grid offers.
pub const SIDES: [usize; 3] = [1, 2, 3];
/// Header height of a tile (its stream picker), points.
const HEADER_H: f32 = 20.0;
/// The transport and scrub bars under the grid, points.
const TRANSPORT_H: f32 = 56.0;

pub struct VideoGrid {
    /// Tiles per side: 1, 2 or 3.
    pub side: usize,
    /// The players, in reading order (at most `side²`; fewer when the archive has fewer
    /// streams).
    pub tiles: Vec<PlayerPanel>,
    pub active: usize,
    pub sync: bool,
    /// Skim mode is on (the transport's Skim button is lit).
    pub skim: bool,
    pub goto: GotoField,
    /// The transport and scrub bar's height last frame, points.
    transport_h: f32,
    /// The tiles' picture areas in the last [`ui`](Self::ui): drawn opaque (the picture and
    /// black around it), so the central panel paints its background around them.
    pub opaque: Vec<Rect>,
}

impl Default for VideoGrid {
    fn default() -> Self {
        Self {
            side: 1,
            tiles: Vec::new(),
            active: 0,
            sync: true,
            skim: false,
            goto: GotoField::default(),
            opaque: Vec::new(),
            transport_h: TRANSPORT_H,
        }
    }
}

impl VideoGrid {
    pub fn active(&self) -> Option<&PlayerPanel> {
        self.tiles.get(self.active)
    }

    pub fn active_mut(&mut self) -> Option<&mut PlayerPanel> {
        self.tiles.get_mut(self.active)
    }

    /// The streams on screen, in tile order.
    pub fn streams(&self) -> Vec<String> {
        self.tiles.iter().map(|t| t.player.stream.clone()).collect()
    }

    /// Put `panel` in tile `i` (appending when `i` is past the end), keeping its slot.
    pub fn set_tile(&mut self, i: usize, mut panel: PlayerPanel) {
        if i < self.tiles.len() {
            panel.slot = i;
            self.tiles[i] = panel;
        } else {
            panel.slot = self.tiles.len();
            self.tiles.push(panel);
        }
    }

    /// Keep at most `side²` tiles.
    pub fn set_side(&mut self, side: usize) {
        self.side = side.clamp(1, 3);
        self.tiles.truncate(self.side * self.side);
        self.active = self.active.min(self.tiles.len().saturating_sub(1));
    }

    /// Apply a transport action to the active tile, or to every tile when synced.
    pub fn apply(&mut self, action: Transport) {
        let playing = self.active().is_some_and(|p| p.playing);
        let active = self.active;
        for (i, tile) in self.tiles.iter_mut().enumerate() {
            if self.sync || i == active {
                tile.act(action, playing);
            }
        }
    }

    /// Seek the active tile, or every tile when synced (what [`Command::SeekTo`] does to the
    /// players).
    pub fn seek(&mut self, t: i64) {
        self.send_seek(PlayerCommand::Seek(t));
    }

    /// Seek to the first picture at or after `t` (what [`Command::SeekFrom`] does).
    pub fn seek_from(&mut self, t: i64) {
        self.send_seek(PlayerCommand::SeekFrom(t));
    }

    fn send_seek(&mut self, command: PlayerCommand) {
        let active = self.active;
        for (i, tile) in self.tiles.iter_mut().enumerate() {
            if self.sync || i == active {
                tile.send(command);
            }
        }
    }

    /// The transport keys (see [`PlayerPanel::keyboard`]), applied.
    pub fn keyboard(&mut self, ctx: &egui::Context, playhead: Option<i64>) {
        let Some(active) = self.active() else { return };
        for action in active.keyboard(ctx, playhead) {
            self.apply(action);
        }
    }

    /// Draw the layout bar, the tiles, and the active tile's transport and scrub bars.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &TimeView,
        playhead: Option<i64>,
        clock: Clock,
        streams: &[StreamSummary],
        previews: &mut super::previews::Previews,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        self.opaque.clear();
        ui.horizontal(|ui| {
            ui.label("Grid");
            for side in SIDES {
                let label = if side == 1 { "1".to_string() } else { format!("{side}×{side}") };
                if ui.selectable_label(self.side == side, label).on_hover_text("Videos shown at once").clicked()
                    && self.side != side
                {
                    commands.push(Command::SetGrid(side));
                }
            }
            let mut sync = self.sync;
            if ui.checkbox(&mut sync, "Sync").on_hover_text("Play, seek and step every video together").changed() {
                commands.push(Command::SetSync(sync));
            }
            ui.separator();
            if ui.small_button("Save frame").on_hover_text("The active video's picture as a PNG").clicked() {
                commands.push(Command::Export { kind: super::review::ExportKind::Frame, out: None });
            }
        });
        if self.tiles.is_empty() {
            ui.label("This archive has no streams to play.");
            return commands;
        }
        let area = ui.available_rect_before_wrap();
        // The transport's height as drawn last frame (one row, or two in a narrow window).
        let grid_h = (area.height() - self.transport_h.max(TRANSPORT_H)).max(60.0);
        // Fewer streams than places: the rows they fill share the height.
        let rows = self.tiles.len().div_ceil(self.side).max(1);
        let cell = Vec2::new(area.width() / self.side as f32, grid_h / rows as f32);
        let (grid_rect, _) = ui.allocate_exact_size(Vec2::new(area.width(), grid_h), Sense::hover());
        for i in 0..self.tiles.len() {
            let (row, col) = (i / self.side, i % self.side);
            let min = grid_rect.min + Vec2::new(col as f32 * cell.x, row as f32 * cell.y);
            let rect = Rect::from_min_size(min, cell).shrink(1.0);
            self.tile_ui(ui, i, rect, clock, streams, &mut commands);
        }
        let Some(active) = self.tiles.get(self.active) else { return commands };
        let mut actions = active.transport_ui(ui, playhead, &mut self.goto, clock, self.skim, &mut commands);
        actions.extend(active.scrub_ui(ui, view, previews, clock, &mut commands));
        // From the grid's bottom to where the next widget would go: the transport's rows, the
        // scrub bar and their spacing.
        let transport_h = ui.cursor().top() - grid_rect.bottom();
        if (transport_h - self.transport_h).abs() > 0.5 {
            self.transport_h = transport_h;
            ui.ctx().request_discard("the transport's rows changed: lay the grid out again");
        }
        for action in actions {
            self.apply(action);
        }
        commands
    }

    fn tile_ui(
        &mut self,
        ui: &mut egui::Ui,
        i: usize,
        rect: Rect,
        clock: Clock,
        streams: &[StreamSummary],
        commands: &mut Vec<Command>,
    ) {
        let header = Rect::from_min_size(rect.min, Vec2::new(rect.width(), HEADER_H));
        let picture = Rect::from_min_max(egui::pos2(rect.left(), header.bottom()), rect.max);
        let current = self.tiles[i].player.stream.clone();
        // A child, not a scope: a scope would move the parent's cursor back up to the header.
        {
            let ui = &mut ui.new_child(UiBuilder::new().max_rect(header));
            ui.horizontal(|ui| {
                egui::ComboBox::from_id_salt(("tile stream", i))
                    .selected_text(clip::name(&current))
                    .width((header.width() - 12.0).clamp(60.0, 240.0))
                    .show_ui(ui, |ui| {
                        for s in streams.iter().take(clip::MAX_ITEMS) {
                            let text = clip::name(&s.name);
                            if ui.selectable_label(s.name == current, text).clicked() && s.name != current {
                                commands.push(Command::SetTileStream { tile: i, stream: s.name.clone() });
                            }
                        }
                    })
                    .response
                    .on_hover_text("The stream this tile shows");
            });
        }
        let (tile_commands, moved) = self.tiles[i].picture_ui(ui, picture, clock);
        self.opaque.push(picture.intersect(ui.clip_rect()));
        commands.extend(tile_commands);
        if i == self.active
            && let Some(t) = moved
        {
            commands.push(Command::PlayheadMoved(t));
        }
        let response = ui.interact(picture, ui.scope_id().with(("video tile", i)), Sense::click());
        if response.clicked() && i != self.active {
            commands.push(Command::SelectTile(i));
        }
        if self.tiles.len() > 1 {
            let color = if i == self.active { Color32::from_rgb(240, 200, 60) } else { Color32::from_gray(60) };
            ui.painter().rect_stroke(rect, 0.0, Stroke::new(1.5, color), egui::StrokeKind::Inside);
        }
    }
}

/// Streams to fill new tiles with: first those of cameras not on screen (HD before SD),
/// then any stream not on screen.
pub fn streams_to_add(streams: &[StreamSummary], shown: &[String], count: usize) -> Vec<String> {
    let camera = |s: &str| tessera_storage::events::camera_of_stream(s).to_string();
    let mut cameras: Vec<String> = shown.iter().map(|s| camera(s)).collect();
    let mut picked: Vec<String> = Vec::new();
    let mut by_preference: Vec<&StreamSummary> = streams.iter().collect();
    by_preference.sort_by_key(|s| !s.name.ends_with("-HD"));
    for s in &by_preference {
        if picked.len() < count && !shown.contains(&s.name) && !cameras.contains(&camera(&s.name)) {
            cameras.push(camera(&s.name));
            picked.push(s.name.clone());
        }
    }
    for s in &by_preference {
        if picked.len() < count && !shown.contains(&s.name) && !picked.contains(&s.name) {
            picked.push(s.name.clone());
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str) -> StreamSummary {
        StreamSummary { name: name.into(), start_us: 0, end_us: 1, files: 1, bytes: 1 }
    }

    #[test]
    fn new_tiles_take_other_cameras_first() {
        let streams: Vec<_> = ["cam-1-HD", "cam-1-LD", "cam-2-LD", "cam-2-HD", "cam-3-LD"].map(stream).into();
        let picked = streams_to_add(&streams, &["cam-1-HD".into()], 3);
        assert_eq!(picked, ["cam-2-HD", "cam-3-LD", "cam-1-LD"]);
        assert_eq!(streams_to_add(&streams, &[], 9).len(), 5);
    }
}
