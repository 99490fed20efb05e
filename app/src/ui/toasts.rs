//! Toasts: errors (and short notices, such as "no later event"; a saved file's notice names
//! the file and stays until dismissed, a click opening its folder). An error is a short title with the details one click away, stacked in the bottom-right
//! corner. Workers report failures (a tile that cannot be read, a stream that cannot be
//! played, an archive that cannot be opened — until one opens) and the user sees them here instead of in a log.
//! The same message repeated (one corrupt tile at several zoom levels) is one toast with a
//! count, so a bad file cannot flood the screen.

use egui::{Align2, Color32, RichText};
use std::path::{Path, PathBuf};
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
    /// A file was written here: the toast stays until dismissed, and a click on it opens the
    /// folder that holds the file.
    pub file: Option<PathBuf>,
    /// An archive failed to open: the toast goes when one opens.
    pub failed_open: bool,
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

    /// The archive at `path` cannot be opened, because of `detail`.
    pub fn open_failed(&mut self, path: &Path, detail: impl Into<String>) {
        let (title, detail) = (format!("Cannot open {}", path.display()), detail.into());
        tracing::warn!("{title}: {detail}");
        let i = self.push(title, detail, false);
        if let Some(t) = self.list.get_mut(i) {
            t.failed_open = true;
        }
    }

    /// An archive opened: the failures to open one before are no news any more.
    pub fn dismiss_failed_opens(&mut self) {
        self.list.retain(|t| !t.failed_open);
    }

    /// A short notice (nothing failed).
    pub fn notice(&mut self, title: impl Into<String>) {
        self.push(title.into(), String::new(), true);
    }

    /// A file was written to `path`: `title` names it; the notice stays until dismissed, and
    /// a click on it opens the folder.
    pub fn saved(&mut self, title: impl Into<String>, path: PathBuf) {
        let i = self.push(title.into(), String::new(), true);
        if let Some(t) = self.list.get_mut(i) {
            t.file = Some(path);
        }
    }

    /// Add (or count a repeat of) a toast; its index.
    fn push(&mut self, title: String, detail: String, notice: bool) -> usize {
        // Messages may quote stored names of any length: drawn clipped (see `clip`).
        let (title, detail) = (super::clip::note(&title), super::clip::note(&detail));
        if let Some(i) = self.list.iter().position(|t| t.title == title) {
            let t = &mut self.list[i];
            t.count += 1;
            t.detail = detail;
            t.last = Instant::now();
            return i;
        }
        if self.list.len() >= MAX_TOASTS {
            self.list.remove(0);
        }
        self.list.push(Toast { title, detail, count: 1, notice, file: None, failed_open: false, last: Instant::now() });
        self.list.len() - 1
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
                                format!("{} (×{})", toast.title, super::format::number(toast.count))
                            } else {
                                toast.title.clone()
                            };
                            let text = RichText::new(title).color(color).strong();
                            if let Some(file) = &toast.file {
                                let folder = file.parent().unwrap_or(Path::new("."));
                                let hint = format!("Open {}", folder.display());
                                if ui.link(text).on_hover_text(hint).clicked() {
                                    open_folder(folder);
                                    keep[i] = false;
                                }
                            } else {
                                ui.label(text);
                            }
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
            let alive = keep[i] && (hovered || t.alive_at(now));
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

impl Toast {
    /// Whether the toast is still up at `now` (unless dismissed): a saved-file notice stays
    /// until dismissed, the others go after their lifetime.
    pub fn alive_at(&self, now: Instant) -> bool {
        let lifetime = if self.notice { NOTICE_LIFETIME } else { TOAST_LIFETIME };
        self.file.is_some() || now.duration_since(self.last) < lifetime
    }
}

/// Open `folder` in the desktop's file manager (errors are logged: nothing to do about them).
fn open_folder(folder: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener).arg(folder).spawn() {
        tracing::warn!("{opener} {}: {e}", folder.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_notice_stays_until_dismissed_and_names_the_file() {
        let mut toasts = Toasts::default();
        toasts.notice("No later event");
        toasts.saved("Saved the frame to /tmp/x/tessera-frame-a.png", PathBuf::from("/tmp/x/tessera-frame-a.png"));
        let later = Instant::now() + Duration::from_secs(3600);
        let [notice, saved] = &toasts.list[..] else { panic!("two toasts") };
        assert!(!notice.alive_at(later), "a plain notice goes");
        assert!(saved.alive_at(later), "the saved-file notice stays");
        assert!(saved.title.contains("/tmp/x/tessera-frame-a.png"));
        assert_eq!(saved.file.as_deref(), Some(Path::new("/tmp/x/tessera-frame-a.png")));
    }

    #[test]
    fn an_archive_that_opens_dismisses_the_failures_to_open_only() {
        let mut toasts = Toasts::default();
        toasts.error("Timeline tiles cannot be read", "cam-1");
        toasts.open_failed(Path::new("/tmp/broken"), "not a database");
        toasts.notice("No later event");
        assert!(toasts.list.iter().any(|t| t.title == "Cannot open /tmp/broken" && t.detail == "not a database"));
        toasts.dismiss_failed_opens();
        let titles: Vec<&str> = toasts.list.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, ["Timeline tiles cannot be read", "No later event"]);
    }
}
