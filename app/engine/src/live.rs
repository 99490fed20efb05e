//! The live edge of a stream a recorder is writing: one decoder fed each access unit once, as
//! it appears on disk, showing its newest picture.
//!
//! A seek decodes a GOP from its keyframe; doing that for every new picture of a 2 s GOP would
//! decode ~25 pictures per picture shown. The live edge instead keeps one single-threaded
//! decoder (frame threads would hold pictures back by a picture per thread) that starts at the
//! newest keyframe and is then fed only the access units written since the last call, so a
//! new picture costs one decode. Pictures come out in presentation order; with B-frames the
//! newest ones wait for the next access units (the stream's reorder depth, two pictures for
//! x264's pyramid), which is the only latency beyond the decode itself.
//!
//! Times follow [`crate::playback`]'s rule: the n-th picture out in presentation order is
//! shown at the time of the n-th picture-carrying access unit fed (rf1 times are in decode
//! order), so the live edge and a seek to the same moment show the same picture. Anything
//! unexpected (a decode error, times going back) drops the decoder, and the next call starts
//! again at the newest keyframe.

use crate::decoder::{Backend, VideoDecoder, YuvFrame};
use crate::playback::Shown;
use std::collections::VecDeque;
use std::sync::Arc;
use tessera_storage::codec::{Codec, ColorInfo, NalRole, strip_start_code};
use tessera_storage::fsv::{Stream, TimedPacket};

pub struct LiveEdge {
    backend: Backend,
    codec: Codec,
    run: Option<Run>,
}

struct Run {
    decoder: Box<dyn VideoDecoder>,
    /// Time of the last access unit fed.
    fed_us: i64,
    /// Times of the picture-carrying access units fed whose pictures have not come out: the
    /// next picture out takes the first.
    slots: VecDeque<i64>,
    color: ColorInfo,
}

impl LiveEdge {
    pub fn new(backend: Backend, codec: Codec) -> Self {
        Self { backend, codec, run: None }
    }

    /// Forget the decoder (the player left the edge).
    pub fn reset(&mut self) {
        self.run = None;
    }

    /// Feed what `stream` has gained since the last call (from its newest keyframe the first
    /// time) and return the newest picture that came out, if any came out.
    pub fn newest(&mut self, stream: &Stream) -> anyhow::Result<Option<Shown>> {
        let packets = match &self.run {
            Some(run) => stream.read_range(run.fed_us + 1, i64::MAX, false)?,
            None => match stream.gop_at(stream.end_us)? {
                Some((packets, _)) => {
                    let decoder = self.backend.decoder(self.codec, 1)?;
                    self.run =
                        Some(Run { decoder, fed_us: i64::MIN, slots: VecDeque::new(), color: ColorInfo::default() });
                    packets
                }
                None => return Ok(None),
            },
        };
        match self.feed(&packets) {
            Ok(newest) => Ok(newest),
            Err(e) => {
                self.run = None;
                Err(e)
            }
        }
    }

    fn feed(&mut self, packets: &[TimedPacket]) -> anyhow::Result<Option<Shown>> {
        let Some(run) = self.run.as_mut() else { return Ok(None) };
        let mut newest: Option<YuvFrame> = None;
        let mut i = 0;
        while i < packets.len() {
            let time = packets[i].time_us;
            if time <= run.fed_us {
                anyhow::bail!("the stream's times went back at {time} µs");
            }
            let mut au = Vec::new();
            let mut has_picture = false;
            while let Some(p) = packets.get(i).filter(|p| p.time_us == time) {
                let nalu = strip_start_code(&p.packet.data);
                has_picture |= matches!(self.codec.nal_role(nalu), NalRole::Slice(_));
                au.extend_from_slice(&[0, 0, 0, 1]);
                au.extend_from_slice(nalu);
                i += 1;
            }
            run.fed_us = time;
            if has_picture {
                run.slots.push_back(time);
            }
            for mut picture in run.decoder.decode(&au)? {
                let Some(slot) = run.slots.pop_front() else {
                    anyhow::bail!("the decoder gave more pictures than it was fed");
                };
                picture.time_us = slot;
                if let Some(color) = picture.color {
                    run.color = color;
                }
                if newest.as_ref().is_none_or(|n| picture.time_us > n.time_us) {
                    newest = Some(picture);
                }
            }
        }
        Ok(newest.map(|frame| Shown { frame: Arc::new(frame), color: run.color }))
    }
}
