use super::*;

fn ts(seconds: i64, nanos: i32) -> String {
    let mut out = String::new();
    format_timestamp(seconds, nanos, &mut out).unwrap();
    out
}

fn dur(seconds: i64, nanos: i32) -> String {
    let mut out = String::new();
    format_duration(seconds, nanos, &mut out).unwrap();
    out
}

#[test]
fn timestamps_use_z_and_0_3_6_or_9_fraction_digits() {
    assert_eq!(ts(0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(ts(1_710_151_323, 456_000_000), "2024-03-11T10:02:03.456Z");
    assert_eq!(
        ts(1_710_151_323, 456_700_000),
        "2024-03-11T10:02:03.456700Z"
    );
    assert_eq!(ts(1_710_151_323, 1), "2024-03-11T10:02:03.000000001Z");
    assert_eq!(ts(-1, 0), "1969-12-31T23:59:59Z");
    assert_eq!(ts(951_782_400, 0), "2000-02-29T00:00:00Z");
    assert_eq!(ts(MIN_TIMESTAMP_SECONDS, 0), "0001-01-01T00:00:00Z");
    assert_eq!(
        ts(MAX_TIMESTAMP_SECONDS, 999_999_999),
        "9999-12-31T23:59:59.999999999Z"
    );
}

#[test]
fn timestamps_out_of_range_are_errors() {
    let mut out = String::new();
    assert!(format_timestamp(MIN_TIMESTAMP_SECONDS - 1, 0, &mut out).is_err());
    assert!(format_timestamp(MAX_TIMESTAMP_SECONDS + 1, 0, &mut out).is_err());
    assert!(format_timestamp(0, -1, &mut out).is_err());
    assert!(format_timestamp(0, 1_000_000_000, &mut out).is_err());
    assert!(parse_timestamp("9999-12-31T23:59:59-01:00").is_err());
    assert!(parse_timestamp("0001-01-01T00:00:00+01:00").is_err());
}

#[test]
fn timestamps_parse_rfc_3339_with_offsets_and_lowercase() {
    assert_eq!(
        parse_timestamp("2024-03-11T10:02:03.456Z"),
        Ok((1_710_151_323, 456_000_000))
    );
    assert_eq!(
        parse_timestamp("2024-03-11t13:02:03.000000001+03:00"),
        Ok((1_710_151_323, 1))
    );
    assert_eq!(parse_timestamp("2024-03-11T09:32:03.4-00:30z").ok(), None);
    assert_eq!(
        parse_timestamp("2024-03-11T09:32:03-00:30"),
        Ok((1_710_151_323, 0))
    );
    assert_eq!(
        parse_timestamp("2024-03-11T10:02:03z"),
        Ok((1_710_151_323, 0))
    );
    for bad in [
        "",
        "2024-03-11",
        "2024-03-11T10:02:03",
        "2024-02-30T10:02:03Z",
        "2023-02-29T10:02:03Z",
        "2024-13-11T10:02:03Z",
        "2024-03-11T24:02:03Z",
        "2024-03-11T10:02:03.Z",
        "2024-03-11T10:02:03.1234567890Z",
        "2024-03-11 10:02:03Z",
        "+024-03-11T10:02:03Z",
        "2024-03-11T10:02:03+0300",
        "2024-03-11T10:02:03Zjunk",
        "2024-03-11T10:02:03.é",
    ] {
        assert!(parse_timestamp(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn timestamps_round_trip_across_the_range() {
    for seconds in [
        MIN_TIMESTAMP_SECONDS,
        -12_219_292_800,
        -1,
        0,
        951_868_799,
        4_107_542_400,
        MAX_TIMESTAMP_SECONDS,
    ] {
        for nanos in [0, 5_000_000, 5_000, 5] {
            assert_eq!(parse_timestamp(&ts(seconds, nanos)), Ok((seconds, nanos)));
        }
    }
}

#[test]
fn durations_print_like_the_reference() {
    assert_eq!(dur(0, 0), "0s");
    assert_eq!(dur(1, 500_000_000), "1.500s");
    assert_eq!(dur(-1, -500_000_000), "-1.500s");
    assert_eq!(dur(0, -1), "-0.000000001s");
    assert_eq!(dur(3, 1000), "3.000001s");
    assert_eq!(dur(MAX_DURATION_SECONDS, 0), "315576000000s");
    let mut out = String::new();
    assert!(format_duration(1, -1, &mut out).is_err());
    assert!(format_duration(MAX_DURATION_SECONDS + 1, 0, &mut out).is_err());
    assert!(format_duration(0, 1_000_000_000, &mut out).is_err());
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("1.5s"), Ok((1, 500_000_000)));
    assert_eq!(parse_duration("-0.000000001s"), Ok((0, -1)));
    assert_eq!(parse_duration("-3s"), Ok((-3, 0)));
    for bad in [
        "",
        "s",
        "1",
        "1.s",
        ".5s",
        "+1s",
        "--1s",
        "1.0000000001s",
        "315576000001s",
        "1e3s",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}
