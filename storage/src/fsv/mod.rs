//! The fsv archive: `<root>/fsv/<stream>/<unix_ms>_<track>.rf1i|.rf1p`, compatible with cyclops
//! (`pkg/videoformat/fsv`). See `README.md` beside this file.
//!
//! A bad file never breaks its stream: opening lists what it works around as [`Problem`]s, and
//! reads skip files that cannot be read (see [`Stream`]).

mod archive;
mod import;
mod stream_writer;
mod sweeper;
mod track_cache;

pub use archive::{Archive, FileInfo, KeyUnit, Stream, StreamStamp, StreamSummary, TimedPacket, parse_file_name};
pub use import::{FrameRate, ImportSummary, Pace, import_annex_b, import_h264, import_paced};
pub use stream_writer::{AccessUnit, ROLL_OVER_US, StreamWriter};
pub use sweeper::{SweepReport, sweep};
pub use track_cache::{TRACKS_PER_STREAM, TrackCache};

use std::path::PathBuf;

/// The track cyclops writes (and the only one Tessera writes).
pub const VIDEO_TRACK: &str = "video";

/// Errors opening, reading or writing an archive, naming the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum FsvError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Rf1(#[from] crate::rf1::Rf1Error),
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

impl FsvError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
    pub(crate) fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), problem: problem.into() }
    }

    /// The error as a [`Problem`] (the file and what is wrong with it).
    pub fn to_problem(&self) -> Problem {
        match self {
            Self::Io { path, source } => Problem::new(path, source.to_string()),
            Self::Rf1(e) => Problem::new(e.path(), e.problem()),
            Self::Invalid { path, problem } => Problem::new(path, problem.clone()),
        }
    }
}

/// Something wrong in an archive that opening and reading work around: a name that is not
/// `<unix_ms>_<track>`, an index without its packets, an unreadable file, a `.partial` file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub problem: String,
}

impl Problem {
    pub fn new(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self { path: path.into(), problem: problem.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

/// JSON needs UTF-8: a file name that is not is written with replacement characters.
fn lossy_path<S: serde::Serializer>(path: &std::path::Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}

/// A stream name is one path component: not empty, no `/`, `\`, no `..`, no NUL, not `.`,
/// and a name ([`crate::names`]: at most 255 bytes, no control characters).
pub fn validate_stream_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("stream name is empty".into());
    }
    crate::names::check_name("stream name", name)?;
    if name.contains(['/', '\\', '\0']) || name.contains("..") || name == "." {
        return Err(format!("stream name {name:?} must not contain '/', '\\' or '..'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_stream_name;

    #[test]
    fn stream_names() {
        assert!(validate_stream_name("cam-1-HD").is_ok());
        let long = "s".repeat(256);
        for bad in ["", "a/b", "a\\b", "..", "a..b", ".", "a\nb", " ", &long] {
            assert!(validate_stream_name(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod archive_tests;
