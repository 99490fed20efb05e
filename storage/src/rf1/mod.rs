//! rf1 track files, byte-compatible with cyclops (`pkg/videoformat/rf1`).
//!
//! A track is `<base>_<track>.rf1i` (32-byte header, one 8-byte entry per NALU, a sentinel)
//! plus `<base>_<track>.rf1p` (the NALU payloads back to back: a playable Annex-B stream).
//! See `README.md` beside this file.

mod entry;
mod header;
mod reader;
mod writer;

pub use crate::codec::Codec;
pub use entry::{
    Entry, FLAG_ANNEX_B, FLAG_ESSENTIAL_META, FLAG_KEY_FRAME, MAX_ENTRIES, MAX_PACKET_BYTES, MAX_PTS_TICKS,
};
pub use header::{HEADER_SIZE, Header, TrackKind};
pub use reader::{Packet, Track};
pub use writer::{NaluIn, Writer};

use std::path::{Path, PathBuf};

/// Ticks per second of rf1 PTS values.
pub const TICKS_PER_SEC: i64 = 4096;

/// `ticks = floor(ns · 4096 / 1e9)` (cyclops' encoding).
pub fn ticks_from_ns(ns: i64) -> i64 {
    (i128::from(ns) * 4096).div_euclid(1_000_000_000) as i64
}

/// Microseconds of a tick count, rounded down (as cyclops decodes, truncated to µs).
pub fn us_from_ticks_floor(ticks: i64) -> i64 {
    (i128::from(ticks) * 1_000_000).div_euclid(4096) as i64
}

/// Ticks of a microsecond offset, rounded up: the first tick at or after `us`.
pub fn ticks_from_us_ceil(us: i64) -> i64 {
    (i128::from(us) * 4096 + 999_999).div_euclid(1_000_000) as i64
}

/// Which file of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Index,
    Packets,
}

impl FileKind {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Index => "rf1i",
            Self::Packets => "rf1p",
        }
    }
}

/// `<dir>/<base>_<track>.<ext>`.
pub fn track_path(dir: &Path, base: &str, track: &str, kind: FileKind) -> PathBuf {
    dir.join(format!("{base}_{track}.{}", kind.extension()))
}

/// Split a track file *name* into `(base, track)`. fsv bases are all digits, so the first `_`
/// after a digit-only prefix ends the base; anywhere else the last `_` is used (track names
/// written by cyclops have none). Never looks at the directory part (cyclops' bug).
pub fn split_track_file_name(path: &Path) -> Option<(String, String)> {
    let stem = path.file_stem()?.to_str()?;
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    let cut = if digits > 0 && stem.as_bytes().get(digits) == Some(&b'_') { digits } else { stem.rfind('_')? };
    let (base, track) = (&stem[..cut], &stem[cut + 1..]);
    (!base.is_empty() && !track.is_empty()).then(|| (base.to_owned(), track.to_owned()))
}

/// cyclops' track-name rule: none of `/ . \ # ! @ % ^ & * ? < > | ( )`, unchanged by path cleaning.
pub fn is_valid_track_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c| "/.\\#!@%^&*?<>|()".contains(c))
}

/// Errors reading or writing a track, naming the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum Rf1Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {problem}")]
    Format { path: PathBuf, problem: String },
    #[error("{path}: {problem}")]
    Write { path: PathBuf, problem: String },
}

impl Rf1Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
    pub(crate) fn format(path: &Path, problem: impl Into<String>) -> Self {
        Self::Format { path: path.to_owned(), problem: problem.into() }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::Format { path, .. } | Self::Write { path, .. } => path,
        }
    }

    /// The problem without the file name.
    pub fn problem(&self) -> String {
        match self {
            Self::Io { source, .. } => source.to_string(),
            Self::Format { problem, .. } | Self::Write { problem, .. } => problem.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_round_trip_vectors() {
        // (ticks, floor ns) from the format doc §1.4; ceil decoding re-encodes exactly.
        for (ticks, floor_ns) in [(1, 244140), (7, 1708984), (8, 1953125), (4095, 999755859), (4194303, 1023999755859)]
        {
            assert_eq!(ticks * 1_000_000_000 / 4096, floor_ns);
            assert_eq!(ticks_from_ns(ns_from_ticks(ticks)), ticks);
        }
        assert_eq!(ns_from_ticks(1), 244141);
        assert_eq!(ticks_from_ns(floor_ns_of(7)), 6);
    }

    /// Lossless inverse of [`ticks_from_ns`]: `ceil(ticks · 1e9 / 4096)` (the format doc §1.4).
    fn ns_from_ticks(ticks: i64) -> i64 {
        (i128::from(ticks) * 1_000_000_000 + 4095).div_euclid(4096) as i64
    }

    fn floor_ns_of(ticks: i64) -> i64 {
        ticks * 1_000_000_000 / 4096
    }

    #[test]
    fn splits_file_names_not_paths() {
        let p = Path::new("/dir_with_underscore/fsv/cam_1/1700000000000_video.rf1i");
        assert_eq!(split_track_file_name(p), Some(("1700000000000".into(), "video".into())));
        let p = Path::new("/x/1700000000000_my_track.rf1i");
        assert_eq!(split_track_file_name(p), Some(("1700000000000".into(), "my_track".into())));
        let p = Path::new("/x/clip_a_video.rf1i");
        assert_eq!(split_track_file_name(p), Some(("clip_a".into(), "video".into())));
        assert_eq!(split_track_file_name(Path::new("novideo.rf1i")), None);
    }

    #[test]
    fn track_names() {
        assert!(is_valid_track_name("video"));
        assert!(is_valid_track_name("my_track"));
        for bad in ["", "a/b", "a.b", "x(1)", "..", "a\\b"] {
            assert!(!is_valid_track_name(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod format_tests;
