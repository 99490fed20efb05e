//! Writing a track the way cyclops does, so a cleanly closed file is byte-identical:
//! header at creation and at close only, packets before index entries in every batch, a new
//! sentinel with each batch, pre-allocation, truncation at clean close.

use super::Rf1Error;
use super::entry::{MAX_ENTRIES, MAX_PACKET_BYTES, MAX_PTS_TICKS, pack};
use super::header::{HEADER_SIZE, Header, TrackKind};
use crate::codec::Codec;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One NALU to write: PTS in ticks relative to the time base, rf1 flags, stored payload.
#[derive(Clone, Copy, Debug)]
pub struct NaluIn<'a> {
    pub pts_ticks: i64,
    pub flags: u16,
    pub payload: &'a [u8],
}

/// Index pre-allocation: all 65536 slots at once (`32 + 65536·8` bytes).
const INDEX_PREALLOC_BYTES: u64 = (HEADER_SIZE + 65536 * 8) as u64;

#[derive(Debug)]
pub struct Writer {
    index_path: PathBuf,
    packets_path: PathBuf,
    index: File,
    packets: File,
    header: Header,
    count: usize,
    packets_size: u64,
    last_pts_ticks: i64,
    index_prealloc: u64,
    packets_prealloc: u64,
    dirty: bool,
    scratch: Vec<u8>,
}

impl Writer {
    /// Create a new video track at the given paths. Refuses to overwrite an existing file
    /// (cyclops never appends to a closed file; neither do we).
    pub fn create(
        index_path: &Path,
        packets_path: &Path,
        codec: Codec,
        time_base_us: i64,
        width: u16,
        height: u16,
    ) -> Result<Self, Rf1Error> {
        let open = |p: &Path| {
            OpenOptions::new().read(true).write(true).create_new(true).open(p).map_err(|e| Rf1Error::io(p, e))
        };
        let index = open(index_path)?;
        let packets = match open(packets_path) {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_file(index_path);
                return Err(e);
            }
        };
        let header = Header { kind: TrackKind::Video, codec, time_base_us, index_count: 0, width, height };
        let mut first = header.encode().to_vec();
        first.extend_from_slice(&[0u8; 8]); // the empty track's sentinel
        index.write_all_at(&first, 0).map_err(|e| Rf1Error::io(index_path, e))?;
        Ok(Self {
            index_path: index_path.to_owned(),
            packets_path: packets_path.to_owned(),
            index,
            packets,
            header,
            count: 0,
            packets_size: 0,
            last_pts_ticks: 0,
            index_prealloc: 0,
            packets_prealloc: 0,
            dirty: false,
            scratch: Vec::new(),
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }
    pub fn count(&self) -> usize {
        self.count
    }
    pub fn index_path(&self) -> &Path {
        &self.index_path
    }
    pub fn packets_path(&self) -> &Path {
        &self.packets_path
    }

    /// Would a batch of `nalus` NALUs ending at `max_pts_ticks` with `bytes` payload bytes fit?
    pub fn has_capacity(&self, nalus: usize, max_pts_ticks: i64, bytes: u64) -> bool {
        nalus == 0
            || (self.packets_size + bytes <= MAX_PACKET_BYTES
                && max_pts_ticks <= i64::from(MAX_PTS_TICKS)
                && self.count + nalus < MAX_ENTRIES)
    }

    /// Append a batch: payloads first, then the entries and a new sentinel in one write.
    pub fn write(&mut self, nalus: &[NaluIn<'_>]) -> Result<(), Rf1Error> {
        if nalus.is_empty() {
            return Ok(());
        }
        let bytes: u64 = nalus.iter().map(|n| n.payload.len() as u64).sum();
        let max_pts = nalus.iter().map(|n| n.pts_ticks).max().unwrap_or(0);
        if !self.has_capacity(nalus.len(), max_pts, bytes) {
            return Err(self.write_error("track is full (65534 NALUs, 2^30 bytes or 1024 s)"));
        }
        if self.packets_size + bytes > self.packets_prealloc {
            self.packets_prealloc = packet_prealloc_size(self.packets_size + bytes, self.count + nalus.len());
            self.packets.set_len(self.packets_prealloc).map_err(|e| Rf1Error::io(&self.packets_path, e))?;
        }
        if self.index_prealloc < INDEX_PREALLOC_BYTES {
            self.index_prealloc = INDEX_PREALLOC_BYTES;
            self.index.set_len(INDEX_PREALLOC_BYTES).map_err(|e| Rf1Error::io(&self.index_path, e))?;
        }
        let mut words = Vec::with_capacity(8 * (nalus.len() + 1));
        self.scratch.clear();
        let mut location = self.packets_size;
        let mut last_pts = self.last_pts_ticks;
        for n in nalus {
            if n.pts_ticks < last_pts {
                return Err(
                    self.write_error(&format!("pts {} ticks is before the end of the track ({last_pts})", n.pts_ticks))
                );
            }
            let word = pack(n.pts_ticks as u64, location, u64::from(n.flags)).ok_or_else(|| {
                self.write_error(&format!(
                    "entry out of range (pts {}, location {location}, flags {})",
                    n.pts_ticks, n.flags
                ))
            })?;
            words.extend_from_slice(&word.to_le_bytes());
            self.scratch.extend_from_slice(n.payload);
            location += n.payload.len() as u64;
            last_pts = n.pts_ticks;
        }
        let sentinel = pack(0, location, 0).ok_or_else(|| self.write_error("packet file too large"))?;
        words.extend_from_slice(&sentinel.to_le_bytes());
        self.packets.write_all_at(&self.scratch, self.packets_size).map_err(|e| Rf1Error::io(&self.packets_path, e))?;
        self.index
            .write_all_at(&words, (HEADER_SIZE + 8 * self.count) as u64)
            .map_err(|e| Rf1Error::io(&self.index_path, e))?;
        self.packets_size = location;
        self.last_pts_ticks = last_pts;
        self.count += nalus.len();
        self.dirty = true;
        Ok(())
    }

    /// Clean close: header with the real count, index and packets truncated to their used size.
    pub fn close(mut self) -> Result<(), Rf1Error> {
        if self.dirty {
            self.header.index_count = self.count as u16;
            self.index.write_all_at(&self.header.encode(), 0).map_err(|e| Rf1Error::io(&self.index_path, e))?;
            self.index
                .set_len((HEADER_SIZE + 8 * (self.count + 1)) as u64)
                .map_err(|e| Rf1Error::io(&self.index_path, e))?;
            self.packets.set_len(self.packets_size).map_err(|e| Rf1Error::io(&self.packets_path, e))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Leave the files exactly as a crash would (for tests and the crash benchmarks).
    pub fn abandon(self) {}

    fn write_error(&self, problem: &str) -> Rf1Error {
        Rf1Error::Write { path: self.index_path.clone(), problem: problem.to_owned() }
    }
}

/// cyclops' chunking: 16 MiB while the average NALU is under 5000 bytes, else 64 MiB.
fn packet_prealloc_size(required: u64, nalus: usize) -> u64 {
    let average = required / nalus.max(1) as u64;
    let chunk: u64 = if average < 5000 { 16 << 20 } else { 64 << 20 };
    required.div_ceil(chunk) * chunk
}
