//! The little of H.265 (HEVC) syntax storage needs: NALU types, rf1 flags, access-unit
//! boundaries and the SPS picture size (with the conformance window).

use crate::h264::{BitReader, SpsError, unescape_rbsp};

pub const NAL_IDR_W_RADL: u8 = 19;
pub const NAL_IDR_N_LP: u8 = 20;
pub const NAL_VPS: u8 = 32;
pub const NAL_SPS: u8 = 33;
pub const NAL_PPS: u8 = 34;
pub const NAL_AUD: u8 = 35;
pub const NAL_PREFIX_SEI: u8 = 39;

/// `nal_unit_type` (6 bits after the forbidden bit).
pub fn nal_type(nalu: &[u8]) -> u8 {
    nalu.first().map_or(0, |b| (b >> 1) & 0x3f)
}

/// Slices of a coded picture (types 0..=31).
pub fn is_vcl(t: u8) -> bool {
    t < 32
}

/// Random-access skipped leading pictures (RASL_N, RASL_R): not decodable when decoding
/// starts at their CRA, so decoders drop them there.
pub fn is_rasl(t: u8) -> bool {
    matches!(t, 8 | 9)
}

/// Intra random access points: BLA (16–18), IDR (19, 20), CRA (21), reserved IRAP (22, 23).
pub fn is_irap(t: u8) -> bool {
    (16..=23).contains(&t)
}

/// rf1 flags as cyclops sets them: IDR → KeyFrame|AnnexB, VPS/SPS/PPS → EssentialMeta|AnnexB.
pub fn rf1_flags(nalu: &[u8]) -> u16 {
    use crate::rf1::{FLAG_ANNEX_B, FLAG_ESSENTIAL_META, FLAG_KEY_FRAME};
    match nal_type(nalu) {
        NAL_IDR_W_RADL | NAL_IDR_N_LP => FLAG_KEY_FRAME | FLAG_ANNEX_B,
        NAL_VPS | NAL_SPS | NAL_PPS => FLAG_ESSENTIAL_META | FLAG_ANNEX_B,
        _ => FLAG_ANNEX_B,
    }
}

/// Access units (H.265 §7.4.2.4.4): VPS/SPS/PPS/AUD/prefix SEI (and 41..=44, 48..=55) after
/// a picture's slices, or a slice with `first_slice_segment_in_pic_flag`, start a new one.
#[derive(Debug, Default)]
pub struct AccessUnitSplitter {
    seen_vcl: bool,
}

impl AccessUnitSplitter {
    pub fn begins_new_unit(&mut self, nalu: &[u8]) -> bool {
        let t = nal_type(nalu);
        let new_unit = if is_vcl(t) {
            // first_slice_segment_in_pic_flag: the first bit after the 2-byte header.
            self.seen_vcl && nalu.get(2).is_some_and(|b| b & 0x80 != 0)
        } else {
            self.seen_vcl && matches!(t, NAL_VPS..=NAL_AUD | NAL_PREFIX_SEI | 41..=44 | 48..=55)
        };
        if new_unit {
            self.seen_vcl = false;
        }
        if is_vcl(t) {
            self.seen_vcl = true;
        }
        new_unit
    }
}

/// Display size from an H.265 SPS NALU: `pic_width/height_in_luma_samples` minus the
/// conformance window (scaled by the chroma subsampling).
pub fn sps_size(nalu: &[u8]) -> Result<(u32, u32), SpsError> {
    if nal_type(nalu) != NAL_SPS {
        return Err(SpsError::NotSps(nal_type(nalu)));
    }
    let rbsp = unescape_rbsp(nalu.get(2..).ok_or(SpsError::Truncated)?);
    let mut r = BitReader::new(&rbsp);
    r.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)?;
    r.skip(1)?; // sps_temporal_id_nesting_flag
    // profile_tier_level(1, max_sub_layers_minus1)
    r.skip(96)?; // general profile (88 bits) + general_level_idc (8)
    let mut sub_profile = [false; 8];
    let mut sub_level = [false; 8];
    for i in 0..max_sub_layers_minus1 as usize {
        sub_profile[i] = r.bits(1)? == 1;
        sub_level[i] = r.bits(1)? == 1;
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1 as usize))?;
    }
    for i in 0..max_sub_layers_minus1 as usize {
        if sub_profile[i] {
            r.skip(88)?;
        }
        if sub_level[i] {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc > 3 {
        return Err(SpsError::OutOfRange("chroma_format_idc"));
    }
    let separate_planes = chroma_format_idc == 3 && r.bits(1)? == 1;
    let width = u64::from(r.ue()?);
    let height = u64::from(r.ue()?);
    let (mut left, mut right, mut top, mut bottom) = (0, 0, 0, 0);
    if r.bits(1)? == 1 {
        (left, right, top, bottom) = (u64::from(r.ue()?), u64::from(r.ue()?), u64::from(r.ue()?), u64::from(r.ue()?));
    }
    let (sub_w, sub_h) = match (chroma_format_idc, separate_planes) {
        (1, false) => (2, 2),
        (2, false) => (2, 1),
        _ => (1, 1),
    };
    let w = width.checked_sub(sub_w * (left + right)).ok_or(SpsError::OutOfRange("conf_win_left/right_offset"))?;
    let h = height.checked_sub(sub_h * (top + bottom)).ok_or(SpsError::OutOfRange("conf_win_top/bottom_offset"))?;
    Ok((
        u32::try_from(w).map_err(|_| SpsError::OutOfRange("pic_width_in_luma_samples"))?,
        u32::try_from(h).map_err(|_| SpsError::OutOfRange("pic_height_in_luma_samples"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_flags_and_units() {
        let idr = [NAL_IDR_W_RADL << 1, 1, 0x80];
        assert_eq!(nal_type(&idr), 19);
        assert_eq!(rf1_flags(&idr), 5);
        assert_eq!(rf1_flags(&[NAL_SPS << 1, 1]), 6);
        assert_eq!(rf1_flags(&[1 << 1, 1, 0x80]), 4);
        let mut s = AccessUnitSplitter::default();
        assert!(!s.begins_new_unit(&[NAL_VPS << 1, 1]));
        assert!(!s.begins_new_unit(&idr));
        assert!(!s.begins_new_unit(&[NAL_IDR_W_RADL << 1, 1, 0x00]), "second slice of the picture");
        assert!(s.begins_new_unit(&[1 << 1, 1, 0x80]), "next picture");
        assert!(sps_size(&[NAL_SPS << 1, 1, 0]).is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    proptest! {
        /// Hostile bytes never panic the SPS parsers, the access-unit splitters or the importer.
        #[test]
        fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut sps = bytes.clone();
            if let Some(b) = sps.first_mut() { *b = super::NAL_SPS << 1; }
            let _ = super::sps_size(&sps);
            let _ = super::AccessUnitSplitter::default().begins_new_unit(&bytes);
            let _ = crate::h264::parse_sps(&bytes);
            let mut h264_sps = bytes.clone();
            if let Some(b) = h264_sps.first_mut() { *b = 0x67; }
            let _ = crate::h264::parse_sps(&h264_sps);
            let _ = crate::h264::AccessUnitSplitter::default().begins_new_unit(&bytes);
            // The import's own Annex-B scanner, on bytes that usually start like a stream.
            let mut stream = vec![0, 0, 0, 1];
            stream.extend_from_slice(&bytes);
            let dir = tempfile::tempdir().expect("tempdir");
            let fps = crate::fsv::FrameRate { num: 25, den: 1 };
            let _ = crate::fsv::import_h264(dir.path(), "s", 1_700_000_000_000_000, fps, &mut &stream[..], std::path::Path::new("fuzz.h264"));
        }

        /// Event lines of any shape are accepted or rejected with a line number, never a panic.
        #[test]
        fn jsonl_never_panics(text in "[{}\\[\\]\":,a-z0-9_ .\\n-]{0,200}") {
            if let Err(e) = crate::events::parse_jsonl(&text) {
                prop_assert!(e.starts_with("line "));
            }
        }
    }
}
