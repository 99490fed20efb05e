//! cyclops' tile blob, version 1, with the on/off line codec (onoff v3), bit-exact with
//! `pkg/mybits/onoff.c` including its writer rule. Tessera stores its own tiles in the same
//! format, plus a CRC-32 trailer ([`encode_stored`]): sparse data compresses to a few bytes per
//! line (BENCHMARKS.md compares roaring), and corruption is an error, not another tile.

use super::bitmap::{Line, Tile};

/// On/off output budget in bytes; the writer's check compares a *nibble* count with it.
const ONOFF_BUDGET: usize = 120;
const MAX_NIBBLES_PER_RUN: usize = 11;
const RAW_LEN: u8 = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("tile blob is truncated")]
    Truncated,
    #[error("tile blob version {0} is not 1")]
    Version(u64),
    #[error("tile blob class ids are not ascending")]
    ClassOrder,
    #[error("tile blob class id {0} is out of range")]
    ClassRange(u64),
    #[error("tile line length byte {0} is neither 128 (raw) nor ≤ 120 (on/off)")]
    LineLength(u8),
    #[error("on/off line decodes to {0} bits, not 1024")]
    LineBits(u64),
    #[error("on/off run length uses more than 11 nibbles")]
    RunTooLong,
    #[error("uvarint overflows 64 bits")]
    Varint,
    #[error("tile blob has {0} bytes after its last line")]
    Trailing(usize),
    #[error("tile blob line of class {0} is not in the writer's encoding (corrupt)")]
    NotCanonical(u32),
    #[error("tile blob checksum does not match (corrupt; `tessera tiles rebuild` recreates tiles)")]
    Checksum,
}

/// Encode `nbits` bits (LSB-first) with the on/off codec; `None` when the writer rule falls
/// back to raw.
pub fn onoff_encode(bytes: &[u8], nbits: usize) -> Option<Vec<u8>> {
    let mut nibbles: Vec<u8> = Vec::with_capacity(64);
    let mut state = false; // first run is zeros
    let mut i = 0;
    loop {
        let start = i;
        i = run_end(bytes, nbits, i, state);
        if nibbles.len() + MAX_NIBBLES_PER_RUN > ONOFF_BUDGET {
            return None;
        }
        let mut run = (i - start) as u64;
        loop {
            let payload = (run & 7) as u8;
            run >>= 3;
            nibbles.push(if run > 0 { payload | 8 } else { payload });
            if run == 0 {
                break;
            }
        }
        if i >= nbits {
            break;
        }
        state = !state;
    }
    Some(nibbles.chunks(2).map(|p| p[0] | p.get(1).map_or(0, |h| h << 4)).collect())
}

/// First bit at or after `i` (LSB-first) that is not `state`, or `nbits`: one word compare
/// and a trailing-zero count per 64 bits, so a line costs its number of runs, not 1024 bit
/// tests (tile encoding was a tenth of ingest time bit by bit).
fn run_end(bytes: &[u8], nbits: usize, mut i: usize, state: bool) -> usize {
    let fill = if state { u64::MAX } else { 0 };
    while i < nbits {
        let w = i / 64;
        let mut word = [0u8; 8];
        if let Some(chunk) = bytes.get(w * 8..) {
            let n = chunk.len().min(8);
            word[..n].copy_from_slice(&chunk[..n]);
        }
        let diff = (u64::from_le_bytes(word) ^ fill) >> (i % 64);
        if diff != 0 {
            return (i + diff.trailing_zeros() as usize).min(nbits);
        }
        i = (w + 1) * 64;
    }
    nbits
}

/// Decode an on/off line into `out` (zeroed first); the runs must cover exactly `nbits`.
pub fn onoff_decode(data: &[u8], nbits: usize, out: &mut [u8]) -> Result<(), CodecError> {
    out.fill(0);
    let mut pos: u64 = 0;
    let mut state = false;
    let mut run: u64 = 0;
    let mut shift = 0u32;
    let mut nibbles_in_run = 0;
    for nibble in data.iter().flat_map(|b| [b & 15, b >> 4]) {
        run |= u64::from(nibble & 7) << shift;
        shift += 3;
        nibbles_in_run += 1;
        if nibbles_in_run > MAX_NIBBLES_PER_RUN {
            return Err(CodecError::RunTooLong);
        }
        if nibble & 8 != 0 {
            continue;
        }
        let end =
            pos.checked_add(run).filter(|&e| e <= nbits as u64).ok_or(CodecError::LineBits(pos.saturating_add(run)))?;
        if state {
            for i in pos..end {
                out[(i / 8) as usize] |= 1 << (i % 8);
            }
        }
        pos = end;
        state = !state;
        (run, shift, nibbles_in_run) = (0, 0, 0);
    }
    if pos != nbits as u64 || nibbles_in_run != 0 {
        return Err(CodecError::LineBits(pos));
    }
    Ok(())
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_uvarint(data: &[u8], pos: &mut usize) -> Result<u64, CodecError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos).ok_or(CodecError::Truncated)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(CodecError::Varint)
}

fn line_bytes(line: &Line) -> [u8; 128] {
    let mut out = [0u8; 128];
    for (chunk, word) in out.chunks_exact_mut(8).zip(line) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

fn line_from_bytes(bytes: &[u8; 128]) -> Line {
    let mut line = [0u64; 16];
    for (word, chunk) in line.iter_mut().zip(bytes.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    }
    line
}

/// Encode a tile as a v1 blob (class ids ascending, on/off lines or raw).
pub fn encode_tile(tile: &Tile) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 8 * tile.rows().len());
    put_uvarint(&mut out, 1);
    put_uvarint(&mut out, tile.rows().len() as u64);
    for (class, _) in tile.rows() {
        put_uvarint(&mut out, u64::from(*class));
    }
    for (_, line) in tile.rows() {
        let raw = line_bytes(line);
        match onoff_encode(&raw, 1024) {
            Some(enc) => {
                out.push(enc.len() as u8);
                out.extend_from_slice(&enc);
            }
            None => {
                out.push(RAW_LEN);
                out.extend_from_slice(&raw);
            }
        }
    }
    out
}

/// Decode a v1 blob (lenient: trailing bytes are ignored, as a reader of cyclops' format may).
pub fn decode_tile(blob: &[u8]) -> Result<Tile, CodecError> {
    decode_v1(blob, false).map(|(tile, _)| tile)
}

/// Decode a v1 blob strictly: every byte used and every line in the encoding cyclops' writer
/// produces for it, so a flipped bit cannot pass as a different valid tile unless it happens
/// to yield another canonical encoding (cyclops' blobs carry no checksum; ours do, see
/// [`decode_stored`]).
pub fn decode_tile_strict(blob: &[u8]) -> Result<Tile, CodecError> {
    let (tile, used) = decode_v1(blob, true)?;
    if used != blob.len() {
        return Err(CodecError::Trailing(blob.len() - used));
    }
    Ok(tile)
}

/// Tessera's stored tile: the v1 blob followed by its CRC-32 (IEEE, little-endian).
pub fn encode_stored(tile: &Tile) -> Vec<u8> {
    let mut blob = encode_tile(tile);
    let crc = crc32fast::hash(&blob);
    blob.extend_from_slice(&crc.to_le_bytes());
    blob
}

/// Decode a tile written by [`encode_stored`]: checksum first, then the strict v1 decoder.
pub fn decode_stored(blob: &[u8]) -> Result<Tile, CodecError> {
    let split = blob.len().checked_sub(4).ok_or(CodecError::Truncated)?;
    let (body, crc) = blob.split_at(split);
    let expected = u32::from_le_bytes(crc.try_into().map_err(|_| CodecError::Truncated)?);
    if crc32fast::hash(body) != expected {
        return Err(CodecError::Checksum);
    }
    decode_tile_strict(body)
}

/// Decode a v1 blob; returns the tile and the bytes used.
fn decode_v1(blob: &[u8], strict: bool) -> Result<(Tile, usize), CodecError> {
    let mut pos = 0;
    let version = get_uvarint(blob, &mut pos)?;
    if version != 1 {
        return Err(CodecError::Version(version));
    }
    let n = get_uvarint(blob, &mut pos)?;
    if n > blob.len() as u64 {
        return Err(CodecError::Truncated);
    }
    let mut classes = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let id = get_uvarint(blob, &mut pos)?;
        let id = u32::try_from(id).map_err(|_| CodecError::ClassRange(id))?;
        if classes.last().is_some_and(|&last| last >= id) {
            return Err(CodecError::ClassOrder);
        }
        classes.push(id);
    }
    let mut rows = Vec::with_capacity(classes.len());
    for class in classes {
        let len = *blob.get(pos).ok_or(CodecError::Truncated)?;
        pos += 1;
        if len != RAW_LEN && usize::from(len) > ONOFF_BUDGET {
            return Err(CodecError::LineLength(len));
        }
        let data = blob.get(pos..pos + usize::from(len)).ok_or(CodecError::Truncated)?;
        pos += usize::from(len);
        let mut raw = [0u8; 128];
        match len {
            RAW_LEN => raw.copy_from_slice(data),
            _ => onoff_decode(data, 1024, &mut raw)?,
        }
        if strict {
            let canonical = onoff_encode(&raw, 1024);
            let same = match &canonical {
                Some(enc) => len != RAW_LEN && enc.as_slice() == data,
                None => len == RAW_LEN,
            };
            if !same {
                return Err(CodecError::NotCanonical(class));
            }
        }
        rows.push((class, line_from_bytes(&raw)));
    }
    Ok((Tile::from_rows(rows), pos))
}

/// Size of the same tile as roaring bitmaps with run containers (one per class, plus a
/// varint class id each): the alternative the issue names, measured by `tessera bench tiles`.
pub fn roaring_size(tile: &Tile) -> usize {
    tile.rows()
        .iter()
        .map(|(class, line)| {
            let mut bitmap = roaring::RoaringBitmap::new();
            for (a, b) in super::bitmap::line_runs(line) {
                bitmap.insert_range(a..=b);
            }
            bitmap.optimize();
            let mut id = Vec::new();
            put_uvarint(&mut id, u64::from(*class));
            id.len() + bitmap.serialized_size()
        })
        .sum::<usize>()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap_or(0)).collect()
    }

    #[test]
    fn onoff_vectors() {
        assert_eq!(onoff_encode(&hex("03 FF FF FF FF FF 07 7F"), 64), Some(hex("20 B6 55 17")));
        assert_eq!(onoff_encode(&[0; 128], 1024), Some(hex("88 28")));
        assert_eq!(onoff_encode(&[0xFF; 128], 1024), Some(hex("80 88 02")));
        let mut out = [0u8; 8];
        onoff_decode(&hex("20 B6 55 17"), 64, &mut out).expect("decode");
        assert_eq!(out.to_vec(), hex("03 FF FF FF FF FF 07 7F"));
    }

    #[test]
    fn blob_vectors() {
        let mut t = Tile::new();
        t.set_bits(2, 0, 8);
        t.set_bits(7, 2, 11);
        let blob = encode_tile(&t);
        assert_eq!(blob, hex("01 02 02 07 04 90 F1 FE 01 04 A2 C1 FE 01"));
        assert_eq!(decode_tile(&blob), Ok(t));

        let line = line_from_bytes(&[0x55; 128]);
        let t = Tile::from_rows(vec![(300, line)]);
        let blob = encode_tile(&t);
        assert_eq!(blob.len(), 133);
        assert_eq!(blob[..5], hex("01 01 AC 02 80")[..]);
        assert_eq!(decode_tile(&blob), Ok(t));
    }

    #[test]
    fn bad_blobs_are_errors() {
        assert_eq!(decode_tile(&[]), Err(CodecError::Truncated));
        assert_eq!(decode_tile(&[2, 0]), Err(CodecError::Version(2)));
        assert_eq!(decode_tile(&hex("01 02 07 02")), Err(CodecError::ClassOrder));
        assert_eq!(decode_tile(&hex("01 01 02 79")), Err(CodecError::LineLength(0x79)));
        assert!(decode_tile(&hex("01 01 02 01 88")).is_err(), "512 bits is not a line");
        let good = hex("01 02 02 07 04 90 F1 FE 01 04 A2 C1 FE 01");
        assert_eq!(decode_tile_strict(&[good.as_slice(), &[0]].concat()), Err(CodecError::Trailing(1)));
    }

    /// Every single-bit flip of a stored tile is an error, never another tile.
    #[test]
    fn stored_tiles_detect_every_bit_flip() {
        let mut t = Tile::new();
        t.set_bits(2, 0, 8);
        t.set_bits(7, 2, 11);
        t.set_bits(9, 100, 900);
        let blob = encode_stored(&t);
        assert_eq!(decode_stored(&blob), Ok(t));
        for bit in 0..blob.len() * 8 {
            let mut bad = blob.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_stored(&bad).is_err(), "bit {bit}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(rows in prop::collection::vec((0u32..70, prop::collection::vec((0usize..1024, 0usize..64), 0..40)), 0..6)) {
            let mut t = Tile::new();
            for (class, spans) in rows {
                for (b, n) in spans { t.set_bits(class, b, (b + n).min(1023)); }
            }
            prop_assert_eq!(decode_tile(&encode_tile(&t)), Ok(t));
        }

        #[test]
        fn decoder_never_panics(blob in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_tile(&blob);
            let _ = decode_tile_strict(&blob);
            let _ = decode_stored(&blob);
        }

        /// The word-skipping encoder equals the bit-by-bit rule of onoff.c.
        #[test]
        fn encoder_matches_bitwise_runs(words in prop::collection::vec(prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0u64..4], 16), nbits in prop_oneof![Just(1024usize), 1usize..1024]) {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let bit = |i: usize| bytes[i / 8] >> (i % 8) & 1 == 1;
            let (mut i, mut state) = (0, false);
            while i < nbits {
                let expect = (i..nbits).find(|&j| bit(j) != state).unwrap_or(nbits);
                prop_assert_eq!(run_end(&bytes, nbits, i, state), expect);
                i = expect;
                state = !state;
            }
        }

        /// The strict decoder accepts what the writer writes.
        #[test]
        fn strict_accepts_the_writer(rows in prop::collection::vec((0u32..70, 0usize..1024, 0usize..1024), 0..6)) {
            let mut t = Tile::new();
            for (class, b, n) in rows { t.set_bits(class, b, (b + n).min(1023)); }
            prop_assert_eq!(decode_tile_strict(&encode_tile(&t)), Ok(t.clone()));
            prop_assert_eq!(decode_stored(&encode_stored(&t)), Ok(t));
        }
    }
}
