//! Tick marks on a clock-friendly ladder: 100, 200, 500 ms, 1 s … 10 min, 30 min, 1 h, 3 h, 6 h, 12 h, 1 day,
//! 1 month, 3 months, 1 year, 2/5/10 years; labelled in UTC or local time. Also the one
//! format for an instant (the video's time label, the timeline tooltip) in the same zone.

use super::view::TimeView;
use chrono::{Datelike, FixedOffset, NaiveDate, Offset, TimeZone};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    Utc,
    Local,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Under a second (the view spans down to 1 s): labelled with tenths.
    Millis(i64),
    Seconds(i64),
    Months(u32),
}

const LADDER: [Step; 27] = [
    Step::Millis(100),
    Step::Millis(200),
    Step::Millis(500),
    Step::Seconds(1),
    Step::Seconds(2),
    Step::Seconds(5),
    Step::Seconds(10),
    Step::Seconds(15),
    Step::Seconds(30),
    Step::Seconds(60),
    Step::Seconds(120),
    Step::Seconds(300),
    Step::Seconds(600),
    Step::Seconds(1800),
    Step::Seconds(3600),
    Step::Seconds(3 * 3600),
    Step::Seconds(6 * 3600),
    Step::Seconds(12 * 3600),
    Step::Seconds(86_400),
    Step::Seconds(2 * 86_400),
    Step::Seconds(7 * 86_400),
    Step::Months(1),
    Step::Months(3),
    Step::Months(12),
    Step::Months(24),
    Step::Months(60),
    Step::Months(120),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub t_us: i64,
    pub label: String,
}

fn approx_secs(step: Step) -> f64 {
    match step {
        Step::Millis(ms) => ms as f64 / 1000.0,
        Step::Seconds(s) => s as f64,
        Step::Months(m) => f64::from(m) * 30.44 * 86_400.0,
    }
}

/// Ticks for `view` over `width_px`, at least `min_spacing_px` apart.
pub fn ticks(view: &TimeView, width_px: f64, min_spacing_px: f64, clock: Clock) -> Vec<Tick> {
    let secs_per_px = view.span_us as f64 / 1e6 / width_px.max(1.0);
    let step =
        LADDER.iter().copied().find(|s| approx_secs(*s) / secs_per_px >= min_spacing_px).unwrap_or(Step::Months(120));
    let center_s = (view.start_us + view.span_us / 2).div_euclid(1_000_000);
    let offset = offset_at(center_s, clock);
    let off_s = i64::from(offset.local_minus_utc());
    let (start_s, end_s) = (view.start_us.div_euclid(1_000_000), view.end_us().div_euclid(1_000_000) + 1);
    let mut out = Vec::new();
    match step {
        Step::Millis(ms) => {
            let (step_us, off_us) = (ms * 1000, off_s * 1_000_000);
            let mut t = ((view.start_us + off_us).div_euclid(step_us) + 1) * step_us - off_us;
            while t <= view.end_us() && out.len() < 500 {
                let (secs, frac_us) = (t.div_euclid(1_000_000), t.rem_euclid(1_000_000));
                let mut text = label(secs, 1, &offset);
                if frac_us != 0 {
                    text.push_str(&format!(".{}", frac_us / 100_000));
                }
                out.push(Tick { t_us: t, label: text });
                t += step_us;
            }
        }
        Step::Seconds(s) => {
            let mut t = ((start_s + off_s).div_euclid(s) + 1) * s - off_s;
            while t <= end_s && out.len() < 500 {
                out.push(Tick { t_us: t * 1_000_000, label: label(t, s, &offset) });
                t += s;
            }
        }
        Step::Months(m) => {
            let Some(first) = offset.timestamp_opt(start_s, 0).single() else { return out };
            let months_from_0 = first.year() * 12 + first.month0() as i32;
            let mut k = months_from_0.div_euclid(m as i32) * m as i32 + m as i32;
            while out.len() < 500 {
                let (y, mo) = (k.div_euclid(12), k.rem_euclid(12) as u32 + 1);
                let Some(t) = NaiveDate::from_ymd_opt(y, mo, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc().timestamp() - off_s)
                else {
                    break;
                };
                if t > end_s {
                    break;
                }
                let text = if m >= 12 { format!("{y}") } else { format!("{} {y}", month_name(mo)) };
                out.push(Tick { t_us: t * 1_000_000, label: text });
                k += m as i32;
            }
        }
    }
    out
}

/// A calendar day in the clock's zone, for the timeline's date strip.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    pub start_us: i64,
    pub end_us: i64,
    /// `Sun 1 Nov 2026`
    pub label: String,
}

/// The days `view` touches in the clock's zone; none when it spans more than `max_days`
/// (the ticks are dates then).
pub fn days(view: &TimeView, clock: Clock, max_days: i64) -> Vec<Day> {
    let mut out = Vec::new();
    if view.span_us > max_days.saturating_mul(86_400_000_000) {
        return out;
    }
    // Midnight of `date` in the zone, as unix seconds.
    let midnight = |date: NaiveDate| {
        let naive = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
        Some(naive - i64::from(offset_at(naive, clock).local_minus_utc()))
    };
    let end_s = view.end_us().div_euclid(1_000_000);
    let start_s = view.start_us.div_euclid(1_000_000);
    let Some(mut date) = offset_at(start_s, clock).timestamp_opt(start_s, 0).single().map(|d| d.date_naive()) else {
        return out;
    };
    while out.len() <= max_days as usize + 1 {
        let (Some(start), Some(next)) = (midnight(date), date.succ_opt()) else { break };
        if start > end_s {
            break;
        }
        let Some(end) = midnight(next) else { break };
        out.push(Day {
            start_us: start * 1_000_000,
            end_us: end * 1_000_000,
            label: date.format("%a %-d %b %Y").to_string(),
        });
        date = next;
    }
    out
}

/// The zone's offset at `t_s` (local time follows daylight saving at that instant).
fn offset_at(t_s: i64, clock: Clock) -> FixedOffset {
    let utc = || chrono::Utc.fix();
    match clock {
        Clock::Utc => utc(),
        Clock::Local => chrono::Local.timestamp_opt(t_s, 0).single().map_or_else(utc, |t| t.offset().fix()),
    }
}

/// An instant for people: `2026-11-01 11:40:07.8 UTC` (or `… +02:00` in local time), rounded
/// to the millisecond with trailing zeros trimmed — frame times come from 1/4096-s ticks, so
/// `.799804` is shown as the `.8` the camera meant.
pub fn format_instant(t_us: i64, clock: Clock) -> String {
    let ms = t_us.div_euclid(1000) + i64::from(t_us.rem_euclid(1000) >= 500);
    let (secs, frac_ms) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let offset = offset_at(secs, clock);
    let Some(dt) = offset.timestamp_opt(secs, 0).single() else { return t_us.to_string() };
    let mut text = dt.format("%Y-%m-%d %H:%M:%S").to_string();
    if frac_ms != 0 {
        let frac = format!("{frac_ms:03}");
        text.push('.');
        text.push_str(frac.trim_end_matches('0'));
    }
    match clock {
        Clock::Utc => text.push_str(" UTC"),
        Clock::Local => {
            text.push(' ');
            text.push_str(&offset.to_string());
        }
    }
    text
}

#[cfg(test)]
mod day_tests {
    use super::*;

    #[test]
    fn days_of_a_view_in_utc() {
        // 2026-11-01 20:00 UTC + 30 h: Sun 1, Mon 2, Tue 3 November.
        let start = 1_793_563_200_000_000;
        let view = TimeView { start_us: start, span_us: 30 * 3_600_000_000 };
        let d = days(&view, Clock::Utc, 60);
        assert_eq!(
            d.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(),
            ["Sun 1 Nov 2026", "Mon 2 Nov 2026", "Tue 3 Nov 2026"]
        );
        assert_eq!(d[1].start_us, start + 4 * 3_600_000_000);
        assert_eq!(d[1].end_us - d[1].start_us, 86_400_000_000);
        assert!(days(&TimeView { start_us: start, span_us: 90 * 86_400_000_000 }, Clock::Utc, 60).is_empty());
    }
}

fn month_name(m: u32) -> &'static str {
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(m as usize + 11) % 12]
}

fn label(t_s: i64, step_s: i64, offset: &FixedOffset) -> String {
    let Some(dt) = offset.timestamp_opt(t_s, 0).single() else { return t_s.to_string() };
    let midnight = (t_s + i64::from(offset.local_minus_utc())).rem_euclid(86_400) == 0;
    if step_s >= 86_400 || (midnight && step_s >= 3600) {
        format!("{} {}", month_name(dt.month()), dt.day())
    } else if step_s >= 60 {
        dt.format("%H:%M").to_string()
    } else {
        dt.format("%H:%M:%S").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_picks_clock_friendly_steps() {
        // One hour over 2000 px: 5-minute ticks at least 90 px apart (300 s = 167 px).
        let v = TimeView::new(1_700_000_000_000_000, 3_600_000_000);
        let t = ticks(&v, 2000.0, 90.0, Clock::Utc);
        assert!(t.len() >= 10, "{t:?}");
        assert!(t.windows(2).all(|w| w[1].t_us - w[0].t_us == 300_000_000));
        assert!(t.iter().all(|k| k.t_us % 300_000_000 == 0));
        // Ten years: yearly ticks on Jan 1.
        let v = TimeView::new(1_500_000_000_000_000, 10 * 365 * 86_400 * 1_000_000);
        let t = ticks(&v, 2000.0, 90.0, Clock::Utc);
        assert!(t.iter().all(|k| k.label.len() == 4), "{t:?}");
        // Ten seconds over 800 px: 2-second ticks with seconds in the label.
        let v = TimeView::new(1_700_000_000_000_000, 10_000_000);
        let t = ticks(&v, 800.0, 90.0, Clock::Utc);
        assert_eq!(t.first().map(|k| k.label.len()), Some(8));
    }

    #[test]
    fn a_second_or_two_has_sub_second_ticks() {
        // 12:00:00 UTC, one second over 600 px: 200 ms ticks, tenths in the labels.
        let noon = 1_793_534_400_000_000;
        let v = TimeView::new(noon - 100_000, 1_000_000);
        let t = ticks(&v, 600.0, 90.0, Clock::Utc);
        assert!(t.len() >= 4, "{t:?}");
        assert!(t.windows(2).all(|w| w[1].t_us - w[0].t_us == 200_000), "{t:?}");
        assert_eq!(t[0].label, "12:00:00");
        assert_eq!(t[1].label, "12:00:00.2");
        // Two seconds over 600 px: 500 ms ticks.
        let v = TimeView::new(noon - 100_000, 2_000_000);
        let t = ticks(&v, 600.0, 90.0, Clock::Utc);
        assert_eq!(
            t.iter().map(|k| k.label.as_str()).collect::<Vec<_>>(),
            ["12:00:00", "12:00:00.5", "12:00:01", "12:00:01.5"]
        );
    }

    #[test]
    fn instants_round_to_milliseconds_in_the_chosen_zone() {
        // 2026-11-01T11:40:07.799804Z: a 1/4096-s tick near .8 s.
        let t = 1_793_533_207_799_804;
        assert_eq!(format_instant(t, Clock::Utc), "2026-11-01 11:40:07.8 UTC");
        assert_eq!(format_instant(t - 799_804, Clock::Utc), "2026-11-01 11:40:07 UTC");
        assert_eq!(format_instant(t - 799_804 + 250_000, Clock::Utc), "2026-11-01 11:40:07.25 UTC");
        // Rounding carries into the seconds.
        assert_eq!(format_instant(t + 199_700, Clock::Utc), "2026-11-01 11:40:08 UTC");
        assert_eq!(format_instant(-1, Clock::Utc), "1970-01-01 00:00:00 UTC");
        // Local time names its offset, and is the same instant.
        let local = format_instant(t, Clock::Local);
        let offset = chrono::Local.timestamp_opt(t / 1_000_000, 0).single().map(|d| d.offset().fix());
        assert!(offset.is_some_and(|o| local.ends_with(&o.to_string())), "{local}");
        assert!(local.contains(":07.8 "), "{local}");
    }
}
