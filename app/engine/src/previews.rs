//! Previews: 320-px-wide JPEG pictures of keyframes, made from the rf1 index alone and kept in
//! the preview store ([`tessera_storage::previews`]).
//!
//! - [`build`] (`tessera previews build`, `tessera import`): per stream, the keyframe access
//!   units come from the index ([`Stream::key_units`]; no non-key payload is read), thinned to
//!   the first of each `--every` slot ([`previews::slot_of`]) that has no preview yet. Each is
//!   read and decoded alone (SPS/PPS + IDR, a fresh single-threaded decoder) on `preview-N`
//!   threads (one per core), box-filtered to 320 px wide ([`scaled_rgb`]) and JPEG-encoded;
//!   the calling thread plans and stores batches. Channels are bounded (two jobs per worker in
//!   flight), one file's index is held at a time: memory is bounded for any archive.
//! - [`preview_at`] (`tessera previews get`): the preview of the latest keyframe at or before a
//!   time, built on demand (and stored where we may write) when its slot has none.
//! - [`start_feed`]: the GUI's `previews` worker thread (hover and filmstrip).

use crate::decoder::{Backend, ColorMatrix, YuvFrame};
use crate::worker::{Worker, WorkerError};
use anyhow::Context;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_storage::UnixMicros;
use tessera_storage::codec::{Codec, ColorInfo, NalRole, ParameterSet, h264, strip_start_code};
use tessera_storage::fsv::{Archive, KeyUnit, Stream};
use tessera_storage::previews::{self, FileMark, Preview, PreviewStore, WIDTH, slot_of};
use tessera_storage::rf1::Track;

/// JPEG quality: a 320×180 preview of detailed 1080p content is ~10 KB, under 1 % of a 4 Mbit/s
/// stream at one preview per 10 s (BENCHMARKS.md).
pub const JPEG_QUALITY: u8 = 75;
/// Previews stored per transaction (and at least once a second).
const BATCH: usize = 64;

/// Decode keyframe access unit `entries` of `track` alone: its payloads (parameter sets and the
/// keyframe's slices) into a fresh single-threaded decoder, flushed at once. The colours are
/// the decoder's, else the H.264 SPS's (openh264 reports none).
pub fn decode_key_unit(
    track: &Track,
    entries: std::ops::Range<usize>,
    backend: Backend,
) -> anyhow::Result<Option<(YuvFrame, ColorInfo)>> {
    let packets = track.read_packets(entries)?;
    let codec = track.header.codec;
    let mut color = ColorInfo::default();
    let mut au = Vec::with_capacity(packets.iter().map(|p| p.data.len() + 4).sum());
    for p in &packets {
        let nalu = strip_start_code(&p.data);
        if codec == Codec::H264
            && matches!(codec.nal_role(nalu), NalRole::ParameterSet(ParameterSet::Sps))
            && let Ok(sps) = h264::parse_sps(nalu)
        {
            color = sps.color;
        }
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(nalu);
    }
    let mut decoder = backend.decoder(codec, 1)?;
    let mut pictures = decoder.decode(&au)?;
    pictures.extend(decoder.flush()?);
    Ok(pictures.into_iter().next().map(|p| {
        let c = p.color.unwrap_or(color);
        (p, c)
    }))
}

/// The preview size of a `width`×`height` picture: 320 wide, the height by aspect, even.
pub fn preview_size(width: usize, height: usize) -> (usize, usize) {
    let w = WIDTH as usize;
    let h = (height as f64 * w as f64 / width.max(1) as f64 / 2.0).round() as usize * 2;
    (w, h.max(2))
}

/// Box-filter one plane to `ow`×`oh`: each output sample is the mean of the source samples
/// under it (at least one). Integer sums over slices; a 1080p luma plane costs ~1 ms in a
/// release build.
fn box_plane((data, stride): (&[u8], usize), w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
    let span = |i: usize, n: usize, on: usize| {
        let a = (i * n / on).min(n.saturating_sub(1));
        (a, ((i + 1) * n / on).clamp(a + 1, n.max(a + 1)))
    };
    let cols: Vec<(usize, usize)> = (0..ow).map(|x| span(x, w, ow)).collect();
    let mut out = Vec::with_capacity(ow * oh);
    let mut sums = vec![0u32; ow];
    for oy in 0..oh {
        let (ya, yb) = span(oy, h, oh);
        sums.fill(0);
        for row in ya..yb {
            let Some(line) = data.get(row * stride..row * stride + w) else { continue };
            if w.is_multiple_of(ow) {
                // A whole factor (1920 → 320): fixed-size chunks the compiler unrolls.
                for (sum, chunk) in sums.iter_mut().zip(line.chunks_exact(w / ow)) {
                    *sum += chunk.iter().map(|&v| u32::from(v)).sum::<u32>();
                }
            } else {
                for (sum, &(a, b)) in sums.iter_mut().zip(&cols) {
                    *sum += line[a..b].iter().map(|&v| u32::from(v)).sum::<u32>();
                }
            }
        }
        for (&sum, &(a, b)) in sums.iter().zip(&cols) {
            let n = ((b - a) * (yb - ya)) as u32;
            out.push(((sum + n / 2) / n) as u8);
        }
    }
    out
}

/// One plane scaled to `ow`×`oh` by area averaging ([`box_plane`]). (The `image` crate's
/// generic `thumbnail` does the same pixel by pixel through its `Pixel` trait.)
fn scale_plane(plane: (&[u8], usize), w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
    box_plane(plane, w, h, ow, oh)
}

/// A picture scaled to its preview size ([`preview_size`]) as RGB8: luma and chroma are
/// area-averaged first, so only the small picture is converted (with the stream's matrix and
/// range, as `tessera frame` converts).
pub fn scaled_rgb(frame: &YuvFrame, color: ColorInfo) -> (usize, usize, Vec<u8>) {
    let (ow, oh) = preview_size(frame.width, frame.height);
    let (cw, ch) = frame.chroma_size();
    let y = scale_plane(frame.plane(0), frame.width, frame.height, ow, oh);
    let u = scale_plane(frame.plane(1), cw, ch, ow, oh);
    let v = scale_plane(frame.plane(2), cw, ch, ow, oh);
    let m = ColorMatrix::of(color, frame.height);
    let mut rgb = Vec::with_capacity(ow * oh * 3);
    for i in 0..ow * oh {
        rgb.extend_from_slice(&m.rgb(f32::from(y[i]), f32::from(u[i]), f32::from(v[i])));
    }
    (ow, oh, rgb)
}

/// A decoded picture as a preview (scaled and JPEG-encoded), at the keyframe time `t_us`.
pub fn preview_of(frame: &YuvFrame, color: ColorInfo, t_us: i64) -> anyhow::Result<Preview> {
    let (w, h, rgb) = scaled_rgb(frame, color);
    let mut jpeg = Vec::with_capacity(16 << 10);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY).encode(
        &rgb,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(Preview { t_us, width: w as u32, height: h as u32, jpeg })
}

/// Make the preview of keyframe unit `unit` of `track`.
pub fn make_preview(track: &Track, unit: &KeyUnit, backend: Backend) -> anyhow::Result<Preview> {
    let (frame, color) =
        decode_key_unit(track, unit.entries.clone(), backend)?.context("the keyframe decoded to no picture")?;
    preview_of(&frame, color, unit.time_us)
}

/// A preview's pixels as RGB8.
pub fn preview_rgb(preview: &Preview) -> anyhow::Result<image::RgbImage> {
    Ok(image::load_from_memory_with_format(&preview.jpeg, image::ImageFormat::Jpeg)
        .context("stored preview is not a readable JPEG")?
        .to_rgb8())
}

/// The latest keyframe unit of `stream` at or before `t_us` (from the indexes).
pub fn latest_key_unit(stream: &Stream, t_us: i64) -> Option<(Arc<Track>, KeyUnit)> {
    let mut i = stream.files.partition_point(|f| f.start_ms.saturating_mul(1000) <= t_us);
    while let Some(file) = i.checked_sub(1) {
        i = file;
        if let Some((track, units)) = stream.key_units(file)
            && let Some(unit) = units.iter().rev().find(|u| u.time_us <= t_us)
        {
            return Some((track, unit.clone()));
        }
    }
    None
}

/// The first keyframe unit of `stream` after `t_us` (looking at most two files on).
fn next_key_unit(stream: &Stream, t_us: i64) -> Option<(Arc<Track>, KeyUnit)> {
    let from = stream.files.partition_point(|f| f.start_ms.saturating_mul(1000) <= t_us).saturating_sub(1);
    (from..stream.files.len().min(from + 3)).find_map(|i| {
        let (track, units) = stream.key_units(i)?;
        let unit = units.into_iter().find(|u| u.time_us > t_us)?;
        Some((track, unit))
    })
}

/// The keyframe unit of `stream` nearest `t_us` (the earlier on a tie).
pub fn nearest_key_unit(stream: &Stream, t_us: i64) -> Option<(Arc<Track>, KeyUnit)> {
    match (latest_key_unit(stream, t_us), next_key_unit(stream, t_us)) {
        (Some(b), Some(a)) => Some(if a.1.time_us - t_us < t_us - b.1.time_us { a } else { b }),
        (b, a) => b.or(a),
    }
}

/// The stores that exist for `archive` (its own, then the cache's), open for reading.
fn stores_to_read(archive: &Path) -> anyhow::Result<Vec<PreviewStore>> {
    let mut stores = Vec::new();
    for path in previews::locations(archive) {
        stores.extend(PreviewStore::open_read_at(&path)?);
    }
    Ok(stores)
}

/// Store one preview made on demand where we may write; a failure is a warning (the caller
/// still has the preview).
fn store_on_demand(archive: &Path, stream: &str, preview: &Preview) {
    let stored =
        PreviewStore::open_write(archive).and_then(|s| s.insert_batch(stream, std::slice::from_ref(preview), &[]));
    if let Err(e) = stored {
        tracing::warn!("preview of {stream} at {} not stored: {e}", UnixMicros(preview.t_us));
    }
}

/// `tessera previews get`: the preview of the latest keyframe of `stream` at or before `t_us`
/// that has one. A stored preview of that keyframe's `--every` slot is used; otherwise the
/// keyframe itself is decoded now and stored (in the archive, or the user's cache when we may
/// not write it). `None` when the stream has no keyframe at or before `t_us`.
pub fn preview_at(archive_root: &Path, stream_name: &str, t_us: i64) -> anyhow::Result<Option<Preview>> {
    let archive = Archive::open(archive_root)?;
    let stream = archive.stream(stream_name)?;
    let Some((track, unit)) = latest_key_unit(stream, t_us) else { return Ok(None) };
    for store in stores_to_read(archive_root)? {
        let every = store.every_us()?.unwrap_or(previews::DEFAULT_EVERY_US);
        if let Some(p) = store.at_or_before(stream_name, t_us)?
            && slot_of(p.t_us, every) == slot_of(unit.time_us, every)
        {
            return Ok(Some(p));
        }
    }
    let backend = Backend::for_codec(track.header.codec);
    let preview = make_preview(&track, &unit, backend)
        .with_context(|| format!("stream {stream_name}: keyframe at {}", UnixMicros(unit.time_us)))?;
    store_on_demand(archive_root, stream_name, &preview);
    Ok(Some(preview))
}

/// What to build: `stream` (or every stream) of `archive`, one preview per `every_us` at most.
#[derive(Clone, Debug)]
pub struct BuildSpec {
    pub archive: PathBuf,
    pub stream: Option<String>,
    pub every_us: i64,
    /// Decoding threads (0: one per core).
    pub workers: usize,
    /// Write this store instead of the archive's (benchmarks).
    pub store: Option<PathBuf>,
}

/// What a build did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BuildReport {
    pub streams: usize,
    /// Previews newly stored.
    pub previews: u64,
    pub seconds: f64,
    /// Keyframes that did not decode (warned about; not retried until their file changes).
    pub failed: u64,
    /// Files whose index was scanned (unchanged files are skipped without reading it).
    pub files_scanned: u64,
    /// The store written.
    pub store: PathBuf,
}

/// Progress of a build, for a line on stderr.
#[derive(Clone, Debug)]
pub struct BuildProgress<'a> {
    pub stream: &'a str,
    pub file: usize,
    pub files: usize,
    pub stored: u64,
}

/// The latest modification time of a file's tracks, in ns (0 when unknown).
fn mtime_ns(paths: &[PathBuf]) -> i64 {
    paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok()?.modified().ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .max()
        .unwrap_or(0)
}

/// `tessera previews build`: previews for what has none yet (see the module doc).
pub fn build(spec: &BuildSpec, mut progress: impl FnMut(&BuildProgress<'_>)) -> anyhow::Result<BuildReport> {
    let started = Instant::now();
    let archive = Archive::open(&spec.archive)?;
    let streams: Vec<&Stream> = match &spec.stream {
        Some(name) => vec![archive.stream(name)?],
        None => archive.streams.values().collect(),
    };
    let store = match &spec.store {
        Some(path) => PreviewStore::open_write_at(path)?,
        None => PreviewStore::open_write(&spec.archive)?,
    };
    let workers = match spec.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let mut report = BuildReport { streams: streams.len(), store: store.path().to_owned(), ..Default::default() };
    for stream in streams {
        build_stream(&store, stream, spec.every_us, workers, &mut report, &mut progress)?;
    }
    store.set_every_us(spec.every_us)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// One keyframe to preview.
struct Job {
    file: usize,
    track: Arc<Track>,
    unit: KeyUnit,
}

/// What the planner and the workers tell the writer.
struct Done {
    file: usize,
    t_us: i64,
    result: anyhow::Result<Preview>,
}

/// The writer's state: the batch being filled and the files whose previews are all in it.
struct Writer<'a> {
    store: &'a PreviewStore,
    stream: &'a str,
    batch: Vec<Preview>,
    /// Jobs still out per planned file, and its bookkeeping row.
    open: HashMap<usize, (usize, FileMark)>,
    marks: Vec<FileMark>,
    stored: u64,
    failed: u64,
    flushed: Instant,
}

impl Writer<'_> {
    fn take(&mut self, done: Done) -> anyhow::Result<()> {
        match done.result {
            Ok(p) => self.batch.push(p),
            Err(e) => {
                self.failed += 1;
                tracing::warn!(
                    "stream {}: no preview of the keyframe at {}: {e:#}",
                    self.stream,
                    UnixMicros(done.t_us)
                );
            }
        }
        if let Some((left, _)) = self.open.get_mut(&done.file) {
            *left -= 1;
            if *left == 0
                && let Some((_, mark)) = self.open.remove(&done.file)
            {
                self.marks.push(mark);
            }
        }
        if self.batch.len() >= BATCH || self.flushed.elapsed() >= Duration::from_secs(1) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if !self.batch.is_empty() || !self.marks.is_empty() {
            self.stored += self.store.insert_batch(self.stream, &self.batch, &self.marks)? as u64;
            self.batch.clear();
            self.marks.clear();
        }
        self.flushed = Instant::now();
        Ok(())
    }
}

fn build_stream(
    store: &PreviewStore,
    stream: &Stream,
    every_us: i64,
    workers: usize,
    report: &mut BuildReport,
    progress: &mut impl FnMut(&BuildProgress<'_>),
) -> anyhow::Result<()> {
    let Some(codec) = stream.codec() else { return Ok(()) };
    let backend = Backend::for_codec(codec);
    let (jobs_tx, jobs_rx) = bounded::<Job>(2 * workers);
    let (done_tx, done_rx) = bounded::<Done>(4 * workers);
    let mut writer = Writer {
        store,
        stream: &stream.name,
        batch: Vec::new(),
        open: HashMap::new(),
        marks: Vec::new(),
        stored: 0,
        failed: 0,
        flushed: Instant::now(),
    };
    std::thread::scope(|s| -> anyhow::Result<()> {
        for n in 0..workers {
            let (jobs, done) = (jobs_rx.clone(), done_tx.clone());
            std::thread::Builder::new()
                .name(format!("preview-{n}"))
                .spawn_scoped(s, move || work(&jobs, &done, backend))
                .context("cannot start a preview thread")?;
        }
        drop((jobs_rx, done_tx));
        let planned = plan_and_send(stream, every_us, &jobs_tx, &done_rx, &mut writer, report, progress);
        drop(jobs_tx); // the workers finish what is queued, then end
        for done in done_rx.iter() {
            writer.take(done)?;
        }
        planned?;
        // Files whose jobs all failed to be sent (an error above) keep no mark.
        writer.flush()
    })?;
    report.previews += writer.stored;
    report.failed += writer.failed;
    progress(&BuildProgress {
        stream: &stream.name,
        file: stream.files.len(),
        files: stream.files.len(),
        stored: writer.stored,
    });
    Ok(())
}

/// A `preview-N` thread: previews for jobs until the queue closes.
fn work(jobs: &Receiver<Job>, done: &Sender<Done>, backend: Backend) {
    for job in jobs.iter() {
        let result = make_preview(&job.track, &job.unit, backend);
        if done.send(Done { file: job.file, t_us: job.unit.time_us, result }).is_err() {
            return;
        }
    }
}

/// Plan the stream file by file (one index held at a time) and queue its jobs, storing what
/// comes back meanwhile.
fn plan_and_send(
    stream: &Stream,
    every_us: i64,
    jobs: &Sender<Job>,
    done: &Receiver<Done>,
    writer: &mut Writer<'_>,
    report: &mut BuildReport,
    progress: &mut impl FnMut(&BuildProgress<'_>),
) -> anyhow::Result<()> {
    let mut chosen: HashSet<i64> = HashSet::new();
    let mut said = Instant::now();
    for (i, file) in stream.files.iter().enumerate() {
        if said.elapsed() >= Duration::from_secs(1) {
            progress(&BuildProgress {
                stream: &stream.name,
                file: i,
                files: stream.files.len(),
                stored: writer.stored,
            });
            said = Instant::now();
        }
        let mtime = mtime_ns(&file.paths(&stream.dir));
        let known = writer.store.file_mark(&stream.name, &file.base)?;
        if known.is_some_and(|m| m.bytes == file.bytes && m.mtime_ns == mtime && m.every_us <= every_us) {
            continue;
        }
        report.files_scanned += 1;
        let mut mark = FileMark { base: file.base.clone(), bytes: file.bytes, mtime_ns: mtime, entries: 0, every_us };
        let Some((track, units)) = stream.key_units(i) else {
            writer.marks.push(mark); // does not read: nothing to preview until it changes
            continue;
        };
        mark.entries = track.entries.len() as u64;
        let (Some(first), Some(last)) = (units.first(), units.last()) else {
            writer.marks.push(mark);
            continue;
        };
        // Slots that already have a preview (from earlier builds, or made on demand).
        let (from, to) = if every_us <= 0 {
            (first.time_us, last.time_us)
        } else {
            (
                slot_of(first.time_us, every_us).saturating_mul(every_us),
                (slot_of(last.time_us, every_us) + 1).saturating_mul(every_us) - 1,
            )
        };
        chosen.extend(writer.store.times_in(&stream.name, from, to)?.into_iter().map(|t| slot_of(t, every_us)));
        let todo: Vec<KeyUnit> = units.into_iter().filter(|u| chosen.insert(slot_of(u.time_us, every_us))).collect();
        if todo.is_empty() {
            writer.marks.push(mark);
            continue;
        }
        writer.open.insert(i, (todo.len(), mark));
        for unit in todo {
            let mut job = Job { file: i, track: Arc::clone(&track), unit };
            // Store results while the queue is full, so neither side waits on the other.
            loop {
                match jobs.try_send(job) {
                    Ok(()) => break,
                    Err(TrySendError::Full(j)) => {
                        job = j;
                        if let Ok(d) = done.recv_timeout(Duration::from_millis(20)) {
                            writer.take(d)?;
                        }
                    }
                    Err(TrySendError::Disconnected(_)) => anyhow::bail!("the preview threads ended"),
                }
            }
        }
        while let Ok(d) = done.try_recv() {
            writer.take(d)?;
        }
    }
    Ok(())
}

/// A request to the `previews` thread: the preview of `stream` at the keyframe nearest `t_us`.
/// A stored preview within `tolerance_us` of `t_us` answers at once (the filmstrip passes the
/// time one cell spans; hover, the time of a few pixels); otherwise the nearest keyframe is
/// decoded, stored where we may write (else kept in memory) and answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreviewRequest {
    pub stream: String,
    pub t_us: i64,
    pub tolerance_us: i64,
}

/// A preview ready for upload: RGBA8, `width`×`height`, of the keyframe at `t_us`.
#[derive(Clone, Debug)]
pub struct PreviewImage {
    pub t_us: i64,
    pub width: u32,
    pub height: u32,
    pub rgba: Arc<[u8]>,
}

/// The answer to a [`PreviewRequest`]: `Ok(None)` when the stream has no video.
#[derive(Clone, Debug)]
pub struct PreviewAnswer {
    pub request: PreviewRequest,
    pub result: Result<Option<PreviewImage>, String>,
}

pub type PreviewFeed = Worker<PreviewRequest, PreviewAnswer>;

/// Requests the thread holds; older ones beyond it are dropped (the UI asks again).
const MAX_PENDING: usize = 256;
/// Previews kept in memory when they cannot be stored.
const MEMORY_PREVIEWS: usize = 2048;

/// Start the `previews` thread over `archive`. Requests are coalesced: the thread takes every
/// queued request, drops duplicates, and serves the newest first, then the rest nearest the
/// newest's time (the pointer or the playhead): so the UI sends what it wants most last.
pub fn start_feed(archive: PathBuf) -> Result<PreviewFeed, WorkerError> {
    Worker::start("previews", MAX_PENDING, 64, move |inbox: Receiver<PreviewRequest>, outbox| {
        let mut feed = Feed { root: archive, archive: None, stores: None, writer: None, memory: HashMap::new() };
        let mut pending: Vec<PreviewRequest> = Vec::new();
        loop {
            if pending.is_empty() {
                match inbox.recv() {
                    Ok(r) => pending.push(r),
                    Err(_) => return,
                }
            }
            pending.extend(inbox.try_iter());
            // Newest first, each request once (its newest copy), at most MAX_PENDING.
            let mut seen = HashSet::new();
            let mut queue: Vec<PreviewRequest> =
                pending.drain(..).rev().filter(|r| seen.insert(r.clone())).take(MAX_PENDING).collect();
            let request = queue.remove(0);
            // The rest wait farthest first … nearest last: with nothing newer, the next one
            // served is the nearest to this one.
            queue.sort_by_key(|r| std::cmp::Reverse(r.t_us.abs_diff(request.t_us)));
            pending = queue;
            let result = feed.answer(&request).map_err(|e| format!("{e:#}"));
            if outbox.send(PreviewAnswer { request, result }).is_err() {
                return;
            }
        }
    })
}

/// The `previews` thread's state: the archive and stores, opened on first use.
struct Feed {
    root: PathBuf,
    archive: Option<Archive>,
    stores: Option<Vec<PreviewStore>>,
    /// `None` until needed; `Some(None)` when we may not write anywhere.
    writer: Option<Option<PreviewStore>>,
    memory: HashMap<(String, i64), Preview>,
}

impl Feed {
    fn answer(&mut self, request: &PreviewRequest) -> anyhow::Result<Option<PreviewImage>> {
        if self.archive.is_none() {
            self.archive = Some(Archive::open(&self.root)?);
        }
        // Until a store exists, look again each time (a build may make one meanwhile).
        if self.stores.as_ref().is_none_or(Vec::is_empty) {
            self.stores = Some(stores_to_read(&self.root)?);
        }
        let (Some(archive), Some(stores)) = (&self.archive, &self.stores) else { return Ok(None) };
        let stream = archive.stream(&request.stream)?;
        for store in stores.iter().chain(self.writer.iter().flatten()) {
            if let Some(p) = store.nearest(&request.stream, request.t_us)?
                && (p.t_us - request.t_us).abs() <= request.tolerance_us
            {
                return image_of(&p).map(Some);
            }
        }
        let Some((track, unit)) = nearest_key_unit(stream, request.t_us) else { return Ok(None) };
        let key = (request.stream.clone(), unit.time_us);
        if let Some(p) = self.memory.get(&key) {
            return image_of(p).map(Some);
        }
        for store in stores.iter().chain(self.writer.iter().flatten()) {
            if let Some(p) = store.at_or_before(&request.stream, unit.time_us)?.filter(|p| p.t_us == unit.time_us) {
                return image_of(&p).map(Some);
            }
        }
        let preview = make_preview(&track, &unit, Backend::for_codec(track.header.codec))?;
        let image = image_of(&preview)?;
        let writer = self.writer.get_or_insert_with(|| {
            PreviewStore::open_write(&self.root).map_err(|e| tracing::warn!("previews kept in memory: {e}")).ok()
        });
        let stored = writer.as_ref().map(|w| w.insert_batch(&request.stream, std::slice::from_ref(&preview), &[]));
        if !matches!(stored, Some(Ok(_))) {
            if self.memory.len() >= MEMORY_PREVIEWS {
                self.memory.clear();
            }
            self.memory.insert(key, preview);
        }
        Ok(Some(image))
    }
}

fn image_of(preview: &Preview) -> anyhow::Result<PreviewImage> {
    let rgba = image::load_from_memory_with_format(&preview.jpeg, image::ImageFormat::Jpeg)
        .context("stored preview is not a readable JPEG")?
        .to_rgba8();
    Ok(PreviewImage { t_us: preview.t_us, width: rgba.width(), height: rgba.height(), rgba: rgba.into_raw().into() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_keep_the_aspect_and_are_even() {
        assert_eq!(preview_size(1920, 1080), (320, 180));
        assert_eq!(preview_size(640, 480), (320, 240));
        assert_eq!(preview_size(1280, 721), (320, 180));
        assert_eq!(preview_size(100, 1), (320, 4));
        assert_eq!(preview_size(1000, 1), (320, 2));
    }

    #[test]
    fn the_box_filter_averages_what_lies_under_each_sample() {
        // 4×2 → 2×1: each output is the mean of a 2×2 block.
        let data = [0u8, 10, 100, 200, 20, 30, 100, 0];
        assert_eq!(box_plane((&data, 4), 4, 2, 2, 1), [15, 100]);
        // Upscaling repeats samples; a stride wider than the row is honoured.
        let data = [7u8, 9, 255];
        assert_eq!(box_plane((&data, 3), 2, 1, 4, 2), [7, 7, 9, 9, 7, 7, 9, 9]);
    }
}
