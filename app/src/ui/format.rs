//! Counts as the window shows them: digits grouped by commas ("10,000,000") and the noun
//! agreeing with the number ("1 event", "2 events"). Every count on screen goes through here,
//! so one style holds everywhere.

/// `n` with its digits grouped in threes by commas: `10000000` → "10,000,000".
pub fn number(n: impl TryInto<i128>) -> String {
    let n: i128 = n.try_into().unwrap_or(i128::MAX);
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and the noun that agrees with it: `count(1, "event", "events")` → "1 event",
/// `count(10_000_000, "row", "rows")` → "10,000,000 rows".
pub fn count(n: impl TryInto<i128>, one: &str, many: &str) -> String {
    let n: i128 = n.try_into().unwrap_or(i128::MAX);
    format!("{} {}", number(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_their_digits_by_commas() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(10_000_000), "10,000,000");
        assert_eq!(number(123_456_789_012_i64), "123,456,789,012");
        assert_eq!(number(-1234), "-1,234");
        assert_eq!(number(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(1, "event", "events"), "1 event");
        assert_eq!(count(0, "event", "events"), "0 events");
        assert_eq!(count(2, "event", "events"), "2 events");
        assert_eq!(count(10_000_000, "row", "rows"), "10,000,000 rows");
        assert_eq!(count(1_usize, "class", "classes"), "1 class");
    }
}

/// A span of seconds as people say it: `0.4 s`, `12 s`, `3 min 05 s`, `2 h 14 min`, `3 d 2 h`.
pub fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 10.0 {
        return format!("{s:.1} s");
    }
    let whole = s as u64;
    match whole {
        0..60 => format!("{whole} s"),
        60..3600 => format!("{} min {:02} s", whole / 60, whole % 60),
        3600..86_400 => format!("{} h {:02} min", whole / 3600, whole / 60 % 60),
        _ => format!("{} d {} h", whole / 86_400, whole / 3600 % 24),
    }
}

#[cfg(test)]
mod duration_tests {
    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(super::duration_text(0.42), "0.4 s");
        assert_eq!(super::duration_text(12.9), "12 s");
        assert_eq!(super::duration_text(185.0), "3 min 05 s");
        assert_eq!(super::duration_text(2.0 * 3600.0 + 14.0 * 60.0), "2 h 14 min");
        assert_eq!(super::duration_text(3.0 * 86_400.0 + 7300.0), "3 d 2 h");
        assert_eq!(super::duration_text(-1.0), "0.0 s");
    }
}
