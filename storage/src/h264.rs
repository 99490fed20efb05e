//! The little of H.264 bitstream syntax storage needs: start codes, NALU types, rf1 flags,
//! access-unit boundaries and the SPS fields that size and colour a picture.
//!
//! Parsing here never panics on hostile bytes: every read is bounds-checked and returns
//! [`SpsError`] instead.

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

pub const NAL_SLICE: u8 = 1;
pub const NAL_IDR: u8 = 5;
pub const NAL_SEI: u8 = 6;
pub const NAL_SPS: u8 = 7;
pub const NAL_PPS: u8 = 8;
pub const NAL_AUD: u8 = 9;

/// `nal_unit_type` of an H.264 NALU (first byte, without start code).
pub fn nal_type(nalu: &[u8]) -> u8 {
    nalu.first().map_or(0, |b| b & 0x1f)
}

/// `nal_unit_type` of an H.265 NALU.
pub fn hevc_nal_type(nalu: &[u8]) -> u8 {
    nalu.first().map_or(0, |b| (b >> 1) & 0x3f)
}

/// True for slices of a coded picture (types 1..=5).
pub fn is_vcl(nal_type: u8) -> bool {
    (1..=5).contains(&nal_type)
}

/// For a VCL NALU: is `first_mb_in_slice` zero, i.e. does it start a new picture?
/// `first_mb_in_slice` is the first ue(v) of the slice header; ue(v) = 0 is the single bit `1`.
pub fn starts_picture(nalu: &[u8]) -> bool {
    nalu.get(1).is_some_and(|b| b & 0x80 != 0)
}

/// Groups a sequence of H.264 NALUs into access units (ITU-T H.264 §7.4.1.2.3): an AUD, SEI,
/// SPS, PPS or types 14..=18 after a picture's slices, or a slice with `first_mb_in_slice` = 0
/// after one, begins a new access unit.
#[derive(Debug, Default)]
pub struct AccessUnitSplitter {
    seen_vcl: bool,
}

impl AccessUnitSplitter {
    /// Returns true when `nalu` is the first NALU of a new access unit (never for the very first).
    pub fn begins_new_unit(&mut self, nalu: &[u8]) -> bool {
        let t = nal_type(nalu);
        let new_unit = if is_vcl(t) {
            self.seen_vcl && starts_picture(nalu)
        } else {
            self.seen_vcl && matches!(t, NAL_SEI | NAL_SPS | NAL_PPS | NAL_AUD | 14..=18)
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

/// The SPS fields Tessera uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sps {
    pub profile_idc: u8,
    pub chroma_format_idc: u32,
    /// Display width: `16·(pic_width_in_mbs_minus1+1) − 2·(crop_left+crop_right)`.
    pub width: u32,
    /// Display height: `(2−frame_mbs_only)·16·(pic_height_in_map_units_minus1+1) − 2·(crop_top+crop_bottom)`
    /// (the cyclops/mediacommon formula; exact for 4:2:0 progressive streams).
    pub height: u32,
    pub color: ColorInfo,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpsError {
    #[error("SPS is truncated")]
    Truncated,
    #[error("NALU is not an SPS (type {0})")]
    NotSps(u8),
    #[error("SPS field {0} is out of range")]
    OutOfRange(&'static str),
}

/// Parse an H.264 SPS NALU (no start code, emulation-prevention bytes still in place).
pub fn parse_sps(nalu: &[u8]) -> Result<Sps, SpsError> {
    if nal_type(nalu) != NAL_SPS {
        return Err(SpsError::NotSps(nal_type(nalu)));
    }
    let rbsp = unescape_rbsp(&nalu[1..]);
    let mut r = BitReader::new(&rbsp);
    let profile_idc = r.bits(8)? as u8;
    r.bits(8)?; // constraint flags
    r.bits(8)?; // level_idc
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return Err(SpsError::OutOfRange("chroma_format_idc"));
        }
        if chroma_format_idc == 3 {
            r.bits(1)?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bits(1)? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bits(1)?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return Err(SpsError::OutOfRange("num_ref_frames_in_pic_order_cnt_cycle"));
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        2 => {}
        _ => return Err(SpsError::OutOfRange("pic_order_cnt_type")),
    }
    r.ue()?; // max_num_ref_frames
    r.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(r.ue()?) + 1;
    let height_map_units = u64::from(r.ue()?) + 1;
    let frame_mbs_only = u64::from(r.bits(1)?);
    if frame_mbs_only == 0 {
        r.bits(1)?; // mb_adaptive_frame_field_flag
    }
    r.bits(1)?; // direct_8x8_inference_flag
    let (mut left, mut right, mut top, mut bottom) = (0u64, 0u64, 0u64, 0u64);
    if r.bits(1)? == 1 {
        left = r.ue()?.into();
        right = r.ue()?.into();
        top = r.ue()?.into();
        bottom = r.ue()?.into();
    }
    let width =
        (16 * width_mbs).checked_sub(2 * (left + right)).ok_or(SpsError::OutOfRange("frame_crop_left/right_offset"))?;
    let height = ((2 - frame_mbs_only) * 16 * height_map_units)
        .checked_sub(2 * (top + bottom))
        .ok_or(SpsError::OutOfRange("frame_crop_top/bottom_offset"))?;
    let to_u32 = |v: u64, field| u32::try_from(v).map_err(|_| SpsError::OutOfRange(field));
    let color =
        if r.bits(1).unwrap_or(0) == 1 { parse_vui_color(&mut r).unwrap_or_default() } else { ColorInfo::default() };
    Ok(Sps {
        profile_idc,
        chroma_format_idc,
        width: to_u32(width, "pic_width_in_mbs_minus1")?,
        height: to_u32(height, "pic_height_in_map_units_minus1")?,
        color,
    })
}

fn parse_vui_color(r: &mut BitReader<'_>) -> Result<ColorInfo, SpsError> {
    if r.bits(1)? == 1 && r.bits(8)? == 255 {
        r.bits(16)?; // sar_width
        r.bits(16)?; // sar_height
    }
    if r.bits(1)? == 1 {
        r.bits(1)?; // overscan_appropriate_flag
    }
    let mut color = ColorInfo::default();
    if r.bits(1)? == 1 {
        r.bits(3)?; // video_format
        color.full_range = r.bits(1)? == 1;
        if r.bits(1)? == 1 {
            r.bits(8)?; // colour_primaries
            r.bits(8)?; // transfer_characteristics
            color.matrix = r.bits(8)? as u8;
        }
    }
    Ok(color)
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), SpsError> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// Remove emulation-prevention bytes (`00 00 03` → `00 00`).
pub fn unescape_rbsp(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// MSB-first bit reader with Exp-Golomb codes (shared with the H.265 SPS parser).
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), SpsError> {
        self.pos += n;
        if self.pos > self.data.len() * 8 { Err(SpsError::Truncated) } else { Ok(()) }
    }
    fn bit(&mut self) -> Result<u32, SpsError> {
        let byte = self.data.get(self.pos / 8).ok_or(SpsError::Truncated)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }
    pub(crate) fn bits(&mut self, n: u32) -> Result<u32, SpsError> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Ok(v)
    }
    pub(crate) fn ue(&mut self) -> Result<u32, SpsError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(SpsError::OutOfRange("exp-golomb code"));
            }
        }
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)) as u32)
    }
    fn se(&mut self) -> Result<i64, SpsError> {
        let k = i64::from(self.ue()?);
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 1280x720 baseline SPS from a real encoder (x264), with VUI full range off, BT.709.
    const SPS_720P: [u8; 25] = [
        0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00,
        0x0c, 0x83, 0xc6, 0x0c, 0xa8, 0x00, 0x00,
    ];

    #[test]
    fn parses_sps_size() {
        let sps = parse_sps(trim_trailing_zeros(&SPS_720P)).expect("valid sps");
        assert_eq!((sps.width, sps.height), (1280, 720));
    }

    #[test]
    fn truncated_sps_is_an_error_not_a_panic() {
        for n in 0..SPS_720P.len() - 12 {
            let _ = parse_sps(&SPS_720P[..n]);
        }
        assert_eq!(parse_sps(&SPS_720P[..4]), Err(SpsError::Truncated));
    }

    #[test]
    fn access_units_split_on_first_mb_and_parameter_sets() {
        let mut s = AccessUnitSplitter::default();
        let seq: [(&[u8], bool); 7] = [
            (&[0x67, 0], false),    // SPS
            (&[0x68, 0], false),    // PPS
            (&[0x65, 0x80], false), // IDR, first_mb 0
            (&[0x65, 0x40], false), // second slice of same picture
            (&[0x41, 0x80], true),  // P slice, new picture
            (&[0x06, 0], true),     // SEI after a picture
            (&[0x41, 0x80], false), // its picture
        ];
        for (nalu, expected) in seq {
            assert_eq!(s.begins_new_unit(nalu), expected, "nalu {nalu:02x?}");
        }
    }

    #[test]
    fn unescapes_emulation_prevention() {
        assert_eq!(unescape_rbsp(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }
}
