//! A GOP's presentation order from its slice headers, without decoding: each picture's
//! picture order count (H.264 §8.2.1, H.265 §8.3.1) and whether later pictures may reference
//! it. Playback uses it to decode only the pictures a seek target depends on and still know
//! which output picture is which. Anything this reader does not follow exactly (H.264 POC
//! type 1, field pictures, bottom-field deltas, H.265 pictures that say they are not output) is
//! an error, and the caller then decodes every picture in order.

use super::rbsp::SpsError;
use super::{Codec, NalRole, ParameterSet, h264, h265};
use std::collections::HashMap;

/// What the slice headers say of one picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureInfo {
    /// Picture order count: presentation order within the coded video sequence.
    pub poc: i64,
    /// No later picture of the same or a lower temporal sub-layer references it (H.264
    /// `nal_ref_idc` = 0; H.265 TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and the reserved `_N`
    /// types). In H.265 a higher sub-layer still may: such a picture is safe to leave undecoded
    /// only when no picture of the GOP has a higher `temporal_id`.
    pub non_reference: bool,
    /// H.265 `TemporalId` (0 for H.264).
    pub temporal_id: u8,
}

/// Reads the pictures of one GOP in decode order, from its IDR (or first IRAP).
#[derive(Debug)]
pub struct OrderReader {
    codec: Codec,
    h264_sps: HashMap<u32, h264::OrderParams>,
    /// H.264 PPS id → SPS id (a PPS with a bottom-field delta is left out: not followed).
    h264_pps: HashMap<u32, u32>,
    h265_sps: HashMap<u32, h265::SpsOrder>,
    h265_pps: HashMap<u32, h265::PpsOrder>,
    /// `PicOrderCntMsb` and the order count LSB of the picture the next one counts from (H.264:
    /// the previous reference picture; H.265: the previous `prevTid0Pic`).
    prev: (i64, i64),
    pictures: i64,
}

impl OrderReader {
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            h264_sps: HashMap::new(),
            h264_pps: HashMap::new(),
            h265_sps: HashMap::new(),
            h265_pps: HashMap::new(),
            prev: (0, 0),
            pictures: 0,
        }
    }

    /// Take the next NALU (no start code) in decode order. Parameter sets are remembered; a
    /// picture's first slice gives its [`PictureInfo`]; anything else gives `None`.
    pub fn nalu(&mut self, nalu: &[u8]) -> Result<Option<PictureInfo>, SpsError> {
        match self.codec.nal_role(nalu) {
            NalRole::ParameterSet(ParameterSet::Sps) => {
                match self.codec {
                    Codec::H264 => {
                        let sps = h264::parse_sps(nalu)?;
                        self.h264_sps.insert(sps.order.id, sps.order);
                    }
                    Codec::H265 => {
                        let sps = h265::parse_sps(nalu)?.1?;
                        self.h265_sps.insert(sps.id, sps);
                    }
                }
                Ok(None)
            }
            NalRole::ParameterSet(ParameterSet::Pps) => {
                match self.codec {
                    Codec::H264 => {
                        let pps = h264::parse_pps_order(nalu)?;
                        if pps.bottom_field_delta {
                            self.h264_pps.remove(&pps.id);
                        } else {
                            self.h264_pps.insert(pps.id, pps.sps_id);
                        }
                    }
                    Codec::H265 => {
                        let pps = h265::parse_pps_order(nalu)?;
                        self.h265_pps.insert(pps.id, pps);
                    }
                }
                Ok(None)
            }
            NalRole::Slice(s) if s.first_in_picture => match self.codec {
                Codec::H264 => self.h264_picture(nalu).map(Some),
                Codec::H265 => self.h265_picture(nalu, s.random_access()).map(Some),
            },
            _ => Ok(None),
        }
    }

    fn h264_picture(&mut self, nalu: &[u8]) -> Result<PictureInfo, SpsError> {
        let (sps_map, pps_map) = (&self.h264_sps, &self.h264_pps);
        let (sps, lsb) = h264::slice_order(nalu, |pps| pps_map.get(&pps).and_then(|id| sps_map.get(id)).copied())?;
        let reference = h264::is_reference(nalu);
        if h264::is_idr(nalu) {
            (self.prev, self.pictures) = ((0, 0), 0);
        }
        self.pictures += 1;
        let poc = match sps.pic_order_cnt_type {
            0 => {
                let msb = msb(i64::from(lsb), self.prev, sps.log2_max_poc_lsb);
                if reference {
                    self.prev = (msb, i64::from(lsb));
                }
                msb + i64::from(lsb)
            }
            // Presentation order is decode order.
            2 => self.pictures,
            _ => return Err(SpsError::OutOfRange("pic_order_cnt_type")),
        };
        Ok(PictureInfo { poc, non_reference: !reference, temporal_id: 0 })
    }

    fn h265_picture(&mut self, nalu: &[u8], irap: bool) -> Result<PictureInfo, SpsError> {
        let (t, temporal_id) = h265::nal_type_and_temporal_id(nalu);
        let (sps_map, pps_map) = (&self.h265_sps, &self.h265_pps);
        let (sps, lsb) = h265::slice_order(nalu, |id| {
            let pps = pps_map.get(&id)?;
            Some((*pps, *sps_map.get(&pps.sps_id)?))
        })?;
        let lsb = i64::from(lsb);
        // An IRAP that starts the GOP, an IDR or a BLA (16–18) restarts the count
        // (NoRaslOutputFlag = 1); a CRA inside the GOP does not.
        let restart = (irap && self.pictures == 0) || matches!(t, 16..=20);
        let msb = if restart { 0 } else { msb(lsb, self.prev, sps.log2_max_poc_lsb) };
        self.pictures += 1;
        let non_reference = h265::sub_layer_non_reference(t);
        // prevTid0Pic: TemporalId 0, not RASL, RADL or a sub-layer non-reference picture.
        if temporal_id == 0 && !(6..=9).contains(&t) && !non_reference {
            self.prev = (msb, lsb);
        }
        Ok(PictureInfo { poc: msb + lsb, non_reference, temporal_id })
    }
}

/// `PicOrderCntMsb` from this picture's LSB and the previous picture's MSB and LSB.
fn msb(lsb: i64, (prev_msb, prev_lsb): (i64, i64), log2_max_lsb: u32) -> i64 {
    let max = 1i64 << log2_max_lsb;
    if lsb < prev_lsb && prev_lsb - lsb >= max / 2 {
        prev_msb + max
    } else if lsb > prev_lsb && lsb - prev_lsb > max / 2 {
        prev_msb - max
    } else {
        prev_msb
    }
}

/// Presentation ranks of pictures from their order counts (in decode order): the picture with
/// the k-th smallest count has rank k. `None` when two share a count (the order is not known).
pub fn ranks(pocs: &[i64]) -> Option<Vec<usize>> {
    let mut by_poc: Vec<usize> = (0..pocs.len()).collect();
    by_poc.sort_by_key(|&i| pocs[i]);
    if by_poc.windows(2).any(|w| pocs[w[0]] == pocs[w[1]]) {
        return None;
    }
    let mut rank = vec![0; pocs.len()];
    for (r, i) in by_poc.into_iter().enumerate() {
        rank[i] = r;
    }
    Some(rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_count_msb_wraps_both_ways() {
        assert_eq!(msb(2, (0, 250), 8), 256);
        assert_eq!(msb(250, (256, 2), 8), 0);
        assert_eq!(msb(10, (0, 4), 8), 0);
    }

    #[test]
    fn ranks_sort_by_order_count_and_refuse_ties() {
        assert_eq!(ranks(&[0, 8, 4, 2, 6]), Some(vec![0, 4, 2, 1, 3]));
        assert_eq!(ranks(&[0, 4, 4]), None);
        assert_eq!(ranks(&[]), Some(vec![]));
    }
}
