//! Opening an archive: streams, their sorted file lists, time spans and time-range reads.
//!
//! Opening lists directories and `stat`s files (no file is read except the first and the
//! latest index of each stream), so 8,640 files open in a few tens of milliseconds
//! (see BENCHMARKS.md).
//!
//! One bad file never breaks its stream. Names that are not `<unix_ms>_<track>` (a positive
//! decimal millisecond prefix) are ignored; a file whose video index or packets cannot be read
//! (missing, empty, corrupt) is "no video here": reads skip it, and a time in its span finds no
//! frame rather than the previous file's last one. Opening reports what it sees from the
//! listing and the files it reads as [`Archive::problems`]; a corrupt file elsewhere is found
//! (and warned about once) when it is first read.
//!
//! Files that overlap in time never hide the earlier file's pictures: it is shown to its last
//! frame, the later file from its first keyframe after that (see `Stream::shown`).

use super::track_cache::TrackCache;
use super::{FsvError, Problem, VIDEO_TRACK, stream_writer};
use crate::rf1::{self, Codec, FileKind, Header, Packet, Track};
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
    /// The listing shows a `video` index with a non-empty packet file (whether they read is
    /// known only once they are read).
    pub has_video: bool,
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
    /// Time base of the first file with video (µs).
    pub start_us: i64,
    /// Time of the last frame (µs): the latest readable file's time base + its video duration.
    pub end_us: i64,
    /// Parsed indexes of recently used files (shared by clones of this stream).
    pub tracks: Arc<TrackCache>,
}

/// A stream's directory and latest index as `stat` gives them (see [`Stream::stamp`]): equal
/// stamps, nothing written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamStamp {
    dir: Option<(u64, Option<std::time::SystemTime>)>,
    latest: Option<(u64, Option<std::time::SystemTime>)>,
}

/// A packet with its absolute time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedPacket {
    pub time_us: i64,
    pub packet: Packet,
}

/// A keyframe access unit of a file: its time and its index entries (see
/// [`Stream::key_units`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUnit {
    pub time_us: i64,
    pub entries: std::ops::Range<usize>,
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

    /// What `stat` says of the stream now: its directory (files added or removed) and its
    /// latest file's index (written to). Two `stat`s: a followed stream that did not change
    /// costs no more.
    pub fn stamp(&self) -> StreamStamp {
        let stat = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.len(), m.modified().ok()));
        let latest = self.files.last().map(|f| rf1::track_path(&self.dir, &f.base, VIDEO_TRACK, FileKind::Index));
        StreamStamp { dir: stat(&self.dir), latest: latest.as_deref().and_then(stat) }
    }

    /// The stream as it is on disk now: re-listed (new files of a recorder, or none left), its
    /// span read again; parsed indexes of unchanged files are shared with this one (the
    /// [`TrackCache`] revalidates each by size and mtime). `None` when it has no files now.
    pub fn reloaded(&self) -> Result<Option<(Stream, Vec<Problem>)>, FsvError> {
        let mut problems = Vec::new();
        let files = list_files(&self.dir, &mut problems)?;
        if files.is_empty() {
            return Ok(None);
        }
        let mut stream = Stream { files, start_us: 0, end_us: 0, ..self.clone() };
        let mut scratch = Archive { root: self.dir.clone(), streams: BTreeMap::new(), problems };
        scratch.fill_span(&mut stream);
        Ok(Some((stream, scratch.problems)))
    }

    /// Track `video` of file `i` (its parsed index comes from the stream's [`TrackCache`]
    /// while the file is unchanged).
    pub fn open_track(&self, i: usize) -> Result<Arc<Track>, FsvError> {
        Ok(self.tracks.open(&self.dir, &self.files[i].base, VIDEO_TRACK)?)
    }

    /// Track `video` of file `i`, or `None` when it cannot be read (warned about once): reads
    /// treat such a file as "no video here" instead of failing for the whole stream.
    fn track(&self, i: usize) -> Option<Arc<Track>> {
        self.tracks.open_or_skip(&self.dir, &self.files[i].base, VIDEO_TRACK)
    }

    /// Files of this stream found unreadable by reads so far (see [`Archive::problems`] for
    /// what opening found).
    pub fn problems(&self) -> Vec<Problem> {
        self.tracks.problems()
    }

    /// The codec of the latest readable file (`None` when no file reads).
    pub fn codec(&self) -> Option<Codec> {
        (0..self.files.len()).rev().find_map(|i| self.track(i)).map(|t| t.header.codec)
    }

    /// Time of the first entry after `t_us`, from the indexes alone (no packet is read): the
    /// next frame, or the start of the next file after a gap (unreadable files are skipped
    /// like a gap). `None` past the end.
    pub fn first_time_after(&self, t_us: i64) -> Result<Option<i64>, FsvError> {
        // Files that may still hold frames after `t_us`; their shown parts come in file order.
        let first = self.files.partition_point(|f| f.start_ms * 1000 < t_us.saturating_sub(FILE_SPAN_US));
        Ok((first..self.files.len()).find_map(|i| {
            let (track, from) = self.shown(i)?;
            first_entry_after(&track, t_us, from)
        }))
    }

    /// The start of the first file after `t_us` without readable video, when it comes before
    /// the next frame: from there on [`gop_at`](Self::gop_at) finds no video, so whatever is
    /// shown at `t_us` must not be shown past it. `None` when the next frame comes first.
    pub fn no_video_after(&self, t_us: i64) -> Option<i64> {
        let next = self.files.partition_point(|f| f.start_ms * 1000 <= t_us);
        let file = self.files.get(next)?;
        if self.track(next).is_some_and(|track| !track.entries.is_empty()) {
            return None;
        }
        // An earlier file still recording past its start shows its frames first.
        let gap = match self.covered_until(next) {
            Some((_, end)) => (file.start_ms * 1000).max(end.saturating_add(1)),
            None => file.start_ms * 1000,
        };
        match self.first_time_after(t_us) {
            Ok(Some(frame)) if frame < gap => None,
            _ => Some(gap),
        }
    }

    /// The latest frame of the files before `i` that may overlap it, and the file holding it
    /// (`None` when none has a readable frame). Times up to it belong to that file: see
    /// [`shown`](Self::shown).
    fn covered_until(&self, i: usize) -> Option<(usize, i64)> {
        let start = self.files[i].start_ms * 1000;
        let from = self.files[..i].partition_point(|f| f.start_ms * 1000 < start - FILE_SPAN_US);
        // The earliest file wins a tie, so walking to the owner always moves back.
        (from..i).filter_map(|j| self.track(j).and_then(|t| last_entry_time(&t)).map(|end| (j, end))).fold(
            None,
            |best, (j, end)| match best {
                Some((_, b)) if b >= end => best,
                _ => Some((j, end)),
            },
        )
    }

    /// Track `video` of file `i` and the first entry of it that is shown: 0, unless earlier
    /// files overlap it (cyclops recordings may). Then the earlier file is shown up to its last
    /// frame, and this one from its first keyframe access unit after that (`entries.len()`
    /// when it has none): no earlier picture is hidden, times only go forward, and every
    /// group of pictures shown decodes on its own. `None` when the file does not read.
    fn shown(&self, i: usize) -> Option<(Arc<Track>, usize)> {
        let track = self.track(i)?;
        let tb = track.header.time_base_us;
        let at = |e: &rf1::Entry| tb.saturating_add(rf1::us_from_ticks_floor(i64::from(e.pts_ticks)));
        let from = match (self.covered_until(i), track.entries.first()) {
            (Some((_, end)), Some(first)) if at(first) <= end => {
                match track.entries.iter().position(|e| e.is_key_frame() && at(e) > end) {
                    Some(key) => track.key_frame_start_at_or_before(key).0,
                    None => track.entries.len(),
                }
            }
            _ => 0,
        };
        Some((track, from))
    }

    /// The keyframe access units file `i` shows, from its index alone (no payload is read):
    /// each with its time and its entries (SPS/PPS and every NALU sharing the keyframe's
    /// time), for reading with [`Track::read_packets`]. Units an overlapping earlier file
    /// hides are left out, as reads leave them out. `None` when the file does not read.
    pub fn key_units(&self, i: usize) -> Option<(Arc<Track>, Vec<KeyUnit>)> {
        let (track, from) = self.shown(i)?;
        let tb = track.header.time_base_us;
        let entries = &track.entries;
        let mut units = Vec::new();
        let mut k = from;
        while let Some(key) = entries.get(k..).and_then(|rest| rest.iter().position(rf1::Entry::is_key_frame)) {
            let key = k + key;
            let pts = entries[key].pts_ticks;
            let start = entries[from..key].iter().rposition(|e| e.pts_ticks != pts).map_or(from, |j| from + j + 1);
            let end = key + entries[key..].iter().take_while(|e| e.pts_ticks == pts).count();
            let time_us = tb.saturating_add(rf1::us_from_ticks_floor(i64::from(pts)));
            units.push(KeyUnit { time_us, entries: start..end });
            k = end;
        }
        Some((track, units))
    }

    /// Files that may hold packets in `[start_us, end_us]` (format doc §2.4, with Tessera's
    /// inclusive end: a file starting exactly at `end_us` is visited).
    pub fn files_in_range(&self, start_us: i64, end_us: i64) -> std::ops::Range<usize> {
        let first = self.files.partition_point(|f| f.start_ms * 1000 < start_us).saturating_sub(1);
        let last = self.files.partition_point(|f| f.start_ms * 1000 <= end_us);
        first..last.max(first)
    }

    /// Packets with `start_us ≤ time ≤ end_us`, in file order, skipping unreadable files and
    /// what overlapping files hide (see [`shown`](Self::shown)), so times never go back. With
    /// `seek_key_frame`, the read starts at the preceding keyframe (continuing into the
    /// previous file when needed).
    pub fn read_range(&self, start_us: i64, end_us: i64, seek_key_frame: bool) -> Result<Vec<TimedPacket>, FsvError> {
        let mut out = Vec::new();
        let first = self.files.partition_point(|f| f.start_ms * 1000 < start_us.saturating_sub(FILE_SPAN_US));
        let last = self.files.partition_point(|f| f.start_ms * 1000 <= end_us);
        for i in first..last.max(first) {
            let Some((track, shown_from)) = self.shown(i) else { continue };
            let tb = track.header.time_base_us;
            let start_ticks = rf1::ticks_from_us_ceil(start_us - tb);
            let end_ticks = rf1::ticks_from_us_ceil(end_us - tb + 1) - 1;
            let seek_here = seek_key_frame && out.is_empty();
            let (mut range, mut found_key) = track.range_at_time(start_ticks, end_ticks, seek_here);
            if range.start < shown_from {
                // Hidden by an earlier file; what is shown starts on a keyframe access unit.
                range.start = shown_from;
                found_key = true;
            }
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

    /// The group of pictures holding the frame displayed at `at_us` (the latest frame shown at
    /// or before it): packets from its keyframe access unit (SPS/PPS included, from the
    /// previous file if this one does not start on a keyframe) through the last access unit
    /// before the next keyframe (continuing into the next file). `None` before the first
    /// frame, and in the span of a file without readable video (never the previous file's
    /// frame). Where files overlap, the earlier file's frames are found up to its last one
    /// (see [`shown`](Self::shown)). Returns the packets and the index (in them) of the
    /// displayed frame's first packet.
    pub fn gop_at(&self, at_us: i64) -> Result<Option<(Vec<TimedPacket>, usize)>, FsvError> {
        let mut at_us = at_us;
        let mut i = self.files.partition_point(|f| f.start_ms * 1000 <= at_us);
        let (mut track, mut target) = loop {
            let Some(file) = i.checked_sub(1) else { return Ok(None) };
            let covered = self.covered_until(file);
            if let Some((owner, end)) = covered
                && end >= at_us
            {
                i = owner + 1; // an earlier file is still recording at `at_us`
                continue;
            }
            let Some((track, shown_from)) = self.shown(file).filter(|(t, _)| !t.entries.is_empty()) else {
                return Ok(None);
            };
            let end_ticks = rf1::ticks_from_us_ceil(at_us - track.header.time_base_us + 1) - 1;
            let n = track.entries.partition_point(|e| i64::from(e.pts_ticks) <= end_ticks);
            i = file;
            if n > shown_from {
                break (track, n - 1);
            }
            // No frame of this file is shown yet at `at_us` (its name is earlier than its first
            // frame, or an earlier file hides the start): the frame displayed is the last one
            // before it — of the overlapping file, or else of the previous file.
            if let Some((owner, end)) = covered.filter(|_| shown_from > 0) {
                (at_us, i) = (end, owner + 1);
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
        // The next file continues this GOP unless an overlap hides its start (it is then
        // shown from a keyframe).
        if end == track.entries.len()
            && i + 1 < self.files.len()
            && let Some((next, 0)) = self.shown(i + 1)
        {
            track = next;
            let stop = track.entries.iter().position(is_gop_start).unwrap_or(track.entries.len());
            packets.extend(timed(&track, 0..stop)?);
        }
        Ok(Some((packets, target_in_packets)))
    }

    /// Packets of file `i` from its last keyframe access unit to its end (none when the file
    /// does not read, or an overlap hides all of it).
    fn tail_from_last_key_frame(&self, i: usize) -> Result<Vec<TimedPacket>, FsvError> {
        let Some((track, shown_from)) = self.shown(i) else { return Ok(Vec::new()) };
        let Some(last) = track.entries.len().checked_sub(1).filter(|&last| last >= shown_from) else {
            return Ok(Vec::new());
        };
        let (start, found) = track.key_frame_start_at_or_before(last);
        if !found {
            return Ok(Vec::new());
        }
        timed(&track, start..track.entries.len())
    }
}

/// Frames of one file lie within 1024 s of its start (22-bit PTS ticks at 4096/s), plus 1 s
/// for a time base that is not exactly the file name's millisecond: only files starting less
/// than this before a time can hold frames at or after it.
const FILE_SPAN_US: i64 = 1_025_000_000;

/// Time of the track's last entry.
fn last_entry_time(track: &Track) -> Option<i64> {
    track
        .entries
        .last()
        .map(|e| track.header.time_base_us.saturating_add(rf1::us_from_ticks_floor(i64::from(e.pts_ticks))))
}

/// A file of the stream directory `dir` with frames overlapping `[from_us, to_us]`: its video
/// index and the times of its first and last frame. Files that do not read have no frames
/// here (reads treat them the same way); a missing directory has no files.
pub(super) fn overlapping_file(dir: &Path, from_us: i64, to_us: i64) -> Result<Option<(PathBuf, i64, i64)>, FsvError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let files = list_files(dir, &mut Vec::new())?;
    let first = files.partition_point(|f| f.start_ms * 1000 < from_us.saturating_sub(FILE_SPAN_US));
    for file in files[first..].iter().take_while(|f| f.start_ms * 1000 <= to_us) {
        let Ok(track) = Track::open(dir, &file.base, VIDEO_TRACK) else { continue };
        let tb = track.header.time_base_us;
        let (Some(a), Some(b)) = (track.entries.first(), last_entry_time(&track)) else { continue };
        let a = tb.saturating_add(rf1::us_from_ticks_floor(i64::from(a.pts_ticks)));
        if a <= to_us && from_us <= b {
            return Ok(Some((rf1::track_path(dir, &file.base, VIDEO_TRACK, FileKind::Index), a, b)));
        }
    }
    Ok(None)
}

/// The first file of the stream in `dir` that starts after `after_us`: its start (µs, from its
/// name) and its index's path. A recorder starting at `after_us` stops before it.
pub(super) fn next_file_start(dir: &Path, after_us: i64) -> Result<Option<(i64, PathBuf)>, FsvError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let files = list_files(dir, &mut Vec::new())?;
    Ok(files
        .iter()
        .find(|f| f.start_ms * 1000 > after_us)
        .map(|f| (f.start_ms * 1000, rf1::track_path(dir, &f.base, VIDEO_TRACK, FileKind::Index))))
}

/// Time of the track's first entry after `t_us`, from entry `from` on (tick times floor to µs,
/// so compare in µs).
fn first_entry_after(track: &Track, t_us: i64, from: usize) -> Option<i64> {
    let tb = track.header.time_base_us;
    let at = |e: &rf1::Entry| tb + rf1::us_from_ticks_floor(i64::from(e.pts_ticks));
    let shown = track.entries.get(from..)?;
    shown.get(shown.partition_point(|e| at(e) <= t_us)).map(at)
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
    /// What opening worked around: ignored names, files without video, unreadable first or
    /// latest files, unreadable stream directories, `.partial` files of imports. One per path.
    pub problems: Vec<Problem>,
}

impl Archive {
    /// Open `<root>/fsv`. The root must exist and contain an `fsv` directory, or be an archive
    /// without one yet (see [`db::is_archive`](crate::db::is_archive)): events written before
    /// the first video file, which has no streams. Reads only.
    pub fn open(root: &Path) -> Result<Self, FsvError> {
        let fsv = root.join("fsv");
        if !root.is_dir() {
            return Err(FsvError::invalid(root, "archive directory does not exist"));
        }
        let mut archive = Self { root: root.to_owned(), streams: BTreeMap::new(), problems: Vec::new() };
        let dirs = match std::fs::read_dir(&fsv) {
            Ok(dirs) => dirs,
            // A recorder writes detections before its first video file rolls over.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && crate::db::is_archive(root) => return Ok(archive),
            Err(e) => return Err(FsvError::invalid(&fsv, format!("not an fsv archive ({e})"))),
        };
        let mut stream_dirs = Vec::new();
        for dir in dirs {
            let dir = dir.map_err(|e| FsvError::io(&fsv, e))?;
            if !dir.file_type().map_err(|e| FsvError::io(dir.path(), e))?.is_dir() {
                continue;
            }
            let Ok(name) = dir.file_name().into_string() else { continue };
            stream_dirs.push((name, dir.path()));
        }
        for (name, dir, listed) in list_streams(stream_dirs) {
            // An unreadable stream directory is that stream's problem, not the archive's.
            let files = match listed {
                Ok((files, problems)) => {
                    archive.problems.extend(problems);
                    files
                }
                Err(e) => {
                    archive.problem(e.to_problem());
                    continue;
                }
            };
            if files.is_empty() {
                continue;
            }
            let mut stream =
                Stream { name: name.clone(), dir, files, start_us: 0, end_us: 0, tracks: Default::default() };
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

    /// The stream directories under `fsv/` now, by name (a follower adds the new ones with
    /// [`Archive::add_stream`]).
    pub fn stream_names(&self) -> Result<Vec<String>, FsvError> {
        let fsv = self.root.join("fsv");
        let dirs = match std::fs::read_dir(&fsv) {
            Ok(dirs) => dirs,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(FsvError::io(&fsv, e)),
        };
        let mut names = Vec::new();
        for dir in dirs {
            let dir = dir.map_err(|e| FsvError::io(&fsv, e))?;
            if dir.file_type().is_ok_and(|t| t.is_dir())
                && let Ok(name) = dir.file_name().into_string()
            {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Add (or re-read) stream `name` from disk; `false` when it has no files yet.
    pub fn add_stream(&mut self, name: &str) -> Result<bool, FsvError> {
        let dir = self.root.join("fsv").join(name);
        let probe = Stream {
            name: name.to_owned(),
            dir,
            files: Vec::new(),
            start_us: 0,
            end_us: 0,
            tracks: Default::default(),
        };
        let Some((stream, problems)) = probe.reloaded()? else { return Ok(false) };
        for p in problems {
            self.problem(p);
        }
        self.streams.insert(name.to_owned(), stream);
        Ok(true)
    }

    /// Record a problem, once per path.
    fn problem(&mut self, problem: Problem) {
        if !self.problems.iter().any(|p| p.path == problem.path) {
            self.problems.push(problem);
        }
    }

    /// Stream start = the first file's time base; end = the latest file's last frame — of
    /// files with video that read (the others are problems, never a start in 1969).
    fn fill_span(&mut self, stream: &mut Stream) {
        let mut start = None;
        for file in stream.files.iter().filter(|f| f.has_video) {
            match read_header(&stream.dir, file) {
                Ok(header) => {
                    start = Some(header.time_base_us);
                    break;
                }
                Err(e) => self.problem(e.to_problem()),
            }
        }
        stream.start_us = start.unwrap_or(stream.files[0].start_ms * 1000);
        stream.end_us = stream.start_us;
        for (i, file) in stream.files.iter().enumerate().rev().filter(|(_, f)| f.has_video) {
            // Through the stream's cache: the player opens the latest file next.
            match stream.tracks.open(&stream.dir, &file.base, VIDEO_TRACK) {
                Ok(t) if t.entries.is_empty() => {} // nothing written yet
                Ok(t) => {
                    let end = t.header.time_base_us + rf1::us_from_ticks_floor(i64::from(t.duration_ticks()));
                    // An earlier file overlapping this one may end later: read only when the
                    // file before could (opening reads two indexes per stream, not three).
                    let could = stream.files[..i]
                        .last()
                        .is_some_and(|f| (f.start_ms * 1000).saturating_add(FILE_SPAN_US) > end);
                    let covered = if could { stream.covered_until(i).map(|(_, c)| c) } else { None };
                    stream.end_us = covered.map_or(end, |c| c.max(end));
                    return;
                }
                Err(e) => self.problem(Problem::new(e.path(), e.problem())),
            }
        }
    }
}

/// `(start_ms, base, track)` of a `<unix_ms>_<track>.rf1i|.rf1p` name: a decimal prefix
/// (ASCII digits only: no sign) of a positive millisecond count that fits µs in an `i64`, then
/// a valid track name. `None` for anything else.
pub fn parse_file_name(path: &Path) -> Option<(i64, String, String)> {
    let stem = path.file_stem()?.to_str()?;
    let (base, track) = stem.split_once('_')?;
    if base.is_empty() || !base.bytes().all(|b| b.is_ascii_digit()) || !rf1::is_valid_track_name(track) {
        return None;
    }
    let start_ms = base.parse::<i64>().ok().filter(|&ms| ms > 0 && ms <= i64::MAX / 1000)?;
    Some((start_ms, base.to_owned(), track.to_owned()))
}

/// A stream directory's listing: its files and the problems found on the way.
type Listing = Result<(Vec<FileInfo>, Vec<Problem>), FsvError>;

/// List stream directories on up to 4 scoped threads (one `readdir` + `fstatat` per file is
/// most of opening a fleet archive: 64 cameras × 30 days is 330,000 entries). Results come
/// back in the order given.
fn list_streams(dirs: Vec<(String, PathBuf)>) -> Vec<(String, PathBuf, Listing)> {
    let list = |dir: &Path| -> Listing {
        let mut problems = Vec::new();
        list_files(dir, &mut problems).map(|files| (files, problems))
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4).min(dirs.len());
    if workers <= 1 {
        return dirs
            .into_iter()
            .map(|(name, dir)| {
                let l = list(&dir);
                (name, dir, l)
            })
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Listing>> = (0..dirs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((_, dir)) = dirs.get(i) else { break };
                        mine.push((i, list(dir)));
                    }
                    mine
                })
            })
            .collect();
        for handle in handles {
            // A worker that panicked leaves its streams unlisted: reported below.
            for (i, listing) in handle.join().unwrap_or_default() {
                results[i] = Some(listing);
            }
        }
    });
    dirs.into_iter()
        .zip(results)
        .map(|((name, dir), listing)| {
            let listing = listing.unwrap_or_else(|| Err(FsvError::invalid(&dir, "listing the directory failed")));
            (name, dir, listing)
        })
        .collect()
}

/// Group `<unix_ms>_<track>.rf1i|rf1p` by prefix; a group counts only with an index. What
/// does not fit is added to `problems`.
fn list_files(dir: &Path, problems: &mut Vec<Problem>) -> Result<Vec<FileInfo>, FsvError> {
    #[derive(Default)]
    struct Group {
        base: String,
        tracks: Vec<String>,
        /// Packet file sizes by track.
        packets: BTreeMap<String, u64>,
        bytes: u64,
    }
    let mut groups: BTreeMap<i64, Group> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| FsvError::io(dir, e))? {
        let entry = entry.map_err(|e| FsvError::io(dir, e))?;
        let path = entry.path();
        if let Some(problem) = stream_writer::partial_problem(&path) {
            problems.push(problem);
            continue;
        }
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("rf1i") => FileKind::Index,
            Some("rf1p") => FileKind::Packets,
            _ => continue,
        };
        let Some((start_ms, base, track)) = parse_file_name(&path) else {
            problems.push(Problem::new(path, "not a <unix_ms>_<track> name (unix ms > 0): ignored"));
            continue;
        };
        let bytes = match entry.metadata() {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // just deleted
            Err(e) => {
                problems.push(Problem::new(path, format!("{e}: ignored")));
                continue;
            }
        };
        let group = groups.entry(start_ms).or_insert_with(|| Group { base: base.clone(), ..Group::default() });
        if group.base != base {
            // `017_video` beside `17_video`: one start, two names.
            problems.push(Problem::new(path, format!("same start as the {}_… files: ignored", group.base)));
            continue;
        }
        group.bytes += bytes;
        match kind {
            FileKind::Index => group.tracks.push(track),
            FileKind::Packets => {
                group.packets.insert(track, bytes);
            }
        }
    }
    let mut files = Vec::with_capacity(groups.len());
    for (start_ms, mut g) in groups {
        if g.tracks.is_empty() {
            for track in g.packets.keys() {
                let path = rf1::track_path(dir, &g.base, track, FileKind::Packets);
                problems.push(Problem::new(path, "packet file without its index (.rf1i): ignored"));
            }
            continue;
        }
        g.tracks.sort();
        let video_index = rf1::track_path(dir, &g.base, VIDEO_TRACK, FileKind::Index);
        let has_video = if !g.tracks.iter().any(|t| t == VIDEO_TRACK) {
            let path = rf1::track_path(dir, &g.base, &g.tracks[0], FileKind::Index);
            problems.push(Problem::new(path, "no video track beside it: no video here"));
            false
        } else {
            match g.packets.get(VIDEO_TRACK) {
                None => {
                    problems.push(Problem::new(video_index, "its packet file (.rf1p) is missing: no video here"));
                    false
                }
                Some(0) => {
                    let path = rf1::track_path(dir, &g.base, VIDEO_TRACK, FileKind::Packets);
                    problems.push(Problem::new(path, "packet file is empty: no video here"));
                    false
                }
                Some(_) => true,
            }
        };
        files.push(FileInfo { start_ms, base: g.base, tracks: g.tracks, bytes: g.bytes, has_video });
    }
    Ok(files)
}

/// The video track's header.
fn read_header(dir: &Path, file: &FileInfo) -> Result<Header, FsvError> {
    let path = rf1::track_path(dir, &file.base, VIDEO_TRACK, FileKind::Index);
    let mut bytes = [0u8; rf1::HEADER_SIZE];
    match std::fs::File::open(&path).and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => Ok(Header::decode(&bytes, &path)?),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(FsvError::invalid(path, format!("shorter than the {}-byte rf1 header", rf1::HEADER_SIZE)))
        }
        Err(e) => Err(FsvError::io(path, e)),
    }
}
