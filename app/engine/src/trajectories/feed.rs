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
//!
//! The thread also works out when each aircraft is in the frame ([`in_frame_spans`]): by the
//! overlay's own test ([`Projector::place`] at an instant, then `in_frame`), sampled every
//! [`SPAN_STEP_S`] and bisected to [`SPAN_PRECISION_S`] — not at the trajectory's points,
//! which feeds send every 10–90 s (an aircraft in view between two points would otherwise
//! "enter" at the next one, seconds late).

use crate::trajectories::projection::{Camera, Position, Projection, Projector};
use crate::worker::{Refused, Worker, WorkerError};
use crossbeam_channel::{Receiver, Sender};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use tessera_storage::feder::{
    self, Bounds, Connections, FederStore, Point, Query, RunOptions, Sidecar, SpaceOp, Trajectory,
};

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
/// Seconds between the instants tested for an aircraft being in the frame (a pass through a
/// corner shorter than this may be missed; never one worth jumping to).
pub const SPAN_STEP_S: f64 = 0.5;
/// Entries and exits are bisected to this many seconds (well under a picture).
pub const SPAN_PRECISION_S: f64 = 0.001;

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
    /// When (UTC s) it entered the frame, if it is in the frame now; else when it next
    /// enters it, else when it last entered it (within the cached window).
    pub enters_frame_at: Option<f64>,
    /// When (UTC s) it is first in the frame within the cached window: an order that does
    /// not change as the playhead moves.
    pub first_in_frame_at: Option<f64>,
}

/// A bucket's trajectories and, for each, the spans `[enter, exit)` (UTC s) it is in the frame.
struct Bucket {
    trajectories: Vec<Trajectory>,
    in_frame: Vec<Vec<(f64, f64)>>,
}

type Answer = (i64, Result<Arc<Bucket>, String>);

/// The overlay's data source for one stream.
pub struct SkyFeed {
    pub projector: Projector,
    /// Buckets asked for, buckets' trajectories (or the query's error) answered.
    worker: Worker<i64, Answer>,
    cache: BTreeMap<i64, Arc<Bucket>>,
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
                Ok(found) => {
                    self.cache.insert(bucket, found);
                }
                Err(e) => {
                    if self.error.as_ref() != Some(&e) {
                        fresh_error = Some(e.clone());
                    }
                    self.error = Some(e);
                    // Do not ask again and again.
                    self.cache.insert(bucket, Arc::new(Bucket { trajectories: Vec::new(), in_frame: Vec::new() }));
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
        let bucket = self.cache.get(&(t.floor() as i64).div_euclid(BUCKET_S))?;
        let camera = self.projector.camera();
        let mut out: Vec<Aircraft> = bucket
            .trajectories
            .iter()
            .zip(&bucket.in_frame)
            .filter_map(|(traj, spans)| {
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
                // Spans are half-open and `in_frame` is the same test, so a span holds `t`
                // exactly when the aircraft is drawn now.
                let now = spans.iter().find(|(enter, exit)| (*enter..*exit).contains(&t));
                let enters_frame_at = now
                    .or_else(|| spans.iter().find(|(enter, _)| *enter > t))
                    .or_else(|| spans.last())
                    .map(|(enter, _)| *enter);
                Some(Aircraft {
                    source_id: traj.source_id.clone(),
                    callsign: traj.callsign.clone(),
                    position,
                    projection,
                    track,
                    enters_frame_at,
                    first_in_frame_at: spans.first().map(|(enter, _)| *enter),
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

/// When (UTC s) an aircraft on `points` is in the frame, within `window`: half-open spans
/// `[enter, exit)` in time order, by the overlay's test ([`Projector::place`], then
/// `in_frame`) every [`SPAN_STEP_S`], each entry and exit bisected to [`SPAN_PRECISION_S`]
/// (an entry is an instant at which it is in the frame). A span open at the window's (or the
/// trajectory's) end closes there.
pub fn in_frame_spans(projector: &Projector, points: &[Point], window: (f64, f64)) -> Vec<(f64, f64)> {
    let in_frame = |t: f64| projector.place(points, t).is_some_and(|(_, p)| p.in_frame);
    let (Some(first), Some(last)) = (points.first(), points.last()) else { return Vec::new() };
    let (from, to) = (f64::from(first.time).max(window.0), f64::from(last.time).min(window.1));
    if from > to {
        return Vec::new();
    }
    // The first instant in (lo, hi] with `in_frame` equal to `in_frame(hi)`, where `in_frame(lo)`
    // differs.
    let change = |mut lo: f64, mut hi: f64| {
        let wanted = in_frame(hi);
        while hi - lo > SPAN_PRECISION_S {
            let mid = 0.5 * (lo + hi);
            if in_frame(mid) == wanted { hi = mid } else { lo = mid }
        }
        hi
    };
    let mut spans = Vec::new();
    let mut open = in_frame(from).then_some(from);
    let steps = ((to - from) / SPAN_STEP_S).ceil() as u64;
    let mut before = from;
    for i in 1..=steps {
        let t = (from + i as f64 * SPAN_STEP_S).min(to);
        match (open, in_frame(t)) {
            (None, true) => open = Some(change(before, t)),
            (Some(enter), false) => {
                spans.push((enter, change(before, t)));
                open = None;
            }
            _ => {}
        }
        before = t;
    }
    if let Some(enter) = open {
        spans.push((enter, to));
    }
    spans
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
                let window = ((bucket * BUCKET_S - PAD_S) as f64, ((bucket + 1) * BUCKET_S + PAD_S) as f64);
                feder::run(store, &connections, sidecar.as_ref(), &q, RunOptions::default())
                    .map(|out| {
                        let in_frame =
                            out.trajectories.iter().map(|t| in_frame_spans(projector, &t.points, window)).collect();
                        Arc::new(Bucket { trajectories: out.trajectories, in_frame })
                    })
                    .map_err(|e| e.to_string())
            }
        };
        if answers.send((bucket, answer)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tessera_storage::feder::MISSING;

    /// A camera looking due east, level; an aircraft flying north across its view, 30 km east
    /// at 3,000 ft, sampled once a minute (the frame is crossed between two samples).
    fn crossing() -> (Projector, Vec<Point>) {
        let camera = Camera::parse(
            "lat_deg = 42.36\nlon_deg = -71.06\nheight_m = 20.0\nyaw_deg = 90.0\npitch_deg = 2.0\n\
             width = 1000\nheight = 800\nfx = 500.0\nfy = 500.0\ncx = 500.0\ncy = 400.0\nmax_range_m = 60000.0\n",
        )
        .unwrap();
        let point = |time: u32, lat: f64| Point {
            time,
            lon: -70.70,
            lat,
            alt: 3000.0,
            alt_gnss: MISSING,
            heading: MISSING,
            on_ground: false,
        };
        // 0.25° of latitude a minute (~460 m/s: a fast crossing, so it is quick to test).
        let points = (0..8).map(|i| point(1_000 + 60 * i, 41.90 + 0.125 * f64::from(i))).collect();
        (Projector::new(&camera), points)
    }

    #[test]
    fn an_aircraft_enters_the_frame_when_the_overlay_first_draws_it_not_at_a_sample() {
        let (projector, points) = crossing();
        let drawn = |t: f64| projector.place(&points, t).is_some_and(|(_, p)| p.in_frame);
        let spans = in_frame_spans(&projector, &points, (0.0, 1e9));
        assert_eq!(spans.len(), 1, "{spans:?}");
        let (enter, exit) = spans[0];
        assert!(drawn(enter) && !drawn(enter - 2.0 * SPAN_PRECISION_S), "entry at {enter}");
        assert!(!drawn(exit) && drawn(exit - 2.0 * SPAN_PRECISION_S), "exit at {exit}");
        // Between samples: the first sample in the frame comes well after the entry.
        let first_sample_in = points.iter().map(|p| f64::from(p.time)).find(|&t| drawn(t)).unwrap();
        assert!(first_sample_in - enter > 5.0, "entry {enter}, first sample in frame {first_sample_in}");
        // Every instant in between is in the frame, none outside it.
        let mut t = 1_000.0;
        while t <= 1_420.0 {
            assert_eq!(drawn(t), (enter..exit).contains(&t), "at {t}");
            t += 0.25;
        }
        // The window clips the spans.
        let clipped = in_frame_spans(&projector, &points, (enter + 10.0, enter + 20.0));
        assert_eq!(clipped, vec![(enter + 10.0, enter + 20.0)]);
        assert!(in_frame_spans(&projector, &points, (0.0, 999.0)).is_empty());
        assert!(in_frame_spans(&projector, &[], (0.0, 1e9)).is_empty());
    }
}
