//! The timeline's non-drawing state: the tile cache fed by the [`TileFeed`], the class rows
//! with their colours (the palette is the UI's; the feed only numbers classes), and turning a
//! view into strip plans each frame. The GUI panel and `tessera bench timeline` both call
//! [`TimelineModel::poll`] then [`TimelineModel::plans`]: one code path, so the bench's
//! timings and its zero-allocation check are those of the panel.

use super::palette::Palette;
use super::plan::{CameraRows, Row, StripGeometry, plan_strip};
use super::view::TimeView;
use crate::tile_feed::{FeedReply, QUEUE, TileFeed, TileRequest};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tessera_render::timeline::{StripPlan, TILE_COLUMNS, TileData, TileStyle};

/// CPU-side tile budget: 8,192 tiles with detections (64 MiB of masks).
pub const CACHE_TILES: usize = 8192;
/// Tiles still in progress are refetched this often (the live edge stays current; events
/// an ingest adds are signalled sooner by the feed: [`FeedReply::Changed`]).
pub const LIVE_REFRESH: Duration = Duration::from_secs(2);

struct Entry {
    data: TileData,
    fetched: Instant,
    complete: bool,
    used: u64,
}

/// Where the strips go and how tall rows are, in physical pixels. Strips stack from `y0`:
/// each has `header` above its rows (the camera's name) and `footer` below (recorded video
/// and the gap to the next camera).
#[derive(Clone, Copy, Debug)]
pub struct StripArea {
    pub x0: f32,
    pub y0: f32,
    pub width: f32,
    pub row_height: f32,
    pub row_pitch: f32,
    pub header: f32,
    pub footer: f32,
}

pub struct TimelineModel {
    /// `None` when its thread could not start (said once, in `errors`).
    feed: Option<TileFeed>,
    /// What the feed's masks mean (fixed for the feed's life).
    style: TileStyle,
    pub cameras: Vec<CameraRows>,
    cache: HashMap<(u32, i8, i64), Entry>,
    pending: HashSet<(u32, i8, i64)>,
    frame: u64,
    generation: u64,
    /// Tiles received from the feed (ever).
    pub tiles_fetched: u64,
    /// Tiles drawn from a coarser level in the last frame because they were not here yet.
    pub missing_last_frame: usize,
    /// Failures the feed reported, until the UI takes them ([`TimelineModel::take_errors`]).
    pub errors: Vec<String>,
    /// Tile requests that failed (ever); those tiles are drawn empty and not asked again.
    pub tiles_failed: u64,
    /// Changes the feed reported (events added to drawn time), ever.
    pub outdated: u64,
    palette: Palette,
    plans: Vec<StripPlan>,
}

impl TimelineModel {
    /// What the tiles mean (the feed's style).
    pub fn style(&self) -> TileStyle {
        self.style
    }

    /// The model of `cameras` (their index is their atlas source id) in `root`, its tiles
    /// fed by a new `tile-feed` thread sending masks of `style`.
    pub fn start(root: PathBuf, cameras: Vec<String>, style: TileStyle) -> Self {
        let (feed, errors) = match TileFeed::start(root, cameras, style) {
            Ok(feed) => (Some(feed), Vec::new()),
            Err(e) => (None, vec![e.to_string()]),
        };
        Self {
            feed,
            style,
            cameras: Vec::new(),
            // Full size up front (≈ 0.7 MB): taking in a tile never grows a table, so frames
            // stay allocation-free on the UI thread even while tiles arrive.
            cache: HashMap::with_capacity(CACHE_TILES + 1),
            pending: HashSet::with_capacity(QUEUE),
            frame: 0,
            generation: 0,
            tiles_fetched: 0,
            missing_last_frame: 0,
            errors,
            tiles_failed: 0,
            outdated: 0,
            palette: Palette::builtin(),
            plans: Vec::new(),
        }
    }

    /// Take in what the feed has sent (never blocks).
    pub fn poll(&mut self) {
        // One answer at a time: `apply` needs the whole model, the iterator borrows the feed.
        while let Some(reply) = self.feed.as_ref().and_then(|feed| feed.answers().next()) {
            self.apply(reply);
        }
    }

    /// Wait up to `timeout` for one reply (benchmarks, tests).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        match self.feed.as_ref().and_then(|feed| feed.wait(timeout)) {
            Some(reply) => {
                self.apply(reply);
                true
            }
            None => false,
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn apply(&mut self, reply: FeedReply) {
        match reply {
            FeedReply::Cameras(classes) => {
                let cameras: Vec<CameraRows> = classes.iter().map(|c| CameraRows::of(c, &self.palette)).collect();
                if cameras != self.cameras {
                    // Row bits may have changed: drop tiles so they are refetched.
                    self.cache.clear();
                    self.cameras = cameras;
                }
            }
            FeedReply::Tile { source, level, index, masks, complete } => {
                let id = (source, level, index);
                self.pending.remove(&id);
                self.tiles_fetched += 1;
                self.generation += 1;
                let data = match masks {
                    Some(masks) => TileData::Masks { generation: self.generation, masks },
                    None => TileData::Empty,
                };
                self.cache.insert(id, Entry { data, fetched: Instant::now(), complete, used: self.frame });
                if self.cache.len() > CACHE_TILES {
                    self.evict();
                }
            }
            FeedReply::Failed { source, level, index, error } => {
                // Drawn as empty and not asked again: one bad blob is one report, not one a frame.
                let id = (source, level, index);
                self.pending.remove(&id);
                self.tiles_failed += 1;
                let entry = Entry { data: TileData::Empty, fetched: Instant::now(), complete: true, used: self.frame };
                self.cache.insert(id, entry);
                self.errors.push(error);
            }
            FeedReply::Error(e) => self.errors.push(e),
            FeedReply::Changed { source, from_s, to_s } => self.outdate(source, from_s, to_s),
        }
    }

    /// Events were added over `[from_s, to_s]` of `source`: every held tile over that span is
    /// asked again when next drawn (its old data drawn until the new arrives), at every level;
    /// the others stay.
    fn outdate(&mut self, source: u32, from_s: i64, to_s: i64) {
        let long_ago = Instant::now().checked_sub(LIVE_REFRESH).unwrap_or_else(Instant::now);
        for (&(s, level, index), entry) in &mut self.cache {
            // A tile covers TILE_COLUMNS columns of 2^level seconds from index · its span.
            let span = TILE_COLUMNS as f64 * 2f64.powi(i32::from(level));
            let (start, end) = (index as f64 * span, (index + 1) as f64 * span);
            if s == source && start <= to_s as f64 + 1.0 && end > from_s as f64 {
                entry.complete = false;
                entry.fetched = long_ago;
            }
        }
        self.outdated += 1;
    }

    /// What is held of a tile (`None`: not fetched), without asking for it.
    pub fn held(&self, source: u32, level: i8, index: i64) -> Option<&TileData> {
        self.cache.get(&(source, level, index)).map(|e| &e.data)
    }

    /// Tiles with detections held for atlas source `source` (tests check what was drawn).
    pub fn tiles_with_detections(&self, source: u32) -> usize {
        self.cache.iter().filter(|(k, e)| k.0 == source && matches!(e.data, TileData::Masks { .. })).count()
    }

    /// The failures reported since the last call (the UI shows them as toasts).
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }

    fn evict(&mut self) {
        let mut ages: Vec<u64> = self.cache.values().map(|e| e.used).collect();
        ages.sort_unstable();
        let cutoff = ages[ages.len() / 10];
        let frame = self.frame;
        self.cache.retain(|_, e| e.used > cutoff || e.used == frame);
    }

    /// What is known of a tile; asks the feed for it when missing or stale.
    fn tile(&mut self, source: u32, level: i8, index: i64, now_s: i64) -> TileData {
        let id = (source, level, index);
        let frame = self.frame;
        let (data, stale) = match self.cache.get_mut(&id) {
            Some(e) => {
                e.used = frame;
                (e.data.clone(), !e.complete && e.fetched.elapsed() >= LIVE_REFRESH)
            }
            None => {
                self.missing_last_frame += 1;
                (TileData::Missing, true)
            }
        };
        if stale
            && !self.pending.contains(&id)
            && self.feed.as_ref().is_some_and(|feed| feed.send(TileRequest { source, level, index, now_s }).is_ok())
        {
            self.pending.insert(id);
        }
        data
    }

    /// The plan of camera `i` (atlas source `i`) in `geometry` for one frame.
    fn plan_camera(
        &mut self,
        i: usize,
        view: &TimeView,
        geometry: StripGeometry,
        now_us: i64,
        shown: &dyn Fn(&Row) -> bool,
    ) -> Option<StripPlan> {
        // Tiles are known up to `now_s` (later columns are blank): the second under way counts,
        // so a detection shows in its column while that second is still running (the live
        // edge; its tile is refetched as events come: `FeedReply::Changed`).
        let now_s = (now_us + 999_999).div_euclid(1_000_000);
        // Move the rows out while `tile` borrows the cache (no per-frame clone).
        let cameras = std::mem::take(&mut self.cameras);
        let style = self.style;
        let plan = cameras.get(i).map(|rows| {
            let mut plan = plan_strip(rows, shown, geometry, view, now_us, &mut |level, index| {
                self.tile(rows.source, level, index, now_s)
            });
            plan.style = style;
            plan
        });
        self.cameras = cameras;
        plan
    }

    /// Start a frame (tiles used from now on count as used this frame).
    fn begin_frame(&mut self) {
        self.frame += 1;
        self.missing_last_frame = 0;
    }

    /// Plans for every camera (plan `i` is camera `i`), stacked from `area.y0`, for one frame;
    /// `shown` filters rows (the legend's toggles). The vector is reused frame to frame: with
    /// every tile at hand this allocates nothing (`tessera bench timeline` checks it).
    pub fn plans(
        &mut self,
        view: &TimeView,
        area: StripArea,
        now_us: i64,
        shown: &dyn Fn(&Row) -> bool,
    ) -> &[StripPlan] {
        self.begin_frame();
        let mut y = area.y0;
        let mut plans = std::mem::take(&mut self.plans);
        plans.clear();
        for i in 0..self.cameras.len() {
            let geometry = StripGeometry {
                x0: area.x0,
                y0: (y + area.header).round(),
                width: area.width,
                row_height: area.row_height,
                row_pitch: area.row_pitch,
            };
            if let Some(plan) = self.plan_camera(i, view, geometry, now_us, shown) {
                y = plan.rect[3] + area.footer;
                plans.push(plan);
            }
        }
        self.plans = plans;
        &self.plans
    }
}
