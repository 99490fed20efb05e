//! The 32-byte little-endian index header.

use super::Rf1Error;
use crate::codec::Codec;
use std::path::Path;

pub const HEADER_SIZE: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    Video,
    Audio,
}

impl TrackKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Audio => "audio",
        }
    }
    fn magic(self) -> &'static [u8; 4] {
        match self {
            Self::Video => b"rf1v",
            Self::Audio => b"rf1a",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: TrackKind,
    pub codec: Codec,
    /// Unix time in µs every entry's PTS is relative to.
    pub time_base_us: i64,
    /// 0 = not closed cleanly (or empty).
    pub index_count: u16,
    pub width: u16,
    pub height: u16,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..4].copy_from_slice(self.kind.magic());
        b[4..8].copy_from_slice(self.codec.name().as_bytes());
        b[16..24].copy_from_slice(&(self.time_base_us as u64).to_le_bytes());
        b[24..26].copy_from_slice(&self.index_count.to_le_bytes());
        if self.kind == TrackKind::Video {
            b[26..28].copy_from_slice(&self.width.to_le_bytes());
            b[28..30].copy_from_slice(&self.height.to_le_bytes());
        }
        b
    }

    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self, Rf1Error> {
        let b: &[u8; HEADER_SIZE] = bytes.get(..HEADER_SIZE).and_then(|s| s.try_into().ok()).ok_or_else(|| {
            Rf1Error::format(path, format!("index is {} bytes, shorter than the 32-byte header", bytes.len()))
        })?;
        let kind = match &b[0..4] {
            b"rf1v" => TrackKind::Video,
            b"rf1a" => TrackKind::Audio,
            other => {
                return Err(Rf1Error::format(
                    path,
                    format!("bad magic {:?} (expected \"rf1v\" or \"rf1a\")", String::from_utf8_lossy(other)),
                ));
            }
        };
        let codec = match &b[4..8] {
            b"h264" => Codec::H264,
            b"h265" => Codec::H265,
            other => {
                return Err(Rf1Error::format(
                    path,
                    format!("unknown codec {:?} (expected \"h264\" or \"h265\")", String::from_utf8_lossy(other)),
                ));
            }
        };
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let time_base = u64::from_le_bytes(b[16..24].try_into().unwrap_or_default());
        let time_base_us = i64::try_from(time_base)
            .map_err(|_| Rf1Error::format(path, format!("time_base {time_base} is out of range")))?;
        let (width, height) = if kind == TrackKind::Video { (u16_at(26), u16_at(28)) } else { (0, 0) };
        Ok(Self { kind, codec, time_base_us, index_count: u16_at(24), width, height })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_has_fixed_layout() {
        let h = Header {
            kind: TrackKind::Video,
            codec: Codec::H264,
            time_base_us: 1_700_000_000_123_456,
            index_count: 7,
            width: 1920,
            height: 1080,
        };
        let bytes = h.encode();
        assert_eq!(&bytes[0..8], b"rf1vh264");
        assert_eq!(&bytes[8..16], &[0; 8]);
        assert_eq!(u16::from_le_bytes([bytes[26], bytes[27]]), 1920);
        assert_eq!(Header::decode(&bytes, Path::new("x")).ok(), Some(h));
    }

    #[test]
    fn rejects_bad_magic_and_codec() {
        let mut bytes =
            Header { kind: TrackKind::Audio, codec: Codec::H265, time_base_us: 0, index_count: 0, width: 0, height: 0 }
                .encode();
        bytes[4..8].copy_from_slice(b"H264");
        let err = Header::decode(&bytes, Path::new("f.rf1i")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("f.rf1i") && err.contains("codec"), "{err}");
        bytes[0..4].copy_from_slice(b"RIFF");
        let err = Header::decode(&bytes, Path::new("f.rf1i")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("magic"), "{err}");
        assert!(Header::decode(&bytes[..10], Path::new("f")).is_err());
    }
}
