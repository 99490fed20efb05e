//! The `points` blob of a feder trajectory: `0x01` + an LZ4 frame of `u16be N` + N × 45-byte
//! big-endian records `[u32 time, f64 lon, lat, alt, alt_gnss, heading, u8 on_ground]`.
//!
//! Decoding walks the records in place: a caller's [`PointFilter`] sees each record's time and
//! position before anything is allocated, so a query keeps only the points it returns.
//! Duplicate times keep the first point (feder's array API does the same).

use std::io::Read;

/// feder's "missing" value for `alt`, `alt_gnss` and `heading` (compared exactly).
pub const MISSING: f64 = -999_999.0;
/// Bytes of one point record.
pub const RECORD_BYTES: usize = 45;
/// The version byte of feder 1.x blobs.
pub const VERSION_LZ4: u8 = 0x01;

/// One trajectory point as stored (missing values are [`MISSING`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// POSIX seconds, UTC.
    pub time: u32,
    pub lon: f64,
    pub lat: f64,
    /// Feet, pressure altitude.
    pub alt: f64,
    /// Feet, GNSS height above the WGS-84 ellipsoid.
    pub alt_gnss: f64,
    /// Degrees, track.
    pub heading: f64,
    pub on_ground: bool,
}

impl Point {
    /// `value` unless it is feder's missing marker.
    pub fn present(value: f64) -> Option<f64> {
        (value != MISSING).then_some(value)
    }

    /// Height above the WGS-84 ellipsoid in metres: `alt_gnss` when present, else `alt`.
    pub fn height_m(&self) -> Option<f64> {
        Self::present(self.alt_gnss).or(Self::present(self.alt)).map(|ft| ft * 0.3048)
    }

    fn read(record: &[u8]) -> Self {
        let f64_at = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&record[at..at + 8]);
            f64::from_be_bytes(bytes)
        };
        Point {
            time: time_of(record),
            lon: f64_at(4),
            lat: f64_at(12),
            alt: f64_at(20),
            alt_gnss: f64_at(28),
            heading: f64_at(36),
            on_ground: record[44] != 0,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time.to_be_bytes());
        for v in [self.lon, self.lat, self.alt, self.alt_gnss, self.heading] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.push(u8::from(self.on_ground));
    }
}

fn time_of(record: &[u8]) -> u32 {
    u32::from_be_bytes([record[0], record[1], record[2], record[3]])
}

/// Why a blob could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("legacy bz2 blob (feder before 1.0), not supported")]
    LegacyBz2,
    #[error("empty points blob")]
    Empty,
    #[error("unknown points blob version 0x{0:02x}")]
    UnknownVersion(u8),
    #[error("corrupt LZ4 frame: {0}")]
    Lz4(String),
    #[error("payload of {len} bytes does not hold the {count} points it announces")]
    Length { len: usize, count: usize },
}

/// Decompress a blob's payload into `scratch` (reused between blobs) and return its records.
pub fn payload<'s>(blob: &[u8], scratch: &'s mut Vec<u8>) -> Result<Records<'s>, BlobError> {
    match blob.first() {
        None => return Err(BlobError::Empty),
        Some(&VERSION_LZ4) => {}
        Some(_) if blob.starts_with(b"BZh") => return Err(BlobError::LegacyBz2),
        Some(&v) => return Err(BlobError::UnknownVersion(v)),
    }
    scratch.clear();
    lz4_flex::frame::FrameDecoder::new(&blob[1..]).read_to_end(scratch).map_err(|e| BlobError::Lz4(e.to_string()))?;
    let Some((count, rest)) = scratch.split_first_chunk::<2>() else {
        return Err(BlobError::Length { len: scratch.len(), count: 0 });
    };
    let count = usize::from(u16::from_be_bytes(*count));
    if rest.len() != count * RECORD_BYTES {
        return Err(BlobError::Length { len: scratch.len(), count });
    }
    Ok(Records { bytes: rest })
}

/// The point records of one decoded payload.
#[derive(Clone, Copy, Debug)]
pub struct Records<'a> {
    bytes: &'a [u8],
}

impl<'a> Records<'a> {
    /// Records in this run of raw bytes (a multiple of [`RECORD_BYTES`]; a sidecar run).
    pub fn from_raw(bytes: &'a [u8]) -> Option<Self> {
        bytes.len().is_multiple_of(RECORD_BYTES).then_some(Records { bytes })
    }

    pub fn len(&self) -> usize {
        self.bytes.len() / RECORD_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Every point in order, duplicates of a time after the first skipped.
    pub fn points(self) -> impl Iterator<Item = Point> + 'a {
        self.unique().map(Point::read)
    }

    /// The raw records, duplicates of a time after the first skipped.
    pub fn unique(self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut last: Option<u32> = None;
        self.bytes.chunks_exact(RECORD_BYTES).filter(move |r| {
            let t = time_of(r);
            let fresh = last != Some(t);
            last = Some(t);
            fresh
        })
    }

    /// The points `keep` accepts, in order; `keep` sees each record's time, lat and lon
    /// before the record is decoded further.
    pub fn select(self, mut keep: impl FnMut(u32, f64, f64) -> bool, out: &mut Vec<Point>) {
        for r in self.unique() {
            let lat = f64::from_be_bytes(r[12..20].try_into().unwrap_or_default());
            let lon = f64::from_be_bytes(r[4..12].try_into().unwrap_or_default());
            if keep(time_of(r), lat, lon) {
                out.push(Point::read(r));
            }
        }
    }
}

/// Encode points as a feder 1.x blob (for fixtures, the demo store and `traj synth`).
/// At most 65 535 points fit a blob.
pub fn encode(points: &[Point]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(2 + points.len() * RECORD_BYTES);
    encode_raw(points, &mut payload, true);
    let mut blob = vec![VERSION_LZ4];
    let mut encoder = lz4_flex::frame::FrameEncoder::new(&mut blob);
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(&payload);
    let _ = encoder.finish();
    blob
}

/// Points as raw records (optionally led by the u16be count).
pub fn encode_raw(points: &[Point], out: &mut Vec<u8>, with_count: bool) {
    if with_count {
        let n = u16::try_from(points.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&n.to_be_bytes());
    }
    for p in points.iter().take(usize::from(u16::MAX)) {
        p.write(out);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point(time: u32) -> Point {
        Point { time, lon: -71.0, lat: 42.0, alt: MISSING, alt_gnss: 1000.0, heading: 90.0, on_ground: false }
    }

    #[test]
    fn round_trips_and_keeps_the_first_of_duplicate_times() {
        let mut second = point(10);
        second.lat = 43.0;
        let pts = vec![point(5), point(10), second, point(11)];
        let blob = encode(&pts);
        let mut scratch = Vec::new();
        let got: Vec<Point> = payload(&blob, &mut scratch).unwrap().points().collect();
        assert_eq!(got, vec![point(5), point(10), point(11)]);
    }

    #[test]
    fn bad_blobs_are_named() {
        let mut s = Vec::new();
        assert_eq!(payload(b"", &mut s).unwrap_err(), BlobError::Empty);
        assert_eq!(payload(b"BZh91AY&SY", &mut s).unwrap_err(), BlobError::LegacyBz2);
        assert_eq!(payload(&[2, 0, 0], &mut s).unwrap_err(), BlobError::UnknownVersion(2));
        assert!(matches!(payload(&[1, 4, 0x22, 0x4d, 0x18, 0], &mut s).unwrap_err(), BlobError::Lz4(_)));
        let mut blob = encode(&[point(1), point(2)]);
        blob.truncate(blob.len() - 10); // into the data block
        assert!(payload(&blob, &mut s).is_err());
    }

    #[test]
    fn a_count_that_disagrees_with_the_length_is_refused() {
        let mut raw = Vec::new();
        encode_raw(&[point(1)], &mut raw, true);
        raw[1] = 2; // claims two points
        let mut blob = vec![VERSION_LZ4];
        let mut enc = lz4_flex::frame::FrameEncoder::new(&mut blob);
        std::io::Write::write_all(&mut enc, &raw).unwrap();
        enc.finish().unwrap();
        let mut s = Vec::new();
        assert_eq!(payload(&blob, &mut s).unwrap_err(), BlobError::Length { len: 47, count: 2 });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn hostile_blobs_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut s = Vec::new();
            let _ = payload(&bytes, &mut s).map(|r| r.points().count());
            if !bytes.is_empty() { bytes[0] = 1; }
            let _ = payload(&bytes, &mut s).map(|r| r.points().count());
        }

        #[test]
        fn encode_decode_round_trip(times in proptest::collection::vec(0u32..1000, 0..200)) {
            let mut times = times;
            times.sort_unstable();
            let pts: Vec<Point> = times.iter().map(|&t| point(t)).collect();
            let mut s = Vec::new();
            let got: Vec<Point> = payload(&encode(&pts), &mut s).unwrap().points().collect();
            let mut want = pts.clone();
            want.dedup_by_key(|p| p.time);
            prop_assert_eq!(got, want);
        }
    }
}
