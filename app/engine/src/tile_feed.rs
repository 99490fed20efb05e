//! The tile feed: a named worker thread that owns the archive's event database and answers
//! tile requests for the timeline, so the UI thread never touches SQLite. Requests and replies
//! go through bounded channels; a full request queue makes the UI retry next frame (drawing
//! coarser tiles meanwhile), never block.
//!
//! The feed turns tiles into class masks (the work); which colour a class gets is the UI's
//! business (the timeline's palette), so nothing here knows about drawing. A request that
//! fails (a corrupt tile blob, a database error) is answered with [`FeedReply::Failed`] and the
//! feed goes on with the next one.

use crate::worker::{Refused, Worker, WorkerError};
use crossbeam_channel::{Receiver, Sender};
use std::path::PathBuf;
use std::sync::Arc;
use tessera_render::timeline::{COVERAGE_CLASSES, TILE_COLUMNS, TileMasks, TileStyle};
use tessera_storage::EventDb;
use tessera_storage::events::Events;
use tessera_storage::tiles::{Tile, TileService};

/// Requests in flight at most (a 2000-px view of 8 cameras needs ~100 tiles).
pub const QUEUE: usize = 512;
/// Classes per camera that get a bit in the masks.
pub const MAX_CLASSES: usize = 64;

#[derive(Clone, Debug)]
pub struct TileRequest {
    pub source: u32,
    /// −10..=20: below 0 the feed rasterises events with ms precision.
    pub level: i8,
    pub index: i64,
    pub now_s: i64,
}

/// A camera's classes as `(class id, name)` in id order: a class's bit in the tile masks is
/// its position here (the first [`MAX_CLASSES`]), stable as classes are added.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraClasses {
    pub camera: String,
    /// Atlas source id (the camera's index in the feed's list).
    pub source: u32,
    pub classes: Vec<(u32, String)>,
}

#[derive(Clone, Debug)]
pub enum FeedReply {
    /// The cameras' classes (sent at start and whenever a camera gains a class).
    Cameras(Vec<CameraClasses>),
    /// A tile: `None` = no detections. `complete` = it ended before `now` (no refetch needed).
    Tile { source: u32, level: i8, index: i64, masks: Option<Arc<TileMasks>>, complete: bool },
    /// This request failed; the feed carries on with the next.
    Failed { source: u32, level: i8, index: i64, error: String },
    /// The feed could not start, or could not re-read the camera list.
    Error(String),
    /// Events were added to atlas source `source` over `[from_s, to_s]` (an ingest, a live
    /// detector): tiles over that span are out of date and are asked again.
    Changed { source: u32, from_s: i64, to_s: i64 },
}

/// How often the feed looks whether the event database changed while no request comes (one
/// `PRAGMA data_version`; a query of the new events only when it moved).
pub const CHANGE_LOOK: std::time::Duration = std::time::Duration::from_millis(250);

pub struct TileFeed {
    worker: Worker<TileRequest, FeedReply>,
}

impl TileFeed {
    /// Start the `tile-feed` thread for `cameras` (their index is their atlas source id),
    /// sending masks of `style`.
    pub fn start(root: PathBuf, cameras: Vec<String>, style: TileStyle) -> Result<Self, WorkerError> {
        let worker = Worker::start("tile-feed", QUEUE, QUEUE, move |requests, replies| {
            if let Err(e) = serve(&root, &cameras, style, &requests, &replies) {
                let _ = replies.send(FeedReply::Error(format!("{}: {e:#}", root.display())));
            }
        })?;
        Ok(Self { worker })
    }

    /// Queue a request; refused when the queue is full (try again next frame).
    pub fn send(&self, request: TileRequest) -> Result<(), Refused> {
        self.worker.send(request)
    }

    /// The replies that have arrived (never blocks).
    pub fn answers(&self) -> impl Iterator<Item = FeedReply> + '_ {
        self.worker.answers()
    }

    /// Block for the next reply (benchmarks and tests only).
    pub fn wait(&self, timeout: std::time::Duration) -> Option<FeedReply> {
        self.worker.wait(timeout)
    }
}

/// A tile's columns as class masks for the atlas (bit = the class's position in `classes`);
/// `None` when nothing is set.
pub fn masks_of(tile: &Tile, classes: &[(u32, String)]) -> Option<Box<TileMasks>> {
    if tile.is_empty() {
        return None;
    }
    let bit_of = |class: u32| classes.iter().take(MAX_CLASSES).position(|(id, _)| *id == class);
    let mut masks = Box::new([0u64; TILE_COLUMNS]);
    for (class, line) in tile.rows() {
        let Some(bit) = bit_of(*class) else { continue };
        for (w, word) in line.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                masks[w * 64 + i] |= 1 << bit;
                bits &= bits - 1;
            }
        }
    }
    Some(masks)
}

/// Levels below a column folded into its coverage at most: 2^5 = 32 finer columns, so a
/// coverage tile costs 32 tile reads at most.
const COVERAGE_FOLD: i8 = 5;

/// A tile's columns as coverage for the atlas: for each of the first [`COVERAGE_CLASSES`]
/// classes, 4 bits (`class position × 4`) holding the share of the column's time in which
/// the class was seen, from the popcount of the finer level's bits under the column (up to
/// 32 of them), rounded up so a single second still shows (1..=15; 0 = none). Columns of
/// one second or less are 15 where set. Also returns whether every finer tile is complete.
pub fn coverage_masks(
    service: &TileService<'_, Events<'_>>,
    camera: Option<u32>,
    request: &TileRequest,
    tile: &Tile,
    classes: &[(u32, String)],
) -> anyhow::Result<(Option<Box<TileMasks>>, bool)> {
    let position = |class: u32| classes.iter().take(COVERAGE_CLASSES).position(|(id, _)| *id == class);
    if tile.is_empty() {
        return Ok((None, true)); // nothing at this level: nothing beneath it either
    }
    let level = request.level;
    let sub = (level - COVERAGE_FOLD).max(0);
    let fold = if level > 0 { u32::try_from(level - sub).unwrap_or(0) } else { 0 };
    let per_column = 1u32 << fold;
    let mut counts = vec![[0u8; COVERAGE_CLASSES]; TILE_COLUMNS];
    let mut complete = true;
    let mut add = |t: &Tile, offset: usize| {
        for (class, line) in t.rows() {
            let Some(p) = position(*class) else { continue };
            for (w, word) in line.iter().enumerate() {
                let mut bits = *word;
                while bits != 0 {
                    let column = (offset + w * 64 + bits.trailing_zeros() as usize) >> fold;
                    counts[column][p] = counts[column][p].saturating_add(1);
                    bits &= bits - 1;
                }
            }
        }
    };
    if fold == 0 {
        add(tile, 0);
    } else {
        for j in 0..i64::from(per_column) {
            let index = request.index.saturating_mul(i64::from(per_column)).saturating_add(j);
            let (finer, done) = service.get_any(camera, sub, index, request.now_s)?;
            complete &= done;
            add(&finer, j as usize * TILE_COLUMNS);
        }
    }
    let mut masks = Box::new([0u64; TILE_COLUMNS]);
    let mut any = false;
    for (column, counts) in counts.iter().enumerate() {
        for (p, &n) in counts.iter().enumerate() {
            if n > 0 {
                let share = (u32::from(n) * 15).div_ceil(per_column).clamp(1, 15);
                masks[column] |= u64::from(share) << (4 * p);
                any = true;
            }
        }
    }
    Ok((any.then_some(masks), complete))
}

/// The classes of each camera, in the order given.
pub fn camera_classes(db: &EventDb, cameras: &[String]) -> anyhow::Result<Vec<CameraClasses>> {
    cameras
        .iter()
        .enumerate()
        .map(|(source, camera)| {
            let classes = match db.string_id(camera)? {
                Some(id) => db.events().camera_classes(id)?,
                None => Vec::new(),
            };
            Ok(CameraClasses { camera: camera.clone(), source: source as u32, classes })
        })
        .collect()
}

fn serve(
    root: &std::path::Path,
    cameras: &[String],
    style: TileStyle,
    requests: &Receiver<TileRequest>,
    replies: &Sender<FeedReply>,
) -> anyhow::Result<()> {
    let db = EventDb::open_read(root)?;
    // One service for the feed's life: what it synthesizes stays cached until the data change.
    let service = db.tile_service();
    let mut known = camera_classes(&db, cameras)?;
    replies.send(FeedReply::Cameras(known.clone()))?;
    // What the feed has seen of the database: changes after these are news.
    let mut version = db.data_version()?;
    let mut newest_event = db.newest_event_id()?;
    let mut last_look = std::time::Instant::now();
    loop {
        // Wake for the next look on time, however many requests come meanwhile.
        let request = match requests.recv_timeout(CHANGE_LOOK.saturating_sub(last_look.elapsed())) {
            Ok(request) => Some(request),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        if last_look.elapsed() >= CHANGE_LOOK {
            last_look = std::time::Instant::now();
            match changes(&db, cameras, &mut version, &mut newest_event) {
                Ok(changed) => {
                    for reply in changed {
                        if replies.send(reply).is_err() {
                            return Ok(());
                        }
                    }
                }
                Err(e) => tracing::debug!("tile feed: looking for new events: {e:#}"),
            }
        }
        let Some(request) = request else { continue };
        let Some(camera) = cameras.get(request.source as usize) else { continue };
        let reply = match answer(&db, &service, &request, style, &mut known, cameras, replies) {
            Ok(reply) => reply,
            Err(e) => FeedReply::Failed {
                source: request.source,
                level: request.level,
                index: request.index,
                error: format!("{camera}, level {} tile {}: {e:#}", request.level, request.index),
            },
        };
        if replies.send(reply).is_err() {
            break; // the UI is gone
        }
    }
    Ok(())
}

/// When the database changed since `version`: the spans the events added after
/// `newest_event` cover, per atlas source (the tiles over them are out of date).
fn changes(
    db: &EventDb,
    cameras: &[String],
    version: &mut i64,
    newest_event: &mut i64,
) -> anyhow::Result<Vec<FeedReply>> {
    let now = db.data_version()?;
    if now == *version {
        return Ok(Vec::new());
    }
    *version = now;
    let (spans, newest) = db.events_after(*newest_event)?;
    *newest_event = newest;
    let mut out = Vec::new();
    for (camera_id, first_ms, last_ms) in spans {
        let name = db.string(camera_id)?;
        if let Some(source) = cameras.iter().position(|c| *c == name) {
            let (from_s, to_s) = (first_ms.div_euclid(1000), last_ms.div_euclid(1000));
            out.push(FeedReply::Changed { source: source as u32, from_s, to_s });
        }
    }
    Ok(out)
}

/// One request (for `cameras[request.source]`): the tile as masks of `style`; refreshes the
/// class lists first when the tile has a class the UI has not been told about.
fn answer(
    db: &EventDb,
    service: &TileService<'_, Events<'_>>,
    request: &TileRequest,
    style: TileStyle,
    known: &mut Vec<CameraClasses>,
    cameras: &[String],
    replies: &Sender<FeedReply>,
) -> anyhow::Result<FeedReply> {
    let camera_id = db.string_id(&cameras[request.source as usize])?;
    let (tile, complete) = service.get_any(camera_id, request.level, request.index, request.now_s)?;
    let source = request.source as usize;
    let has = |known: &[CameraClasses], class: u32| known[source].classes.iter().any(|(id, _)| *id == class);
    if tile.rows().iter().any(|(class, _)| !has(known, *class)) {
        *known = camera_classes(db, cameras)?;
        replies.send(FeedReply::Cameras(known.clone()))?;
    }
    let (masks, complete) = match style {
        TileStyle::Presence => (masks_of(&tile, &known[source].classes), complete),
        TileStyle::Coverage => {
            let (masks, below) = coverage_masks(service, camera_id, request, &tile, &known[source].classes)?;
            (masks, complete && below)
        }
    };
    let masks = masks.map(Arc::from);
    Ok(FeedReply::Tile { source: request.source, level: request.level, index: request.index, masks, complete })
}
