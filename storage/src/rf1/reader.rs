//! Opening a track: header checks, crash recovery, truncated-packet repair, reading by time.
//!
//! The whole index (≤ 512 KiB) is read in one `read`; parsing is a pure function
//! ([`Track::parse_index`]) so it can be property-tested and fuzzed without files.

use super::entry::{Entry, unpack};
use super::header::{HEADER_SIZE, Header};
use super::{FileKind, Rf1Error, track_path};
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One NALU read back from a track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub pts_ticks: u32,
    pub flags: u16,
    /// The stored payload: a start code and the NALU bytes.
    pub data: Vec<u8>,
}

/// The result of parsing an index against the packet file's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedIndex {
    pub header: Header,
    pub entries: Vec<Entry>,
    /// True when the header count was 0 and the slots were scanned.
    pub recovered: bool,
    /// Entries the truncated-packet repair removed.
    pub dropped_entries: usize,
    /// End of the last returned entry: the usable packet bytes.
    pub packet_bytes: u64,
}

/// An open, read-only track.
#[derive(Debug)]
pub struct Track {
    pub index_path: PathBuf,
    pub packets_path: PathBuf,
    pub header: Header,
    pub entries: Vec<Entry>,
    pub recovered: bool,
    pub dropped_entries: usize,
    pub packet_bytes: u64,
    packets: File,
}

impl Track {
    /// Open `<dir>/<base>_<track>.rf1i` and its `.rf1p`.
    pub fn open(dir: &Path, base: &str, track: &str) -> Result<Self, Rf1Error> {
        Self::open_paths(
            &track_path(dir, base, track, FileKind::Index),
            &track_path(dir, base, track, FileKind::Packets),
        )
    }

    /// Open an index file and the `.rf1p` beside it.
    pub fn open_index(index_path: &Path) -> Result<Self, Rf1Error> {
        Self::open_paths(index_path, &index_path.with_extension(FileKind::Packets.extension()))
    }

    pub fn open_paths(index_path: &Path, packets_path: &Path) -> Result<Self, Rf1Error> {
        let index_bytes = std::fs::read(index_path).map_err(|e| Rf1Error::io(index_path, e))?;
        let packets = File::open(packets_path).map_err(|e| Rf1Error::io(packets_path, e))?;
        let packets_len = packets.metadata().map_err(|e| Rf1Error::io(packets_path, e))?.len();
        let parsed = Self::parse_index(&index_bytes, packets_len, index_path)?;
        Ok(Self {
            index_path: index_path.to_owned(),
            packets_path: packets_path.to_owned(),
            header: parsed.header,
            entries: parsed.entries,
            recovered: parsed.recovered,
            dropped_entries: parsed.dropped_entries,
            packet_bytes: parsed.packet_bytes,
            packets,
        })
    }

    /// Parse an index file's bytes, given the packet file's size (format doc §1.7).
    pub fn parse_index(bytes: &[u8], packets_len: u64, path: &Path) -> Result<ParsedIndex, Rf1Error> {
        let header = Header::decode(bytes, path)?;
        let slots = (bytes.len() - HEADER_SIZE) / 8;
        let word = |i: usize| {
            let at = HEADER_SIZE + 8 * i;
            u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default())
        };
        let recovered = header.index_count == 0;
        let used_slots = if recovered {
            // First all-zero slot ends the entries; a zero slot 0 followed by a non-zero
            // slot 1 is a legal first entry (PTS 0, location 0, flags 0).
            let start = usize::from(slots >= 2 && word(0) == 0 && word(1) != 0);
            (start..slots).find(|&i| word(i) == 0).unwrap_or(slots)
        } else {
            let wanted = usize::from(header.index_count) + 1;
            if slots < wanted {
                return Err(Rf1Error::format(
                    path,
                    format!(
                        "index_count is {} but the index holds only {slots} slots (entries + sentinel)",
                        header.index_count
                    ),
                ));
            }
            wanted
        };
        let mut entries = Vec::with_capacity(used_slots.saturating_sub(1));
        if used_slots >= 2 {
            let (_, sentinel_location, _) = unpack(word(used_slots - 1));
            let mut prev = unpack(word(0));
            for i in 1..used_slots {
                let next = if i == used_slots - 1 { (0, sentinel_location, 0) } else { unpack(word(i)) };
                let (pts, location, flags) = prev;
                if next.1 < location {
                    return Err(Rf1Error::format(
                        path,
                        format!("entry {i}: location {} is before entry {}'s {location}", next.1, i - 1),
                    ));
                }
                if i < used_slots - 1 && next.0 < pts {
                    return Err(Rf1Error::format(
                        path,
                        format!("entry {i}: pts {} ticks is before entry {}'s {pts}", next.0, i - 1),
                    ));
                }
                entries.push(Entry { pts_ticks: pts, location, length: next.1 - location, flags });
                prev = next;
            }
        }
        let dropped_entries = repair_truncated_packets(&mut entries, packets_len);
        let packet_bytes = entries.last().map_or(0, Entry::end);
        Ok(ParsedIndex { header, entries, recovered, dropped_entries, packet_bytes })
    }

    /// PTS of the last entry (the track's duration), in ticks.
    pub fn duration_ticks(&self) -> u32 {
        self.entries.last().map_or(0, |e| e.pts_ticks)
    }

    /// Entries with `start ≤ pts ≤ end` (ticks, relative to the time base); with `seek_key_frame`
    /// the range starts at the preceding keyframe and the SPS/PPS/SEI sharing its PTS (§1.8).
    /// Returns the range and whether it starts on a keyframe access unit.
    pub fn range_at_time(&self, start_ticks: i64, end_ticks: i64, seek_key_frame: bool) -> (Range<usize>, bool) {
        let first = self.entries.partition_point(|e| i64::from(e.pts_ticks) < start_ticks);
        let last = self.entries.partition_point(|e| i64::from(e.pts_ticks) <= end_ticks);
        if !seek_key_frame || first >= last {
            return (first..last.max(first), false);
        }
        // The whole access unit at `first`: its keyframe NALU may follow its SPS/PPS, so a
        // range starting on a keyframe starts there, not at the keyframe before it.
        let pts = self.entries[first].pts_ticks;
        let unit_end = first + self.entries[first..].iter().take_while(|e| e.pts_ticks == pts).count();
        let (start, found) = self.key_frame_start_at_or_before(unit_end - 1);
        (start..last, found)
    }

    /// The first entry of the keyframe access unit at or before entry `i` (SPS/PPS included),
    /// or `(0, false)` when no keyframe precedes it.
    pub fn key_frame_start_at_or_before(&self, i: usize) -> (usize, bool) {
        let Some(key) =
            self.entries[..=i.min(self.entries.len().saturating_sub(1))].iter().rposition(Entry::is_key_frame)
        else {
            return (0, false);
        };
        let pts = self.entries[key].pts_ticks;
        let start = self.entries[..key].iter().rposition(|e| e.pts_ticks != pts).map_or(0, |j| j + 1);
        (start, true)
    }

    /// Read the payloads of a range of entries with one read of the packet file.
    pub fn read_packets(&self, range: Range<usize>) -> Result<Vec<Packet>, Rf1Error> {
        let entries = &self.entries[range];
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else { return Ok(Vec::new()) };
        let base = u64::from(first.location);
        let mut buf = vec![0u8; (last.end() - base) as usize];
        self.packets.read_exact_at(&mut buf, base).map_err(|e| Rf1Error::io(&self.packets_path, e))?;
        Ok(entries
            .iter()
            .map(|e| {
                let at = (u64::from(e.location) - base) as usize;
                Packet { pts_ticks: e.pts_ticks, flags: e.flags, data: buf[at..at + e.length as usize].to_vec() }
            })
            .collect())
    }
}

/// Tessera's repair of a `.rf1p` shorter than its sentinel (cyclops lacks it): drop entries
/// whose payload runs past the end, then the rest of that incomplete access unit.
fn repair_truncated_packets(entries: &mut Vec<Entry>, packets_len: u64) -> usize {
    let before = entries.len();
    let keep = entries.iter().rposition(|e| e.end() <= packets_len).map_or(0, |i| i + 1);
    // Entries are monotonic, so everything before the last fitting entry fits too.
    if keep < entries.len() {
        let cut_pts = entries[keep].pts_ticks;
        entries.truncate(keep);
        while entries.last().is_some_and(|e| e.pts_ticks == cut_pts) {
            entries.pop();
        }
    }
    before - entries.len()
}
