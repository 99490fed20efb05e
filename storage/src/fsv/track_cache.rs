//! A small LRU of opened tracks (parsed rf1 indexes), so playback does not re-read and
//! re-parse a file's index (up to 512 KiB) for every group of pictures it decodes.
//!
//! An entry is reused only while its index and packet files keep the size and modification
//! time they had when it was parsed: a file still being written (or repaired by a crash
//! recovery elsewhere) is re-read, so readers during ingest see new frames. Checking costs two
//! `stat`s (a few µs) against ~0.1–1 ms to read and parse an index.
//!
//! A file that cannot be opened (no packet file, a corrupt index) is never cached, so it cannot
//! poison later reads; [`TrackCache::open_or_skip`] turns it into "no video here", warns once
//! per file (again only after the file changes) and remembers it for [`TrackCache::problems`].

use super::Problem;
use crate::rf1::{FileKind, Rf1Error, Track, track_path};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Files kept per stream: a player touches at most the file it plays and its neighbours.
pub const TRACKS_PER_STREAM: usize = 8;

/// Size and modification time of both files of a track.
type Stamp = [(u64, Option<SystemTime>); 2];

/// The same for a file that did not open: `None` for a file that is missing.
type BadStamp = [Option<(u64, Option<SystemTime>)>; 2];

#[derive(Debug)]
struct Cached {
    index_path: PathBuf,
    stamp: Stamp,
    track: Arc<Track>,
    used: u64,
}

/// Opened tracks, least recently used evicted first; shared by the clones of a stream.
#[derive(Debug, Default)]
pub struct TrackCache {
    inner: Mutex<(Vec<Cached>, u64)>,
    /// Files found unreadable by index path: the stamps they had (a missing file has none) and
    /// the problem. At most one entry per file of the stream.
    bad: Mutex<HashMap<PathBuf, (BadStamp, Problem)>>,
}

fn stamp(path: &Path) -> Result<(u64, Option<SystemTime>), Rf1Error> {
    let meta = std::fs::metadata(path).map_err(|e| Rf1Error::io(path, e))?;
    Ok((meta.len(), meta.modified().ok()))
}

impl TrackCache {
    /// Track `track` of the file `base` in `dir`, from the cache while its files are unchanged.
    pub fn open(&self, dir: &Path, base: &str, track: &str) -> Result<Arc<Track>, Rf1Error> {
        let index_path = track_path(dir, base, track, FileKind::Index);
        let packets_path = track_path(dir, base, track, FileKind::Packets);
        let now = [stamp(&index_path)?, stamp(&packets_path)?];
        {
            let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (entries, tick) = &mut *guard;
            *tick += 1;
            if let Some(hit) = entries.iter_mut().find(|c| c.index_path == index_path && c.stamp == now) {
                hit.used = *tick;
                return Ok(hit.track.clone());
            }
        }
        // Parse outside the lock: another reader of the stream is not held up by this one.
        let opened = Arc::new(Track::open_paths(&index_path, &packets_path)?);
        let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (entries, tick) = &mut *guard;
        entries.retain(|c| c.index_path != index_path);
        if entries.len() >= TRACKS_PER_STREAM
            && let Some(oldest) = entries.iter().enumerate().min_by_key(|(_, c)| c.used).map(|(i, _)| i)
        {
            entries.swap_remove(oldest);
        }
        entries.push(Cached { index_path, stamp: now, track: opened.clone(), used: *tick });
        Ok(opened)
    }

    /// Like [`open`](Self::open), but a track that cannot be opened is `None` ("no video
    /// here"): a warning is logged the first time, and again only once its files change.
    pub fn open_or_skip(&self, dir: &Path, base: &str, track: &str) -> Option<Arc<Track>> {
        let index_path = track_path(dir, base, track, FileKind::Index);
        let result = self.open(dir, base, track);
        let mut bad = self.bad.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(opened) => {
                bad.remove(&index_path);
                Some(opened)
            }
            Err(e) => {
                let packets_path = track_path(dir, base, track, FileKind::Packets);
                let now: BadStamp = [stamp(&index_path).ok(), stamp(&packets_path).ok()];
                if bad.get(&index_path).is_none_or(|(seen, _)| *seen != now) {
                    tracing::warn!("{e} (skipped: no video in this file's time span)");
                    bad.insert(index_path, (now, Problem::new(e.path(), e.problem())));
                }
                None
            }
        }
    }

    /// The files [`open_or_skip`](Self::open_or_skip) found unreadable (and has not read since).
    pub fn problems(&self) -> Vec<Problem> {
        let bad = self.bad.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut problems: Vec<Problem> = bad.values().map(|(_, p)| p.clone()).collect();
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        problems
    }

    /// Tracks held now.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.0.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fsv::{AccessUnit, StreamWriter};
    use crate::rf1::Codec;

    fn write_file(root: &Path, frames: usize) -> PathBuf {
        let mut w = StreamWriter::new(root, "s", Codec::H264).unwrap();
        for k in 0..frames {
            let mut unit =
                AccessUnit { time_ns: 1_700_000_000_000_000_000 + k as i64 * 40_000_000, ..Default::default() };
            unit.push_h264(&[0x65, k as u8]);
            w.write(unit).unwrap();
        }
        w.finish().unwrap();
        root.join("fsv").join("s")
    }

    /// The `<unix_ms>` base of the first track file in `dir`.
    fn first_base(dir: &Path) -> String {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| crate::rf1::split_track_file_name(&e.unwrap().path()))
            .next()
            .unwrap()
            .0
    }

    #[test]
    fn reuses_until_the_file_changes_and_stays_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_file(tmp.path(), 3);
        let base = first_base(&dir);
        let cache = TrackCache::default();
        let a = cache.open(&dir, &base, "video").unwrap();
        let b = cache.open(&dir, &base, "video").unwrap();
        assert!(Arc::ptr_eq(&a, &b), "an unchanged file is parsed once");
        // Appending to the packet file (a file being written) invalidates the entry.
        let packets = track_path(&dir, &base, "video", FileKind::Packets);
        let mut bytes = std::fs::read(&packets).unwrap();
        bytes.extend_from_slice(&[0, 0, 0, 1, 0x41]);
        std::fs::write(&packets, bytes).unwrap();
        let c = cache.open(&dir, &base, "video").unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn an_unreadable_file_is_skipped_and_listed_without_poisoning_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_file(tmp.path(), 3);
        let base = first_base(&dir);
        let cache = TrackCache::default();
        assert!(cache.open_or_skip(&dir, &base, "video").is_some());
        let packets = track_path(&dir, &base, "video", FileKind::Packets);
        let kept = std::fs::read(&packets).unwrap();
        std::fs::remove_file(&packets).unwrap();
        for _ in 0..3 {
            assert!(cache.open_or_skip(&dir, &base, "video").is_none());
        }
        let problems = cache.problems();
        assert_eq!(problems.len(), 1, "one problem per file: {problems:?}");
        assert_eq!(problems[0].path, packets);
        // The packets come back (a copy finished): the file reads again.
        std::fs::write(&packets, kept).unwrap();
        assert_eq!(cache.open_or_skip(&dir, &base, "video").map(|t| t.entries.len()), Some(3));
        assert!(cache.problems().is_empty());
    }
}
