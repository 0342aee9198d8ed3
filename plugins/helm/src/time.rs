//! RFC 3339 timestamps, checked and normalised. Helm reads `created` and `generated` with
//! Go's `time.Time` JSON decoding, which refuses anything but strict RFC 3339 and fails the
//! *whole* index on one bad value, so only timestamps that pass here are ever written.

/// A parsed timestamp: its instant (for ordering) and a normalised spelling Go accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since the Unix epoch and nanoseconds: compares as the instant does.
    pub instant: (i64, u32),
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    pub text: String,
}

fn num(s: &str, i: usize, len: usize) -> Option<u32> {
    let part = s.get(i..i + len)?;
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parse an RFC 3339 date-time (`t`/`z` in either case, fractions of any length).
pub fn parse(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't') {
        return None;
    }
    let (y, mo, d) = (num(s, 0, 4)?, num(s, 5, 2)?, num(s, 8, 2)?);
    let (h, mi, sec) = (num(s, 11, 2)?, num(s, 14, 2)?, num(s, 17, 2)?);
    let y = i64::from(y);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    // Go refuses leap seconds.
    if sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut frac = String::new();
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        frac = s[start..i].chars().take(9).collect();
    }
    let (offset, zone) = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => (0i64, "Z".to_string()),
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(s, i + 1, 2)?, num(s, i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 3600 + om * 60);
            let off = if *sign == b'-' { -off } else { off };
            (off, s[i..].to_string())
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset;
    let nanos: u32 = format!("{frac:0<9}").parse().unwrap_or(0);
    let mut text = format!("{}T{}", &s[..10], &s[11..19]);
    if !frac.is_empty() {
        text.push('.');
        text.push_str(&frac);
    }
    text.push_str(&zone);
    Some(Timestamp {
        instant: (secs, nanos),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_parsed_normalised_and_ordered() {
        let a = parse("2024-03-01T10:00:00Z").unwrap();
        assert_eq!(a.instant.0, 1_709_287_200);
        assert_eq!(a.text, "2024-03-01T10:00:00Z");
        let b = parse("2024-03-01t11:30:00.5+01:00").unwrap();
        assert_eq!(b.text, "2024-03-01T11:30:00.5+01:00");
        assert!(b.instant > a.instant);
        assert_eq!(b.instant, (1_709_287_200 + 1800, 500_000_000));
        assert_eq!(parse("1970-01-01T00:00:00z").unwrap().instant, (0, 0));
        for bad in [
            "2024-02-30T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00",
            "yesterday",
            "2024-01-01T00:00:00+0100",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
