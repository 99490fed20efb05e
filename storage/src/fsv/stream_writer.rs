//! Writing one stream of an archive: rf1 files with cyclops' roll-over rule, written under a
//! `.partial` name and renamed only by [`StreamWriter::finish`], so a failed or interrupted
//! write never leaves a half-written archive file (the archive ignores other extensions).
//!
//! A *recording* writer ([`StreamWriter::recording`], `import --realtime`) writes as cyclops
//! does instead: under the final names from the first access unit, each unit readable as soon
//! as it is written, a killed writer's file left as a crash leaves it (rf1 is crash-tolerant:
//! readers take the entries up to the sentinel). A recorder's video is never removed.
//!
//! A killed writer still leaves its `.partial` files (pre-allocated: up to 1 GiB each). To
//! tell them from a running writer's, a writer holds an exclusive advisory lock
//! ([`File::try_lock`], `flock`) on each of its `.rf1i.partial` files until it publishes or
//! removes them; the kernel drops the lock when the process dies. A partial index that can be
//! locked is therefore stale, and [`StreamWriter::new`] removes it with its `.rf1p.partial`.

use super::{FsvError, Problem, VIDEO_TRACK, validate_stream_name};
use crate::rf1::{self, Codec, FileKind, NaluIn, Writer};
use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file rolls over once an access unit is more than 1000 s after the file's start.
pub const ROLL_OVER_US: i64 = 1_000_000_000;

/// One access unit: its absolute time in ns and its NALUs as stored payloads (`00 00 01` + NALU)
/// with their rf1 flags.
#[derive(Debug, Default, Clone)]
pub struct AccessUnit {
    pub time_ns: i64,
    pub nalus: Vec<(u16, Vec<u8>)>,
}

impl AccessUnit {
    /// Append an H.264 NALU (no start code), storing it as `00 00 01` + NALU with cyclops' flags.
    pub fn push_h264(&mut self, nalu: &[u8]) {
        self.push(nalu, Codec::H264.rf1_flags(nalu));
    }

    /// Append a NALU (no start code) with its rf1 flags, stored as `00 00 01` + NALU.
    pub fn push(&mut self, nalu: &[u8], flags: u16) {
        let mut payload = Vec::with_capacity(nalu.len() + 3);
        payload.extend_from_slice(&[0, 0, 1]);
        payload.extend_from_slice(nalu);
        self.nalus.push((flags, payload));
    }
    pub fn bytes(&self) -> u64 {
        self.nalus.iter().map(|(_, p)| p.len() as u64).sum()
    }
}

struct OpenFile {
    writer: Writer,
    start_us: i64,
    final_index: PathBuf,
    final_packets: PathBuf,
    /// The lock on the `.rf1i.partial` file: this writer is alive (`None` for a recorder's
    /// file, under its final name from the start).
    lock: Option<File>,
}

/// A closed file still under its `.partial` names, locked until published or removed.
struct ClosedFile {
    partial_index: PathBuf,
    partial_packets: PathBuf,
    final_index: PathBuf,
    final_packets: PathBuf,
    _lock: Option<File>,
}

/// Writes access units into `<root>/fsv/<stream>/`, batching like cyclops' 1 MiB buffer.
pub struct StreamWriter {
    dir: PathBuf,
    codec: Codec,
    current: Option<OpenFile>,
    batch: Vec<AccessUnit>,
    batch_bytes: u64,
    /// Closed files still under their `.partial` names.
    closed: Vec<ClosedFile>,
    size: (u16, u16),
    /// Directories this writer created (the stream's, and `fsv/` for a new archive), deepest
    /// first: a writer that publishes nothing removes them again when they are empty.
    created_dirs: Vec<PathBuf>,
    /// A recorder: final names at once, every unit written when it comes, nothing removed …
    recording: bool,
    /// … and the files it has written.
    recorded: Vec<PathBuf>,
}

const BATCH_BYTES: u64 = 1 << 20;

impl StreamWriter {
    /// A writer for `stream`, after removing the stale `.partial` files of writers that died.
    pub fn new(root: &Path, stream: &str, codec: Codec) -> Result<Self, FsvError> {
        validate_stream_name(stream).map_err(|p| FsvError::invalid(root.join("fsv"), p))?;
        let dir = root.join("fsv").join(stream);
        let created_dirs: Vec<PathBuf> = [dir.clone(), root.join("fsv")].into_iter().filter(|d| !d.exists()).collect();
        let writer = Self {
            dir,
            codec,
            current: None,
            batch: Vec::new(),
            batch_bytes: 0,
            closed: Vec::new(),
            size: (0, 0),
            created_dirs,
            recording: false,
            recorded: Vec::new(),
        };
        std::fs::create_dir_all(&writer.dir).map_err(|e| FsvError::io(&writer.dir, e))?;
        remove_stale_partials(&writer.dir)?;
        Ok(writer)
    }

    /// A writer that records: each access unit is in its file (final name, index entry and
    /// sentinel) when [`write`](Self::write) returns, as cyclops writes a live camera, so
    /// readers follow it; files roll over by the same rule. Dropped without
    /// [`finish`](Self::finish), it closes its file cleanly and keeps everything written.
    pub fn recording(root: &Path, stream: &str, codec: Codec) -> Result<Self, FsvError> {
        let mut writer = Self::new(root, stream, codec)?;
        writer.recording = true;
        Ok(writer)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Picture size for the files written from now on (from the SPS); a change rolls over.
    pub fn set_size(&mut self, width: u16, height: u16) -> Result<(), FsvError> {
        if self.size != (width, height) {
            self.flush()?;
            self.close_current()?;
            self.size = (width, height);
        }
        Ok(())
    }

    /// Start a new file at the next access unit (e.g. to start files on keyframes).
    pub fn roll_over(&mut self) -> Result<(), FsvError> {
        self.flush()?;
        self.close_current()
    }

    pub fn write(&mut self, unit: AccessUnit) -> Result<(), FsvError> {
        self.batch_bytes += unit.bytes();
        self.batch.push(unit);
        if self.recording || self.batch_bytes > BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Write the buffered access units, rolling over to new files as needed.
    pub fn flush(&mut self) -> Result<(), FsvError> {
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let mut nalus: Vec<NaluIn<'_>> = Vec::new();
        for unit in &batch {
            let time_us = unit.time_ns.div_euclid(1000);
            let needs_new = match &self.current {
                None => true,
                Some(f) => {
                    let rel_ticks = rf1::ticks_from_ns(unit.time_ns - f.start_us * 1000);
                    let pending: u64 = nalus.iter().map(|n| n.payload.len() as u64).sum();
                    time_us - f.start_us > ROLL_OVER_US
                        || !f.writer.has_capacity(nalus.len() + unit.nalus.len(), rel_ticks, pending + unit.bytes())
                }
            };
            if needs_new {
                if let Some(f) = &mut self.current {
                    f.writer.write(&nalus)?;
                }
                nalus.clear();
                self.close_current()?;
                self.open_file(time_us)?;
            }
            let start_ns = self.current.as_ref().map_or(0, |f| f.start_us * 1000);
            let pts_ticks = rf1::ticks_from_ns(unit.time_ns - start_ns);
            nalus.extend(unit.nalus.iter().map(|(flags, payload)| NaluIn { pts_ticks, flags: *flags, payload }));
        }
        if let Some(f) = &mut self.current {
            f.writer.write(&nalus)?;
        }
        Ok(())
    }

    fn open_file(&mut self, start_us: i64) -> Result<(), FsvError> {
        let base = start_us.div_euclid(1000).to_string();
        let final_index = rf1::track_path(&self.dir, &base, VIDEO_TRACK, FileKind::Index);
        let final_packets = rf1::track_path(&self.dir, &base, VIDEO_TRACK, FileKind::Packets);
        for p in [&final_index, &final_packets] {
            if p.exists() {
                return Err(FsvError::invalid(p, "already exists; refusing to overwrite an archive file"));
            }
        }
        if self.recording {
            let writer = Writer::create(&final_index, &final_packets, self.codec, start_us, self.size.0, self.size.1)?;
            self.recorded.extend([final_packets.clone(), final_index.clone()]);
            self.current = Some(OpenFile { writer, start_us, final_index, final_packets, lock: None });
            return Ok(());
        }
        let (partial_index, partial_packets) = (partial(&final_index), partial(&final_packets));
        // Left by a writer that died after this writer started (or since the sweep in `new`)?
        if partial_index.exists() && !remove_if_stale(&partial_index)? {
            return Err(FsvError::invalid(partial_index, "another import of this stream is writing this file"));
        }
        let writer = Writer::create(&partial_index, &partial_packets, self.codec, start_us, self.size.0, self.size.1)
            .map_err(|e| match e {
            rf1::Rf1Error::Io { path, source } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                FsvError::invalid(path, "another import of this stream is writing this file")
            }
            e => e.into(),
        })?;
        let lock = Some(lock_partial(&partial_index)?);
        self.current = Some(OpenFile { writer, start_us, final_index, final_packets, lock });
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), FsvError> {
        if self.recording {
            // Its names are final already: a clean close writes the count and trims the
            // pre-allocation, as cyclops closes a file when it rolls over.
            if let Some(f) = self.current.take() {
                f.writer.close()?;
            }
            return Ok(());
        }
        if let Some(f) = self.current.take() {
            let partial_index = f.writer.index_path().to_owned();
            let partial_packets = f.writer.packets_path().to_owned();
            f.writer.close()?;
            self.closed.push(ClosedFile {
                partial_index,
                partial_packets,
                final_index: f.final_index,
                final_packets: f.final_packets,
                _lock: f.lock,
            });
        }
        Ok(())
    }

    /// Flush, close and publish every file under its final name. Returns the files written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, FsvError> {
        self.flush()?;
        self.close_current()?;
        let mut published = std::mem::take(&mut self.recorded);
        while let Some(file) = self.closed.first() {
            // Packets first: a reader never sees an index without its packets, and the
            // index partial keeps this writer's lock until the file is complete.
            for (from, to) in [(&file.partial_packets, &file.final_packets), (&file.partial_index, &file.final_index)] {
                std::fs::rename(from, to).map_err(|e| FsvError::io(to, e))?;
                published.push(to.clone());
            }
            self.closed.remove(0); // releases the lock
        }
        Ok(published)
    }

    /// Remove the partial files (packets first: the index carries the lock), then unlock;
    /// then the directories this writer created, if nothing is in them (a failed import of a
    /// new stream leaves no empty stream directory).
    fn remove_partials(&mut self) {
        if self.recording {
            // A recorder keeps what it wrote: close the file cleanly (a failure leaves it as a
            // crash would, which readers take too).
            let _ = self.flush();
            let _ = self.close_current();
            return;
        }
        if let Some(f) = self.current.take() {
            let _ = std::fs::remove_file(f.writer.packets_path());
            let _ = std::fs::remove_file(f.writer.index_path());
        }
        for file in self.closed.drain(..) {
            let _ = std::fs::remove_file(&file.partial_packets);
            let _ = std::fs::remove_file(&file.partial_index);
        }
        for dir in self.created_dirs.drain(..) {
            let _ = std::fs::remove_dir(dir); // fails, as it should, unless empty
        }
    }
}

impl Drop for StreamWriter {
    /// A writer dropped without `finish` (an error path) leaves nothing behind.
    fn drop(&mut self) {
        self.remove_partials();
    }
}

fn partial(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

const INDEX_PARTIAL: &str = ".rf1i.partial";
const PACKETS_PARTIAL: &str = ".rf1p.partial";

/// The `.rf1i.partial` file a `.rf1i.partial` or `.rf1p.partial` file belongs to (`None` for
/// other names).
fn index_partial_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    if name.ends_with(INDEX_PARTIAL) {
        return Some(path.to_owned());
    }
    let stem = name.strip_suffix(PACKETS_PARTIAL)?;
    Some(path.with_file_name(format!("{stem}{INDEX_PARTIAL}")))
}

/// Lock a partial index this writer has just created, proving to other writers that it is
/// alive. Fails when another process holds it, or when another writer's sweep removed the file
/// between its creation and this lock (the file is then no longer the one at that name).
fn lock_partial(path: &Path) -> Result<File, FsvError> {
    let file = File::open(path).map_err(|e| FsvError::io(path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(FsvError::invalid(path, "another import of this stream is writing this file"));
        }
        Err(TryLockError::Error(e)) => return Err(FsvError::io(path, e)),
    }
    let held = file.metadata().map_err(|e| FsvError::io(path, e))?;
    match std::fs::metadata(path) {
        Ok(named) if (named.dev(), named.ino()) == (held.dev(), held.ino()) => Ok(file),
        _ => Err(FsvError::invalid(path, "removed by another import while being created; try again")),
    }
}

/// Remove the `.partial` files in `dir` whose writer is gone.
fn remove_stale_partials(dir: &Path) -> Result<(), FsvError> {
    for entry in std::fs::read_dir(dir).map_err(|e| FsvError::io(dir, e))? {
        let path = entry.map_err(|e| FsvError::io(dir, e))?.path();
        let Some(index) = index_partial_of(&path) else { continue };
        if index == path {
            remove_if_stale(&path)?; // a running writer's stays
        } else if !index.exists() {
            // Packets without their index: a writer creates the index first and removes
            // (and renames) it last, so no live writer has this one.
            remove_file(&path)?;
        }
    }
    Ok(())
}

/// Remove a partial index and its packets unless a writer holds the index's lock. Returns
/// whether they are gone (false: a running writer's).
fn remove_if_stale(index: &Path) -> Result<bool, FsvError> {
    let file = match File::open(index) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(FsvError::io(index, e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(false),
        Err(TryLockError::Error(e)) => return Err(FsvError::io(index, e)),
    }
    // Holding the lock: a writer starting now cannot take these names over before they go.
    let name = index.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let packets =
        index.with_file_name(format!("{}{PACKETS_PARTIAL}", name.strip_suffix(INDEX_PARTIAL).unwrap_or(name)));
    remove_file(&packets)?;
    remove_file(index)?;
    tracing::info!("{}: removed the partial files of an interrupted import", index.display());
    Ok(true)
}

fn remove_file(path: &Path) -> Result<(), FsvError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FsvError::io(path, e)),
        _ => Ok(()),
    }
}

/// What `Archive::open` reports about a `.rf1i.partial` / `.rf1p.partial` file (`None` for
/// other names). Only looks: a shared lock probe, nothing written.
pub(crate) fn partial_problem(path: &Path) -> Option<Problem> {
    let index = index_partial_of(path)?;
    let live = match File::open(&index) {
        Ok(file) => match file.try_lock_shared() {
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(e)) => Err(e),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    };
    Some(Problem::new(
        path,
        match live {
            Ok(true) => "partial file of an import that is running".to_owned(),
            Ok(false) => "partial file of an interrupted import (the next import of this stream removes it)".to_owned(),
            Err(e) => format!("partial file of an import ({e})"),
        },
    ))
}
