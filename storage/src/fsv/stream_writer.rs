//! Writing one stream of an archive: rf1 files with cyclops' roll-over rule, written under a
//! `.partial` name and renamed only by [`StreamWriter::finish`], so a failed or interrupted
//! write never leaves a half-written archive file (the archive ignores other extensions).

use super::{FsvError, VIDEO_TRACK, validate_stream_name};
use crate::h264;
use crate::rf1::{self, Codec, FileKind, NaluIn, Writer};
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
        self.push(nalu, h264_flags(nalu));
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

/// cyclops' flags: SPS/PPS = EssentialMeta|AnnexB, IDR = KeyFrame|AnnexB, others AnnexB.
pub fn h264_flags(nalu: &[u8]) -> u16 {
    match h264::nal_type(nalu) {
        h264::NAL_IDR => rf1::FLAG_KEY_FRAME | rf1::FLAG_ANNEX_B,
        h264::NAL_SPS | h264::NAL_PPS => rf1::FLAG_ESSENTIAL_META | rf1::FLAG_ANNEX_B,
        _ => rf1::FLAG_ANNEX_B,
    }
}

struct OpenFile {
    writer: Writer,
    start_us: i64,
    final_index: PathBuf,
    final_packets: PathBuf,
}

/// Writes access units into `<root>/fsv/<stream>/`, batching like cyclops' 1 MiB buffer.
pub struct StreamWriter {
    dir: PathBuf,
    codec: Codec,
    current: Option<OpenFile>,
    batch: Vec<AccessUnit>,
    batch_bytes: u64,
    /// Closed files still under their `.partial` names: (partial, final) pairs.
    closed: Vec<(PathBuf, PathBuf)>,
    size: (u16, u16),
}

const BATCH_BYTES: u64 = 1 << 20;

impl StreamWriter {
    pub fn new(root: &Path, stream: &str, codec: Codec) -> Result<Self, FsvError> {
        validate_stream_name(stream).map_err(|p| FsvError::invalid(root.join("fsv"), p))?;
        let dir = root.join("fsv").join(stream);
        std::fs::create_dir_all(&dir).map_err(|e| FsvError::io(&dir, e))?;
        Ok(Self { dir, codec, current: None, batch: Vec::new(), batch_bytes: 0, closed: Vec::new(), size: (0, 0) })
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
        if self.batch_bytes > BATCH_BYTES {
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
        let writer = Writer::create(
            &partial(&final_index),
            &partial(&final_packets),
            self.codec,
            start_us,
            self.size.0,
            self.size.1,
        )?;
        self.current = Some(OpenFile { writer, start_us, final_index, final_packets });
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), FsvError> {
        if let Some(f) = self.current.take() {
            let index = f.writer.index_path().to_owned();
            let packets = f.writer.packets_path().to_owned();
            f.writer.close()?;
            self.closed.push((index, f.final_index));
            self.closed.push((packets, f.final_packets));
        }
        Ok(())
    }

    /// Flush, close and publish every file under its final name. Returns the files written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, FsvError> {
        self.flush()?;
        self.close_current()?;
        let mut published = Vec::new();
        for (from, to) in std::mem::take(&mut self.closed) {
            std::fs::rename(&from, &to).map_err(|e| FsvError::io(&to, e))?;
            published.push(to);
        }
        Ok(published)
    }

    /// Remove every file this writer created (after a failure).
    pub fn abort(mut self) {
        self.remove_partials();
    }

    fn remove_partials(&mut self) {
        if let Some(f) = self.current.take() {
            let _ = std::fs::remove_file(f.writer.index_path());
            let _ = std::fs::remove_file(f.writer.packets_path());
        }
        for (from, _) in self.closed.drain(..) {
            let _ = std::fs::remove_file(from);
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
