//! The seeded day plan: which clip plays in each 20-second slot of each camera.
//! Activity is bursty and follows the time of day: busy mornings and evenings, quiet nights.

use super::scene::ClipKind;

/// What a slot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotPlan {
    pub kind: ClipKind,
    pub night: bool,
}

/// SplitMix64: a tiny, well-mixed, seedable hash (no RNG state to carry across threads).
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The plan of the slot starting at `slot_start_us` on `camera`.
pub fn slot(camera: usize, slot_start_us: i64) -> SlotPlan {
    let secs = slot_start_us.div_euclid(1_000_000);
    let hour = (secs.rem_euclid(86_400) / 3600) as u32;
    let night = !(6..20).contains(&hour);
    // Bursts: 10-minute windows are "busy" with a probability that follows the hour.
    let window = secs.div_euclid(600);
    let busy_p = match hour {
        7..=9 | 16..=19 => 0.6,
        10..=15 => 0.35,
        20..=22 | 6 => 0.15,
        _ => 0.04,
    };
    let cam = camera as u64;
    let busy = unit(mix(window as u64 ^ cam << 48)) < busy_p;
    let active_p = if busy { 0.55 } else { 0.03 };
    let r = unit(mix(secs as u64 ^ (cam << 52) ^ 0xA5A5));
    let kind = if r >= active_p {
        ClipKind::Empty
    } else {
        match mix(secs as u64 ^ cam) % 10 {
            0..=4 => ClipKind::Person,
            5..=7 => ClipKind::Car,
            _ => ClipKind::PersonAndCar,
        }
    };
    SlotPlan { kind, night }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_busier_than_nights_and_deterministic() {
        let day_start = 1_700_006_400i64; // a UTC midnight
        let count = |from_h: i64, to_h: i64| {
            (from_h * 180..to_h * 180)
                .filter(|i| slot(1, (day_start + i * 20) * 1_000_000).kind != ClipKind::Empty)
                .count()
        };
        assert!(count(7, 10) > 3 * count(0, 3).max(1), "{} vs {}", count(7, 10), count(0, 3));
        assert_eq!(slot(2, 1_700_000_000_000_000), slot(2, 1_700_000_000_000_000));
        assert!(slot(1, (day_start + 3600) * 1_000_000).night);
        assert!(!slot(1, (day_start + 12 * 3600) * 1_000_000).night);
    }
}
