//! The streams panel: the archive's streams grouped by camera, each with its time span and
//! size on hover; the streams on screen are in bold, the active tile's highlighted. Clicking
//! a stream shows it in the active tile.

use super::clip;
use std::collections::BTreeMap;
use tessera_storage::UnixMicros;
use tessera_storage::events::camera_of_stream;
use tessera_storage::fsv::StreamSummary;

/// Returns the stream the user asked to play, if any.
pub fn streams_ui(
    ui: &mut egui::Ui,
    streams: &[StreamSummary],
    shown: &[String],
    active: Option<&str>,
) -> Option<String> {
    if streams.is_empty() {
        ui.label("This archive has no streams yet.");
        return None;
    }
    let mut cameras: BTreeMap<&str, Vec<&StreamSummary>> = BTreeMap::new();
    for s in streams {
        cameras.entry(camera_of_stream(&s.name)).or_default().push(s);
    }
    let mut play = None;
    for (camera, streams) in cameras {
        egui::CollapsingHeader::new(clip::name(camera)).id_salt(("camera", camera)).default_open(true).show(ui, |ui| {
            for s in streams {
                let on_screen = shown.contains(&s.name);
                let text = egui::RichText::new(clip::name(&s.name));
                let text = if on_screen { text.strong() } else { text };
                let hover = format!(
                    "{} … {}\n{}, {:.1} MB\nClick: show in the active tile",
                    short_time(s.start_us),
                    short_time(s.end_us),
                    super::format::count(s.files, "file", "files"),
                    s.bytes as f64 / 1e6
                );
                if ui.selectable_label(active == Some(s.name.as_str()), text).on_hover_text(hover).clicked() {
                    play = Some(s.name.clone());
                }
            }
        });
    }
    play
}

fn short_time(us: i64) -> String {
    let text = UnixMicros(us).to_rfc3339();
    text.get(..19).map_or(text.clone(), |t| t.replace('T', " "))
}
