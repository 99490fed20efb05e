//! Frames of a stream by time. A request finds the group of pictures (GOP) holding the frame
//! displayed at that time and decodes it from its keyframe — only as far as that frame; the
//! decoder is kept with the GOP, so playing on or asking for a later frame resumes where it
//! stopped, and decoded frames stay cached (byte budget) so stepping back costs nothing.

use super::decoder::{VideoDecoder, YuvFrame, decoder_for};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tessera_storage::fsv::{Archive, Stream, TimedPacket};
use tessera_storage::h264::{self, ColorInfo};
use tessera_storage::rf1::Codec;

/// Decoded-frame cache budget (a 2 s GOP of 1080p at 25 fps is ~150 MB).
pub const GOP_CACHE_BYTES: usize = 512 << 20;

/// A frame to show and how to convert its colours.
#[derive(Clone, Debug)]
pub struct Shown {
    pub frame: Arc<YuvFrame>,
    pub color: ColorInfo,
}

/// One GOP: its packets, the frames decoded so far and, until it is finished, its decoder.
struct Gop {
    packets: Vec<TimedPacket>,
    /// Times of the access units that carry a picture, in order.
    picture_times: Vec<i64>,
    frames: Vec<Arc<YuvFrame>>,
    color: ColorInfo,
    decoder: Option<Box<dyn VideoDecoder>>,
    next_packet: usize,
    bytes: usize,
    used: u64,
}

impl Gop {
    fn new(packets: Vec<TimedPacket>, codec: Codec) -> anyhow::Result<Self> {
        let mut picture_times: Vec<i64> = Vec::new();
        for p in &packets {
            if h264::is_vcl(h264::nal_type(h264::strip_start_code(&p.packet.data)))
                && picture_times.last() != Some(&p.time_us)
            {
                picture_times.push(p.time_us);
            }
        }
        Ok(Self {
            packets,
            picture_times,
            frames: Vec::new(),
            color: ColorInfo::default(),
            decoder: Some(decoder_for(codec)?),
            next_packet: 0,
            bytes: 0,
            used: 0,
        })
    }

    fn first_us(&self) -> i64 {
        self.packets.first().map_or(i64::MIN, |p| p.time_us)
    }
    fn last_us(&self) -> i64 {
        self.packets.last().map_or(i64::MIN, |p| p.time_us)
    }

    /// Feed one access unit (or flush at the end). Returns frames decoded.
    fn step(&mut self, stream: &str) -> anyhow::Result<usize> {
        let Some(decoder) = self.decoder.as_mut() else { return Ok(0) };
        let before = self.frames.len();
        if self.next_packet >= self.packets.len() {
            let flushed = decoder.flush()?;
            self.decoder = None;
            for picture in flushed {
                self.push(picture);
            }
            return Ok(self.frames.len() - before);
        }
        let time = self.packets[self.next_packet].time_us;
        let mut au = Vec::new();
        let mut has_picture = false;
        while let Some(p) = self.packets.get(self.next_packet).filter(|p| p.time_us == time) {
            let nalu = h264::strip_start_code(&p.packet.data);
            match h264::nal_type(nalu) {
                h264::NAL_SPS => {
                    if let Ok(sps) = h264::parse_sps(nalu) {
                        self.color = sps.color;
                    }
                }
                t if h264::is_vcl(t) => has_picture = true,
                _ => {}
            }
            au.extend_from_slice(&[0, 0, 0, 1]);
            au.extend_from_slice(nalu);
            self.next_packet += 1;
        }
        // A corrupt access unit costs its own picture, not the GOP.
        match decoder.decode(&au, has_picture.then_some(time)) {
            Ok(pictures) => {
                for picture in pictures {
                    self.push(picture);
                }
            }
            Err(e) => tracing::warn!("{stream}: access unit at {time} µs does not decode: {e}"),
        }
        Ok(self.frames.len() - before)
    }

    /// Pictures arrive tagged with their access unit's time (reordered for B-frames).
    fn push(&mut self, frame: YuvFrame) {
        self.bytes += frame.bytes();
        self.frames.push(Arc::new(frame));
    }

    /// Decode until the picture of the access unit at `target_us` is out (or the GOP ends).
    /// Returns frames decoded.
    fn decode_until(&mut self, target_us: i64, stream: &str) -> anyhow::Result<usize> {
        let mut n = 0;
        while self.decoder.is_some() && !self.frames.iter().any(|f| f.time_us == target_us) {
            n += self.step(stream)?;
        }
        Ok(n)
    }

    /// The picture time displayed at `at_us` within this GOP.
    fn picture_at(&self, at_us: i64) -> Option<i64> {
        let n = self.picture_times.partition_point(|&t| t <= at_us);
        n.checked_sub(1).map(|i| self.picture_times[i])
    }

    /// The picture of the access unit at `time_us` (or the latest before it, if that one
    /// did not decode).
    fn frame(&self, time_us: i64) -> Option<Arc<YuvFrame>> {
        self.frames.iter().filter(|f| f.time_us <= time_us).max_by_key(|f| f.time_us).cloned()
    }
}

pub struct FrameSource {
    pub stream: Stream,
    codec: Codec,
    /// GOPs by their first packet's time.
    cache: BTreeMap<i64, Gop>,
    budget: usize,
    tick: u64,
    /// Frames decoded (ever): the bench's decode counter.
    pub decoded_frames: u64,
}

impl FrameSource {
    pub fn open(root: &Path, stream: &str) -> anyhow::Result<Self> {
        let archive = Archive::open(root)?;
        let stream = archive.stream(stream)?.clone();
        Self::new(stream, GOP_CACHE_BYTES)
    }

    /// A source over `stream` with a decoded-frame budget in bytes.
    pub fn new(stream: Stream, budget: usize) -> anyhow::Result<Self> {
        let codec = match stream.files.len().checked_sub(1) {
            Some(last) => stream.open_track(last)?.header.codec,
            None => Codec::H264,
        };
        Ok(Self { stream, codec, cache: BTreeMap::new(), budget, tick: 0, decoded_frames: 0 })
    }

    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Bytes held: decoded frames, plus an estimate for a GOP's live decoder (its reference
    /// pictures, ~4 frames).
    pub fn cache_bytes(&self) -> usize {
        self.cache
            .values()
            .map(|g| g.bytes + if g.decoder.is_some() { g.frames.first().map_or(0, |f| 4 * f.bytes()) } else { 0 })
            .sum()
    }

    /// The cached GOP spanning `at_us`, or the one read from disk (then cached).
    fn gop_for(&mut self, at_us: i64) -> anyhow::Result<Option<i64>> {
        self.tick += 1;
        if let Some((&key, gop)) = self.cache.range_mut(..=at_us).next_back()
            && gop.last_us() >= at_us
        {
            gop.used = self.tick;
            return Ok(Some(key));
        }
        let Some((packets, _)) = self.stream.gop_at(at_us)? else { return Ok(None) };
        let mut gop = Gop::new(packets, self.codec)?;
        gop.used = self.tick;
        let key = gop.first_us();
        self.cache.insert(key, gop);
        Ok(Some(key))
    }

    fn evict(&mut self, keep: i64) {
        while self.cache_bytes() > self.budget && self.cache.len() > 1 {
            let Some((&oldest, _)) = self.cache.iter().filter(|(k, _)| **k != keep).min_by_key(|(_, g)| g.used) else {
                break;
            };
            self.cache.remove(&oldest);
        }
    }

    /// Decode (or find cached) the frame displayed at `at_us`: the latest with time ≤ `at_us`.
    pub fn frame_at(&mut self, at_us: i64) -> anyhow::Result<Option<Shown>> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(None) };
        let name = self.stream.name.clone();
        let Some(gop) = self.cache.get_mut(&key) else { return Ok(None) };
        let Some(target) = gop.picture_at(at_us) else { return Ok(None) };
        self.decoded_frames += gop.decode_until(target, &name)? as u64;
        let shown = gop.frame(target).map(|frame| Shown { frame, color: gop.color });
        if shown.is_none() {
            anyhow::bail!(
                "stream {name}: the video at {} does not decode (corrupt data)",
                tessera_storage::UnixMicros(target)
            );
        }
        self.evict(key);
        Ok(shown)
    }

    /// The first frame of the GOP holding `at_us`, decoding only its keyframe (scrubbing).
    pub fn key_frame_at(&mut self, at_us: i64) -> anyhow::Result<Option<Shown>> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(None) };
        let Some(first) = self.cache.get(&key).and_then(|g| g.picture_times.first().copied()) else { return Ok(None) };
        self.frame_at(first)
    }

    /// Time of the frame before / after the one displayed at `at_us` (frame stepping; across
    /// GOPs, files and gaps).
    pub fn neighbour(&mut self, at_us: i64, forward: bool) -> anyhow::Result<Option<i64>> {
        let Some(key) = self.gop_for(at_us)? else {
            return if forward { self.first_packet_after(at_us) } else { Ok(None) };
        };
        let Some(gop) = self.cache.get(&key) else { return Ok(None) };
        let current = gop.picture_at(at_us);
        let times = &gop.picture_times;
        if forward {
            let i = current.map_or(0, |c| times.partition_point(|&t| t <= c));
            if let Some(&t) = times.get(i) {
                return Ok(Some(t));
            }
            let last = gop.last_us();
            self.first_packet_after(last)
        } else {
            let i = current.map_or(0, |c| times.partition_point(|&t| t < c));
            if let Some(prev) = i.checked_sub(1) {
                return Ok(Some(times[prev]));
            }
            let first = gop.first_us();
            Ok(self.gop_for(first - 1)?.and_then(|k| self.cache.get(&k)).and_then(|g| g.picture_at(first - 1)))
        }
    }

    /// The time of the next (or previous) GOP's keyframe from `at_us`.
    pub fn next_key_frame(&mut self, at_us: i64, forward: bool) -> anyhow::Result<Option<i64>> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(None) };
        let Some(gop) = self.cache.get(&key) else { return Ok(None) };
        let (first, last) = (gop.first_us(), gop.last_us());
        if forward {
            return self.first_packet_after(last);
        }
        if first < at_us {
            return Ok(Some(first));
        }
        Ok(self.gop_for(first - 1)?.and_then(|k| self.cache.get(&k)).map(Gop::first_us))
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
}
