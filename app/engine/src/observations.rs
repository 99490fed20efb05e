//! Labelling projects' observations for the GUI: the `observations` thread reads population
//! status and the boxes of the classification at the playhead, and starts populations, so the
//! UI thread never opens the catalog or the observation table.
//!
//! A population is started exactly as an operator would from a shell — `tessera hypertable
//! populate` without `--sync`, which claims the project and hands it to a detached worker
//! process — so closing the app never kills a run, and the CLI's refusal rules apply.
//! With `TESSERA_DATABASE_URL` set, the table and status are on that server.

use crate::worker::{Refused, Worker, WorkerError};
use crossbeam_channel::{Receiver, Sender};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tessera_storage::observations::{
    Catalog, FramesHeader, Observation, ObservationQuery, ObservationStore, ProjectState,
};

/// What the UI asks of the `observations` thread.
#[derive(Clone, Debug, PartialEq)]
pub enum ObservationRequest {
    /// Read every project's state.
    Refresh,
    /// Start populating a project at `fps` (`reset`: take over a lost claim).
    Populate { project: i64, fps: String, reset: bool },
    /// Change the table's settings (each `None` = unchanged).
    Configure { chunk_interval: Option<String>, compress_after: Option<String> },
    /// The boxes of `stream`'s labelled frame at `t_us` (UTC µs of the displayed picture).
    BoxesAt { stream: String, t_us: i64 },
}

/// The boxes of one labelled frame, in the pixels of its video (`width` × `height`).
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationBoxes {
    pub stream: String,
    /// The picture time they were asked for.
    pub t_us: i64,
    pub project: String,
    pub classification: i64,
    pub width: u32,
    pub height: u32,
    pub rows: Vec<Observation>,
}

/// What the `observations` thread answers.
#[derive(Clone, Debug)]
pub enum ObservationAnswer {
    States(Vec<ProjectState>),
    /// Boxes (empty `rows` when no ready project labels that moment).
    Boxes(ObservationBoxes),
    /// A command's outcome, for a toast (`Err` = it failed: title, detail).
    Done(Result<String, (String, String)>),
}

/// A labelled video: where and when its frames are.
#[derive(Clone, Debug)]
struct LabelledVideo {
    project: i64,
    classification: i64,
    header: FramesHeader,
    /// UTC µs of its first and last frame's time window.
    from_us: i64,
    to_us: i64,
}

/// The UI's handle on the `observations` thread.
pub struct ObservationFeed {
    pub catalog: PathBuf,
    /// The `tessera` binary that runs populations (the running one; tests point at the built
    /// binary, since theirs is a test harness).
    pub exe: PathBuf,
    /// The table is on a PostgreSQL server (`TESSERA_DATABASE_URL`), not embedded: only
    /// there do its settings (chunk interval, compression) apply.
    pub on_server: bool,
    worker: Worker<ObservationRequest, ObservationAnswer>,
}

/// Requests (and answers) in flight at most.
const QUEUE: usize = 16;

impl ObservationFeed {
    /// Start the `observations` thread for the catalog in `catalog`; populations run `exe`.
    pub fn start(catalog: PathBuf, exe: PathBuf) -> Result<Self, WorkerError> {
        let (dir, binary) = (catalog.clone(), exe.clone());
        let database = std::env::var("TESSERA_DATABASE_URL").ok();
        let on_server = database.is_some();
        let worker = Worker::start("observations", QUEUE, QUEUE, move |incoming, outgoing| {
            serve(&dir, &binary, database.as_deref(), &incoming, &outgoing)
        })?;
        Ok(ObservationFeed { catalog, exe, on_server, worker })
    }

    /// Ask; refused when the thread is busy (ask again next frame) or gone.
    pub fn send(&self, request: ObservationRequest) -> Result<(), Refused> {
        self.worker.send(request)
    }

    /// Answers that have arrived.
    pub fn answers(&self) -> impl Iterator<Item = ObservationAnswer> + '_ {
        self.worker.answers()
    }
}

/// The `observations` thread: answers requests until the UI drops its handle.
fn serve(
    dir: &Path,
    exe: &Path,
    database: Option<&str>,
    requests: &Receiver<ObservationRequest>,
    answers: &Sender<ObservationAnswer>,
) {
    let mut store: Option<ObservationStore> = None;
    let mut videos: Option<BTreeMap<String, Vec<LabelledVideo>>> = None;
    for request in requests.iter() {
        let answer = match request {
            ObservationRequest::Refresh => {
                let states = with_store(dir, database, &mut store, |store, catalog| store.states(catalog));
                videos = None; // a population may have recorded new videos
                match states {
                    Ok(states) => ObservationAnswer::States(states),
                    Err(e) => ObservationAnswer::Done(Err(("Cannot read the labelling catalog".into(), e))),
                }
            }
            ObservationRequest::Populate { project, fps, reset } => {
                ObservationAnswer::Done(populate(exe, dir, project, &fps, reset))
            }
            ObservationRequest::Configure { chunk_interval, compress_after } => {
                let result = with_store(dir, database, &mut store, |store, catalog| {
                    let mut catalog = Catalog::open(&catalog.dir, false)?;
                    let statements =
                        store.changes(&catalog, chunk_interval.as_deref(), compress_after.as_deref(), None)?;
                    store.apply(&mut catalog, &statements)?;
                    Ok(statements.len())
                });
                ObservationAnswer::Done(match result {
                    Ok(0) => Ok("Settings unchanged".into()),
                    Ok(n) => Ok(format!("Applied {n} setting change(s)")),
                    Err(e) => Err(("Cannot change the table's settings".into(), e)),
                })
            }
            ObservationRequest::BoxesAt { stream, t_us } => {
                let result = with_store(dir, database, &mut store, |store, catalog| {
                    if videos.is_none() {
                        videos = Some(labelled_videos(catalog)?);
                    }
                    boxes_at(store, catalog, videos.as_ref(), &stream, t_us)
                });
                match result {
                    Ok(boxes) => ObservationAnswer::Boxes(boxes),
                    Err(e) => ObservationAnswer::Done(Err((format!("{stream}: labels"), e))),
                }
            }
        };
        if answers.send(answer).is_err() {
            return; // the UI is gone
        }
    }
}

/// Run `f` with the store (opened once) and a fresh read-only catalog connection (the window
/// reads a catalog it may not write; changes open their own writer).
fn with_store<T>(
    dir: &Path,
    database: Option<&str>,
    store: &mut Option<ObservationStore>,
    f: impl FnOnce(&mut ObservationStore, &Catalog) -> Result<T, tessera_storage::observations::CatalogError>,
) -> Result<T, String> {
    let catalog = Catalog::open_read(dir).map_err(|e| e.to_string())?;
    if store.is_none() {
        *store = Some(ObservationStore::open(dir, database).map_err(|e| e.to_string())?);
    }
    let Some(store) = store.as_mut() else { return Err("no observation table".into()) };
    f(store, &catalog).map_err(|e| e.to_string())
}

/// Start a background population through the CLI (claim, then a detached worker).
fn populate(exe: &Path, dir: &Path, project: i64, fps: &str, reset: bool) -> Result<String, (String, String)> {
    let title = format!("Cannot populate project {project}");
    let mut command = std::process::Command::new(exe);
    command.args(["hypertable", "populate", "--catalog"]).arg(dir).args([
        "--project",
        &project.to_string(),
        "--fps",
        fps,
    ]);
    if reset {
        command.arg("--reset");
    }
    let output = command.stdin(std::process::Stdio::null()).output().map_err(|e| (title.clone(), e.to_string()))?;
    if output.status.success() {
        Ok(format!("Populating project {project} at {fps} fps"))
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("failed").trim_start_matches("error: ");
        Err((title, detail.to_string()))
    }
}

/// Every video classification with a recorded header, by stream.
fn labelled_videos(
    catalog: &Catalog,
) -> Result<BTreeMap<String, Vec<LabelledVideo>>, tessera_storage::observations::CatalogError> {
    let mut out: BTreeMap<String, Vec<LabelledVideo>> = BTreeMap::new();
    for c in catalog.all_classifications()? {
        let (Some(stream), "video") = (&c.stream, c.kind.as_str()) else { continue };
        let Some(header) = catalog.video_record(c.id)? else { continue }; // never populated
        let frame_us = frame_us(&header);
        let duration = i64::from(header.frame_count) * frame_us;
        out.entry(stream.clone()).or_default().push(LabelledVideo {
            project: c.project_id,
            classification: c.id,
            from_us: header.start_utc_us,
            to_us: header.start_utc_us + duration,
            header,
        });
    }
    Ok(out)
}

/// One source frame's length in µs (a second when the rate is unknown).
fn frame_us(header: &FramesHeader) -> i64 {
    if header.fps_num == 0 { 1_000_000 } else { i64::from(header.fps_den) * 1_000_000 / i64::from(header.fps_num) }
}

/// The rows of the labelled frame a picture at `t_us` shows, from the ready classification
/// that covers it (see [`frame_shown`]).
fn boxes_at(
    store: &mut ObservationStore,
    catalog: &Catalog,
    videos: Option<&BTreeMap<String, Vec<LabelledVideo>>>,
    stream: &str,
    t_us: i64,
) -> Result<ObservationBoxes, tessera_storage::observations::CatalogError> {
    let mut boxes = ObservationBoxes {
        stream: stream.to_string(),
        t_us,
        project: String::new(),
        classification: 0,
        width: 0,
        height: 0,
        rows: Vec::new(),
    };
    let states = store.states(catalog)?;
    let ready = |project: i64| states.iter().find(|s| s.id == project && s.status == "ready");
    let Some(video) = videos
        .and_then(|v| v.get(stream))
        .and_then(|list| list.iter().find(|v| v.from_us <= t_us && t_us < v.to_us && ready(v.project).is_some()))
    else {
        return Ok(boxes);
    };
    let state = ready(video.project).cloned();
    let target_fps: f64 = state.as_ref().and_then(|s| s.fps.parse().ok()).unwrap_or(1.0);
    let hold_us = ((1e6 / target_fps.max(1e-3)) as i64).max(frame_us(&video.header));
    let half_frame_us = frame_us(&video.header) / 2;
    let rows = store.query(&ObservationQuery {
        project: video.project,
        classification: Some(video.classification),
        from_us: Some(t_us - hold_us),
        to_us: Some(t_us + half_frame_us),
        ..ObservationQuery::default()
    })?;
    let shown =
        frame_shown(rows.iter().map(|r| (r.frame_index, video.header.start_utc_us + r.t_us)), t_us, half_frame_us);
    boxes.rows = rows.into_iter().filter(|r| Some(r.frame_index) == shown).collect();
    boxes.project = state.map(|s| s.name).unwrap_or_default();
    boxes.classification = video.classification;
    (boxes.width, boxes.height) = (video.header.width, video.header.height);
    Ok(boxes)
}

/// Which labelled frame (index) a picture at `t_us` shows, from `(frame index, UTC µs)` in
/// time order: the nearest within half a source frame — the video's and the labels' clocks
/// differ by rounding (the demo stamps pictures every 0.19995 s, labels sit at exact 0.2 s
/// steps), so "the latest at or before" drew the previous frame's boxes on most pictures —
/// else the latest at or before the picture, held until the next kept frame (a 1 fps table
/// shows its boxes all second).
fn frame_shown(frames: impl Iterator<Item = (i64, i64)>, t_us: i64, half_frame_us: i64) -> Option<i64> {
    let mut nearest: Option<(i64, i64)> = None; // (distance, index)
    let mut latest = None;
    for (index, at) in frames {
        let distance = (at - t_us).abs();
        if distance <= half_frame_us && nearest.is_none_or(|(d, _)| distance < d) {
            nearest = Some((distance, index));
        }
        if at <= t_us {
            latest = Some(index);
        }
    }
    nearest.map(|(_, index)| index).or(latest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Pictures every 0.19995 s, labels at exact 0.2 s steps (the demo): picture k shows
    /// label frame k, not k − 1; a sparse (downsampled) table holds its last frame.
    #[test]
    fn a_picture_shows_its_nearest_labelled_frame() {
        let labels = |k: i64| (k, k * 200_000);
        for k in 1..200i64 {
            let picture = k * 199_950;
            assert_eq!(frame_shown((0..200).map(labels), picture, 100_000), Some(k), "picture {k}");
        }
        // One labelled frame a second of a 5 fps source: between them the last one holds.
        let sparse = || (0..10i64).map(|k| (k * 5, k * 1_000_000));
        assert_eq!(frame_shown(sparse(), 2_500_000, 100_000), Some(10));
        assert_eq!(frame_shown(sparse(), 2_950_000, 100_000), Some(15), "within half a frame of the next");
        assert_eq!(frame_shown(std::iter::empty(), 0, 100_000), None);
    }

    /// The window only reads the catalog: a catalog in rollback-journal mode (as another tool
    /// may leave it) keeps every byte — a writer's open would switch it to WAL.
    #[test]
    fn the_observations_thread_never_writes_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let manifest: tessera_storage::observations::Manifest =
            serde_json::from_value(serde_json::json!({"projects": [{"id": 1, "name": "p"}]})).unwrap();
        Catalog::open(dir.path(), true).unwrap().import(&manifest, dir.path()).unwrap();
        let file = dir.path().join(tessera_storage::observations::catalog::CATALOG_FILE);
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(())).unwrap();
        drop(conn);
        let before = std::fs::read(&file).unwrap();
        let feed = ObservationFeed::start(dir.path().to_path_buf(), PathBuf::from("/nonexistent")).unwrap();
        assert_eq!(feed.send(ObservationRequest::Refresh), Ok(()));
        assert_eq!(feed.send(ObservationRequest::BoxesAt { stream: "cam-1".into(), t_us: 0 }), Ok(()));
        let mut answers = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while answers.len() < 2 && std::time::Instant::now() < deadline {
            answers.extend(feed.answers());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(feed);
        assert!(matches!(&answers[0], ObservationAnswer::States(s) if s.len() == 1), "{answers:?}");
        assert!(matches!(&answers[1], ObservationAnswer::Boxes(b) if b.rows.is_empty()), "{answers:?}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "the observations thread changed the catalog");
    }
}
