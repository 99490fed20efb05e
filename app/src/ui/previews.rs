//! Previews on screen: the GUI's end of the `previews` thread
//! ([`tessera_engine::previews::start_feed`]) and the cache of previews uploaded to the GPU, for
//! the timeline's filmstrip, the hover tooltip and the scrub bar's drag tooltip.
//!
//! - Lookups ([`Previews::get`]) never wait: a preview not in the cache is asked of the thread
//!   (once, again after [`REASK_AFTER`] if no answer came) and the caller draws "loading…" or
//!   nothing. The thread serves the newest request first, then the rest nearest it, so callers
//!   ask for what they want most last (the filmstrip farthest-first, then the pointer's).
//! - Every preview on screen lives in ONE texture, an atlas of fixed cells
//!   ([`ATLAS`]² RGBA8, [`CELL_W`]×[`CELL_H`] cells = [`CELLS`]), written with
//!   `TextureHandle::set_partial` and drawn as egui image meshes: one texture for the whole
//!   strip. GPU budget: 2048 × 2048 × 4 B = 16 MiB, no mipmaps. Cells are reused least recently
//!   used first (never one drawn this frame).
//! - At most [`UPLOADS_PER_FRAME`] previews are uploaded per frame (320×180×4 = 225 KiB each,
//!   120 a second at 60 Hz):
//!   the UI thread's frame stays short while a view's previews stream in. A new preview fades
//!   in over [`FADE_S`].

use egui::{Color32, ColorImage, Rect, TextureHandle, TextureOptions, Vec2, pos2};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tessera_engine::previews::{PreviewAnswer, PreviewFeed, PreviewImage, PreviewRequest, start_feed};

/// The atlas's side, texels.
pub const ATLAS: usize = 2048;
/// A cell: a 320-px-wide preview up to 4:3 (taller ones are cut at the bottom).
pub const CELL_W: usize = 320;
pub const CELL_H: usize = 240;
const COLS: usize = ATLAS / CELL_W;
/// Cells in the atlas: 6 × 8 = 48 (a 1920-px filmstrip holds 16, plus the tooltips').
pub const CELLS: usize = COLS * (ATLAS / CELL_H);
/// Previews uploaded per frame at most (the rest wait a frame).
pub const UPLOADS_PER_FRAME: usize = 2;
/// Answers taken off the thread's channel and held for upload at most (the thread waits
/// beyond it: memory stays bounded).
const HELD: usize = 16;
/// A new preview's fade-in, seconds.
pub const FADE_S: f64 = 0.15;
/// A request with no answer after this long is asked again (the thread drops the oldest of
/// a long queue).
const REASK_AFTER: Duration = Duration::from_secs(2);
/// Answers remembered (request → keyframe) before they are forgotten and asked again.
const RESOLVED_MAX: usize = 8192;

/// A preview ready to draw from the atlas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shown {
    /// The keyframe's presentation time, µs.
    pub t_us: i64,
    pub texture: egui::TextureId,
    /// Its cell's part of the atlas, in texture coordinates.
    pub uv: Rect,
    /// Its size, pixels.
    pub size: Vec2,
    /// Fade-in: 0 on arrival, 1 after [`FADE_S`].
    pub alpha: f32,
}

impl Shown {
    /// Draw it into `rect` (as an egui image mesh: the atlas's texture).
    pub fn paint(&self, painter: &egui::Painter, rect: Rect) {
        painter.image(self.texture, rect, self.uv, Color32::WHITE.gamma_multiply(self.alpha));
    }

    /// The largest rectangle of its aspect inside `room`, centred.
    pub fn fit(&self, room: Rect) -> Rect {
        let scale = (room.width() / self.size.x).min(room.height() / self.size.y);
        Rect::from_center_size(room.center(), self.size * scale)
    }
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lookup {
    Shown(Shown),
    /// Asked; not here yet.
    Loading,
    /// The stream has no video there (or its preview could not be made).
    None,
}

/// One atlas cell's preview.
struct Cell {
    stream: String,
    t_us: i64,
    size: [usize; 2],
    /// When it was uploaded (the fade-in; real time: kittest's clock stands still).
    arrived: Instant,
    /// The frame it was last drawn in (least recently used goes first).
    used: u64,
}

/// The GUI's previews: the feed, the atlas and what is known about the requests.
pub struct Previews {
    feed: Option<PreviewFeed>,
    /// Why the thread did not start (shown in place of previews).
    pub error: Option<String>,
    texture: Option<TextureHandle>,
    cells: Vec<Option<Cell>>,
    /// (stream, keyframe µs) → its cell.
    by_frame: HashMap<(String, i64), usize>,
    /// Answered requests: the keyframe shown for each (`None`: no video there).
    resolved: HashMap<PreviewRequest, Option<i64>>,
    /// Requests sent and not answered yet, with when.
    asked: HashMap<PreviewRequest, Instant>,
    /// Answers waiting for their upload.
    arrived: VecDeque<(PreviewRequest, PreviewImage)>,
    frame: u64,
    fading: bool,
    /// Previews uploaded so far (`bench ui`).
    pub uploaded: u64,
}

impl Previews {
    /// Start the `previews` thread on `archive` (it opens the archive and stores itself).
    pub fn start(archive: PathBuf) -> Self {
        match start_feed(archive) {
            Ok(feed) => Self::start_with(Some(feed)),
            Err(e) => {
                let mut previews = Self::start_with(None);
                previews.error = Some(e.to_string());
                previews
            }
        }
    }

    fn start_with(feed: Option<PreviewFeed>) -> Self {
        Self {
            feed,
            error: None,
            texture: None,
            cells: (0..CELLS).map(|_| None).collect(),
            by_frame: HashMap::new(),
            resolved: HashMap::new(),
            asked: HashMap::new(),
            arrived: VecDeque::new(),
            frame: 0,
            fading: false,
            uploaded: 0,
        }
    }

    /// No thread: every lookup finds nothing (`bench ui --no-previews`, the peer run).
    pub fn disabled() -> Self {
        let mut previews = Self::start_with(None);
        previews.error = Some("previews are off".into());
        previews
    }

    /// Once a frame, before any lookup: take the thread's answers and upload a few.
    pub fn begin_frame(&mut self, ctx: &egui::Context) {
        self.frame += 1;
        // The atlas is made on the first frame (16 MiB filled once), not on the frame the
        // first preview arrives.
        if self.texture.is_none() && self.feed.is_some() {
            let blank = ColorImage::filled([ATLAS, ATLAS], Color32::TRANSPARENT);
            self.texture = Some(ctx.load_texture("previews", blank, TextureOptions::LINEAR));
        }
        self.fading = false;
        // A request the thread dropped (a long queue) is forgotten; `get` asks again while it
        // is still wanted.
        self.asked.retain(|_, at| at.elapsed() < 2 * REASK_AFTER);
        let room = HELD.saturating_sub(self.arrived.len());
        let answers: Vec<PreviewAnswer> =
            self.feed.as_ref().map(|f| f.answers().take(room).collect()).unwrap_or_default();
        {
            for answer in answers {
                let PreviewAnswer { request, result } = answer;
                self.asked.remove(&request);
                match result {
                    Ok(Some(image)) => {
                        if self.by_frame.contains_key(&(request.stream.clone(), image.t_us)) {
                            self.resolve(request, Some(image.t_us));
                        } else {
                            self.arrived.push_back((request, image));
                        }
                    }
                    Ok(None) => self.resolve(request, None),
                    Err(e) => {
                        tracing::warn!("no preview of {} at {}: {e}", request.stream, request.t_us);
                        self.resolve(request, None);
                    }
                }
            }
        }
        for _ in 0..UPLOADS_PER_FRAME {
            let Some((request, image)) = self.arrived.pop_front() else { break };
            let t = image.t_us;
            if self.upload(&request.stream, &image) {
                self.resolve(request, Some(t));
            } else {
                // Every cell is on screen: the request is asked again when still wanted.
                break;
            }
        }
        if !self.arrived.is_empty() || !self.asked.is_empty() {
            // Answers wake nothing: look again soon.
            ctx.request_repaint_after(Duration::from_millis(16));
        }
    }

    fn resolve(&mut self, request: PreviewRequest, t: Option<i64>) {
        if self.resolved.len() >= RESOLVED_MAX {
            self.resolved.clear();
        }
        self.resolved.insert(request, t);
    }

    /// Put `image` in a free cell, else the least recently used one not drawn this frame.
    fn upload(&mut self, stream: &str, image: &PreviewImage) -> bool {
        let Some(i) = (self.cells.iter().position(Option::is_none)).or_else(|| {
            (self.cells.iter().enumerate())
                .filter_map(|(i, c)| c.as_ref().filter(|c| c.used < self.frame).map(|c| (i, c.used)))
                .min_by_key(|&(_, used)| used)
                .map(|(i, _)| i)
        }) else {
            return false;
        };
        if let Some(old) = self.cells[i].take() {
            self.by_frame.remove(&(old.stream, old.t_us));
        }
        let (w, h) = (image.width as usize, image.height as usize);
        let (cw, ch) = (w.min(CELL_W), h.min(CELL_H));
        let pixels: Vec<Color32> = (0..ch)
            .flat_map(|y| image.rgba[y * w * 4..(y * w + cw) * 4].chunks_exact(4))
            // JPEG previews are opaque: premultiplied is the same (and a plain copy).
            .map(|p| Color32::from_rgba_premultiplied(p[0], p[1], p[2], p[3]))
            .collect();
        let Some(texture) = self.texture.as_mut() else { return false };
        texture.set_partial(cell_origin(i), ColorImage::new([cw, ch], pixels), TextureOptions::LINEAR);
        // Counted as used this frame: the next upload of this frame does not take its cell.
        self.cells[i] = Some(Cell {
            stream: stream.to_owned(),
            t_us: image.t_us,
            size: [cw, ch],
            arrived: Instant::now(),
            used: self.frame,
        });
        self.by_frame.insert((stream.to_owned(), image.t_us), i);
        self.uploaded += 1;
        true
    }

    /// The preview for `request`: from the atlas when it has arrived, else asked of the thread
    /// (call in order of want: the last asked is served first). Never waits.
    pub fn get(&mut self, ctx: &egui::Context, request: PreviewRequest) -> Lookup {
        if let Some(&answer) = self.resolved.get(&request) {
            let Some(t) = answer else { return Lookup::None };
            if let Some(&i) = self.by_frame.get(&(request.stream.clone(), t))
                && let Some(cell) = self.cells[i].as_mut()
            {
                cell.used = self.frame;
                let fade = (cell.arrived.elapsed().as_secs_f64() / FADE_S).clamp(0.0, 1.0) as f32;
                if fade < 1.0 {
                    self.fading = true;
                    ctx.request_repaint();
                }
                let [w, h] = cell.size;
                let [x, y] = cell_origin(i);
                // Half a texel in from the cell's edges: linear filtering does not reach the
                // neighbouring cell.
                let uv = Rect::from_min_max(
                    pos2((x as f32 + 0.5) / ATLAS as f32, (y as f32 + 0.5) / ATLAS as f32),
                    pos2(((x + w) as f32 - 0.5) / ATLAS as f32, ((y + h) as f32 - 0.5) / ATLAS as f32),
                );
                let texture = self.texture.as_ref().map_or(egui::TextureId::default(), TextureHandle::id);
                return Lookup::Shown(Shown { t_us: t, texture, uv, size: Vec2::new(w as f32, h as f32), alpha: fade });
            }
            // Its cell went to another preview: ask again.
            self.resolved.remove(&request);
        }
        let Some(feed) = &self.feed else { return Lookup::None };
        let fresh = self.asked.get(&request).is_some_and(|at| at.elapsed() < REASK_AFTER);
        let queued = self.arrived.iter().any(|(r, _)| r == &request);
        if !fresh && !queued && feed.send(request.clone()).is_ok() {
            // (A full queue refuses: asked again next frame.)
            self.asked.insert(request, Instant::now());
        }
        ctx.request_repaint_after(Duration::from_millis(16));
        Lookup::Loading
    }

    /// Nothing asked is outstanding, nothing waits for upload, nothing is fading (tests and
    /// `tessera screenshot` wait for it).
    pub fn settled(&self) -> bool {
        self.feed.is_none() || (self.asked.is_empty() && self.arrived.is_empty() && !self.fading)
    }
}

/// A cell's top-left texel.
fn cell_origin(i: usize) -> [usize; 2] {
    [(i % COLS) * CELL_W, (i / COLS) * CELL_H]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_tile_the_atlas_without_overlap() {
        assert_eq!(CELLS, 48);
        for i in 0..CELLS {
            let [x, y] = cell_origin(i);
            assert!(x + CELL_W <= ATLAS && y + CELL_H <= ATLAS, "cell {i} at {x},{y}");
        }
        let origins: std::collections::HashSet<_> = (0..CELLS).map(cell_origin).collect();
        assert_eq!(origins.len(), CELLS);
    }
}
