//! Text encodings signatures travel in: base64 (standard and URL-safe), hex, PEM, and the
//! RFC 3339 / Unix times they name.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Standard base64, with or without padding, whitespace ignored (PEM bodies, annotations).
pub fn b64(text: &str) -> Result<Vec<u8>, String> {
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(&clean)
        .or_else(|_| STANDARD_NO_PAD.decode(&clean))
        .map_err(|e| format!("not valid base64: {e}"))
}

/// Base64url without padding (JWS), tolerating padding.
pub fn b64url(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|e| format!("not valid base64url: {e}"))
}

/// The `bytes` of protobuf JSON (Sigstore bundles): standard or URL-safe base64.
pub fn b64_any(text: &str) -> Result<Vec<u8>, String> {
    b64(text).or_else(|_| b64url(text))
}

/// Standard base64 with padding.
pub fn to_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex (either case) to bytes.
pub fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{text:?} is not hex"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// The blocks of a PEM text: (label, DER bytes), in order.
pub fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                continue; // RFC 1421 headers
            }
            body.push_str(l);
        }
        if !closed {
            return Err(format!("PEM block {label:?} has no END line"));
        }
        let der = b64(&body).map_err(|e| format!("PEM block {label:?}: {e}"))?;
        out.push((label.to_string(), der));
    }
    if out.is_empty() {
        return Err("no PEM block found".into());
    }
    Ok(out)
}

/// A digest string `alg:hex` split and checked (sha256 and sha512).
pub fn parse_digest(digest: &str) -> Result<(&str, &str), String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("{digest:?} is not a digest (algorithm:hex)"))?;
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        "sha384" => 96,
        _ => return Err(format!("{digest:?}: unsupported digest algorithm {alg:?}")),
    };
    if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "{digest:?} is not a {alg} digest ({len} lowercase hex digits)"
        ));
    }
    Ok((alg, hex))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Unix seconds as RFC 3339 UTC (`2026-11-28T05:46:57Z`).
pub fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// An RFC 3339 date-time (`2022-04-06T07:01:20Z`, `2022-08-29T13:50:00-07:00`, fractions
/// allowed and dropped) as Unix seconds.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an RFC 3339 date-time");
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return Err(bad());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let s = text.get(r).ok_or_else(bad)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let r = rest.as_bytes();
            if r[3] != b':' {
                return Err(bad());
            }
            let oh: i64 = rest[1..3].parse().map_err(|_| bad())?;
            let om: i64 = rest[4..6].parse().map_err(|_| bad())?;
            let o = oh * 3600 + om * 60;
            if r[0] == b'-' { -o } else { o }
        }
        _ => return Err(bad()),
    };
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_honours_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("2022-04-06T07:01:20Z").unwrap(),
            parse_rfc3339("2022-04-06T00:01:20-07:00").unwrap()
        );
        assert_eq!(
            parse_rfc3339("2022-04-06T07:01:20.123456Z").unwrap(),
            1_649_228_480
        );
        assert_eq!(rfc3339(1_649_228_480), "2022-04-06T07:01:20Z");
        assert_eq!(rfc3339(1_795_844_817), "2026-11-28T05:46:57Z");
        for bad in [
            "2022-04-06",
            "2022-04-06 07:01:20Z",
            "2022-13-06T07:01:20Z",
            "x",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pem_blocks_are_read_in_order_with_their_labels() {
        let text = "junk\n-----BEGIN A-----\nAAEC\n-----END A-----\n-----BEGIN B-----\nAw==\n-----END B-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(blocks[0], ("A".to_string(), vec![0, 1, 2]));
        assert_eq!(blocks[1], ("B".to_string(), vec![3]));
        assert!(pem_blocks("-----BEGIN A-----\nAAEC\n").is_err());
        assert!(pem_blocks("nothing").is_err());
    }

    #[test]
    fn digests_are_checked() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(parse_digest(&d).unwrap().0, "sha256");
        assert!(parse_digest("sha256:abc").is_err());
        assert!(parse_digest(&format!("md5:{}", "a".repeat(32))).is_err());
        assert!(parse_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
