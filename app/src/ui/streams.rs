//! The streams panel: every stream of the archive with its time span and size.

use tessera_storage::UnixMicros;
use tessera_storage::fsv::StreamSummary;

/// Returns the stream the user asked to play, if any.
pub fn streams_ui(ui: &mut egui::Ui, streams: &[StreamSummary]) -> Option<String> {
    if streams.is_empty() {
        ui.label("This archive has no streams yet.");
        return None;
    }
    let mut play = None;
    egui::Grid::new("streams").striped(true).num_columns(6).show(ui, |ui| {
        for h in ["Stream", "From", "To", "Files", "Size", ""] {
            ui.strong(h);
        }
        ui.end_row();
        for s in streams {
            ui.label(&s.name);
            ui.label(short_time(s.start_us));
            ui.label(short_time(s.end_us));
            ui.label(s.files.to_string());
            ui.label(format!("{:.1} MB", s.bytes as f64 / 1e6));
            if ui.small_button("Play").on_hover_text("Show this stream in the player").clicked() {
                play = Some(s.name.clone());
            }
            ui.end_row();
        }
    });
    play
}

fn short_time(us: i64) -> String {
    let text = UnixMicros(us).to_rfc3339();
    text.get(..19).map_or(text.clone(), |t| t.replace('T', " "))
}
