//! One 8-byte index entry: `pts<<42 | location<<12 | flags`, little-endian u64.

/// Set on H.264 IDR slices (type 5) and H.265 IDR_W_RADL / IDR_N_LP.
pub const FLAG_KEY_FRAME: u16 = 1;
/// Set on SPS/PPS (and H.265 VPS).
pub const FLAG_ESSENTIAL_META: u16 = 2;
/// Always set by cyclops: the payload carries a start code and emulation prevention.
pub const FLAG_ANNEX_B: u16 = 4;

/// Largest PTS, in ticks (22 bits ≈ 1023.9998 s).
pub const MAX_PTS_TICKS: u32 = (1 << 22) - 1;
/// Largest packet-file offset (30 bits).
pub const MAX_PACKET_BYTES: u64 = (1 << 30) - 1;
/// Index slots including the sentinel: `index_count + new + 1 ≤ 65535`.
pub const MAX_ENTRIES: usize = (1 << 16) - 1;

/// A decoded index entry. `length` is derived from the next entry (or the sentinel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Entry {
    pub pts_ticks: u32,
    pub location: u32,
    pub length: u32,
    pub flags: u16,
}

impl Entry {
    pub fn is_key_frame(&self) -> bool {
        self.flags & FLAG_KEY_FRAME != 0
    }
    pub fn is_essential_meta(&self) -> bool {
        self.flags & FLAG_ESSENTIAL_META != 0
    }
    /// Byte just past this entry's payload.
    pub fn end(&self) -> u64 {
        u64::from(self.location) + u64::from(self.length)
    }
}

/// Pack `(pts, location, flags)`; `None` when a field is out of range.
pub fn pack(pts_ticks: u64, location: u64, flags: u64) -> Option<u64> {
    (pts_ticks <= u64::from(MAX_PTS_TICKS) && location <= MAX_PACKET_BYTES && flags < (1 << 12))
        .then_some(pts_ticks << 42 | location << 12 | flags)
}

/// Unpack a raw word into `(pts, location, flags)`.
pub fn unpack(word: u64) -> (u32, u32, u16) {
    ((word >> 42) as u32, ((word >> 12) & MAX_PACKET_BYTES) as u32, (word & 0xfff) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pack_unpack_round_trips(pts in 0u64..=MAX_PTS_TICKS as u64, loc in 0u64..=MAX_PACKET_BYTES, flags in 0u64..4096) {
            let word = pack(pts, loc, flags).expect("in range");
            prop_assert_eq!(unpack(word), (pts as u32, loc as u32, flags as u16));
        }
    }

    #[test]
    fn rejects_out_of_range() {
        assert!(pack(1 << 22, 0, 0).is_none());
        assert!(pack(0, 1 << 30, 0).is_none());
        assert!(pack(0, 0, 4096).is_none());
    }
}
