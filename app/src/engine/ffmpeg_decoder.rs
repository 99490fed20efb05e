//! The FFmpeg decoder backend (cargo feature `ffmpeg`, system libavcodec): H.265, and H.264
//! with B-frames, decoded exactly as FFmpeg does. Pictures carry the tag (time) of the access
//! unit they came from through the packet PTS, so reordered output lands on the right time.

use super::decoder::{VideoDecoder, YuvFrame};
use anyhow::Context;
use ffmpeg_next as ff;
use tessera_storage::rf1::Codec;

pub struct FfmpegDecoder {
    decoder: ff::decoder::Video,
}

// The codec context is used from one thread at a time (the player's), never shared.
#[allow(unsafe_code)]
unsafe impl Send for FfmpegDecoder {}

impl FfmpegDecoder {
    pub fn new(codec: Codec) -> anyhow::Result<Self> {
        ff::init().context("cannot initialise FFmpeg")?;
        let id = match codec {
            Codec::H264 => ff::codec::Id::H264,
            Codec::H265 => ff::codec::Id::HEVC,
        };
        let found = ff::decoder::find(id).with_context(|| format!("this FFmpeg has no {} decoder", codec.name()))?;
        let decoder = ff::codec::context::Context::new_with_codec(found)
            .decoder()
            .video()
            .context("cannot open the FFmpeg decoder")?;
        Ok(Self { decoder })
    }

    fn receive(&mut self) -> anyhow::Result<Vec<YuvFrame>> {
        let mut out = Vec::new();
        let mut frame = ff::frame::Video::empty();
        while self.decoder.receive_frame(&mut frame).is_ok() {
            if !matches!(frame.format(), ff::format::Pixel::YUV420P | ff::format::Pixel::YUVJ420P) {
                anyhow::bail!("FFmpeg decoded {:?} pictures; only 8-bit 4:2:0 is supported", frame.format());
            }
            let (w, h) = (frame.width() as usize, frame.height() as usize);
            let mut picture = YuvFrame::from_planes(
                w,
                h,
                [(frame.data(0), frame.stride(0)), (frame.data(1), frame.stride(1)), (frame.data(2), frame.stride(2))],
            );
            let Some(tag) = frame.pts() else { continue };
            picture.time_us = tag;
            out.push(picture);
        }
        Ok(out)
    }
}

impl VideoDecoder for FfmpegDecoder {
    fn decode(&mut self, access_unit: &[u8], tag: Option<i64>) -> anyhow::Result<Vec<YuvFrame>> {
        let mut packet = ff::Packet::copy(access_unit);
        packet.set_pts(tag);
        packet.set_dts(tag);
        self.decoder.send_packet(&packet).context("FFmpeg rejected an access unit")?;
        self.receive()
    }

    fn flush(&mut self) -> anyhow::Result<Vec<YuvFrame>> {
        self.decoder.send_eof().context("FFmpeg flush")?;
        self.receive()
    }
}
