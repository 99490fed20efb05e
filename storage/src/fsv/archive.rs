//! Opening an archive: streams, their sorted file lists, time spans and time-range reads.
//!
//! Opening lists directories and `stat`s files (no file is read except the first and the
//! latest index of each stream), so 8,640 files open in a few tens of milliseconds
//! (see BENCHMARKS.md).

use super::track_cache::TrackCache;
use super::{FsvError, VIDEO_TRACK};
use crate::rf1::{self, FileKind, Header, Packet, Track};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One logical file: every track sharing a `<unix_ms>` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub start_ms: i64,
    pub base: String,
    pub tracks: Vec<String>,
    /// Size on disk of every track's index + packet file (includes crashed files' pre-allocation).
    pub bytes: u64,
}

impl FileInfo {
    pub fn paths(&self, dir: &Path) -> Vec<PathBuf> {
        let mut paths = Vec::with_capacity(2 * self.tracks.len());
        for track in &self.tracks {
            for kind in [FileKind::Index, FileKind::Packets] {
                paths.push(rf1::track_path(dir, &self.base, track, kind));
            }
        }
        paths
    }
}

/// A stream: one directory of rf1 files.
#[derive(Clone, Debug)]
pub struct Stream {
    pub name: String,
    pub dir: PathBuf,
    /// Sorted by `start_ms`.
    pub files: Vec<FileInfo>,
    /// Time base of the first file (µs).
    pub start_us: i64,
    /// Time of the last frame (µs): latest file's time base + its longest track's duration.
    pub end_us: i64,
    /// Parsed indexes of recently used files (shared by clones of this stream).
    pub tracks: Arc<TrackCache>,
}

/// A packet with its absolute time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedPacket {
    pub time_us: i64,
    pub packet: Packet,
}

/// What `archive ls` reports and the UI lists about a stream.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StreamSummary {
    pub name: String,
    pub start_us: i64,
    /// Time of the last frame.
    pub end_us: i64,
    pub files: usize,
    /// Logical size of every index and packet file.
    pub bytes: u64,
}

impl Stream {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    pub fn summary(&self) -> StreamSummary {
        StreamSummary {
            name: self.name.clone(),
            start_us: self.start_us,
            end_us: self.end_us,
            files: self.files.len(),
            bytes: self.bytes(),
        }
    }

    /// Track `video` of file `i` (its parsed index comes from the stream's [`TrackCache`]
    /// while the file is unchanged).
    pub fn open_track(&self, i: usize) -> Result<Arc<Track>, FsvError> {
        Ok(self.tracks.open(&self.dir, &self.files[i].base, VIDEO_TRACK)?)
    }

    /// Time of the first entry after `t_us`, from the indexes alone (no packet is read): the
    /// next frame, or the start of the next file after a gap. `None` past the end.
    pub fn first_time_after(&self, t_us: i64) -> Result<Option<i64>, FsvError> {
        let first = self.files.partition_point(|f| f.start_ms * 1000 <= t_us).saturating_sub(1);
        for i in first..self.files.len() {
            let track = self.open_track(i)?;
            let tb = track.header.time_base_us;
            // Entries at or before t_us (tick times floor to µs, so compare in µs).
            let n = track.entries.partition_point(|e| tb + rf1::us_from_ticks_floor(i64::from(e.pts_ticks)) <= t_us);
            if let Some(e) = track.entries.get(n) {
                return Ok(Some(tb + rf1::us_from_ticks_floor(i64::from(e.pts_ticks))));
            }
        }
        Ok(None)
    }

    /// Files that may hold packets in `[start_us, end_us]` (format doc §2.4, with Tessera's
    /// inclusive end: a file starting exactly at `end_us` is visited).
    pub fn files_in_range(&self, start_us: i64, end_us: i64) -> std::ops::Range<usize> {
        let first = self.files.partition_point(|f| f.start_ms * 1000 < start_us).saturating_sub(1);
        let last = self.files.partition_point(|f| f.start_ms * 1000 <= end_us);
        first..last.max(first)
    }

    /// Packets with `start_us ≤ time ≤ end_us`, in file order. With `seek_key_frame`, the read
    /// starts at the preceding keyframe (continuing into the previous file when needed).
    pub fn read_range(&self, start_us: i64, end_us: i64, seek_key_frame: bool) -> Result<Vec<TimedPacket>, FsvError> {
        let mut out = Vec::new();
        let files = self.files_in_range(start_us, end_us);
        for i in files.clone() {
            let track = self.open_track(i)?;
            let tb = track.header.time_base_us;
            let start_ticks = rf1::ticks_from_us_ceil(start_us - tb);
            let end_ticks = rf1::ticks_from_us_ceil(end_us - tb + 1) - 1;
            let seek_here = seek_key_frame && out.is_empty();
            let (range, found_key) = track.range_at_time(start_ticks, end_ticks, seek_here);
            if range.is_empty() {
                continue;
            }
            if seek_here && !found_key && i > 0 {
                out.extend(self.tail_from_last_key_frame(i - 1)?);
            }
            out.extend(timed(&track, range)?);
        }
        Ok(out)
    }

    /// The group of pictures holding the frame displayed at `at_us` (the latest frame at or
    /// before it): packets from its keyframe access unit (SPS/PPS included, from the previous
    /// file if this one does not start on a keyframe) through the last access unit before
    /// the next keyframe (continuing into the next file). `None` before the first frame.
    /// Returns the packets and the index (in them) of the displayed frame's first packet.
    pub fn gop_at(&self, at_us: i64) -> Result<Option<(Vec<TimedPacket>, usize)>, FsvError> {
        let mut i = self.files.partition_point(|f| f.start_ms * 1000 <= at_us);
        let (mut track, mut target) = loop {
            let Some(file) = i.checked_sub(1) else { return Ok(None) };
            let track = self.open_track(file)?;
            let end_ticks = rf1::ticks_from_us_ceil(at_us - track.header.time_base_us + 1) - 1;
            let n = track.entries.partition_point(|e| i64::from(e.pts_ticks) <= end_ticks);
            i = file;
            if let Some(t) = n.checked_sub(1) {
                break (track, t);
            }
        };
        // The displayed frame: the first entry of the access unit holding `target`.
        let pts = track.entries[target].pts_ticks;
        target = track.entries[..=target].iter().rposition(|e| e.pts_ticks != pts).map_or(0, |j| j + 1);
        // The keyframe search starts at the displayed access unit's *last* entry: a keyframe
        // AU stores SPS/PPS before its IDR slice, and searching from the SPS would find the
        // previous GOP's keyframe (decoding two GOPs for a seek onto a keyframe).
        let au_last = target + track.entries[target..].iter().take_while(|e| e.pts_ticks == pts).count() - 1;
        let (start, found) = track.key_frame_start_at_or_before(au_last);
        let mut packets = if !found && i > 0 { self.tail_from_last_key_frame(i - 1)? } else { Vec::new() };
        let target_in_packets = packets.len() + target - start;
        // Up to (not including) the next keyframe access unit.
        let is_gop_start = |e: &rf1::Entry| e.is_key_frame() || e.is_essential_meta();
        let end = track.entries[target..]
            .iter()
            .position(|e| e.pts_ticks != pts && is_gop_start(e))
            .map_or(track.entries.len(), |j| target + j);
        packets.extend(timed(&track, start..end)?);
        if end == track.entries.len() && i + 1 < self.files.len() {
            track = self.open_track(i + 1)?;
            let stop = track.entries.iter().position(is_gop_start).unwrap_or(track.entries.len());
            packets.extend(timed(&track, 0..stop)?);
        }
        Ok(Some((packets, target_in_packets)))
    }

    /// Packets of file `i` from its last keyframe access unit to its end.
    fn tail_from_last_key_frame(&self, i: usize) -> Result<Vec<TimedPacket>, FsvError> {
        let track = self.open_track(i)?;
        let Some(last) = track.entries.len().checked_sub(1) else { return Ok(Vec::new()) };
        let (start, found) = track.key_frame_start_at_or_before(last);
        if !found {
            return Ok(Vec::new());
        }
        timed(&track, start..track.entries.len())
    }
}

fn timed(track: &Track, range: std::ops::Range<usize>) -> Result<Vec<TimedPacket>, FsvError> {
    let tb = track.header.time_base_us;
    Ok(track
        .read_packets(range)?
        .into_iter()
        .map(|packet| TimedPacket { time_us: tb + rf1::us_from_ticks_floor(i64::from(packet.pts_ticks)), packet })
        .collect())
}

/// An opened archive: streams by name.
#[derive(Debug)]
pub struct Archive {
    pub root: PathBuf,
    pub streams: BTreeMap<String, Stream>,
    /// Problems that did not stop the archive from opening (an unreadable latest file, …).
    pub warnings: Vec<String>,
}

impl Archive {
    /// Open `<root>/fsv`. The root must exist and contain an `fsv` directory.
    pub fn open(root: &Path) -> Result<Self, FsvError> {
        let fsv = root.join("fsv");
        if !root.is_dir() {
            return Err(FsvError::invalid(root, "archive directory does not exist"));
        }
        let dirs = std::fs::read_dir(&fsv).map_err(|e| FsvError::invalid(&fsv, format!("not an fsv archive ({e})")))?;
        let mut archive = Self { root: root.to_owned(), streams: BTreeMap::new(), warnings: Vec::new() };
        for dir in dirs {
            let dir = dir.map_err(|e| FsvError::io(&fsv, e))?;
            if !dir.file_type().map_err(|e| FsvError::io(dir.path(), e))?.is_dir() {
                continue;
            }
            let Ok(name) = dir.file_name().into_string() else { continue };
            let files = list_files(&dir.path())?;
            if files.is_empty() {
                continue;
            }
            let mut stream = Stream {
                name: name.clone(),
                dir: dir.path(),
                files,
                start_us: 0,
                end_us: 0,
                tracks: Default::default(),
            };
            archive.fill_span(&mut stream);
            archive.streams.insert(name, stream);
        }
        Ok(archive)
    }

    /// An empty archive at `root` (creating `root/fsv`).
    pub fn create(root: &Path) -> Result<Self, FsvError> {
        std::fs::create_dir_all(root.join("fsv")).map_err(|e| FsvError::io(root.join("fsv"), e))?;
        Self::open(root)
    }

    pub fn stream(&self, name: &str) -> Result<&Stream, FsvError> {
        self.streams.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.streams.keys().map(String::as_str).collect();
            FsvError::invalid(
                self.root.join("fsv").join(name),
                format!("no such stream (streams: {})", known.join(", ")),
            )
        })
    }

    /// Stream start = first file's time base; end = the latest readable file's last frame.
    fn fill_span(&mut self, stream: &mut Stream) {
        let first = &stream.files[0];
        stream.start_us = read_header(&stream.dir, first).map_or(first.start_ms * 1000, |h| h.time_base_us);
        stream.end_us = stream.start_us;
        for file in stream.files.iter().rev() {
            match file_end_us(&stream.dir, file) {
                Ok(end) => {
                    stream.end_us = end;
                    return;
                }
                Err(e) => self.warnings.push(format!("{e} (skipped when computing the end of stream {})", stream.name)),
            }
        }
    }
}

/// Group `<unix_ms>_<track>.rf1i|rf1p` by prefix; a group counts only with an index.
fn list_files(dir: &Path) -> Result<Vec<FileInfo>, FsvError> {
    struct Group {
        base: String,
        tracks: Vec<String>,
        bytes: u64,
    }
    let mut groups: BTreeMap<i64, Group> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| FsvError::io(dir, e))? {
        let entry = entry.map_err(|e| FsvError::io(dir, e))?;
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("rf1i" | "rf1p")) {
            continue;
        }
        let Some((base, track)) = rf1::split_track_file_name(&path) else { continue };
        let Some(start_ms) = base.parse::<i64>().ok().filter(|&ms| ms != 0) else { continue };
        let bytes = entry.metadata().map_err(|e| FsvError::io(&path, e))?.len();
        let group = groups.entry(start_ms).or_insert_with(|| Group { base, tracks: Vec::new(), bytes: 0 });
        group.bytes += bytes;
        if ext == Some("rf1i") {
            group.tracks.push(track);
        }
    }
    Ok(groups
        .into_iter()
        .filter(|(_, g)| !g.tracks.is_empty())
        .map(|(start_ms, mut g)| {
            g.tracks.sort();
            FileInfo { start_ms, base: g.base, tracks: g.tracks, bytes: g.bytes }
        })
        .collect())
}

fn read_header(dir: &Path, file: &FileInfo) -> Result<Header, FsvError> {
    let path = rf1::track_path(dir, &file.base, &file.tracks[0], FileKind::Index);
    let mut bytes = [0u8; rf1::HEADER_SIZE];
    std::fs::File::open(&path).and_then(|mut f| f.read_exact(&mut bytes)).map_err(|e| FsvError::io(&path, e))?;
    Ok(Header::decode(&bytes, &path)?)
}

/// `time_base + duration` of the file's longest track (with crash recovery).
fn file_end_us(dir: &Path, file: &FileInfo) -> Result<i64, FsvError> {
    let mut end = None;
    for track in &file.tracks {
        let t = Track::open(dir, &file.base, track)?;
        let e = t.header.time_base_us + rf1::us_from_ticks_floor(i64::from(t.duration_ticks()));
        end = Some(end.map_or(e, |x: i64| x.max(e)));
    }
    end.ok_or_else(|| FsvError::invalid(dir, "file has no tracks"))
}
