//! Toasts: errors (and short notices, such as "no later event"). An error is a short title with the details one click away, stacked in the bottom-right
//! corner. Workers report failures (a tile that cannot be read, a stream that cannot be
//! played, an archive that cannot be opened) and the user sees them here instead of in a log.
//! The same message repeated (one corrupt tile at several zoom levels) is one toast with a
//! count, so a bad file cannot flood the screen.

use egui::{Align2, Color32, RichText};
use std::time::{Duration, Instant};

/// A toast disappears this long after its last repeat, unless the pointer is on it.
pub const TOAST_LIFETIME: Duration = Duration::from_secs(12);
/// Toasts on screen at most (the oldest goes first).
pub const MAX_TOASTS: usize = 5;

#[derive(Clone, Debug)]
pub struct Toast {
    pub title: String,
    pub detail: String,
    /// How many times this title was reported while the toast was up.
    pub count: u32,
    /// A notice, not an error: no details, gone sooner.
    pub notice: bool,
    last: Instant,
}

/// A notice disappears this long after its last repeat.
pub const NOTICE_LIFETIME: Duration = Duration::from_secs(4);

#[derive(Default, Debug)]
pub struct Toasts {
    pub list: Vec<Toast>,
}

impl Toasts {
    /// Report an error: `title` says what failed, `detail` why (shown on demand).
    pub fn error(&mut self, title: impl Into<String>, detail: impl Into<String>) {
        let (title, detail) = (title.into(), detail.into());
        tracing::warn!("{title}: {detail}");
        self.push(title, detail, false);
    }

    /// A short notice (nothing failed).
    pub fn notice(&mut self, title: impl Into<String>) {
        self.push(title.into(), String::new(), true);
    }

    fn push(&mut self, title: String, detail: String, notice: bool) {
        // Messages may quote stored names of any length: drawn clipped (see `clip`).
        let (title, detail) = (super::clip::note(&title), super::clip::note(&detail));
        if let Some(t) = self.list.iter_mut().find(|t| t.title == title) {
            t.count += 1;
            t.detail = detail;
            t.last = Instant::now();
            return;
        }
        if self.list.len() >= MAX_TOASTS {
            self.list.remove(0);
        }
        self.list.push(Toast { title, detail, count: 1, notice, last: Instant::now() });
    }

    /// Draw the toasts over everything else.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if self.list.is_empty() {
            return;
        }
        let mut keep = vec![true; self.list.len()];
        let mut hovered = false;
        egui::Area::new(egui::Id::unique("tessera-toasts"))
            .order(egui::Order::Foreground)
            .anchor(Align2::RIGHT_BOTTOM, [-10.0, -10.0])
            .show(ctx, |ui| {
                ui.set_max_width(420.0);
                for (i, toast) in self.list.iter().enumerate() {
                    let color = if toast.notice { Color32::LIGHT_BLUE } else { Color32::LIGHT_RED };
                    let frame = egui::Frame::popup(ui.style()).stroke(egui::Stroke::new(1.0, color));
                    let response = frame.show(ui, |ui| {
                        ui.horizontal(|ui| {
                            let title = if toast.count > 1 {
                                format!("{} (×{})", toast.title, toast.count)
                            } else {
                                toast.title.clone()
                            };
                            ui.label(RichText::new(title).color(color).strong());
                            if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                                keep[i] = false;
                            }
                        });
                        if !toast.notice {
                            egui::CollapsingHeader::new("Details").id_salt(("toast", i)).show(ui, |ui| {
                                ui.label(RichText::new(&toast.detail).monospace().size(11.0));
                            });
                        }
                    });
                    hovered |= response.response.contains_pointer();
                }
            });
        let now = Instant::now();
        let mut i = 0;
        self.list.retain(|t| {
            let lifetime = if t.notice { NOTICE_LIFETIME } else { TOAST_LIFETIME };
            let alive = keep[i] && (hovered || now.duration_since(t.last) < lifetime);
            i += 1;
            alive
        });
        if hovered {
            for t in &mut self.list {
                t.last = now;
            }
        }
        if !self.list.is_empty() {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
    }
}
