//! Aircraft for the player's overlay: feder queries run on the `sky-query` thread, in
//! 10-minute buckets of UTC time (padded so interpolation has a point on each side and the
//! recent track is there), and are cached so playback never waits on them. The UI asks for the
//! bucket at the displayed picture's time (and the next one, ahead of playback) and draws from
//! whatever is cached: an aircraft list a frame or two late, never a stalled picture.
//! [`SkyFeed`] is that cache over the thread's [`Worker`], as the timeline's model is over the
//! tile feed: [`SkyFeed::poll`] takes the answers in once a frame.
//!
//! A bucket's query is `filter_waypoints` + `crosses` over a box around the camera that holds
//! its `max_range_m` plus a margin (so the sidecar answers it, when one is built).

use crate::trajectories::projection::{Camera, Position, Projection, Projector};
use crate::worker::{Refused, Worker, WorkerError};
use crossbeam_channel::{Receiver, Sender};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use tessera_storage::feder::{self, Bounds, Connections, FederStore, Query, RunOptions, Sidecar, SpaceOp, Trajectory};

/// Seconds of UTC per cached bucket.
pub const BUCKET_S: i64 = 600;
/// Padding on both sides of a bucket: bracketing points for interpolation (feeds sample
/// every 10–90 s) and the recent track.
pub const PAD_S: i64 = 180;
/// Seconds of track drawn behind an aircraft.
pub const TRACK_S: f64 = 60.0;
/// Buckets kept.
const CACHED_BUCKETS: usize = 12;
/// Beyond `max_range_m`, so an aircraft at the edge of range has its bracketing points.
const BOX_MARGIN_M: f64 = 30_000.0;

/// A stream's sky camera and the store its aircraft come from.
#[derive(Clone, Debug)]
pub struct SkyLink {
    pub camera: Camera,
    pub store: PathBuf,
}

/// One aircraft at the displayed instant.
#[derive(Clone, Debug)]
pub struct Aircraft {
    pub source_id: String,
    pub callsign: String,
    pub position: Position,
    pub projection: Projection,
    /// Camera pixels of the last [`TRACK_S`] seconds (points in front of the camera), oldest first.
    pub track: Vec<(f64, f64)>,
    /// When (UTC s) it is first in the frame within the cached window.
    pub enters_frame_at: Option<f64>,
}

type Answer = (i64, Result<Arc<Vec<Trajectory>>, String>);

/// The overlay's data source for one stream.
pub struct SkyFeed {
    pub projector: Projector,
    /// Buckets asked for, buckets' trajectories (or the query's error) answered.
    worker: Worker<i64, Answer>,
    cache: BTreeMap<i64, Arc<Vec<Trajectory>>>,
    pending: HashSet<i64>,
    /// The last query error (shown once as a toast by the panel).
    pub error: Option<String>,
}

impl SkyFeed {
    /// Start the `sky-query` thread for `link`.
    pub fn start(link: SkyLink) -> Result<Self, WorkerError> {
        let projector = Projector::new(&link.camera);
        let worker_projector = projector.clone();
        let worker = Worker::start("sky-query", 4, 4, move |incoming, outgoing| {
            serve(&link.store, &worker_projector, &incoming, &outgoing)
        })?;
        Ok(SkyFeed { projector, worker, cache: BTreeMap::new(), pending: HashSet::new(), error: None })
    }

    /// Take in finished queries; returns a new error to show, once.
    pub fn poll(&mut self) -> Option<String> {
        let mut fresh_error = None;
        for (bucket, answer) in self.worker.answers() {
            self.pending.remove(&bucket);
            match answer {
                Ok(trajectories) => {
                    self.cache.insert(bucket, trajectories);
                }
                Err(e) => {
                    if self.error.as_ref() != Some(&e) {
                        fresh_error = Some(e.clone());
                    }
                    self.error = Some(e);
                    self.cache.insert(bucket, Arc::new(Vec::new())); // do not ask again and again
                }
            }
        }
        fresh_error
    }

    /// Ask for the buckets around `t` (UTC s): its own and the next (playback runs forward).
    pub fn want(&mut self, t: f64) {
        let bucket = (t.floor() as i64).div_euclid(BUCKET_S);
        for b in [bucket, bucket + 1] {
            if self.cache.contains_key(&b) || self.pending.contains(&b) {
                continue;
            }
            match self.worker.send(b) {
                Ok(()) => {
                    self.pending.insert(b);
                }
                Err(Refused::Full | Refused::Gone) => break, // next frame
            }
        }
        while self.cache.len() > CACHED_BUCKETS {
            // Drop the bucket farthest from now.
            let far = *self.cache.keys().max_by_key(|k| (**k - bucket).abs()).unwrap_or(&bucket);
            self.cache.remove(&far);
        }
    }

    /// Whether the bucket at `t` is still being fetched.
    pub fn loading(&self, t: f64) -> bool {
        !self.cache.contains_key(&(t.floor() as i64).div_euclid(BUCKET_S))
    }

    /// Aircraft within range at `t` (UTC s), sorted by range; `None` until the bucket is here.
    pub fn aircraft_at(&self, t: f64) -> Option<Vec<Aircraft>> {
        let trajectories = self.cache.get(&(t.floor() as i64).div_euclid(BUCKET_S))?;
        let camera = self.projector.camera();
        let max_range = camera.max_range_m;
        let mut out: Vec<Aircraft> = trajectories
            .iter()
            .filter_map(|traj| {
                let (position, projection) = self.projector.place(&traj.points, t)?;
                // Track points near the picture only: far off-axis, the lens polynomial folds
                // points back in (its model holds only over the field of view).
                let near_picture = |&(u, v): &(f64, f64)| {
                    let (w, h) = (f64::from(camera.width), f64::from(camera.height));
                    (-0.25 * w..1.25 * w).contains(&u) && (-0.25 * h..1.25 * h).contains(&v)
                };
                let track = traj
                    .points
                    .iter()
                    .filter(|p| f64::from(p.time) >= t - TRACK_S && f64::from(p.time) < t)
                    .filter_map(|p| self.projector.project(p.lat, p.lon, p.height_m()?).pixel)
                    .chain(projection.pixel)
                    .filter(near_picture)
                    .collect();
                let enters_frame_at = traj.points.iter().find_map(|p| {
                    let pr = self.projector.project(p.lat, p.lon, p.height_m()?);
                    (pr.in_frame && pr.range_m <= max_range).then_some(f64::from(p.time))
                });
                Some(Aircraft {
                    source_id: traj.source_id.clone(),
                    callsign: traj.callsign.clone(),
                    position,
                    projection,
                    track,
                    enters_frame_at,
                })
            })
            .collect();
        out.sort_by(|a, b| a.projection.range_m.total_cmp(&b.projection.range_m));
        Some(out)
    }
}

/// The query of one bucket: its padded window, points inside a box around the camera.
pub fn bucket_query(camera: &Camera, bucket: i64) -> Query {
    let reach_m = camera.max_range_m.min(400_000.0) + BOX_MARGIN_M;
    let dlat = reach_m / 111_320.0;
    let dlon = (reach_m / (111_320.0 * camera.lat_deg.to_radians().cos().max(0.05))).min(180.0);
    Query {
        from: bucket * BUCKET_S - PAD_S,
        to: (bucket + 1) * BUCKET_S + PAD_S,
        space: Some(SpaceOp::Crosses),
        bounds: Bounds::from_box(
            (camera.lat_deg - dlat).max(-90.0),
            camera.lon_deg - dlon,
            (camera.lat_deg + dlat).min(90.0),
            camera.lon_deg + dlon,
        ),
        filter_waypoints: true,
        ..Query::default()
    }
}

/// The `sky-query` thread: answer bucket requests until the feed is dropped.
fn serve(store: &std::path::Path, projector: &Projector, requests: &Receiver<i64>, answers: &Sender<Answer>) {
    let opened = FederStore::open(store).map_err(|e| e.to_string()).and_then(|store| {
        let sidecar = Sidecar::open(&store).map_err(|e| e.to_string())?;
        Ok((store, sidecar))
    });
    let connections = Connections::default();
    for bucket in requests.iter() {
        let answer = match &opened {
            Err(e) => Err(e.clone()),
            Ok((store, sidecar)) => {
                let q = bucket_query(projector.camera(), bucket);
                feder::run(store, &connections, sidecar.as_ref(), &q, RunOptions::default())
                    .map(|out| Arc::new(out.trajectories))
                    .map_err(|e| e.to_string())
            }
        };
        if answers.send((bucket, answer)).is_err() {
            return;
        }
    }
}
