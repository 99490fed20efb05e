//! The archive loader: opens an archive's video index and event database on a named worker
//! thread and answers with an [`ArchiveSnapshot`] (streams, cameras, recorded spans, data
//! bounds), so the UI thread never touches the disk or SQLite. The UI starts a load, draws
//! "opening…" and takes [`ArchiveLoader::answers`] each frame (a one-shot [`Worker`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use tessera_storage::EventDb;
use tessera_storage::events::camera_of_stream;
use tessera_storage::fsv::{Archive, Stream, StreamSummary};

use crate::trajectories::feed::SkyLink;
use crate::trajectories::projection::Camera;
use crate::worker::{Worker, WorkerError};

/// The folder of an archive that holds its labelling catalog (`catalog.sqlite`, frames files).
pub const LABELS_DIR: &str = "labels";

/// What the timeline shows about one camera besides its event rows.
#[derive(Clone, Debug, Default)]
pub struct CameraTrack {
    pub camera: String,
    /// Recorded video, `[start, end)` µs, sorted.
    pub video: Vec<(i64, i64)>,
}

/// What the loader learns about an archive.
#[derive(Debug)]
pub struct ArchiveSnapshot {
    pub streams: Vec<StreamSummary>,
    pub tracks: Vec<CameraTrack>,
    /// Earliest and latest data (video or events), µs.
    pub bounds: (i64, i64),
    /// Streams tied to a sky camera (`tessera traj attach`).
    pub sky: BTreeMap<String, SkyLink>,
    /// The labelling catalog of the archive (`<archive>/labels`), when there is one.
    pub catalog: Option<PathBuf>,
    /// Problems worth a toast that did not stop the archive from opening.
    pub warnings: Vec<String>,
}

/// One load in flight; dropping it abandons the answer (the thread finishes and exits).
pub struct ArchiveLoader {
    pub path: PathBuf,
    worker: Worker<Infallible, Result<ArchiveSnapshot, String>>,
}

impl ArchiveLoader {
    /// Start loading `path` on the `archive-open` thread.
    pub fn start(path: PathBuf) -> Result<Self, WorkerError> {
        let worker_path = path.clone();
        let worker = Worker::once("archive-open", move || load_snapshot(&worker_path))?;
        Ok(Self { path, worker })
    }

    /// The answer, once the worker has it (never blocks); an error when the thread ended
    /// without one.
    pub fn answers(&self) -> impl Iterator<Item = Result<ArchiveSnapshot, String>> + '_ {
        let mut answers = self.worker.answers().peekable();
        let lost = answers.peek().is_none() && self.worker.ended();
        answers.chain(lost.then(|| Err("the loader thread ended without an answer".to_string())))
    }
}

/// Streams, cameras (from streams and events) and video spans. Runs on the loader thread
/// (and in tests); reads the disk and the event database.
pub fn load_snapshot(path: &Path) -> Result<ArchiveSnapshot, String> {
    let archive = Archive::open(path).map_err(|e| e.to_string())?;
    let db = EventDb::open_read(path).map_err(|e| e.to_string())?;
    let streams: Vec<StreamSummary> = archive.streams.values().map(Stream::summary).collect();
    let (mut video, mut bounds) = video_spans(&archive);
    for (id, camera) in db.cameras().map_err(|e| e.to_string())? {
        video.entry(camera).or_default();
        if let Some((first, last)) = db.events().bounds(id).map_err(|e| e.to_string())? {
            bounds = (bounds.0.min(first * 1000), bounds.1.max(last * 1000));
        }
    }
    if bounds.0 > bounds.1 {
        let now = tessera_storage::UnixMicros::now().0;
        bounds = (now - 86_400_000_000, now);
    }
    let mut sky = BTreeMap::new();
    let mut warnings = Vec::new();
    for name in archive.streams.keys() {
        match db.sky_link(name) {
            Ok(None) => {}
            Ok(Some(link)) => match Camera::parse(&link.camera_toml) {
                Ok(camera) => {
                    sky.insert(name.clone(), SkyLink { camera, store: link.store });
                }
                Err(e) => warnings.push(format!("{name}: sky camera: {e}")),
            },
            Err(e) => warnings.push(e.to_string()),
        }
    }
    let tracks = video.into_iter().map(|(camera, video)| CameraTrack { camera, video }).collect();
    // Labelling projects: the catalog in the archive's `labels` folder (the demo's), if any.
    let catalog = Some(path.join(LABELS_DIR)).filter(|d| d.join("catalog.sqlite").is_file());
    Ok(ArchiveSnapshot { streams, tracks, bounds, sky, catalog, warnings })
}

/// Recorded video `[start, end)` µs by camera.
pub type VideoByCamera = BTreeMap<String, Vec<(i64, i64)>>;

/// Each camera's recorded video (`[start, end)` µs per file, from the listing, sorted) and the
/// span of all of it (`(i64::MAX, i64::MIN)` when there is none).
fn video_spans(archive: &Archive) -> (VideoByCamera, (i64, i64)) {
    let mut video: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let mut bounds = (i64::MAX, i64::MIN);
    for s in archive.streams.values() {
        let spans = video.entry(camera_of_stream(&s.name).to_owned()).or_default();
        for (i, f) in s.files.iter().enumerate() {
            if !f.has_video {
                continue; // an index without packets, an empty packet file: no video there
            }
            let start = f.start_ms * 1000;
            // A file runs until the next one (files follow each other, ≤ ~1000 s each).
            let end = s.files.get(i + 1).map_or(s.end_us, |n| (n.start_ms * 1000).min(start + 1_010_000_000));
            spans.push((start, end.max(start)));
        }
        bounds = (bounds.0.min(s.start_us), bounds.1.max(s.end_us));
    }
    for spans in video.values_mut() {
        spans.sort_unstable();
    }
    (video, bounds)
}

/// The streams and each camera's video as a followed archive has them now.
#[derive(Debug, Clone)]
pub struct ArchiveGrowth {
    pub streams: Vec<StreamSummary>,
    /// Each camera's recorded video, sorted (cameras with video only).
    pub video: VideoByCamera,
    /// Earliest and latest video, µs.
    pub bounds: (i64, i64),
}

/// How often the follower looks: one `readdir` of `fsv/` and two `stat`s per stream.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Follows an open archive as recorders write to it, on the `archive-follow` thread: new
/// streams, new files and growing files are seen within [`FOLLOW_EVERY`] and answered as an
/// [`ArchiveGrowth`]; nothing is re-listed that did not change (a stream's directory and
/// latest index are `stat`ed; only a changed one is listed again), so following an idle
/// archive of 64 streams costs ~130 `stat`s a second. Reads only. (Polling rather than inotify:
/// it works the same on network file systems, where recorders often write.)
pub struct ArchiveFollower {
    worker: Worker<Infallible, ArchiveGrowth>,
}

impl ArchiveFollower {
    /// Follow `path`; `wake` is called after each answer (the window repaints to take it).
    pub fn start(path: PathBuf, wake: impl Fn() + Send + 'static) -> Result<Self, WorkerError> {
        let worker = Worker::start("archive-follow", 1, 2, move |stop, answers| {
            let Ok(mut archive) = Archive::open(&path) else { return };
            let mut stamps: BTreeMap<String, tessera_storage::fsv::StreamStamp> =
                archive.streams.iter().map(|(name, s)| (name.clone(), s.stamp())).collect();
            let mut unsent = false;
            loop {
                match stop.recv_timeout(FOLLOW_EVERY) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    _ => return, // the handle is gone
                }
                match follow_step(&mut archive, &mut stamps) {
                    Ok(changed) => unsent |= changed,
                    Err(e) => tracing::debug!("following {}: {e}", path.display()),
                }
                if !unsent {
                    continue;
                }
                let (video, bounds) = video_spans(&archive);
                let streams = archive.streams.values().map(Stream::summary).collect();
                // While the UI has not taken the last ones, the next look sends the newer state.
                match answers.try_send(ArchiveGrowth { streams, video, bounds }) {
                    Ok(()) => {
                        unsent = false;
                        wake();
                    }
                    Err(crossbeam_channel::TrySendError::Full(_)) => {}
                    Err(crossbeam_channel::TrySendError::Disconnected(_)) => return,
                }
            }
        })?;
        Ok(Self { worker })
    }

    /// The archive as it grew, when it did since the last call (never blocks).
    pub fn answers(&self) -> impl Iterator<Item = ArchiveGrowth> + '_ {
        self.worker.answers()
    }
}

/// One look at a followed archive: new streams added, changed ones re-read. Whether anything
/// changed.
fn follow_step(
    archive: &mut Archive,
    stamps: &mut BTreeMap<String, tessera_storage::fsv::StreamStamp>,
) -> Result<bool, tessera_storage::fsv::FsvError> {
    let mut changed = false;
    for name in archive.stream_names()? {
        if let Some(stream) = archive.streams.get(&name) {
            let stamp = stream.stamp();
            if stamps.get(&name) == Some(&stamp) {
                continue;
            }
            stamps.insert(name.clone(), stamp);
            match stream.reloaded()? {
                Some((stream, _)) => {
                    archive.streams.insert(name, stream);
                }
                None => {
                    archive.streams.remove(&name);
                }
            }
            changed = true;
        } else if archive.add_stream(&name)? {
            if let Some(stream) = archive.streams.get(&name) {
                stamps.insert(name.clone(), stream.stamp());
            }
            changed = true;
        }
    }
    Ok(changed)
}
