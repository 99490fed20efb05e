//! One home for what Tessera knows of H.264 and H.265 bitstreams. Every caller — import, the
//! rf1 stream writer, playback, export, the decoders and the demo encoder — asks [`Codec`]:
//!
//! - [`Codec::nal_role`]: what a NALU is (parameter set, slice of a picture and its random-access
//!   kind, the start of an access unit, other), so no caller reads `nal_unit_type` itself;
//! - [`Codec::rf1_flags`]: the flags cyclops gives each stored NALU (keyframe = IDR);
//! - [`AccessUnitSplitter`]: one access-unit splitter for both codecs;
//! - [`strip_start_code`], [`trim_trailing_zeros`]: Annex-B framing;
//! - [`h264`], [`h265`]: the per-codec tables and the SPS fields that size and colour a picture;
//! - [`order`]: a GOP's presentation order from slice headers (which pictures a seek can skip).
//!
//! Parsing here never panics on hostile bytes: every read is bounds-checked and returns
//! [`SpsError`] instead.

pub mod h264;
pub mod h265;
pub mod order;
mod rbsp;

pub use rbsp::SpsError;

/// The video codecs rf1 stores (the header's codec name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

/// A parameter set: what rf1 flags as essential metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParameterSet {
    /// H.265 only.
    Vps,
    Sps,
    Pps,
}

/// A slice of a coded picture and what kind of picture it belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slice {
    /// The picture's first slice (H.264 `first_mb_in_slice` = 0, H.265
    /// `first_slice_segment_in_pic_flag`): after another picture it begins an access unit.
    pub first_in_picture: bool,
    /// An IDR picture: rf1's keyframe (cyclops' rule), where decoding of a GOP starts.
    pub idr: bool,
    /// An H.265 intra random access point that is not an IDR (CRA, BLA, reserved IRAP): an open
    /// GOP, whose RASL pictures reference the previous one.
    pub open_irap: bool,
    /// An H.265 RASL picture: not decodable when decoding starts at its CRA.
    pub rasl: bool,
    /// An H.265 leading picture (RADL or RASL): after its IRAP in decode order, before it on screen.
    pub leading: bool,
}

impl Slice {
    /// A random access point: an IDR or (H.265) any other IRAP picture.
    pub fn random_access(self) -> bool {
        self.idr || self.open_irap
    }
}

/// What a NALU is, for either codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NalRole {
    ParameterSet(ParameterSet),
    /// A slice of a coded picture (H.264 types 1–5, H.265 VCL types 0–31).
    Slice(Slice),
    /// A NALU that, after a picture's slices, begins the next access unit: access unit
    /// delimiter, (prefix) SEI and the types the standards reserve for that place.
    UnitPrefix,
    /// Anything else (end of sequence or stream, filler data, suffix SEI, unspecified types).
    Other,
}

impl Codec {
    /// The codec's name in rf1 headers and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Self::H264 => "h264",
            Self::H265 => "h265",
        }
    }

    /// The role of `nalu` (no start code).
    pub fn nal_role(self, nalu: &[u8]) -> NalRole {
        match self {
            Self::H264 => h264::nal_role(nalu),
            Self::H265 => h265::nal_role(nalu),
        }
    }

    /// Whether `nalu` is a slice of an IDR picture: a keyframe in rf1.
    pub fn is_keyframe(self, nalu: &[u8]) -> bool {
        matches!(self.nal_role(nalu), NalRole::Slice(s) if s.idr)
    }

    /// rf1 flags as cyclops sets them: IDR → KeyFrame|AnnexB, parameter sets (SPS, PPS, and
    /// the H.265 VPS) → EssentialMeta|AnnexB, everything else AnnexB.
    pub fn rf1_flags(self, nalu: &[u8]) -> u16 {
        use crate::rf1::{FLAG_ANNEX_B, FLAG_ESSENTIAL_META, FLAG_KEY_FRAME};
        match self.nal_role(nalu) {
            NalRole::Slice(s) if s.idr => FLAG_KEY_FRAME | FLAG_ANNEX_B,
            NalRole::ParameterSet(_) => FLAG_ESSENTIAL_META | FLAG_ANNEX_B,
            _ => FLAG_ANNEX_B,
        }
    }

    /// Display size from an SPS NALU (no start code).
    pub fn sps_size(self, nalu: &[u8]) -> Result<(u32, u32), SpsError> {
        match self {
            Self::H264 => h264::parse_sps(nalu).map(|s| (s.width, s.height)),
            Self::H265 => h265::sps_size(nalu),
        }
    }
}

/// Colour description of a stream, from the SPS VUI (defaults when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColorInfo {
    /// `matrix_coefficients` (1 = BT.709, 5/6 = BT.601, 2 = unspecified).
    pub matrix: u8,
    /// `video_full_range_flag`.
    pub full_range: bool,
}

impl Default for ColorInfo {
    fn default() -> Self {
        Self { matrix: 2, full_range: false }
    }
}

/// Groups a sequence of NALUs into access units (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4): after a
/// picture's slices, a parameter set or a [`NalRole::UnitPrefix`], or the first slice of another
/// picture, begins a new access unit.
#[derive(Debug)]
pub struct AccessUnitSplitter {
    codec: Codec,
    seen_vcl: bool,
}

impl AccessUnitSplitter {
    pub fn new(codec: Codec) -> Self {
        Self { codec, seen_vcl: false }
    }

    /// Returns true when `nalu` is the first NALU of a new access unit (never for the very first).
    pub fn begins_new_unit(&mut self, nalu: &[u8]) -> bool {
        let role = self.codec.nal_role(nalu);
        let new_unit = self.seen_vcl
            && match role {
                NalRole::Slice(s) => s.first_in_picture,
                NalRole::ParameterSet(_) | NalRole::UnitPrefix => true,
                NalRole::Other => false,
            };
        if new_unit {
            self.seen_vcl = false;
        }
        if matches!(role, NalRole::Slice(_)) {
            self.seen_vcl = true;
        }
        new_unit
    }
}

/// Strip `trailing_zero_8bits` (and the zero byte of a following 4-byte start code).
pub fn trim_trailing_zeros(nalu: &[u8]) -> &[u8] {
    let end = nalu.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &nalu[..end]
}

/// Strip a leading 3- or 4-byte start code if present (rf1 payloads may carry either).
pub fn strip_start_code(payload: &[u8]) -> &[u8] {
    if payload.starts_with(&[0, 0, 0, 1]) {
        &payload[4..]
    } else if payload.starts_with(&[0, 0, 1]) {
        &payload[3..]
    } else {
        payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rf1_flags_follow_cyclops() {
        let h264 = Codec::H264;
        assert_eq!(h264.rf1_flags(&[0x65, 0x88]), 5, "IDR");
        assert_eq!(h264.rf1_flags(&[0x67, 0x42]), 6, "SPS");
        assert_eq!(h264.rf1_flags(&[0x68, 0xce]), 6, "PPS");
        assert_eq!(h264.rf1_flags(&[0x41, 0x9a]), 4, "P slice");
        assert_eq!(h264.rf1_flags(&[0x06, 0x05]), 4, "SEI");
        assert_eq!(h264.rf1_flags(&[]), 4);
        assert!(h264.is_keyframe(&[0x65, 0x88]) && !h264.is_keyframe(&[0x41, 0x9a]));
        let h265 = Codec::H265;
        for (t, flags) in [(19u8, 5), (20, 5), (21, 4), (32, 6), (33, 6), (34, 6), (35, 4), (1, 4)] {
            assert_eq!(h265.rf1_flags(&[t << 1, 1, 0x80]), flags, "type {t}");
        }
    }

    #[test]
    fn h265_picture_kinds() {
        let slice = |t: u8| match Codec::H265.nal_role(&[t << 1, 1, 0x80]) {
            NalRole::Slice(s) => s,
            other => panic!("type {t}: {other:?}"),
        };
        assert!(slice(19).idr && slice(20).idr && !slice(19).open_irap);
        assert!(slice(21).open_irap && slice(16).open_irap && !slice(21).idr);
        assert!(slice(8).rasl && slice(9).rasl && slice(8).leading && slice(6).leading && !slice(6).rasl);
        assert!(slice(21).random_access() && slice(19).random_access() && !slice(1).random_access());
        assert_eq!(Codec::H265.nal_role(&[33 << 1, 1]), NalRole::ParameterSet(ParameterSet::Sps));
        assert_eq!(Codec::H265.nal_role(&[39 << 1, 1]), NalRole::UnitPrefix);
        assert_eq!(Codec::H265.nal_role(&[40 << 1, 1]), NalRole::Other, "suffix SEI");
    }

    #[test]
    fn access_units_split_on_first_slice_and_parameter_sets() {
        let mut s = AccessUnitSplitter::new(Codec::H264);
        let seq: [(&[u8], bool); 8] = [
            (&[0x67, 0], false),    // SPS
            (&[0x68, 0], false),    // PPS
            (&[0x65, 0x80], false), // IDR, first_mb 0
            (&[0x65, 0x40], false), // second slice of same picture
            (&[0x41, 0x80], true),  // P slice, new picture
            (&[0x06, 0], true),     // SEI after a picture
            (&[0x0c, 0], false),    // filler data
            (&[0x41, 0x80], false), // its picture
        ];
        for (nalu, expected) in seq {
            assert_eq!(s.begins_new_unit(nalu), expected, "nalu {nalu:02x?}");
        }
        let mut s = AccessUnitSplitter::new(Codec::H265);
        let idr = [19 << 1, 1, 0x80];
        assert!(!s.begins_new_unit(&[32 << 1, 1]));
        assert!(!s.begins_new_unit(&idr));
        assert!(!s.begins_new_unit(&[19 << 1, 1, 0x00]), "second slice of the picture");
        assert!(s.begins_new_unit(&[1 << 1, 1, 0x80]), "next picture");
        assert!(!s.begins_new_unit(&[40 << 1, 1]), "suffix SEI stays with its picture");
        assert!(s.begins_new_unit(&[35 << 1, 1]), "AUD");
    }

    #[test]
    fn annex_b_framing() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x65]), &[0x65]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x65]), &[0x65]);
        assert_eq!(strip_start_code(&[0x65, 0]), &[0x65, 0]);
        assert_eq!(trim_trailing_zeros(&[0x65, 1, 0, 0]), &[0x65, 1]);
    }
}

#[cfg(test)]
mod fuzz {
    use super::{AccessUnitSplitter, Codec};
    use proptest::prelude::*;

    proptest! {
        /// Hostile bytes never panic the SPS parsers, the access-unit splitter or the importer.
        #[test]
        fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut sps = bytes.clone();
            if let Some(b) = sps.first_mut() { *b = 33 << 1; }
            let _ = Codec::H265.sps_size(&sps);
            let _ = AccessUnitSplitter::new(Codec::H265).begins_new_unit(&bytes);
            let _ = super::h264::parse_sps(&bytes);
            let mut h264_sps = bytes.clone();
            if let Some(b) = h264_sps.first_mut() { *b = 0x67; }
            let _ = super::h264::parse_sps(&h264_sps);
            let _ = AccessUnitSplitter::new(Codec::H264).begins_new_unit(&bytes);
            // The order reader, on a parameter set then a slice made of the same bytes.
            for (codec, heads) in [(Codec::H264, [0x67u8, 0x68, 0x65, 0x01]), (Codec::H265, [33 << 1, 34 << 1, 19 << 1, 1 << 1])] {
                let mut reader = super::order::OrderReader::new(codec);
                for head in heads {
                    let mut nalu = bytes.clone();
                    match nalu.first_mut() {
                        Some(b) => *b = head,
                        None => nalu.push(head),
                    }
                    if codec == Codec::H265 && nalu.len() > 1 {
                        nalu[1] = (nalu[1] & 0xf8) | 1;
                    }
                    let _ = reader.nalu(&nalu);
                }
            }
            // The import's own Annex-B scanner, on bytes that usually start like a stream.
            let mut stream = vec![0, 0, 0, 1];
            stream.extend_from_slice(&bytes);
            let dir = tempfile::tempdir().expect("tempdir");
            let fps = crate::fsv::FrameRate { num: 25, den: 1 };
            let _ = crate::fsv::import_h264(dir.path(), "s", 1_700_000_000_000_000, fps, &mut &stream[..], std::path::Path::new("fuzz.h264"));
        }
    }
}
