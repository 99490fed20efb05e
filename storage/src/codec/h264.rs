//! H.264: NALU types and their roles, and the SPS fields that size and colour a picture.

use super::rbsp::{BitReader, SpsError, unescape_rbsp};
use super::{ColorInfo, NalRole, ParameterSet, Slice};

const NAL_IDR: u8 = 5;
const NAL_SEI: u8 = 6;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

/// `nal_unit_type` of an H.264 NALU (first byte, without start code).
fn nal_type(nalu: &[u8]) -> u8 {
    nalu.first().map_or(0, |b| b & 0x1f)
}

/// The role of an H.264 NALU; see [`super::Codec::nal_role`].
pub(super) fn nal_role(nalu: &[u8]) -> NalRole {
    match nal_type(nalu) {
        // Slices of a coded picture. `first_mb_in_slice` is the first ue(v) of the slice
        // header; ue(v) = 0 is the single bit `1`.
        t @ 1..=5 => NalRole::Slice(Slice {
            first_in_picture: nalu.get(1).is_some_and(|b| b & 0x80 != 0),
            idr: t == NAL_IDR,
            ..Slice::default()
        }),
        NAL_SPS => NalRole::ParameterSet(ParameterSet::Sps),
        NAL_PPS => NalRole::ParameterSet(ParameterSet::Pps),
        // SEI, AUD, prefix NAL, subset SPS, depth parameter set, reserved (§7.4.1.2.3).
        NAL_SEI | NAL_AUD | 14..=18 => NalRole::UnitPrefix,
        _ => NalRole::Other,
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
    /// What reading a slice header's picture order count needs.
    pub order: OrderParams,
}

/// The SPS fields that locate and interpret `pic_order_cnt_lsb` in a slice header (§7.3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderParams {
    pub separate_colour_plane: bool,
    pub log2_max_frame_num: u32,
    pub pic_order_cnt_type: u32,
    /// `log2_max_pic_order_cnt_lsb` (type 0 only).
    pub log2_max_poc_lsb: u32,
    pub frame_mbs_only: bool,
    /// `seq_parameter_set_id`.
    pub id: u32,
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
    let mut order = OrderParams { id: r.ue()?, ..OrderParams::default() };
    let mut chroma_format_idc = 1;
    if matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return Err(SpsError::OutOfRange("chroma_format_idc"));
        }
        if chroma_format_idc == 3 {
            order.separate_colour_plane = r.bits(1)? == 1;
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
    order.log2_max_frame_num =
        r.ue()?.checked_add(4).filter(|&n| n <= 16).ok_or(SpsError::OutOfRange("log2_max_frame_num_minus4"))?;
    order.pic_order_cnt_type = r.ue()?;
    match order.pic_order_cnt_type {
        0 => {
            order.log2_max_poc_lsb = r
                .ue()?
                .checked_add(4)
                .filter(|&n| n <= 16)
                .ok_or(SpsError::OutOfRange("log2_max_pic_order_cnt_lsb_minus4"))?;
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
    order.frame_mbs_only = frame_mbs_only == 1;
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
        order,
    })
}

/// Whether an H.264 NALU may be used as a reference by later pictures (`nal_ref_idc` ≠ 0;
/// B-pictures of a pyramid that others reference have it too). A picture with 0 can be left
/// undecoded when only the pictures after it matter.
pub fn is_reference(nalu: &[u8]) -> bool {
    nalu.first().is_some_and(|b| b & 0x60 != 0)
}

/// What a PPS says that reading a slice's order count needs: its SPS, and whether frame
/// pictures carry a bottom-field order delta (then a frame's count is not the top field's alone).
pub(super) struct PpsOrder {
    pub id: u32,
    pub sps_id: u32,
    pub bottom_field_delta: bool,
}

/// Parse the start of a PPS NALU (no start code).
pub(super) fn parse_pps_order(nalu: &[u8]) -> Result<PpsOrder, SpsError> {
    if nal_type(nalu) != NAL_PPS {
        return Err(SpsError::NotSps(nal_type(nalu)));
    }
    let rbsp = unescape_rbsp(nalu.get(1..nalu.len().min(32)).ok_or(SpsError::Truncated)?);
    let mut r = BitReader::new(&rbsp);
    let id = r.ue()?;
    let sps_id = r.ue()?;
    r.bits(1)?; // entropy_coding_mode_flag
    let bottom_field_delta = r.bits(1)? == 1;
    Ok(PpsOrder { id, sps_id, bottom_field_delta })
}

/// A slice header's start: its PPS and `pic_order_cnt_lsb` (POC type 0; 0 otherwise). Reads the
/// PPS id first, then the fields `sps_of` says the SPS behind that PPS has.
pub(super) fn slice_order(
    nalu: &[u8],
    sps_of: impl FnOnce(u32) -> Option<OrderParams>,
) -> Result<(OrderParams, u32), SpsError> {
    // The header's first fields are enough: 64 bytes hold them with room to spare.
    let rbsp = unescape_rbsp(nalu.get(1..nalu.len().min(64)).ok_or(SpsError::Truncated)?);
    let mut r = BitReader::new(&rbsp);
    r.ue()?; // first_mb_in_slice
    r.ue()?; // slice_type
    let sps = sps_of(r.ue()?).ok_or(SpsError::OutOfRange("pic_parameter_set_id"))?;
    if sps.separate_colour_plane {
        r.bits(2)?; // colour_plane_id
    }
    r.bits(sps.log2_max_frame_num)?; // frame_num
    if !sps.frame_mbs_only && r.bits(1)? == 1 {
        return Err(SpsError::OutOfRange("field_pic_flag")); // a field: not read here
    }
    if nal_type(nalu) == NAL_IDR {
        r.ue()?; // idr_pic_id
    }
    let lsb = if sps.pic_order_cnt_type == 0 { r.bits(sps.log2_max_poc_lsb)? } else { 0 };
    Ok((sps, lsb))
}

/// Whether `nalu` is an IDR slice.
pub(super) fn is_idr(nalu: &[u8]) -> bool {
    nal_type(nalu) == NAL_IDR
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
        let sps = parse_sps(crate::codec::trim_trailing_zeros(&SPS_720P)).expect("valid sps");
        assert_eq!((sps.width, sps.height), (1280, 720));
    }

    #[test]
    fn truncated_sps_is_an_error_not_a_panic() {
        for n in 0..SPS_720P.len() - 12 {
            let _ = parse_sps(&SPS_720P[..n]);
        }
        assert_eq!(parse_sps(&SPS_720P[..4]), Err(SpsError::Truncated));
    }
}
