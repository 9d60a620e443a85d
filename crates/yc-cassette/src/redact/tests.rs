//! Unit tests of `redact`: the private helpers, one behaviour per test.

use super::wire::{WireField, parse_wire};
use super::*;
use crate::decode::Encoding;

fn kinds(text: &str) -> Vec<&'static str> {
    find_secrets(text).into_iter().map(|f| f.kind).collect()
}

#[test]
fn token_shapes_are_recognised_at_run_boundaries_only() {
    let iam = format!("t1.9euelZqKkJGSnY6Z.{}", "a".repeat(86));
    assert_eq!(kinds(&iam), ["iam-token"]);
    assert_eq!(kinds(&format!("Bearer {iam}==")), ["iam-token"]);
    assert_eq!(
        kinds(&format!("xt1.{}", &iam[3..])),
        Vec::<&str>::new(),
        "inside a word"
    );
    assert_eq!(
        kinds(&format!("token%3D{iam}")),
        ["iam-token"],
        "after a %XX escape"
    );
    assert_eq!(
        kinds("y0_AgAAAAAGPGJHAATuwQAAAAEU1yAHAABFDEZw0bxAvZKlZD4ExHbSpT2N9Q"),
        ["oauth-token"]
    );
    assert_eq!(
        kinds("AQVNwlG2LjW2YxKUp9ywU8pDIb1GPkjHnsbDVHZp"),
        ["api-key"]
    );
    assert_eq!(kinds("YCchbYEDdcsYFBnxSWbcjDJDn"), ["access-key-id"]);
    assert_eq!(kinds("YCAJEk2Pq8Lr5TmWn0Xv3Zb7c"), ["access-key-id"]);
    assert_eq!(
        kinds("YCVdheub7w9bImcGAnd3dZnf08FRbvjeUFvehGvc"),
        ["secret-key"]
    );
    assert_eq!(
        kinds("YCVDHEUB7W9BIMCGAND3DZNF08FRBVJEUFVEHGVC"),
        Vec::<&str>::new(),
        "one case only"
    );
    assert_eq!(
        kinds("YCVdheub7w9bImcGAnd3dZnf08FRbvjeUFvehGvcX"),
        Vec::<&str>::new(),
        "41 characters"
    );
    assert_eq!(
        kinds("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"),
        ["private-key"]
    );
    assert_eq!(kinds("a.b?X-Amz-Signature=abc&x=1"), ["signature"]);
    assert_eq!(kinds("a.b?x-amz-credential=abc"), ["signature"]);
}

#[test]
fn encoded_signed_urls_stop_at_the_encoded_ampersand() {
    let r = Redactor::default();
    let out = r.redact_text("next=https%3A%2F%2Fs3%2Fa%3FX-Amz-Signature%3Dabc%26b%3D1");
    assert!(out.ends_with("%26b%3D1"), "{out}");
    assert!(!out.contains("abc"), "{out}");
}

#[test]
fn placeholders_hash_the_secret() {
    assert_eq!(placeholder("k", "abc"), "<redacted:k:ba7816bf>");
    assert!(is_placeholder("<redacted:iam-token:ba7816bf>"));
    assert!(!is_placeholder("x<redacted:iam-token:ba7816bf>"));
    assert_eq!(
        normalise_placeholders("Bearer <redacted:iam-token:ba7816bf>").as_deref(),
        Some("Bearer <redacted:iam-token>")
    );
}

#[test]
fn header_verdicts_are_remembered_per_set_of_rules() {
    let built_in = Redactor::default();
    let rules = RedactionRules {
        headers: vec!["x-team-key".into()],
        fields: vec!["cookie_jar".into()],
        ..RedactionRules::default()
    };
    let extended = Redactor::new(&rules).unwrap();
    // Asked in turns on one thread, so each answer is given where the other set's is remembered.
    for _ in 0..2 {
        for name in ["x-team-key", "cookie-jar", "x-cookie-jar"] {
            assert!(!built_in.is_secret_header(name), "{name}");
            assert!(extended.is_secret_header(name), "{name}");
        }
        assert!(built_in.is_secret_header("authorization"));
        assert!(extended.is_secret_header("x-goog-authorization"));
        assert!(!extended.is_secret_header("content-type"));
    }
}

#[test]
fn wire_walker_fixes_lengths_and_refuses_malformed_bytes() {
    let r = Redactor::default();
    let secret = "YCVdheub7w9bImcGAnd3dZnf08FRbvjeUFvehGvc";
    // field 1 = nested { field 2 = secret }, field 3 = varint 150
    let mut inner = vec![0x12, secret.len() as u8];
    inner.extend_from_slice(secret.as_bytes());
    let mut bytes = vec![0x0a, inner.len() as u8];
    bytes.extend_from_slice(&inner);
    bytes.extend_from_slice(&[0x18, 0x96, 0x01]);
    let out = r.redact_wire(&bytes, &mut Vec::new(), 0).unwrap();
    let fields = parse_wire(&out).unwrap();
    assert_eq!(fields.len(), 2);
    let WireField::Len { payload, .. } = &fields[0] else {
        panic!()
    };
    let inner = parse_wire(payload).unwrap();
    let WireField::Len { payload, .. } = &inner[0] else {
        panic!()
    };
    assert!(is_placeholder(std::str::from_utf8(payload).unwrap()));
    assert!(matches!(fields[1], WireField::Other([0x18, 0x96, 0x01])));

    assert!(
        parse_wire(&[0x0a, 0x05, b'a']).is_none(),
        "length past the end"
    );
    assert!(parse_wire(&[0x0b]).is_none(), "groups are refused");
    assert!(parse_wire(&[0x80]).is_none(), "truncated varint");
    assert!(
        r.redact_wire(&[0x08, 0x01], &mut Vec::new(), 0).is_none(),
        "nothing to change"
    );
}

#[test]
fn secret_fields_match_in_any_spelling() {
    let r = Redactor::default();
    for key in [
        "iam_token",
        "iamToken",
        "IAM-TOKEN",
        "privateKey",
        "yandexPassportOauthToken",
        "Password",
    ] {
        assert!(r.is_secret_field(key), "{key}");
    }
    for key in ["page_token", "nextPageToken", "tokens", "secret_id", "id"] {
        assert!(!r.is_secret_field(key), "{key}");
    }
}

/// The shape filter before the set never changes an answer: a user's names of every length around the stack
/// buffer's, ending in any byte, and the built-ins, in spellings the filter sees differently from the set.
#[test]
fn secret_field_filter_agrees_with_the_set() {
    let long = "k".repeat(FIELD_BUFFER - 1);
    let exact = "q".repeat(FIELD_BUFFER);
    let past = format!("{}z", "p".repeat(FIELD_BUFFER));
    let fields = vec![
        long.clone(),
        exact.clone(),
        past.clone(),
        "x".to_owned(),
        "clé".to_owned(),
        "api_secret_9".to_owned(),
    ];
    let r = Redactor::new(&RedactionRules {
        fields: fields.clone(),
        ..RedactionRules::default()
    })
    .unwrap();
    let mut keys: Vec<String> = fields
        .iter()
        .chain(
            SECRET_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect::<Vec<_>>()
                .iter(),
        )
        .flat_map(|f| {
            [
                f.clone(),
                f.to_uppercase(),
                f.replace('_', "-"),
                format!("_{f}_"),
            ]
        })
        .collect();
    keys.extend([
        String::new(),
        "-".to_owned(),
        "y".to_owned(),
        format!("{long}k"),
        format!("{exact}q"),
        "p".repeat(FIELD_BUFFER + 1),
        "clè".to_owned(),
    ]);
    for key in keys {
        assert_eq!(
            r.is_secret_field(&key),
            r.fields.contains(field_key(&key).as_ref()),
            "{key:?}"
        );
    }
    assert!(r.is_secret_field(&past) && r.is_secret_field(&exact.to_uppercase()));
    assert!(!r.is_secret_field(&format!("{exact}q")));
}

proptest::proptest! {
    #[test]
    fn the_placeholder_check_answers_as_the_regex(text in proptest::prop_oneof![
        // Whole placeholders and near misses: a `:` in the kind, an empty kind, a short or long hash, a hash
        // character out of range, a missing or extra byte at either end.
        "<redacted:[a-z0-9:-]{0,6}:[0-9a-f]{7,9}>",
        "<redacted:[a-z0-9-]{1,6}:[0-9a-gA]{8}>",
        "<?(redacted:)?[a-zA-Z0-9:-]{0,6}:?[0-9a-f]{8}>?[ x>]?",
    ]) {
        let whole = super::shapes::placeholder_regex(|re| re.find(&text).is_some_and(|m| m.start() == 0 && m.end() == text.len()));
        proptest::prop_assert_eq!(is_placeholder(&text), whole, "{}", text);
    }

    #[test]
    fn secret_field_filter_agrees_with_the_set_on_any_key(key in "[a-zA-Z_\\-é]{0,70}") {
        let r = Redactor::default();
        proptest::prop_assert_eq!(r.is_secret_field(&key), r.fields.contains(field_key(&key).as_ref()));
    }

    #[test]
    fn redaction_never_panics_and_is_idempotent(text in "\\PC{0,200}", bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let r = Redactor::default();
        let once = r.redact_text(&text);
        proptest::prop_assert_eq!(r.redact_text(&once), once.clone());
        let _ = r.redact_wire(&bytes, &mut Vec::new(), 0);
        let _ = r.redact_payload(&bytes, &mut Vec::new(), 0);
        let mut m = Message { raw: Some(bytes.clone()), ..Message::default() };
        r.redact_message(&mut m);
    }

    #[test]
    fn secret_shapes_survive_no_surrounding(prefix in "[ -~]{0,20}", suffix in "[ -/:-@\\[-^`{-~][ -~]{0,20}") {
        for secret in ["YCVdheub7w9bImcGAnd3dZnf08FRbvjeUFvehGvc", "YCchbYEDdcsYFBnxSWbcjDJDn", "AQVNwlG2LjW2YxKUp9ywU8pDIb1GPkjHnsbDVHZp"] {
            let text = format!("{prefix} {secret}{suffix}");
            let out = Redactor::default().redact_text(&text);
            proptest::prop_assert!(!out.contains(secret), "{}", out);
        }
    }
}

/// Every byte as `%XX`.
fn escape_all(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[test]
fn a_compressed_blob_inside_a_string_is_looked_into_up_to_a_limit() {
    use base64::engine::general_purpose::STANDARD;
    let r = Redactor::default();
    let token = format!("t1.9euelZqKkJGSnY6Z.{}", "a".repeat(86));
    let small = STANDARD.encode(Encoding::Gzip.encode(format!("x {token} y").as_bytes()));
    let out = r.redact_text(&format!("blob:{small}"));
    assert!(out.starts_with("blob:<redacted:iam-token:"), "{out}");
    // 8 MiB of zeros in a few kilobytes: refused at the nested limit, quickly, without a panic.
    let bomb = STANDARD.encode(Encoding::Gzip.encode(&vec![0; 8 << 20]));
    assert_eq!(r.redact_text(&bomb), bomb);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Layers of escapes, base64 and surrounding text over a token: never a panic, bounded work (each layer is
    /// peeled at most once per level, up to `MAX_DEPTH`), the token gone whenever it is at most that deep, and the
    /// scan agreeing with redaction on the result.
    #[test]
    fn nested_encodings_are_peeled_up_to_the_limit(layers in proptest::collection::vec(0u8..3, 0..7), tail in "[A-Za-z0-9]{86}") {
        use base64::engine::general_purpose::STANDARD;
        let r = Redactor::default();
        let token = format!("t1.9euelZqKkJGSnY6Z.{tail}");
        let mut text = token.clone();
        let mut depth = 0;
        for layer in &layers {
            text = match layer {
                0 => { depth += 1; escape_all(&text) }
                1 => { depth += 1; STANDARD.encode(&text) }
                _ => format!("see {text} now"),
            };
        }
        let out = r.redact_text(&text);
        proptest::prop_assert_eq!(r.detect(&out), None);
        if depth <= crate::decode::MAX_DEPTH {
            proptest::prop_assert_ne!(&out, &text, "a token {} encodings deep survived", depth);
        }
    }
}

/// What a thread remembers as clean across calls holds for one set of rules only: a string clean under the
/// built-ins is still found by a user pattern, by a user field rule in a `name=value` pair, and clean again under the
/// built-ins after both, whichever order the redactors take turns on the thread.
#[test]
fn strings_known_clean_under_one_set_of_rules_are_checked_again_under_another() {
    let pattern = Redactor::new(&RedactionRules {
        patterns: vec![r"tenant-\d+".to_owned()],
        ..RedactionRules::default()
    })
    .unwrap();
    let field = Redactor::new(&RedactionRules {
        fields: vec!["tenant".to_owned()],
        ..RedactionRules::default()
    })
    .unwrap();
    let builtin = Redactor::default();
    for _ in 0..2 {
        assert_eq!(builtin.redact_str("tenant-42"), None);
        assert_eq!(builtin.redact_str("?tenant=acme"), None);
        let by_pattern = pattern
            .redact_str("tenant-42")
            .expect("the pattern finds it");
        assert!(by_pattern.starts_with("<redacted:pattern:"), "{by_pattern}");
        let by_field = field
            .redact_str("?tenant=acme")
            .expect("the field rule finds it");
        assert!(by_field.starts_with("?tenant=<redacted:"), "{by_field}");
        // Another set of patterns on the same thread uses its own, not the copies made for the first.
        let other = Redactor::new(&RedactionRules {
            patterns: vec![r"acme-\d+".to_owned()],
            ..RedactionRules::default()
        })
        .unwrap();
        assert_eq!(other.detect("acme-7 tenant-42"), Some("pattern"));
        assert_eq!(other.redact_str("tenant-42"), None);
        assert_eq!(pattern.detect("acme-7"), None);
        // A clone has the same rules, and what one learned holds for the other.
        assert_eq!(pattern.clone().detect("tenant-42"), Some("pattern"));
        assert_eq!(
            Redactor::new(&RedactionRules::default())
                .unwrap()
                .detect("tenant-42"),
            None
        );
    }
}
