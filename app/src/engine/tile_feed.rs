//! The tile feed: a named worker thread that owns the archive's event database and answers
//! tile requests for the timeline, so the UI thread never touches SQLite. Requests and replies
//! go through bounded channels; a full request queue makes the UI retry next frame (drawing
//! coarser tiles meanwhile), never block.

use crate::timeline::{CameraRows, Palette, masks_of};
use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};
use std::path::PathBuf;
use std::sync::Arc;
use tessera_render::timeline::TileMasks;
use tessera_storage::events::EventDb;
use tessera_storage::tiles::TileService;

/// Requests in flight at most (a 2000-px view of 8 cameras needs ~100 tiles).
pub const QUEUE: usize = 512;

#[derive(Clone, Debug)]
pub struct TileRequest {
    pub source: u32,
    /// −10..=20: below 0 the feed rasterises events with ms precision.
    pub level: i8,
    pub index: i64,
    pub now_s: i64,
}

#[derive(Clone, Debug)]
pub enum FeedReply {
    /// The cameras' class rows (sent at start and whenever a camera gains a class).
    Cameras(Vec<CameraRows>),
    /// A tile: `None` = no detections. `complete` = it ended before `now` (no refetch needed).
    Tile { source: u32, level: i8, index: i64, masks: Option<Arc<TileMasks>>, complete: bool },
    /// The feed could not start or failed a request (shown as a toast).
    Error(String),
}

pub struct TileFeed {
    requests: Sender<TileRequest>,
    replies: Receiver<FeedReply>,
}

impl TileFeed {
    /// Start the feed for `cameras` (their index is their atlas source id).
    pub fn start(root: PathBuf, cameras: Vec<String>) -> Self {
        let (requests, request_rx) = bounded::<TileRequest>(QUEUE);
        let (reply_tx, replies) = bounded::<FeedReply>(QUEUE);
        let spawned = std::thread::Builder::new().name("tile-feed".into()).spawn({
            let reply_tx = reply_tx.clone();
            move || {
                if let Err(e) = serve(&root, &cameras, &request_rx, &reply_tx) {
                    let _ = reply_tx.send(FeedReply::Error(e.to_string()));
                }
            }
        });
        if let Err(e) = spawned {
            let _ = reply_tx.try_send(FeedReply::Error(format!("cannot start the tile feed: {e}")));
        }
        Self { requests, replies }
    }

    /// Queue a request; `false` when the queue is full (try again next frame).
    pub fn request(&self, request: TileRequest) -> bool {
        match self.requests.try_send(request) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Next reply, if any (never blocks).
    pub fn try_reply(&self) -> Option<FeedReply> {
        match self.replies.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => None,
        }
    }

    /// Block for the next reply (benchmarks and tests only).
    pub fn wait_reply(&self, timeout: std::time::Duration) -> Option<FeedReply> {
        self.replies.recv_timeout(timeout).ok()
    }
}

fn camera_rows(db: &EventDb, cameras: &[String], palette: &Palette) -> anyhow::Result<Vec<CameraRows>> {
    cameras
        .iter()
        .enumerate()
        .map(|(source, camera)| {
            let classes = match db.string_id(camera)? {
                Some(id) => db.camera_classes(id)?,
                None => Vec::new(),
            };
            Ok(CameraRows::new(camera, source as u32, &classes, palette))
        })
        .collect()
}

fn serve(
    root: &std::path::Path,
    cameras: &[String],
    requests: &Receiver<TileRequest>,
    replies: &Sender<FeedReply>,
) -> anyhow::Result<()> {
    let db = EventDb::open(root)?;
    let palette = Palette::builtin();
    let mut rows = camera_rows(&db, cameras, &palette)?;
    replies.send(FeedReply::Cameras(rows.clone()))?;
    while let Ok(request) = requests.recv() {
        let Some(camera) = cameras.get(request.source as usize) else { continue };
        let real_now = tessera_storage::UnixMicros::now().secs_floor();
        let (tile, complete) =
            TileService::new(&db, real_now).get_any(camera, request.level, request.index, request.now_s)?;
        let unknown = tile.rows().iter().any(|(class, _)| rows[request.source as usize].bit_of(*class).is_none());
        if unknown {
            rows = camera_rows(&db, cameras, &palette)?;
            replies.send(FeedReply::Cameras(rows.clone()))?;
        }
        let masks = masks_of(&tile, &rows[request.source as usize]).map(Arc::from);
        let reply =
            FeedReply::Tile { source: request.source, level: request.level, index: request.index, masks, complete };
        if replies.send(reply).is_err() {
            break; // the UI is gone
        }
    }
    Ok(())
}
