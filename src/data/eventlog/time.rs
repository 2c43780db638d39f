//! Timestamps of an event log: unix seconds, unix milliseconds, or date-time text with or
//! without a zone (`2019-10-01 00:00:00 UTC`, `2016-01-31 23:59:02`, ISO 8601 with `T`, `Z` or
//! `+08:00`), all read as unix seconds (UTC; text without a zone is taken as UTC).
//!
//! Hand-written rather than chrono's `parse_from_str`: a log of 10 M rows would try several
//! format strings per value, and the few layouts above fit in one pass over the bytes.

/// How a timestamp value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Whole or fractional seconds since 1970-01-01 UTC.
    UnixSeconds,
    /// Milliseconds since 1970-01-01 UTC (values of 10^11 and more).
    UnixMillis,
    /// Date-time text without a zone.
    DateTime,
    /// Date-time text with a zone (`UTC`, `Z`, `+08:00`).
    DateTimeZone,
}

impl TimeFormat {
    /// How the note names it.
    pub fn describe(self) -> &'static str {
        match self {
            TimeFormat::UnixSeconds => "unix seconds",
            TimeFormat::UnixMillis => "unix milliseconds",
            TimeFormat::DateTime => "date-time text without a zone (read as UTC)",
            TimeFormat::DateTimeZone => "date-time text with a zone",
        }
    }
}

/// Unix seconds at or above which a number is read as milliseconds (year 5138 in seconds).
const MILLIS_FROM: f64 = 1e11;

/// Parses one timestamp into unix seconds and the way it was written.
pub fn parse_time(s: &str) -> Option<(f64, TimeFormat)> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        if !v.is_finite() || s.contains(['e', 'E', 'i', 'n', 'I', 'N']) {
            return None;
        }
        return Some(if v.abs() >= MILLIS_FROM {
            (v / 1000.0, TimeFormat::UnixMillis)
        } else {
            (v, TimeFormat::UnixSeconds)
        });
    }
    parse_date_time(s.as_bytes())
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let f = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in f {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// `YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][ ](Z|UTC|GMT|±HH[:]MM)?`, or a date alone.
fn parse_date_time(b: &[u8]) -> Option<(f64, TimeFormat)> {
    let (y, mo, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&mo) {
        return None;
    }
    if d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) as f64 * 86_400.0;
    let mut at = 10;
    if matches!(b.get(at), Some(b' ' | b'T')) && b.get(at + 1).is_some_and(u8::is_ascii_digit) {
        let (h, mi) = (digits(b, at + 1, 2)?, digits(b, at + 4, 2)?);
        if b.get(at + 3) != Some(&b':') || h > 23 || mi > 59 {
            return None;
        }
        secs += (h * 3600 + mi * 60) as f64;
        at += 6;
        if b.get(at) == Some(&b':') {
            let sec = digits(b, at + 1, 2)?;
            if sec > 60 {
                return None;
            }
            secs += sec as f64;
            at += 3;
            if b.get(at) == Some(&b'.') {
                let start = at + 1;
                let mut end = start;
                while b.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                let frac = std::str::from_utf8(b.get(at..end)?).ok()?;
                secs += format!("0{frac}").parse::<f64>().ok()?;
                at = end;
            }
        }
    }
    let rest = std::str::from_utf8(b.get(at..)?).ok()?.trim_start();
    if rest.is_empty() {
        return Some((secs, TimeFormat::DateTime));
    }
    let offset = match rest {
        "Z" | "UTC" | "GMT" | "z" => 0,
        _ => {
            let r = rest.as_bytes();
            let sign = match r.first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let h = digits(r, 1, 2)?;
            let m = match r.len() {
                3 => 0,
                5 => digits(r, 3, 2)?,
                6 if r[3] == b':' => digits(r, 4, 2)?,
                _ => return None,
            };
            sign * (h * 3600 + m * 60)
        }
    };
    Some((secs - offset as f64, TimeFormat::DateTimeZone))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`, for notes.
pub fn format_time(t: f64) -> String {
    let secs = t.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_formats() {
        let at = |s: &str| parse_time(s).map(|(t, f)| (t as i64, f));
        use TimeFormat::*;
        assert_eq!(at("1511658000"), Some((1_511_658_000, UnixSeconds)));
        assert_eq!(at("1511658000123"), Some((1_511_658_000, UnixMillis)));
        assert_eq!(
            at("2019-10-01 00:00:00 UTC"),
            Some((1_569_888_000, DateTimeZone))
        );
        assert_eq!(at("2016-01-31 23:59:02"), Some((1_454_284_742, DateTime)));
        assert_eq!(
            at("2017-11-26T01:00:00Z"),
            Some((1_511_658_000, DateTimeZone))
        );
        assert_eq!(
            at("2017-11-26T09:00:00+08:00"),
            Some((1_511_658_000, DateTimeZone))
        );
        assert_eq!(
            at("2017-11-26T09:00:00.5+0800"),
            Some((1_511_658_000, DateTimeZone))
        );
        assert_eq!(at("2016-02-29"), Some((1_456_704_000, DateTime)));
        for bad in [
            "2017-02-29",
            "2017-13-01",
            "26/11/2017",
            "pv",
            "",
            "nan",
            "1e9",
            "2017-11-26 25:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(format_time(1_511_658_000.0), "2017-11-26 01:00:00 UTC");
        assert_eq!(format_time(1_456_704_000.0), "2016-02-29 00:00:00 UTC");
    }
}
