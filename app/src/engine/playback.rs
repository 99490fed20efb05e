//! Frames of a stream by time: find the group of pictures holding the frame displayed at a
//! time, decode it from its keyframe, and keep decoded GOPs in a byte-budgeted cache so
//! stepping back a frame (or scrubbing over the same GOP) costs no decoding.

use super::decoder::{OpenH264Decoder, VideoDecoder, YuvFrame};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tessera_storage::fsv::{Archive, Stream, TimedPacket};
use tessera_storage::h264::{self, ColorInfo};

/// A decoded group of pictures, frames in presentation order.
#[derive(Debug)]
pub struct DecodedGop {
    pub frames: Vec<Arc<YuvFrame>>,
    pub color: ColorInfo,
    pub bytes: usize,
}

/// Decoded-frame cache budget (a 2 s GOP of 1080p at 25 fps is ~150 MB).
pub const GOP_CACHE_BYTES: usize = 512 << 20;

pub struct FrameSource {
    pub stream: Stream,
    /// Decoded GOPs by their first frame's time.
    cache: BTreeMap<i64, (Arc<DecodedGop>, u64)>,
    cache_bytes: usize,
    budget: usize,
    tick: u64,
    /// Frames decoded (ever): the bench's decode counter.
    pub decoded_frames: u64,
}

impl FrameSource {
    pub fn open(root: &Path, stream: &str) -> anyhow::Result<Self> {
        let archive = Archive::open(root)?;
        let stream = archive.stream(stream)?.clone();
        Ok(Self::new(stream, GOP_CACHE_BYTES))
    }

    pub fn new(stream: Stream, budget: usize) -> Self {
        Self { stream, cache: BTreeMap::new(), cache_bytes: 0, budget, tick: 0, decoded_frames: 0 }
    }

    pub fn clear_cache(&mut self) {
        self.cache.clear();
        self.cache_bytes = 0;
    }

    pub fn cache_bytes(&self) -> usize {
        self.cache_bytes
    }

    /// The frame displayed at `at_us` (the latest with time ≤ `at_us`) and its GOP.
    pub fn frame_at(&mut self, at_us: i64) -> anyhow::Result<Option<(Arc<YuvFrame>, Arc<DecodedGop>)>> {
        self.tick += 1;
        // A cached GOP spanning `at_us` answers without touching the disk.
        if let Some((_, (gop, used))) = self.cache.range_mut(..=at_us).next_back()
            && gop.frames.last().is_some_and(|f| f.time_us >= at_us)
        {
            *used = self.tick;
            let gop = gop.clone();
            let frame = gop.frames.iter().rev().find(|f| f.time_us <= at_us).cloned();
            return Ok(frame.map(|f| (f, gop)));
        }
        let Some((packets, target)) = self.stream.gop_at(at_us)? else { return Ok(None) };
        let target_time = packets[target].time_us;
        let gop = Arc::new(self.decode_gop(&packets)?);
        if gop.frames.is_empty() {
            anyhow::bail!(
                "stream {}: the video at {} does not decode (corrupt data)",
                self.stream.name,
                tessera_storage::UnixMicros(target_time)
            );
        }
        if let Some(first) = gop.frames.first() {
            self.insert(first.time_us, gop.clone());
        }
        let frame = gop.frames.iter().rev().find(|f| f.time_us <= target_time).or_else(|| gop.frames.first()).cloned();
        Ok(frame.map(|f| (f, gop)))
    }

    fn insert(&mut self, key: i64, gop: Arc<DecodedGop>) {
        self.cache_bytes += gop.bytes;
        self.cache.insert(key, (gop, self.tick));
        while self.cache_bytes > self.budget && self.cache.len() > 1 {
            let Some((&oldest, _)) = self.cache.iter().min_by_key(|(_, (_, used))| *used) else { break };
            if let Some((g, _)) = self.cache.remove(&oldest) {
                self.cache_bytes -= g.bytes;
            }
        }
    }

    /// Decode a GOP's packets: access units are the runs of packets sharing a time.
    fn decode_gop(&mut self, packets: &[TimedPacket]) -> anyhow::Result<DecodedGop> {
        let mut decoder = OpenH264Decoder::new()?;
        let mut color = ColorInfo::default();
        let mut times = std::collections::VecDeque::new();
        let mut frames = Vec::new();
        let mut au = Vec::new();
        let mut i = 0;
        while i < packets.len() {
            let time = packets[i].time_us;
            au.clear();
            let mut has_picture = false;
            while i < packets.len() && packets[i].time_us == time {
                let nalu = h264::strip_start_code(&packets[i].packet.data);
                match h264::nal_type(nalu) {
                    h264::NAL_SPS => {
                        if let Ok(sps) = h264::parse_sps(nalu) {
                            color = sps.color;
                        }
                    }
                    t if h264::is_vcl(t) => has_picture = true,
                    _ => {}
                }
                au.extend_from_slice(&[0, 0, 0, 1]);
                au.extend_from_slice(nalu);
                i += 1;
            }
            if has_picture {
                times.push_back(time);
            }
            // A corrupt access unit costs its own picture, not the GOP.
            match decoder.decode(&au) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("{}: access unit at {time} µs does not decode: {e}", self.stream.name);
                    times.pop_back();
                }
            }
        }
        frames.extend(decoder.flush()?);
        // I/P streams come out in decode order: the n-th picture out is the n-th fed.
        let frames: Vec<Arc<YuvFrame>> = frames
            .into_iter()
            .zip(times)
            .map(|(mut f, t)| {
                f.time_us = t;
                Arc::new(f)
            })
            .collect();
        self.decoded_frames += frames.len() as u64;
        let bytes = frames.iter().map(|f| f.bytes()).sum();
        Ok(DecodedGop { frames, color, bytes })
    }

    /// The first frame of the GOP holding `at_us`, decoding only its keyframe (scrubbing).
    pub fn key_frame_at(&mut self, at_us: i64) -> anyhow::Result<Option<(Arc<YuvFrame>, Arc<DecodedGop>)>> {
        if let Some((_, (gop, _))) = self.cache.range(..=at_us).next_back()
            && gop.frames.last().is_some_and(|f| f.time_us >= at_us)
        {
            return Ok(gop.frames.first().cloned().map(|f| (f, gop.clone())));
        }
        let Some((packets, _)) = self.stream.gop_at(at_us)? else { return Ok(None) };
        let Some(first) = packets.first() else { return Ok(None) };
        let key_au: Vec<TimedPacket> = packets.iter().take_while(|p| p.time_us == first.time_us).cloned().collect();
        let gop = Arc::new(self.decode_gop(&key_au)?);
        Ok(gop.frames.first().cloned().map(|f| (f, gop)))
    }

    /// The time of the next (or previous) GOP's keyframe from `at_us`.
    pub fn next_key_frame(&mut self, at_us: i64, forward: bool) -> anyhow::Result<Option<i64>> {
        if forward {
            let Some((packets, _)) = self.stream.gop_at(at_us)? else { return Ok(None) };
            let last = packets.last().map_or(at_us, |p| p.time_us);
            self.first_packet_after(last)
        } else {
            let Some((packets, _)) = self.stream.gop_at(at_us)? else { return Ok(None) };
            let start = packets.first().map_or(at_us, |p| p.time_us);
            let key = if start < at_us {
                Some(start)
            } else {
                self.stream.gop_at(start - 1)?.and_then(|(p, _)| p.first().map(|p| p.time_us))
            };
            Ok(key)
        }
    }

    /// Time of the first packet after `t_us`: within the next minute, else the start of the
    /// next file (a gap in the recording).
    fn first_packet_after(&self, t_us: i64) -> anyhow::Result<Option<i64>> {
        if let Some(p) = self.stream.read_range(t_us + 1, t_us + 60_000_000, false)?.first() {
            return Ok(Some(p.time_us));
        }
        let next = self.stream.files.partition_point(|f| f.start_ms * 1000 <= t_us);
        for i in next..self.stream.files.len() {
            let track = self.stream.open_track(i)?;
            if let Some(e) = track.entries.first() {
                let t = track.header.time_base_us + tessera_storage::rf1::us_from_ticks_floor(i64::from(e.pts_ticks));
                if t > t_us {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }

    /// Time of the frame before / after the one displayed at `at_us` (frame stepping).
    pub fn neighbour(&mut self, at_us: i64, forward: bool) -> anyhow::Result<Option<i64>> {
        let Some((frame, gop)) = self.frame_at(at_us)? else { return Ok(None) };
        let i = gop.frames.iter().position(|f| f.time_us == frame.time_us).unwrap_or(0);
        if forward {
            if let Some(next) = gop.frames.get(i + 1) {
                return Ok(Some(next.time_us));
            }
            // Next GOP: the first packet after this GOP's last frame (across any gap).
            let last = gop.frames.last().map_or(at_us, |f| f.time_us);
            self.first_packet_after(last)
        } else if i > 0 {
            Ok(Some(gop.frames[i - 1].time_us))
        } else {
            let first = gop.frames.first().map_or(at_us, |f| f.time_us);
            Ok(self.frame_at(first - 1)?.map(|(f, _)| f.time_us))
        }
    }
}
