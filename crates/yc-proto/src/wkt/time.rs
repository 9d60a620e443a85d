//! `Timestamp` and `Duration` text forms, as protobuf's reference JSON mapping writes and reads them.
//!
//! Pure arithmetic on proleptic Gregorian dates; no clock, no time zone database.

/// Seconds of 0001-01-01T00:00:00Z.
pub(crate) const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// Seconds of 9999-12-31T23:59:59Z.
pub(crate) const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
/// 10 000 years, the limit the reference puts on durations.
pub(crate) const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

/// `2024-03-11T10:02:03.456Z`: UTC, `Z`, 0, 3, 6 or 9 fraction digits.
pub(crate) fn format_timestamp(seconds: i64, nanos: i32, out: &mut String) -> Result<(), String> {
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds) {
        return Err(format!(
            "timestamp seconds `{seconds}` out of range 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z"
        ));
    }
    if !(0..1_000_000_000).contains(&nanos) {
        return Err(format!(
            "timestamp nanos `{nanos}` out of range 0..999999999"
        ));
    }
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    push_padded(out, year, 4);
    out.push('-');
    push_padded(out, month, 2);
    out.push('-');
    push_padded(out, day, 2);
    out.push('T');
    push_padded(out, secs / 3600, 2);
    out.push(':');
    push_padded(out, secs / 60 % 60, 2);
    out.push(':');
    push_padded(out, secs % 60, 2);
    push_fraction(out, nanos);
    out.push('Z');
    Ok(())
}

/// Parses RFC 3339 (`T`/`t`, `Z`/`z` or a `±hh:mm` offset, 1 to 9 fraction digits) to `(seconds, nanos)` in UTC.
pub(crate) fn parse_timestamp(text: &str) -> Result<(i64, i32), String> {
    let bad = || {
        format!("invalid timestamp `{text}`: expected RFC 3339, e.g. `2024-03-11T10:02:03.456Z`")
    };
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return Err(bad());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let year = digits(&b[0..4]).ok_or_else(bad)?;
    let month = digits(&b[5..7]).ok_or_else(bad)?;
    let day = digits(&b[8..10]).ok_or_else(bad)?;
    let hour = digits(&b[11..13]).ok_or_else(bad)?;
    let minute = digits(&b[14..16]).ok_or_else(bad)?;
    let second = digits(&b[17..19]).ok_or_else(bad)?;
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let mut rest = &b[19..];
    let mut nanos = 0i64;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err(bad());
        }
        nanos = digits(&fraction[..n]).ok_or_else(bad)? * 10i64.pow(9 - n as u32);
        rest = &fraction[n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2]).ok_or_else(bad)?;
            let m = digits(&[*m1, *m2]).ok_or_else(bad)?;
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let offset = h * 3600 + m * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return Err(bad()),
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds) {
        return Err(format!(
            "timestamp `{text}` out of range 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z"
        ));
    }
    Ok((seconds, nanos as i32))
}

/// `1.500s`, `-0.000000001s`, `3s`: 0, 3, 6 or 9 fraction digits, sign in front.
pub(crate) fn format_duration(seconds: i64, nanos: i32, out: &mut String) -> Result<(), String> {
    if !(-MAX_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&seconds)
        || !(-999_999_999..=999_999_999).contains(&nanos)
        || (seconds > 0 && nanos < 0)
        || (seconds < 0 && nanos > 0)
    {
        return Err(format!(
            "duration `{seconds}` seconds `{nanos}` nanos out of range or of mixed signs"
        ));
    }
    if seconds < 0 || nanos < 0 {
        out.push('-');
    }
    out.push_str(itoa::Buffer::new().format(seconds.unsigned_abs()));
    push_fraction(out, nanos.abs());
    out.push('s');
    Ok(())
}

/// Parses `-1.5s` to `(seconds, nanos)`, both carrying the sign.
pub(crate) fn parse_duration(text: &str) -> Result<(i64, i32), String> {
    let bad = || format!("invalid duration `{text}`: expected seconds with an `s`, e.g. `1.5s`");
    let body = text.strip_suffix('s').ok_or_else(bad)?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() || whole.len() > 12 || fraction.len() > 9 {
        return Err(bad());
    }
    if body.contains('.') && fraction.is_empty() {
        return Err(bad());
    }
    let seconds = digits(whole.as_bytes()).ok_or_else(bad)?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        digits(fraction.as_bytes()).ok_or_else(bad)? * 10i64.pow(9 - fraction.len() as u32)
    };
    if seconds > MAX_DURATION_SECONDS {
        return Err(format!(
            "duration `{text}` out of range ±{MAX_DURATION_SECONDS}s"
        ));
    }
    let sign = if negative { -1 } else { 1 };
    Ok((sign * seconds, (sign * nanos) as i32))
}

fn push_fraction(out: &mut String, nanos: i32) {
    let nanos = i64::from(nanos);
    if nanos == 0 {
        return;
    }
    out.push('.');
    if nanos % 1_000_000 == 0 {
        push_padded(out, nanos / 1_000_000, 3);
    } else if nanos % 1_000 == 0 {
        push_padded(out, nanos / 1_000, 6);
    } else {
        push_padded(out, nanos, 9);
    }
}

fn push_padded(out: &mut String, v: i64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let s = buf.format(v);
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(s);
}

/// ASCII digits as a number; `None` for anything else (including a sign).
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    b.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
