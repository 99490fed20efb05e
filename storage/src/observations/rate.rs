//! Downsampling frames to a target rate F, exactly: keep frame k iff it is the first or
//! `⌊t_k·F⌋ ≠ ⌊t_{k−1}·F⌋` — the first frame of each 1/F bucket — computed in integers with
//! `t` in µs and F a rational (`29.97` is 2997/100), so no float rounding ever flips a frame.
//!
//! The bucket is `⌊(t_us + 1)·F_num / (F_den·10⁶)⌋` (frames format spec, corrected in §2): a
//! stored `t_us` is the true time rounded (or truncated) to a µs, so a frame that truly starts
//! a bucket may be stored up to 1 µs early — at 30 fps frame 1 is `round(10⁶/30)` = 33,333 µs,
//! and `33333·30/10⁶` is just below 1. Without the +1 a 30 fps clip populated at 30 fps kept
//! only 2 of every 3 frames; with it, a target at the source rate keeps every frame, and no
//! target ever keeps more than one frame per bucket.

/// A frame rate as a fraction `num/den` frames per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub num: u64,
    pub den: u64,
}

impl Rate {
    /// The bucket of a time in µs since the video start: `⌊(t_us + 1)·num / (den·10⁶)⌋`. The
    /// +1 µs undoes the rounding of stored times (spec corrected in §2; see the module docs).
    pub fn bucket(self, t_us: i64) -> i128 {
        ((i128::from(t_us) + 1) * i128::from(self.num)).div_euclid(i128::from(self.den) * 1_000_000)
    }

    /// The exact text of this rate (`15`, `30000/1001`), which parses back to it unchanged —
    /// unlike [`Display`](std::fmt::Display), whose decimals may be rounded.
    pub fn exact(self) -> String {
        if self.den == 1 { self.num.to_string() } else { format!("{}/{}", self.num, self.den) }
    }

    /// As a float (for display and storage beside the exact fraction).
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1 { write!(f, "{}", self.num) } else { write!(f, "{}", self.as_f64()) }
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// A decimal (`15`, `29.97`) or a fraction (`30000/1001`), positive.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("{text:?} is not a frame rate (a positive decimal like 29.97, or 30000/1001)");
        let (num, den) = if let Some((n, d)) = text.split_once('/') {
            (n.trim().parse::<u64>().map_err(|_| bad())?, d.trim().parse::<u64>().map_err(|_| bad())?)
        } else {
            let (int, frac) = text.split_once('.').unwrap_or((text, ""));
            if frac.len() > 9 || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) || text.is_empty() {
                return Err(bad());
            }
            let den = 10u64.pow(frac.len() as u32);
            let int: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
            let frac: u64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
            (int.checked_mul(den).and_then(|v| v.checked_add(frac)).ok_or_else(bad)?, den)
        };
        if num == 0 || den == 0 || num > 1_000_000 * den {
            return Err(bad());
        }
        let g = gcd(num, den);
        Ok(Rate { num: num / g, den: den / g })
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Decides frame by frame which frames a target rate keeps.
#[derive(Clone, Debug)]
pub struct Downsampler {
    rate: Rate,
    last: Option<i128>,
}

impl Downsampler {
    pub fn new(rate: Rate) -> Self {
        Downsampler { rate, last: None }
    }

    /// Whether the frame at `t_us` (the next one in file order) is kept.
    pub fn keep(&mut self, t_us: i64) -> bool {
        let bucket = self.rate.bucket(t_us);
        let keep = self.last != Some(bucket);
        self.last = Some(bucket);
        keep
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kept(times: impl Iterator<Item = i64>, rate: &str) -> Vec<usize> {
        let mut d = Downsampler::new(rate.parse().unwrap());
        times.enumerate().filter(|&(_, t)| d.keep(t)).map(|(k, _)| k).collect()
    }

    #[test]
    fn ntsc_to_15_flips_phase_about_every_thousand_frames() {
        // t_us = round(k·1001·10^6/30000)
        let times = (0..4000i64).map(|k| (k * 1001 * 1_000_000 + 15_000) / 30_000);
        let k = kept(times, "15");
        assert_eq!(k.len(), 2002);
        assert_eq!(&k[..3], &[0, 2, 4]);
        let around: Vec<usize> = k.iter().copied().filter(|&f| (996..=1005).contains(&f)).collect();
        assert_eq!(around, vec![996, 998, 1000, 1001, 1003, 1005]);
    }

    #[test]
    fn the_five_frame_example_and_25_to_10() {
        assert_eq!(kept([0, 33367, 66733, 100100, 133467].into_iter(), "15"), vec![0, 2, 4]);
        let k = kept((0..20i64).map(|k| 40_000 * k), "10");
        assert_eq!(k, vec![0, 3, 5, 8, 10, 13, 15, 18]);
        // Never upsamples.
        assert_eq!(kept((0..10i64).map(|k| 40_000 * k), "30").len(), 10);
    }

    #[test]
    fn a_target_at_the_source_rate_keeps_every_frame() {
        // 30 → 30: t_us = round(k·10^6/30); frame 1 is at 33,333 µs, just before 1/30 s.
        let times = (0..300i64).map(|k| (k * 1_000_000 + 15) / 30);
        assert_eq!(kept(times, "30").len(), 300);
        // 29.97 → 30000/1001, rounded and truncated times.
        let rounded = (0..4000i64).map(|k| (k * 1001 * 1_000_000 + 15_000) / 30_000);
        assert_eq!(kept(rounded, "30000/1001").len(), 4000);
        let truncated = (0..4000i64).map(|k| k * 1001 * 1_000_000 / 30_000);
        assert_eq!(kept(truncated, "30000/1001").len(), 4000);
        // 30 → 15 keeps every other frame.
        let k = kept((0..300i64).map(|k| (k * 1_000_000 + 15) / 30), "15");
        assert_eq!((k.len(), &k[..3]), (150, &[0, 2, 4][..]));
    }

    proptest::proptest! {
        /// Any source rate num/den (1 … 240 fps) with times rounded or truncated to the µs:
        /// the source rate as the target keeps every frame.
        #[test]
        fn the_source_rate_keeps_every_frame(
            den in 1u64..=1001,
            milli_fps in 1000u64..=240_000,
            n in 1i64..2000,
            truncate in proptest::bool::ANY,
        ) {
            let num = (den * milli_fps / 1000).max(den);
            let (num_i, den_i) = (num as i64, den as i64);
            let time = |k: i64| {
                let exact = k * den_i * 1_000_000;
                if truncate { exact / num_i } else { (exact + num_i / 2) / num_i }
            };
            let rate: Rate = format!("{num}/{den}").parse().unwrap();
            let mut d = Downsampler::new(rate);
            proptest::prop_assert!((0..n).all(|k| d.keep(time(k))));
        }

        /// Never upsamples: at most one kept frame per 1/F bucket the times span.
        #[test]
        fn at_most_one_frame_per_bucket(
            target in 1u64..=240_000,
            steps in proptest::collection::vec(1i64..200_000, 1..300),
        ) {
            let rate = Rate { num: target, den: 1000 };
            let mut d = Downsampler::new(rate);
            let mut t = 0i64;
            let mut kept = 0i128;
            for step in &steps {
                kept += i128::from(d.keep(t));
                t += step;
            }
            let last = t - steps[steps.len() - 1];
            proptest::prop_assert!(kept <= rate.bucket(last) - rate.bucket(0) + 1);
        }

        /// Fractions parse to themselves in lowest terms, and `exact` round-trips.
        #[test]
        fn fractions_parse_exactly_and_round_trip(num in 1u64..=1_000_000, den in 1u64..=100_000) {
            let rate: Rate = format!("{num}/{den}").parse().unwrap();
            proptest::prop_assert_eq!(u128::from(rate.num) * u128::from(den), u128::from(num) * u128::from(rate.den));
            proptest::prop_assert_eq!(gcd(rate.num, rate.den), 1);
            proptest::prop_assert_eq!(rate.exact().parse::<Rate>().unwrap(), rate);
        }
    }

    #[test]
    fn rates_parse_exactly() {
        assert_eq!("29.97".parse::<Rate>().unwrap(), Rate { num: 2997, den: 100 });
        assert_eq!("30000/1001".parse::<Rate>().unwrap(), Rate { num: 30000, den: 1001 });
        assert_eq!("1".parse::<Rate>().unwrap(), Rate { num: 1, den: 1 });
        assert_eq!("0.5".parse::<Rate>().unwrap(), Rate { num: 1, den: 2 });
        for bad in ["0", "-1", "abc", "", "1/0", "1e3", "."] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }
}
