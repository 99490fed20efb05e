//! H.265 (HEVC): NALU types and their roles (IRAP, RASL, leading pictures) and the SPS
//! picture size (with the conformance window).

use super::rbsp::{BitReader, SpsError, unescape_rbsp};
use super::{NalRole, ParameterSet, Slice};

const NAL_IDR_W_RADL: u8 = 19;
const NAL_IDR_N_LP: u8 = 20;
const NAL_VPS: u8 = 32;
const NAL_SPS: u8 = 33;
const NAL_PPS: u8 = 34;
const NAL_AUD: u8 = 35;
const NAL_PREFIX_SEI: u8 = 39;

/// `nal_unit_type` (6 bits after the forbidden bit).
fn nal_type(nalu: &[u8]) -> u8 {
    nalu.first().map_or(0, |b| (b >> 1) & 0x3f)
}

/// The role of an H.265 NALU; see [`super::Codec::nal_role`].
pub(super) fn nal_role(nalu: &[u8]) -> NalRole {
    match nal_type(nalu) {
        // Slices of a coded picture (types 0..=31, reserved ones included).
        t @ 0..=31 => NalRole::Slice(Slice {
            // first_slice_segment_in_pic_flag: the first bit after the 2-byte header.
            first_in_picture: nalu.get(2).is_some_and(|b| b & 0x80 != 0),
            idr: matches!(t, NAL_IDR_W_RADL | NAL_IDR_N_LP),
            // Intra random access points: BLA (16–18), IDR (19, 20), CRA (21), reserved (22, 23).
            open_irap: (16..=23).contains(&t) && !matches!(t, NAL_IDR_W_RADL | NAL_IDR_N_LP),
            // RASL_N, RASL_R: they reference the GOP before their CRA, so decoders drop them
            // when decoding starts at it.
            rasl: matches!(t, 8 | 9),
            // RADL_N, RADL_R, RASL_N, RASL_R.
            leading: (6..=9).contains(&t),
        }),
        NAL_VPS => NalRole::ParameterSet(ParameterSet::Vps),
        NAL_SPS => NalRole::ParameterSet(ParameterSet::Sps),
        NAL_PPS => NalRole::ParameterSet(ParameterSet::Pps),
        // AUD, prefix SEI and the reserved/unspecified types of §7.4.2.4.4 that begin a unit.
        NAL_AUD | NAL_PREFIX_SEI | 41..=44 | 48..=55 => NalRole::UnitPrefix,
        _ => NalRole::Other,
    }
}

/// Display size from an H.265 SPS NALU: `pic_width/height_in_luma_samples` minus the
/// conformance window (scaled by the chroma subsampling).
pub fn sps_size(nalu: &[u8]) -> Result<(u32, u32), SpsError> {
    parse_sps(nalu).map(|(size, _)| size)
}

/// The SPS fields that locate `slice_pic_order_cnt_lsb` in a slice header (§7.3.6.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SpsOrder {
    pub id: u32,
    pub separate_colour_plane: bool,
    pub log2_max_poc_lsb: u32,
}

/// What a PPS says that reading a slice header's start needs (§7.3.2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct PpsOrder {
    pub id: u32,
    pub sps_id: u32,
    /// `output_flag_present_flag`: pictures may say they are not output.
    pub output_flag_present: bool,
    pub num_extra_slice_header_bits: u32,
}

pub(super) fn parse_pps_order(nalu: &[u8]) -> Result<PpsOrder, SpsError> {
    if nal_type(nalu) != NAL_PPS {
        return Err(SpsError::NotSps(nal_type(nalu)));
    }
    let rbsp = unescape_rbsp(nalu.get(2..nalu.len().min(32)).ok_or(SpsError::Truncated)?);
    let mut r = BitReader::new(&rbsp);
    let id = r.ue()?;
    let sps_id = r.ue()?;
    r.bits(1)?; // dependent_slice_segments_enabled_flag
    let output_flag_present = r.bits(1)? == 1;
    let num_extra_slice_header_bits = r.bits(3)?;
    Ok(PpsOrder { id, sps_id, output_flag_present, num_extra_slice_header_bits })
}

/// `nal_unit_type` and `TemporalId` of a NALU.
pub(super) fn nal_type_and_temporal_id(nalu: &[u8]) -> (u8, u8) {
    (nal_type(nalu), nalu.get(1).map_or(0, |b| (b & 7).saturating_sub(1)))
}

/// A sub-layer non-reference picture (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N, RSV_VCL_N10/12/14):
/// no picture of its own temporal sub-layer references it (a higher sub-layer still may).
pub(super) fn sub_layer_non_reference(nal_type: u8) -> bool {
    nal_type <= 14 && nal_type.is_multiple_of(2)
}

/// The first slice segment of a picture: its SPS and `slice_pic_order_cnt_lsb` (0 for an
/// IDR, which has none). `pps_of` gives the PPS and its SPS by id.
pub(super) fn slice_order(
    nalu: &[u8],
    pps_of: impl FnOnce(u32) -> Option<(PpsOrder, SpsOrder)>,
) -> Result<(SpsOrder, u32), SpsError> {
    let t = nal_type(nalu);
    let rbsp = unescape_rbsp(nalu.get(2..nalu.len().min(64)).ok_or(SpsError::Truncated)?);
    let mut r = BitReader::new(&rbsp);
    if r.bits(1)? != 1 {
        return Err(SpsError::OutOfRange("first_slice_segment_in_pic_flag"));
    }
    if (16..=23).contains(&t) {
        r.bits(1)?; // no_output_of_prior_pics_flag
    }
    let (pps, sps) = pps_of(r.ue()?).ok_or(SpsError::OutOfRange("slice_pic_parameter_set_id"))?;
    r.skip(pps.num_extra_slice_header_bits as usize)?; // slice_reserved_flag
    r.ue()?; // slice_type
    if pps.output_flag_present && r.bits(1)? == 0 {
        return Err(SpsError::OutOfRange("pic_output_flag")); // a picture not output: not mapped here
    }
    if sps.separate_colour_plane {
        r.bits(2)?; // colour_plane_id
    }
    if matches!(t, NAL_IDR_W_RADL | NAL_IDR_N_LP) {
        return Ok((sps, 0));
    }
    Ok((sps, r.bits(sps.log2_max_poc_lsb)?))
}

/// An SPS's display size and (when they read) its order fields.
type SizeAndOrder = ((u32, u32), Result<SpsOrder, SpsError>);

/// The size and (when they read) the order fields of an SPS.
pub(super) fn parse_sps(nalu: &[u8]) -> Result<SizeAndOrder, SpsError> {
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
    let id = r.ue()?; // sps_seq_parameter_set_id
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
    let size = (
        u32::try_from(w).map_err(|_| SpsError::OutOfRange("pic_width_in_luma_samples"))?,
        u32::try_from(h).map_err(|_| SpsError::OutOfRange("pic_height_in_luma_samples"))?,
    );
    let mut order = || {
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        let log2_max_poc_lsb = r
            .ue()?
            .checked_add(4)
            .filter(|&n| n <= 16)
            .ok_or(SpsError::OutOfRange("log2_max_pic_order_cnt_lsb_minus4"))?;
        Ok(SpsOrder { id, separate_colour_plane: separate_planes, log2_max_poc_lsb })
    };
    Ok((size, order()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sps_of_another_type_or_truncated_is_an_error() {
        assert!(sps_size(&[NAL_SPS << 1, 1, 0]).is_err());
        assert_eq!(sps_size(&[NAL_PPS << 1, 1, 0]), Err(SpsError::NotSps(NAL_PPS)));
    }
}
