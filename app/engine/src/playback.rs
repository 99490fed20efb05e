//! Frames of a stream by time, in presentation order.
//!
//! rf1 stores access units in decode order with non-decreasing times. A decoder returns
//! pictures in presentation order, so within a group of pictures (GOP) the k-th picture in
//! presentation order is shown at the time of the GOP's k-th picture-carrying access unit —
//! what FFmpeg does with a raw stream. Each GOP is decoded with its own decoder (and flushed
//! at its end), which makes that mapping exact for closed GOPs.
//!
//! Open GOPs (H.265 CRA): a GOP decoded from a CRA skips the CRA's RASL pictures (they
//! reference the previous GOP; every decoder drops them there). Their time slots show the
//! first decodable picture. rf1 flags only IDR pictures as keyframes (cyclops' rule), so a seek
//! inside an open-GOP stream starts at the last IDR (or the file start) and decodes its RASL
//! pictures normally; only a file that starts at a CRA with no keyframe before it loses them.
//!
//! A request decodes only as far as the asked picture; the decoder stays with its GOP, so
//! playing on resumes where it stopped.
//!
//! Seeking decodes only what the asked picture depends on: a GOP's slice headers give each
//! picture's order count and whether later pictures may reference it ([`order`]), so the
//! non-reference pictures before the target in both decode and presentation order are never
//! fed to the decoder (with x264's B-frames, about half of the pictures before a target). The
//! decoder tags each picture with its access unit ([`VideoDecoder::decode_tagged`]), and the
//! access unit's presentation rank among all of the GOP's pictures gives its slot, so the
//! mapping above stays exact without decoding the skipped pictures. Whenever the order is not
//! read exactly ([`order`] refuses it, ranks tie, a GOP starts with RASL pictures, the decoder
//! does not tag, or pictures come out in another order than the ranks say) every picture is
//! decoded in order. A step back (the picture after the target cached) decodes in full too, so
//! the steps after it find their pictures cached.
//!
//! Decoded pictures are cached within a byte budget that includes the GOP being decoded: past
//! the budget, other GOPs go first (least recently used), then the pictures of the current GOP
//! farthest from the asked one; a dropped picture asked for again is decoded again from the
//! GOP's keyframe.

use crate::decoder::{Backend, VideoDecoder, YuvFrame};
use crate::live::LiveEdge;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tessera_storage::codec::order::{self, OrderReader};
use tessera_storage::codec::{Codec, ColorInfo, NalRole, ParameterSet, Slice, h264, strip_start_code};
use tessera_storage::fsv::{Archive, Stream, StreamStamp, TimedPacket};

/// Decoded-frame cache budget (a 2 s GOP of 1080p at 25 fps is ~150 MB; of 4K, ~620 MB).
pub const GOP_CACHE_BYTES: usize = 512 << 20;

/// Reference pictures a live decoder holds (H.264/H.265 DPB of a typical camera stream plus
/// frame-thread buffers), counted against the budget.
const DECODER_HELD_PICTURES: usize = 6;

/// Pictures of the GOP being decoded that other GOPs always leave room for: steps back within
/// this window need no decoding, whatever the budget.
const WINDOW_PICTURES: usize = 16;

/// A frame to show and how to convert its colours.
#[derive(Clone, Debug)]
pub struct Shown {
    pub frame: Arc<YuvFrame>,
    pub color: ColorInfo,
}

/// One GOP: its packets, the pictures decoded so far (by presentation slot) and, while it is
/// being decoded, its decoder.
struct Gop {
    packets: Vec<TimedPacket>,
    /// Times of the access units that carry a picture, in decode order: the presentation slots.
    slots: Vec<i64>,
    /// Slots with no picture when decoding starts here (RASL pictures of a starting CRA).
    skipped_leading: usize,
    /// The keyframe's own presentation slot: after the GOP's leading pictures (H.265 RADL and
    /// RASL precede their IRAP on screen); 0 for H.264.
    key_slot: usize,
    /// Decoded pictures by slot (`None`: not decoded yet, or dropped for the budget).
    frames: Vec<Option<Arc<YuvFrame>>>,
    color: ColorInfo,
    decoder: Option<Box<dyn VideoDecoder>>,
    /// A decode failure in this GOP was reported (later ones are logged at debug level).
    warned: bool,
    /// Next packet to feed the decoder, and pictures it has returned since it started.
    next_packet: usize,
    output: usize,
    /// Pictures a complete decode of the GOP returned (fewer than its slots when data is
    /// corrupt): slots past them have no picture, so asking again decodes nothing.
    complete_output: Option<usize>,
    /// Which pictures a seek may leave undecoded, and each picture's slot (`None`: every
    /// picture is decoded in order and the n-th out takes the n-th slot).
    plan: Option<Plan>,
    /// First packet of each picture-carrying access unit (picture unit), in decode order.
    picture_starts: Vec<usize>,
    /// The live decoder's run: picture units fed or left out so far, …
    next_picture: usize,
    /// … whether it tags its pictures (then units may be left out), …
    tagging: bool,
    /// … the units it left out, …
    left_out: Vec<bool>,
    /// … the slots whose pictures came out of it, and the rank of the latest (order check), …
    came_out: Vec<bool>,
    last_out: Option<usize>,
    /// … and whether it went wrong (pictures against the plan): the rest of its output is
    /// not placed.
    run_failed: bool,
    /// Pictures out of every decoder of this GOP (the decode counter).
    pictures_out: u64,
    /// Bytes of the pictures held.
    bytes: usize,
    /// Bytes of one picture (0 until the first is decoded).
    picture_bytes: usize,
    used: u64,
    /// Time of the next access unit after this GOP (from the index; `None` at the end): the
    /// GOP is what is displayed from its first time until then …
    next_us: Option<i64>,
    /// … or until a file without readable video starts before that ("no video here").
    until_us: Option<i64>,
}

/// A GOP's presentation order, read from its slice headers ([`order`]).
#[derive(Debug)]
struct Plan {
    /// The slot of each picture unit (its presentation rank).
    rank: Vec<usize>,
    /// The picture unit of each slot.
    unit_of: Vec<usize>,
    /// Picture units no other picture references (and that carry no parameter set).
    skippable: Vec<bool>,
}

impl Plan {
    /// The plan for a GOP whose picture units start at `starts`; `None` when the order is
    /// not read exactly.
    fn read(packets: &[TimedPacket], starts: &[usize], codec: Codec, key_slot: usize) -> Option<Plan> {
        let mut reader = OrderReader::new(codec);
        let mut infos = Vec::with_capacity(starts.len());
        let mut has_params = vec![false; starts.len()];
        let mut unit: Option<usize> = None;
        for (i, p) in packets.iter().enumerate() {
            if starts.get(unit.map_or(0, |u| u + 1)) == Some(&i) {
                unit = Some(unit.map_or(0, |u| u + 1));
            }
            let nalu = strip_start_code(&p.packet.data);
            let info = reader.nalu(nalu).ok()?;
            // A unit's parameter sets sit at its start, before its first slice.
            let next_start = unit.and_then(|u| starts.get(u + 1)).copied().unwrap_or(usize::MAX);
            let in_unit = unit.is_some() && i < next_start;
            if in_unit && let NalRole::ParameterSet(_) = codec.nal_role(nalu) {
                has_params[unit.unwrap_or(0)] = true;
            }
            if let Some(info) = info {
                // One first slice per picture unit, in its own unit.
                if !in_unit || infos.len() != unit.unwrap_or(0) {
                    return None;
                }
                infos.push(info);
            }
        }
        if infos.len() != starts.len() {
            return None;
        }
        let pocs: Vec<i64> = infos.iter().map(|i| i.poc).collect();
        let rank = order::ranks(&pocs)?;
        if rank.first() != Some(&key_slot) {
            return None;
        }
        let mut unit_of = vec![0; rank.len()];
        for (u, &r) in rank.iter().enumerate() {
            unit_of[r] = u;
        }
        let top = infos.iter().map(|i| i.temporal_id).max().unwrap_or(0);
        let skippable = infos
            .iter()
            .enumerate()
            .map(|(u, i)| u > 0 && i.non_reference && i.temporal_id >= top && !has_params[u])
            .collect();
        Some(Plan { rank, unit_of, skippable })
    }
}

impl Gop {
    fn new(packets: Vec<TimedPacket>, codec: Codec) -> Self {
        let mut slots: Vec<i64> = Vec::new();
        let mut picture_starts = Vec::new();
        let mut first_picture_open = None;
        let mut skipped_leading = 0;
        let mut key_slot = 0;
        let mut trailing_seen = false;
        let mut last_au = None;
        let mut unit_start = 0;
        for (i, p) in packets.iter().enumerate() {
            if i > 0 && packets[i - 1].time_us != p.time_us {
                unit_start = i;
            }
            if let NalRole::Slice(Slice { rasl, open_irap, leading, .. }) =
                codec.nal_role(strip_start_code(&p.packet.data))
            {
                if last_au == Some(p.time_us) {
                    continue; // another slice of the same picture
                }
                last_au = Some(p.time_us);
                let starts_open = *first_picture_open.get_or_insert(open_irap);
                if rasl && starts_open {
                    skipped_leading += 1;
                }
                // Leading pictures of the first IRAP: they follow it in decode order and come
                // before it on screen, up to the first trailing picture.
                if !slots.is_empty() && !trailing_seen {
                    if leading {
                        key_slot += 1;
                    } else {
                        trailing_seen = true;
                    }
                }
                slots.push(p.time_us);
                picture_starts.push(unit_start);
            }
        }
        let frames = vec![None; slots.len()];
        // A GOP that starts with pictures no decoder outputs (RASL) keeps the ordinal mapping.
        let plan = if skipped_leading == 0 { Plan::read(&packets, &picture_starts, codec, key_slot) } else { None };
        Self {
            packets,
            slots,
            skipped_leading,
            key_slot,
            frames,
            color: ColorInfo::default(),
            decoder: None,
            warned: false,
            next_packet: 0,
            output: 0,
            complete_output: None,
            plan,
            left_out: vec![false; picture_starts.len()],
            came_out: vec![false; picture_starts.len()],
            picture_starts,
            next_picture: 0,
            tagging: false,
            last_out: None,
            run_failed: false,
            pictures_out: 0,
            bytes: 0,
            picture_bytes: 0,
            used: 0,
            next_us: None,
            until_us: None,
        }
    }

    fn first_us(&self) -> i64 {
        self.packets.first().map_or(i64::MIN, |p| p.time_us)
    }
    fn last_us(&self) -> i64 {
        self.packets.last().map_or(i64::MIN, |p| p.time_us)
    }

    /// Bytes held, with an estimate for a live decoder's reference pictures.
    fn held_bytes(&self) -> usize {
        self.bytes + if self.decoder.is_some() { DECODER_HELD_PICTURES * self.picture_bytes } else { 0 }
    }

    /// The slot shown at `at_us` (the latest picture time ≤ `at_us`; RASL slots of a starting
    /// CRA show its first decodable picture).
    fn slot_at(&self, at_us: i64) -> Option<usize> {
        let n = self.slots.partition_point(|&t| t <= at_us);
        n.checked_sub(1).map(|k| k.max(self.skipped_leading).min(self.slots.len().saturating_sub(1)))
    }

    /// Feed one access unit (or flush at the end); store the pictures that come out. With
    /// `sparse`, a unit no picture references is left out when it is before slot `keep` in
    /// decode and in presentation order (showing `keep` and playing on never need it).
    fn step(&mut self, ctx: &DecodeContext, keep: usize, limit: usize, sparse: bool) -> anyhow::Result<()> {
        if self.decoder.is_none() {
            return Ok(());
        }
        if self.next_packet >= self.packets.len() {
            let Some(decoder) = self.decoder.as_mut() else { return Ok(()) };
            let flushed = decoder.flush();
            self.decoder = None;
            for picture in flushed? {
                self.store(picture, keep, limit);
            }
            // Left-out units have no picture now, yet they have one: only a full run says
            // which slots never decode.
            if !self.left_out.contains(&true) {
                self.complete_output = Some(self.output);
            }
            return Ok(());
        }
        let unit = (self.picture_starts.get(self.next_picture) == Some(&self.next_packet)).then_some(self.next_picture);
        if let Some(u) = unit {
            self.next_picture += 1;
            let skip = sparse
                && self.tagging
                && self.plan.as_ref().is_some_and(|plan| {
                    plan.skippable[u] && plan.rank[u] < keep && plan.unit_of.get(keep).is_some_and(|&target| u < target)
                });
            if skip {
                self.left_out[u] = true;
                self.next_packet = self.unit_end(self.next_packet);
                return Ok(());
            }
        }
        let time = self.packets[self.next_packet].time_us;
        let (au, _, next) = self.access_unit(self.next_packet, ctx.codec);
        self.next_packet = next;
        let Some(decoder) = self.decoder.as_mut() else { return Ok(()) };
        // A corrupt access unit costs its own picture, not the GOP.
        match decoder.decode_tagged(&au, unit.map_or(-1, |u| u as i64)) {
            Ok(pictures) => {
                for picture in pictures {
                    self.store(picture, keep, limit);
                }
            }
            // One warning per GOP: after a corrupt unit the ones that reference it fail too.
            Err(e) if !self.warned => {
                self.warned = true;
                tracing::warn!(
                    "{}: access unit at {} does not decode ({e}); its pictures are concealed or skipped",
                    ctx.stream,
                    tessera_storage::UnixMicros(time)
                );
            }
            Err(e) => tracing::debug!("{}: access unit at {time} µs does not decode: {e}", ctx.stream),
        }
        Ok(())
    }

    /// The packet after the access unit starting at packet `from`.
    fn unit_end(&self, from: usize) -> usize {
        let time = self.packets.get(from).map(|p| p.time_us);
        from + self.packets[from..].iter().take_while(|p| Some(p.time_us) == time).count()
    }

    /// The access unit starting at packet `from` (every packet at its time) as one Annex-B
    /// buffer, whether it carries a picture, and the packet after it. An H.264 SPS in it sets
    /// the colour (FFmpeg reports colour on its pictures; openh264 does not).
    fn access_unit(&mut self, from: usize, codec: Codec) -> (Vec<u8>, bool, usize) {
        let Some(time) = self.packets.get(from).map(|p| p.time_us) else { return (Vec::new(), false, from) };
        let mut au = Vec::new();
        let mut has_picture = false;
        let mut next = from;
        while let Some(p) = self.packets.get(next).filter(|p| p.time_us == time) {
            let nalu = strip_start_code(&p.packet.data);
            match codec.nal_role(nalu) {
                NalRole::Slice(_) => has_picture = true,
                NalRole::ParameterSet(ParameterSet::Sps) if codec == Codec::H264 => {
                    if let Ok(sps) = h264::parse_sps(nalu) {
                        self.color = sps.color;
                    }
                }
                _ => {}
            }
            au.extend_from_slice(&[0, 0, 0, 1]);
            au.extend_from_slice(nalu);
            next += 1;
        }
        (au, has_picture, next)
    }

    /// A fresh decoder from the keyframe (the first run, or a picture wanted again that was
    /// dropped for the budget).
    fn restart(&mut self, ctx: &DecodeContext) -> anyhow::Result<()> {
        let decoder = ctx.backend.decoder(ctx.codec, ctx.threads)?;
        self.tagging = decoder.tags_pictures();
        self.decoder = Some(decoder);
        self.next_packet = 0;
        self.output = 0;
        self.next_picture = 0;
        self.left_out.fill(false);
        self.came_out.fill(false);
        self.last_out = None;
        self.run_failed = false;
        Ok(())
    }

    /// Whether the live decoder has gone past slot `k` without keeping its picture (left it
    /// out, or it came out and was dropped for the budget): only a restart brings it back.
    fn passed(&self, k: usize) -> bool {
        match &self.plan {
            Some(plan) if self.tagging => {
                let Some(&u) = plan.unit_of.get(k) else { return true };
                u < self.next_picture && (self.left_out[u] || self.came_out[k])
            }
            _ => self.skipped_leading + self.output > k,
        }
    }

    /// Whether the live decoder is a few pictures short of slot `k` (then the exact picture is
    /// about as quick as a provisional one).
    fn almost_at(&self, k: usize) -> bool {
        const NEAR: usize = 4;
        let next_out = self.last_out.map_or(self.skipped_leading + self.output, |last| last + 1);
        self.decoder.is_some() && !self.passed(k) && k < next_out + NEAR
    }

    /// The slot of a picture out of the live decoder: by its tag's rank, or (no plan) next in
    /// presentation order. `None` when it contradicts the plan: the plan is dropped.
    fn slot_of(&mut self, picture: &YuvFrame) -> Option<usize> {
        let ordinal = self.skipped_leading + self.output;
        self.output += 1;
        if self.run_failed {
            return None;
        }
        let Some(plan) = self.plan.as_ref().filter(|_| self.tagging) else { return Some(ordinal) };
        let slot = picture.tag.and_then(|t| usize::try_from(t).ok()).and_then(|u| plan.rank.get(u).copied());
        let skipped = self.left_out.contains(&true);
        // Pictures come out in presentation order: with nothing left out, the n-th is slot n;
        // with units left out, ranks only rise.
        let consistent = match slot {
            Some(slot) if skipped => self.last_out.is_none_or(|last| slot > last),
            Some(slot) => slot == ordinal,
            None => false,
        };
        if !consistent {
            tracing::debug!("picture order read from the slice headers does not match the decoder's; decoding in full");
            self.plan = None;
            self.run_failed = skipped;
            return (!skipped).then_some(ordinal);
        }
        self.last_out = slot;
        slot
    }

    /// The next picture out of the decoder takes the next presentation slot; then the GOP
    /// keeps within `limit` bytes by dropping the pictures farthest from slot `keep`.
    fn store(&mut self, mut picture: YuvFrame, keep: usize, limit: usize) {
        self.pictures_out += 1;
        let Some(slot) = self.slot_of(&picture) else {
            // Units were left out under a wrong plan: start over, decoding everything.
            self.decoder = None;
            self.frames.fill(None);
            self.bytes = 0;
            return;
        };
        if let Some(came) = self.came_out.get_mut(slot) {
            *came = true;
        }
        let Some(&time) = self.slots.get(slot) else { return };
        if let Some(color) = picture.color {
            self.color = color;
        }
        picture.time_us = time;
        self.picture_bytes = picture.bytes();
        if self.frames[slot].is_none() {
            self.bytes += picture.bytes();
            self.frames[slot] = Some(Arc::new(picture));
        }
        while self.held_bytes() > limit {
            let farthest = (0..self.frames.len())
                .filter(|&k| k != keep && self.frames[k].is_some())
                .max_by_key(|&k| k.abs_diff(keep));
            let Some(k) = farthest else { break };
            if let Some(dropped) = self.frames[k].take() {
                self.bytes -= dropped.bytes();
            }
        }
    }

    /// Decode until slot `k`'s picture is out (or the GOP ends); restarts from the keyframe
    /// when that picture was decoded before and dropped.
    fn decode_until(&mut self, k: usize, ctx: &DecodeContext, limit: usize) -> anyhow::Result<u64> {
        if self.frames.get(k).is_none_or(Option::is_some)
            || self.complete_output.is_some_and(|n| k >= self.skipped_leading + n)
        {
            return Ok(0);
        }
        if self.decoder.is_none() || self.passed(k) {
            self.restart(ctx)?;
        }
        // Stepping back (the next picture is cached, as in reverse play): decode in full, so
        // the steps after this one find their pictures cached instead of each restarting.
        let sparse = self.frames.get(k + 1).is_none_or(Option::is_none);
        let before = self.pictures_out;
        while self.decoder.is_some() && self.frames[k].is_none() {
            self.step(ctx, k, limit, sparse)?;
            if self.decoder.is_none() && self.frames[k].is_none() && self.complete_output.is_none() {
                // The run ended without the picture and without a verdict (units were left
                // out, or the plan was dropped): once more, in full.
                self.plan = None;
                self.restart(ctx)?;
            }
        }
        Ok(self.pictures_out - before)
    }

    /// Decode the keyframe alone (scrubbing): a fresh single-threaded decoder is fed the first
    /// picture's access unit and flushed, so the picture comes out at once without decoding
    /// further (a frame-threaded decoder would wait for the next pictures). A later exact
    /// request continues the GOP's own decoder, or restarts it from the keyframe.
    fn decode_key_only(&mut self, ctx: &DecodeContext) -> anyhow::Result<u64> {
        if self.frames.get(self.key_slot).is_none_or(Option::is_some) {
            return Ok(0);
        }
        let mut decoder = ctx.backend.decoder(ctx.codec, 1)?;
        let mut pictures = Vec::new();
        let mut next = 0;
        while next < self.packets.len() {
            let (au, has_picture, after) = self.access_unit(next, ctx.codec);
            next = after;
            pictures.extend(decoder.decode(&au)?);
            if has_picture {
                break;
            }
        }
        pictures.extend(decoder.flush()?);
        let Some(mut picture) = pictures.into_iter().next() else { return Ok(0) };
        if let Some(color) = picture.color {
            self.color = color;
        }
        picture.time_us = self.slots[self.key_slot];
        self.picture_bytes = picture.bytes();
        self.bytes += picture.bytes();
        self.frames[self.key_slot] = Some(Arc::new(picture));
        Ok(1)
    }

    /// The picture for slot `k` (or, when it did not decode, the latest decoded before it).
    fn frame(&self, k: usize) -> Option<Arc<YuvFrame>> {
        self.frames.get(..=k)?.iter().rev().flatten().next().cloned()
    }
}

/// What decoding a GOP needs from its source.
struct DecodeContext {
    stream: Arc<str>,
    codec: Codec,
    backend: Backend,
    threads: usize,
}

/// Decoder threads for playback: `TESSERA_DECODER_THREADS`, else FFmpeg's own automatic
/// choice for frame threads, cores + 1 (up to 8): one more than the cores keeps them busy
/// while a thread waits on its reference picture. On the 2-core benchmark machine the FFmpeg
/// CLI decodes the 1080p stream at 145 / 168 / 190 fps with 1 / 2 / 3 threads.
pub fn decoder_threads() -> usize {
    std::env::var("TESSERA_DECODER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| (1..=16).contains(&n))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(3, |n| (n.get() + 1).min(8)))
}

pub struct FrameSource {
    pub stream: Stream,
    pub codec: Codec,
    pub backend: Backend,
    /// Decoder threads (FFmpeg frame threads; 1 = single-threaded).
    pub threads: usize,
    /// GOPs by their first packet's time.
    cache: BTreeMap<i64, Gop>,
    budget: usize,
    tick: u64,
    /// Frames decoded (ever): the bench's decode counter.
    pub decoded_frames: u64,
    /// Most bytes held at once (the cache bound's witness).
    pub high_water_bytes: usize,
    /// The stream's directory and latest index when last looked at ([`Self::follow`]).
    stamp: StreamStamp,
    /// The live edge's decoder ([`Self::live_picture`]).
    live: LiveEdge,
}

impl FrameSource {
    pub fn open(root: &Path, stream: &str) -> anyhow::Result<Self> {
        let archive = Archive::open(root)?;
        let stream = archive.stream(stream)?.clone();
        Self::new(stream, GOP_CACHE_BYTES)
    }

    /// A source over `stream` with a decoded-frame budget in bytes, the stream's default
    /// backend ([`Backend::for_codec`]) and [`decoder_threads`] decoder threads (FFmpeg frame
    /// threads, so a seek uses every core).
    pub fn new(stream: Stream, budget: usize) -> anyhow::Result<Self> {
        // From the latest file that reads: one bad file must not make the stream unplayable.
        let codec = stream.codec().unwrap_or(Codec::H264);
        let backend = Backend::for_codec(codec);
        Ok(Self {
            stamp: stream.stamp(),
            live: LiveEdge::new(backend, codec),
            stream,
            codec,
            backend,
            threads: decoder_threads(),
            cache: BTreeMap::new(),
            budget,
            tick: 0,
            decoded_frames: 0,
            high_water_bytes: 0,
        })
    }

    fn decode_context(&self) -> DecodeContext {
        DecodeContext {
            stream: Arc::from(self.stream.name.as_str()),
            codec: self.codec,
            backend: self.backend,
            threads: self.threads,
        }
    }

    /// Bytes of one decoded picture of this stream (0 before the first).
    fn picture_bytes(&self) -> usize {
        self.cache.values().map(|g| g.picture_bytes).max().unwrap_or(0)
    }

    /// Use another backend and thread count (benchmarks compare them); clears the cache.
    pub fn set_decoder(&mut self, backend: Backend, threads: usize) {
        self.backend = backend;
        self.threads = threads.max(1);
        self.cache.clear();
    }

    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Follow the stream as a recorder writes it: when its directory or latest index changed
    /// since the last look (two `stat`s), take the stream as it is on disk now and forget the
    /// cached GOPs that ran to the old end (they may have grown). Returns the stream's end
    /// when it moved.
    pub fn follow(&mut self) -> anyhow::Result<Option<i64>> {
        let stamp = self.stream.stamp();
        if stamp == self.stamp {
            return Ok(None);
        }
        self.stamp = stamp;
        let Some((stream, _)) = self.stream.reloaded()? else { return Ok(None) };
        let moved = (stream.end_us != self.stream.end_us).then_some(stream.end_us);
        self.stream = stream;
        self.cache.retain(|_, gop| gop.next_us.is_some());
        Ok(moved)
    }

    /// The newest picture of the stream since the last call (see [`LiveEdge`]); `None` when
    /// nothing new came out.
    pub fn live_picture(&mut self) -> anyhow::Result<Option<Shown>> {
        self.live.newest(&self.stream)
    }

    /// The player left the live edge: its decoder goes.
    pub fn leave_live(&mut self) {
        self.live.reset();
    }

    /// Bytes held: decoded pictures, plus an estimate for live decoders' reference pictures.
    pub fn cache_bytes(&self) -> usize {
        self.cache.values().map(Gop::held_bytes).sum()
    }

    /// The cached GOP spanning `at_us`, or the one read from disk (then cached).
    fn gop_for(&mut self, at_us: i64) -> anyhow::Result<Option<i64>> {
        self.tick += 1;
        if let Some((&key, gop)) = self.cache.range_mut(..=at_us).next_back()
            && gop.until_us.is_none_or(|until| at_us < until)
        {
            gop.used = self.tick;
            return Ok(Some(key));
        }
        let Some((packets, _)) = self.stream.gop_at(at_us)? else { return Ok(None) };
        let mut gop = Gop::new(packets, self.codec);
        gop.used = self.tick;
        gop.next_us = self.stream.first_time_after(gop.last_us())?;
        let no_video = self.stream.no_video_after(gop.last_us());
        gop.until_us = match (gop.next_us, no_video) {
            (Some(next), Some(gap)) => Some(next.min(gap)),
            (next, gap) => next.or(gap),
        };
        let key = gop.first_us();
        self.cache.insert(key, gop);
        Ok(Some(key))
    }

    /// Evict least recently used GOPs other than `keep` until the others leave `keep` room
    /// for its live decoder and a window of [`WINDOW_PICTURES`]; returns the bytes `keep` may use.
    fn make_room(&mut self, keep: i64) -> usize {
        let reserve = (DECODER_HELD_PICTURES + WINDOW_PICTURES) * self.picture_bytes();
        loop {
            let others: usize = self.cache.iter().filter(|(k, _)| **k != keep).map(|(_, g)| g.held_bytes()).sum();
            let keep_bytes = self.cache.get(&keep).map_or(0, Gop::held_bytes);
            if others + keep_bytes.max(reserve) <= self.budget {
                return self.budget - others;
            }
            let oldest = self.cache.iter().filter(|(k, _)| **k != keep).min_by_key(|(_, g)| g.used).map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    self.cache.remove(&k);
                }
                None => return self.budget,
            }
        }
    }

    /// Decode (or find cached) the frame displayed at `at_us`: the latest with time ≤ `at_us`.
    pub fn frame_at(&mut self, at_us: i64) -> anyhow::Result<Option<Shown>> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(None) };
        let limit = self.make_room(key);
        let ctx = self.decode_context();
        let Some(gop) = self.cache.get_mut(&key) else { return Ok(None) };
        let Some(slot) = gop.slot_at(at_us) else { return Ok(None) };
        self.decoded_frames += gop.decode_until(slot, &ctx, limit)?;
        let shown = gop.frame(slot).map(|frame| Shown { frame, color: gop.color });
        self.high_water_bytes = self.high_water_bytes.max(self.cache_bytes());
        if shown.is_none() {
            anyhow::bail!(
                "stream {}: the video at {} does not decode (corrupt data)",
                ctx.stream,
                tessera_storage::UnixMicros(at_us)
            );
        }
        Ok(shown)
    }

    /// The first stage of a two-stage seek: while the picture displayed at `at_us` is not
    /// decoded and the GOP's decoder is not on its way to it, the GOP's keyframe decoded alone
    /// (a few ms), to show until the exact picture replaces it. `None` when the exact picture
    /// is as quick (cached, on the way, or the keyframe itself — then cached by this call), or
    /// when there is no video or the keyframe alone does not decode.
    pub fn provisional_at(&mut self, at_us: i64) -> anyhow::Result<Option<Shown>> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(None) };
        self.make_room(key);
        let ctx = self.decode_context();
        let Some(gop) = self.cache.get_mut(&key) else { return Ok(None) };
        let Some(slot) = gop.slot_at(at_us) else { return Ok(None) };
        if gop.frames[slot].is_some() || gop.almost_at(slot) {
            return Ok(None);
        }
        match gop.decode_key_only(&ctx) {
            Ok(decoded) => self.decoded_frames += decoded,
            Err(e) => tracing::debug!("{}: the keyframe alone does not decode: {e:#}", ctx.stream),
        }
        let key_frame = gop.frames.get(gop.key_slot).cloned().flatten().map(|frame| Shown { frame, color: gop.color });
        let is_target = slot == gop.key_slot;
        self.high_water_bytes = self.high_water_bytes.max(self.cache_bytes());
        Ok(key_frame.filter(|_| !is_target))
    }

    /// The first picture of the GOP holding `at_us`, decoding only up to it (scrubbing).
    pub fn key_frame_at(&mut self, at_us: i64) -> anyhow::Result<Option<Shown>> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(None) };
        self.make_room(key);
        let ctx = self.decode_context();
        let Some(gop) = self.cache.get_mut(&key) else { return Ok(None) };
        // A corrupt keyframe fails here alone; the exact path below then reports it.
        match gop.decode_key_only(&ctx) {
            Ok(decoded) => self.decoded_frames += decoded,
            Err(e) => tracing::debug!("{}: the keyframe alone does not decode: {e:#}", ctx.stream),
        }
        let shown = gop.frames.get(gop.key_slot).cloned().flatten().map(|frame| Shown { frame, color: gop.color });
        self.high_water_bytes = self.high_water_bytes.max(self.cache_bytes());
        match shown {
            Some(shown) => Ok(Some(shown)),
            None => {
                let first = self.cache.get(&key).and_then(|g| g.slots.get(g.skipped_leading).copied());
                first.map_or(Ok(None), |t| self.frame_at(t))
            }
        }
    }

    /// Time of the picture before / after the one displayed at `at_us`, in presentation order
    /// (frame stepping; across GOPs, files and gaps).
    pub fn neighbour(&mut self, at_us: i64, forward: bool) -> anyhow::Result<Option<i64>> {
        let Some(key) = self.gop_for(at_us)? else {
            return if forward { Ok(self.stream.first_time_after(at_us)?) } else { Ok(None) };
        };
        let Some(gop) = self.cache.get(&key) else { return Ok(None) };
        let Some(current) = gop.slot_at(at_us) else { return Ok(None) };
        if forward {
            return Ok(gop.slots.get(current + 1).copied().or(gop.next_us));
        }
        if current > gop.skipped_leading {
            return Ok(Some(gop.slots[current - 1]));
        }
        let first = gop.first_us();
        Ok(self.gop_for(first - 1)?.and_then(|k| self.cache.get(&k)).and_then(|g| g.slots.last().copied()))
    }

    /// The time of the next (or previous) GOP's keyframe from `at_us`.
    pub fn next_key_frame(&mut self, at_us: i64, forward: bool) -> anyhow::Result<Option<i64>> {
        let Some(key) = self.gop_for(at_us)? else {
            return if forward { Ok(self.stream.first_time_after(at_us)?) } else { Ok(None) };
        };
        let Some(gop) = self.cache.get(&key) else { return Ok(None) };
        let first = gop.first_us();
        if forward {
            return Ok(gop.next_us);
        }
        if first < at_us {
            return Ok(Some(first));
        }
        Ok(self.gop_for(first - 1)?.and_then(|k| self.cache.get(&k)).map(Gop::first_us))
    }

    /// Whether the recording reaches within `tolerance_us` of `at_us`: its GOP's last
    /// access unit is at most that much older (false before the first frame, in a longer gap,
    /// past the end).
    pub fn recorded_near(&mut self, at_us: i64, tolerance_us: i64) -> anyhow::Result<bool> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(false) };
        Ok(self.cache.get(&key).is_some_and(|g| at_us - g.last_us() <= tolerance_us))
    }

    /// Idle work: decode one more access unit of the GOP before the one displayed at `at_us`,
    /// toward its last picture, so a step back (or reverse play) across the GOP boundary finds
    /// it decoded. Only within the budget left by the cached GOPs (never evicting them).
    /// Returns whether there is more to do.
    pub fn prefetch_previous(&mut self, at_us: i64) -> anyhow::Result<bool> {
        let Some(key) = self.gop_for(at_us)? else { return Ok(false) };
        let Some(first) = self.cache.get(&key).map(Gop::first_us) else { return Ok(false) };
        let Some(prev) = self.gop_for(first - 1)? else { return Ok(false) };
        if prev == key {
            return Ok(false);
        }
        let others: usize = self.cache.iter().filter(|(k, _)| **k != prev).map(|(_, g)| g.held_bytes()).sum();
        let limit = self.budget.saturating_sub(others);
        if limit < (DECODER_HELD_PICTURES + 2) * self.picture_bytes() {
            return Ok(false);
        }
        let ctx = self.decode_context();
        let Some(gop) = self.cache.get_mut(&prev) else { return Ok(false) };
        let Some(last) = gop.slots.len().checked_sub(1) else { return Ok(false) };
        if gop.frames[last].is_some() || gop.complete_output.is_some() {
            return Ok(false);
        }
        if gop.decoder.is_none() {
            gop.restart(&ctx)?;
        }
        let before = gop.pictures_out;
        // In full: every picture of it is then cached for stepping back through it.
        gop.step(&ctx, last, limit, false)?;
        self.decoded_frames += gop.pictures_out - before;
        let more = gop.frames[last].is_none() && gop.decoder.is_some();
        self.high_water_bytes = self.high_water_bytes.max(self.cache_bytes());
        Ok(more)
    }

    /// Pictures cached now (tests).
    pub fn cached_pictures(&self) -> usize {
        self.cache.values().map(|g| g.frames.iter().flatten().count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_storage::rf1::Packet;

    fn packet(time_us: i64, nalu: &[u8]) -> TimedPacket {
        let mut data = vec![0, 0, 0, 1];
        data.extend_from_slice(nalu);
        TimedPacket { time_us, packet: Packet { pts_ticks: 0, flags: 0, data } }
    }

    /// H.265 NALU header of a type; slices carry first_slice_segment_in_pic_flag = 1.
    fn hevc(t: u8) -> Vec<u8> {
        vec![t << 1, 1, 0x80]
    }

    #[test]
    fn slots_follow_access_units_with_pictures() {
        // SPS+PPS+IDR at 0, two slices at 40, a SEI-only unit at 60, a slice at 80.
        let packets = vec![
            packet(0, &[0x67, 0x42]),
            packet(0, &[0x68, 0xce]),
            packet(0, &[0x65, 0x88]),
            packet(40, &[0x41, 0x9a]),
            packet(40, &[0x41, 0x1a]),
            packet(60, &[0x06, 0x05]),
            packet(80, &[0x41, 0x9a]),
        ];
        let gop = Gop::new(packets, Codec::H264);
        assert_eq!(gop.slots, vec![0, 40, 80]);
        assert_eq!(gop.skipped_leading, 0);
        assert_eq!(gop.slot_at(0), Some(0));
        assert_eq!(gop.slot_at(79), Some(1));
        assert_eq!(gop.slot_at(1000), Some(2));
    }

    #[test]
    fn hevc_pictures_of_every_type_take_slots_and_a_starting_cra_skips_its_rasl() {
        // VPS/SPS/PPS, CRA (21), two RASL (8, 9), TRAIL_N (0), TSA_N (2), STSA_R (5), RADL (7).
        let mut packets = vec![packet(0, &hevc(32)), packet(0, &hevc(33)), packet(0, &hevc(34))];
        for (k, t) in [21u8, 8, 9, 0, 2, 5, 7].into_iter().enumerate() {
            packets.push(packet(k as i64 * 40, &hevc(t)));
        }
        let gop = Gop::new(packets.clone(), Codec::H265);
        assert_eq!(gop.slots, vec![0, 40, 80, 120, 160, 200, 240]);
        assert_eq!(gop.skipped_leading, 2, "the CRA's RASL pictures do not decode from here");
        // The RASL slots show the first decodable picture (slot 2).
        assert_eq!(gop.slot_at(0), Some(2));
        assert_eq!(gop.slot_at(45), Some(2));
        assert_eq!(gop.slot_at(130), Some(3));
        assert_eq!(gop.key_slot, 2, "the CRA is shown after its two leading pictures");
        // Starting at an IDR, RASL pictures (of a later CRA) decode: nothing is skipped.
        packets[3] = packet(0, &hevc(19));
        assert_eq!(Gop::new(packets.clone(), Codec::H265).skipped_leading, 0);
        // IDR_W_RADL with two RADL pictures: the IDR's own slot is 2.
        packets[4] = packet(40, &hevc(7));
        packets[5] = packet(80, &hevc(6));
        let gop = Gop::new(packets, Codec::H265);
        assert_eq!((gop.skipped_leading, gop.key_slot), (0, 2));
    }
}
