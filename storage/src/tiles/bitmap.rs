//! In-memory tiles: sparse rows of 1024 bits (16 × u64, bit `i` in word `i/64`, bit `i%64`,
//! which is the format's LSB-first byte order once written little-endian).

use super::geometry::{TILE_BITS, TileKey};

pub type Line = [u64; 16];

/// One tile: a line per class present, sorted by class id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tile {
    rows: Vec<(u32, Line)>,
}

impl Tile {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn from_rows(mut rows: Vec<(u32, Line)>) -> Self {
        rows.retain(|(_, l)| l.iter().any(|&w| w != 0));
        rows.sort_by_key(|r| r.0);
        Self { rows }
    }
    pub fn rows(&self) -> &[(u32, Line)] {
        &self.rows
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn row(&self, class: u32) -> Option<&Line> {
        self.rows.binary_search_by_key(&class, |r| r.0).ok().map(|i| &self.rows[i].1)
    }
    fn row_mut(&mut self, class: u32) -> &mut Line {
        let i = match self.rows.binary_search_by_key(&class, |r| r.0) {
            Ok(i) => i,
            Err(i) => {
                self.rows.insert(i, (class, [0; 16]));
                i
            }
        };
        &mut self.rows[i].1
    }

    /// Set bits `b0..=b1` of `class` (callers clamp to 0..1023).
    pub fn set_bits(&mut self, class: u32, b0: usize, b1: usize) {
        set_line_bits(self.row_mut(class), b0, b1);
    }

    /// Mark an object seen over `[first_s, last_s]` in tile `key` (format doc §3).
    pub fn mark(&mut self, key: TileKey, class: u32, first_s: i64, last_s: i64) {
        if last_s < key.start_s() || first_s >= key.end_s() {
            return;
        }
        self.set_bits(class, key.bit_of(first_s), key.bit_of(last_s));
    }

    pub fn or_assign(&mut self, other: &Tile) {
        for (class, line) in &other.rows {
            let mine = self.row_mut(*class);
            for (a, b) in mine.iter_mut().zip(line) {
                *a |= b;
            }
        }
    }

    /// Clear every bit at or after `bit` (the "nothing known at or after now" mask).
    pub fn clear_from(&mut self, bit: usize) {
        for (_, line) in &mut self.rows {
            clear_line_from(line, bit);
        }
        self.rows.retain(|(_, l)| l.iter().any(|&w| w != 0));
    }

    /// Parent tile from its two children (format doc §5); `None` when both are missing.
    pub fn merge(left: Option<&Tile>, right: Option<&Tile>) -> Option<Tile> {
        if left.is_none() && right.is_none() {
            return None;
        }
        let mut parent = Tile::new();
        for (half, child) in [(0usize, left), (8, right)] {
            let Some(child) = child else { continue };
            for (class, line) in &child.rows {
                let out = parent.row_mut(*class);
                for k in 0..8 {
                    out[half + k] =
                        u64::from(squeeze_pairs(line[2 * k])) | u64::from(squeeze_pairs(line[2 * k + 1])) << 32;
                }
            }
        }
        parent.rows.retain(|(_, l)| l.iter().any(|&w| w != 0));
        Some(parent)
    }

    /// Runs of set bits of `class`, inclusive, ascending.
    pub fn runs(&self, class: u32) -> Vec<(u32, u32)> {
        self.row(class).map(line_runs).unwrap_or_default()
    }

    pub fn count_ones(&self) -> u32 {
        self.rows.iter().flat_map(|(_, l)| l.iter()).map(|w| w.count_ones()).sum()
    }
}

/// OR each bit pair and pack the 32 results: bit `j` = bit `2j` | bit `2j+1`.
fn squeeze_pairs(word: u64) -> u32 {
    let mut x = (word | word >> 1) & 0x5555_5555_5555_5555;
    x = (x | x >> 1) & 0x3333_3333_3333_3333;
    x = (x | x >> 2) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | x >> 4) & 0x00FF_00FF_00FF_00FF;
    x = (x | x >> 8) & 0x0000_FFFF_0000_FFFF;
    x = (x | x >> 16) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

pub fn set_line_bits(line: &mut Line, b0: usize, b1: usize) {
    debug_assert!(b0 <= b1 && b1 < TILE_BITS as usize);
    let (w0, w1) = (b0 / 64, b1 / 64);
    for (w, word) in line.iter_mut().enumerate().take(w1 + 1).skip(w0) {
        let lo = if w == w0 { b0 % 64 } else { 0 };
        let hi = if w == w1 { b1 % 64 } else { 63 };
        let mask = (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
        *word |= mask;
    }
}

fn clear_line_from(line: &mut Line, bit: usize) {
    for (w, word) in line.iter_mut().enumerate() {
        let first = w * 64;
        if first >= bit {
            *word = 0;
        } else if bit < first + 64 {
            *word &= (1u64 << (bit - first)) - 1;
        }
    }
}

pub fn line_runs(line: &Line) -> Vec<(u32, u32)> {
    let mut runs = Vec::new();
    let mut start: Option<u32> = None;
    for i in 0..TILE_BITS as u32 {
        let on = line[(i / 64) as usize] >> (i % 64) & 1 == 1;
        match (on, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, TILE_BITS as u32 - 1));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bits(t: &Tile, class: u32) -> Vec<bool> {
        (0..1024).map(|i| t.row(class).is_some_and(|l| l[i / 64] >> (i % 64) & 1 == 1)).collect()
    }

    #[test]
    fn cyclops_levels_vector() {
        // format doc §5, from cyclops' TestLevels.
        let mut a = Tile::new();
        a.set_bits(2, 0, 8);
        a.set_bits(7, 2, 11);
        let mut b = Tile::new();
        b.set_bits(2, 0, 18);
        let m = Tile::merge(Some(&a), Some(&b)).expect("merged");
        assert_eq!(m.runs(2), vec![(0, 4), (512, 521)]);
        assert_eq!(m.runs(7), vec![(1, 5)]);
        assert_eq!(Tile::merge(None, None), None);
    }

    proptest! {
        #[test]
        fn merge_equals_bitwise_model(l in prop::collection::vec((0usize..1024, 0usize..40), 0..12), r in prop::collection::vec((0usize..1024, 0usize..40), 0..12)) {
            let build = |v: &[(usize, usize)]| { let mut t = Tile::new(); for &(b, n) in v { t.set_bits(1, b, (b + n).min(1023)); } t };
            let (lt, rt) = (build(&l), build(&r));
            let m = Tile::merge(Some(&lt), Some(&rt)).unwrap_or_default();
            let (lb, rb, mb) = (bits(&lt, 1), bits(&rt, 1), bits(&m, 1));
            for j in 0..512 {
                prop_assert_eq!(mb[j], lb[2 * j] || lb[2 * j + 1]);
                prop_assert_eq!(mb[512 + j], rb[2 * j] || rb[2 * j + 1]);
            }
        }

        #[test]
        fn set_bits_and_runs_agree(b0 in 0usize..1024, n in 0usize..1024, cut in 0usize..1100) {
            let b1 = (b0 + n).min(1023);
            let mut t = Tile::new();
            t.set_bits(3, b0, b1);
            prop_assert_eq!(t.runs(3), vec![(b0 as u32, b1 as u32)]);
            t.clear_from(cut);
            let expect: Vec<(u32, u32)> = if cut <= b0 { vec![] } else { vec![(b0 as u32, b1.min(cut - 1) as u32)] };
            prop_assert_eq!(t.runs(3), expect);
        }
    }
}
