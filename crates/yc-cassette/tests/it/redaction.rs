//! Redaction: every secret shape in every place leaves no trace in the saved file, placeholders are stable,
//! redacted recordings still match live requests, and the scan finds whatever survived.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use prost::Message as _;
use yc_cassette::{
    Body, Cassette, GrpcInteraction, GrpcRequest, GrpcResponse, GrpcStatus, Index, Interaction,
    Message, RedactionRules, Redactor, Request, RestInteraction, RestRequest, RestResponse, scan,
    scan_text,
};
use yc_proto::compute::v1 as compute;

use crate::*;

/// Fake secrets with the real shapes.
fn iam() -> String {
    format!(
        "t1.9euelZqKkJGSnY6ZyJyLjpKUnZOSjO3rnpWazZeUi8yMnM2K.{}",
        "Ab3_".repeat(21) + "Xy"
    )
}
const OAUTH: &str = "y0_AgAAAAAGPGJHAATuwQAAAAEU1yAHAABFDEZw0bxAvZKlZD4ExHbSpT2N9Q";
const API_KEY: &str = "AQVNwlG2LjW2YxKUp9ywU8pDIb1GPkjHnsbDVHZp";
const KEY_ID: &str = "YCAJEk2Pq8Lr5TmWn0Xv3Zb7c";
const KEY_ID_2: &str = "YCpQ4rT7uW2xZ9aB3cD6eF8gH";
const SECRET_KEY: &str = "YCMaOk5YgFX4rl_EB3LXpyv8PtHy7ClbGQcRyo4T";
const JWT: &str = "eyJhbGciOiJQUzI1NiIsImtpZCI6ImFqZTEyMyJ9.eyJpc3MiOiJhamUxMjMiLCJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
const SIGNATURE: &str = "3f1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";
const PASSWORD: &str = "hunter2-correct-horse";

fn all_secrets() -> Vec<String> {
    vec![
        iam(),
        OAUTH.to_owned(),
        API_KEY.to_owned(),
        KEY_ID.to_owned(),
        KEY_ID_2.to_owned(),
        SECRET_KEY.to_owned(),
        JWT.to_owned(),
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7".to_owned(),
        SIGNATURE.to_owned(),
        PASSWORD.to_owned(),
    ]
}

fn presigned(signature: &str) -> String {
    format!(
        "https://storage.yandexcloud.net/images/disk.qcow2?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential={KEY_ID}%2F20260101%2Fru-central1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z\
         &X-Amz-Expires=3600&X-Amz-Signature={signature}&X-Amz-SignedHeaders=host"
    )
}

fn create_image_bytes(uri: &str, description: &str) -> Vec<u8> {
    compute::CreateImageRequest {
        folder_id: "b1g0123456789abcdefg".to_owned(),
        name: "disk".to_owned(),
        description: description.to_owned(),
        source: Some(compute::create_image_request::Source::Uri(uri.to_owned())),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Appends a length-delimited protobuf field with an already encoded key.
fn len_field(out: &mut Vec<u8>, key: &[u8], payload: &[u8]) {
    out.extend_from_slice(key);
    let mut n = payload.len();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(payload);
}

/// One cassette with every secret shape in every place.
fn leaky() -> Cassette {
    let iam = iam();
    // GetImageRequest plus unknown field 99 (a string holding an IAM token) and unknown field 98 (a nested
    // message holding a secret key): JSON cannot carry them, so raw bytes are kept and must be cleaned.
    let mut raw = get_request_bytes("fd8abc1234567890defg");
    len_field(&mut raw, &[0x9a, 0x06], iam.as_bytes());
    let mut nested = Vec::new();
    len_field(&mut nested, &[0x0a], SECRET_KEY.as_bytes());
    len_field(&mut raw, &[0x92, 0x06], &nested);
    let details = not_found_details(&[("token_hint", KEY_ID_2), ("image_id", "fd8nope")]);
    let details_padded = STANDARD.encode(STANDARD_NO_PAD.decode(&details).unwrap());
    let mut trace = vec![0x0a, OAUTH.len() as u8];
    trace.extend_from_slice(OAUTH.as_bytes());
    let grpc = Interaction::Grpc(GrpcInteraction {
        method: "/yandex.cloud.compute.v1.ImageService/Create".to_owned(),
        request: GrpcRequest {
            metadata: headers(&[
                ("authorization", &format!("Bearer {iam}")),
                ("x-custom", &format!("oauth {OAUTH}")),
                ("x-trace-bin", &STANDARD_NO_PAD.encode(&trace)),
                ("x-yacloud-subjecttoken", &iam),
            ]),
            messages: vec![
                Message::from_bytes(
                    &yc_proto::Schema::embedded(),
                    Some("yandex.cloud.compute.v1.CreateImageRequest"),
                    &create_image_bytes(&presigned(SIGNATURE), &format!("made with {SECRET_KEY}")),
                ),
                Message::from_bytes(&yc_proto::Schema::embedded(), Some(GET_REQUEST), &raw),
            ],
        },
        response: GrpcResponse {
            headers: headers(&[("set-cookie", "yc_session=abcdef; Path=/; HttpOnly")]),
            messages: vec![],
            trailers: headers(&[("x-debug", &format!("key={API_KEY}"))]),
            status: GrpcStatus::from_wire(5, &format!("bad key {KEY_ID}"), Some(&details_padded)),
            trailers_only: false,
        },
    });
    let rest_json = Interaction::Rest(RestInteraction {
        request: RestRequest {
            method: "POST".to_owned(),
            path: format!("/iam/v1/keys/{API_KEY}"),
            query: format!(
                "access_token={OAUTH}&next=https%3A%2F%2Fs3%2Fa%3FX-Amz-Signature%3D{SIGNATURE}%26b%3D1&page_token=fd8next"
            ),
            headers: headers(&[
                ("content-type", "application/json"),
                ("cookie", "a=1; b=2"),
                ("cookie", "c=3"),
                (
                    "proxy-authorization",
                    &format!("Basic {}", STANDARD.encode("u:p")),
                ),
            ]),
            body: Body::from_bytes(
                Some("application/json"),
                serde_json::json!({
                    "yandexPassportOauthToken": OAUTH,
                    "password": PASSWORD,
                    "spec": { "privateKey": PEM, "jwt": JWT, "pageToken": "keep-me" },
                    "blob": STANDARD.encode(format!("secret inside {SECRET_KEY} bytes")),
                })
                .to_string()
                .as_bytes(),
            ),
            encoding: None,
        },
        response: RestResponse {
            status: 200,
            headers: headers(&[("content-type", "application/json")]),
            body: Body::from_bytes(
                Some("application/json"),
                serde_json::json!({ "iamToken": iam, "expiresAt": "2026-01-01T12:00:00Z" })
                    .to_string()
                    .as_bytes(),
            ),
            encoding: None,
        },
    });
    let rest_text = Interaction::Rest(RestInteraction {
        request: RestRequest {
            method: "GET".to_owned(),
            path: "/logs".to_owned(),
            query: String::new(),
            headers: headers(&[]),
            body: Body::Empty,
            encoding: None,
        },
        response: RestResponse {
            status: 500,
            headers: headers(&[("content-type", "text/plain")]),
            body: Body::from_bytes(
                Some("text/plain"),
                format!("failed with token {OAUTH} and {}", JWT).as_bytes(),
            ),
            encoding: None,
        },
    });
    let mut binary = vec![0xff, 0xfe, 0x00];
    binary.extend_from_slice(API_KEY.as_bytes());
    let rest_binary = rest_interaction("PUT", "/bin", "", Body::from_bytes(None, &binary), "");
    cassette(vec![grpc, rest_json, rest_text, rest_binary])
}

fn redacted(mut c: Cassette, redactor: &Redactor) -> Cassette {
    for i in &mut c.interactions {
        redactor.redact_interaction(i);
    }
    c
}

#[test]
fn the_leaky_cassette_really_leaks_before_redaction() {
    let c = leaky();
    let text = c.to_json_string();
    let findings = scan(&c);
    let summary: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}", f.kind, f.location))
        .collect();
    insta::assert_snapshot!("scan_before_redaction", summary.join("\n"));
    let text_findings: Vec<String> = scan_text(&text)
        .iter()
        .map(|f| format!("{}:{} {}", f.line.unwrap(), f.column.unwrap(), f.kind))
        .collect();
    insta::assert_snapshot!("scan_text_before_redaction", text_findings.join("\n"));
}

#[test]
fn no_secret_in_any_place_reaches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leaky.json");
    let c = redacted(leaky(), &Redactor::default());
    c.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in all_secrets() {
        for form in [
            secret.clone(),
            STANDARD.encode(&secret),
            STANDARD_NO_PAD.encode(&secret),
            secret.replace('-', "%2D"),
        ] {
            assert!(!text.contains(&form), "`{form}` survived in\n{text}");
        }
    }
    // Raw message bytes were cleaned in place: the unknown fields remain, their secrets do not.
    let loaded = Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap();
    let Interaction::Grpc(g) = &loaded.interactions[0] else {
        panic!()
    };
    let raw = g.request.messages[1]
        .raw
        .as_deref()
        .expect("raw bytes kept, cleaned");
    let raw_text = String::from_utf8_lossy(raw);
    assert!(raw_text.contains("<redacted:iam-token:"), "{raw_text}");
    assert!(raw_text.contains("<redacted:secret-key:"), "{raw_text}");
    assert_eq!(
        g.request.messages[1].json,
        Some(serde_json::json!({"image_id": "fd8abc1234567890defg"}))
    );
    // The cleaned raw bytes are still a well-formed GetImageRequest.
    assert_eq!(
        compute::GetImageRequest::decode(raw).unwrap().image_id,
        "fd8abc1234567890defg"
    );
    assert!(g.response.status.details_bin_text().unwrap().is_some());
    assert_eq!(scan(&loaded), vec![], "the scan finds nothing left");
    assert_eq!(scan_text(&text), vec![], "the text scan finds nothing left");
    insta::assert_snapshot!("redacted_cassette", text);
}

#[test]
fn ordinary_values_are_left_alone() {
    let values = [
        "fd8abc1234567890defg",
        "b1g0123456789abcdefg",
        "crp0123456789abcdefg",
        "epdvtu4c2u1p1gsb4lkf",
        "YCAJ",
        "YCfoo",
        "ycloud-toolbox",
        "yandex.cloud.compute.v1.ImageService",
        "t1.micro",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "9b2d6a52-3d2a-4a3f-9e2e-1a2b3c4d5e6f",
        "https://storage.yandexcloud.net/images/disk.qcow2",
        "2026-01-01T00:00:00Z",
        "AQVN",
        "Bearer",
        "y0_short",
    ];
    let r = Redactor::default();
    for v in values {
        assert_eq!(r.redact_text(v), v);
    }
    let mut json = serde_json::json!({"page_token": "fd8abc", "next_page_token": "x", "tokens": 3, "id": "fd8"});
    let before = json.clone();
    r.redact_json(&mut json);
    assert_eq!(json, before);
}

#[test]
fn placeholders_are_stable_and_keep_the_auth_scheme() {
    let r = Redactor::default();
    let once = redacted(leaky(), &r);
    let twice = redacted(once.clone(), &r);
    assert_eq!(once, twice, "redaction is idempotent");
    assert_eq!(
        redacted(leaky(), &r),
        once,
        "the same secrets give the same placeholders"
    );

    let mut h = headers(&[
        ("authorization", &format!("Bearer {}", iam())),
        ("x-a", &iam()),
    ]);
    r.redact_headers(&mut h);
    let auth = h.get("authorization").unwrap();
    assert!(auth.starts_with("Bearer <redacted:iam-token:"), "{auth}");
    assert_eq!(
        auth.strip_prefix("Bearer "),
        h.get("x-a"),
        "one secret, one placeholder"
    );
    let api_key = r.redact_text(&format!("Api-Key {API_KEY}"));
    let mut h2 = headers(&[("authorization", &format!("Api-Key {API_KEY}"))]);
    r.redact_headers(&mut h2);
    assert_eq!(h2.get("authorization"), Some(api_key.as_str()));
}

#[test]
fn a_redacted_recording_matches_live_requests_with_fresh_secrets() {
    let recorded = Interaction::Grpc(GrpcInteraction {
        method: "/yandex.cloud.compute.v1.ImageService/Create".to_owned(),
        request: GrpcRequest {
            metadata: headers(&[("authorization", &format!("Bearer {}", iam()))]),
            messages: vec![Message::from_bytes(
                &yc_proto::Schema::embedded(),
                Some("yandex.cloud.compute.v1.CreateImageRequest"),
                &create_image_bytes(&presigned(SIGNATURE), "plain"),
            )],
        },
        response: GrpcResponse::default(),
    });
    let rest = rest_interaction(
        "POST",
        "/iam/v1/tokens",
        "",
        Body::from_bytes(
            Some("application/json"),
            format!(r#"{{"yandexPassportOauthToken":"{OAUTH}"}}"#).as_bytes(),
        ),
        r#"{"iamToken":"x"}"#,
    );
    let r = Redactor::default();
    let c = redacted(cassette(vec![recorded, rest]), &r);
    let idx = Index::new(
        vec![("c.json".to_owned(), c)],
        r,
        yc_proto::Schema::embedded(),
    )
    .unwrap();

    let fresh_iam = iam().replace("Ab3_", "Zz9-");
    let metadata = headers(&[("authorization", &format!("Bearer {fresh_iam}"))]);
    let other_signature = "0".repeat(64);
    let messages = [create_image_bytes(&presigned(&other_signature), "plain")];
    let hit = idx.lookup(&Request::Grpc {
        method: "/yandex.cloud.compute.v1.ImageService/Create",
        metadata: &metadata,
        messages: &messages,
    });
    assert_eq!(hit.map(|h| h.index).map_err(|m| m.to_string()), Ok(0));

    let other_oauth = OAUTH.replace("AgAA", "BhBB");
    let body = format!(r#"{{ "yandexPassportOauthToken": "{other_oauth}" }}"#);
    let h = headers(&[("content-type", "application/json")]);
    let hit = idx.lookup(&Request::Rest {
        method: "POST",
        path: "/iam/v1/tokens",
        query: "",
        headers: &h,
        body: body.as_bytes(),
    });
    assert_eq!(hit.map(|h| h.index).map_err(|m| m.to_string()), Ok(1));

    // A different non-secret value still misses, and the miss shows no secret.
    let messages = [create_image_bytes(&presigned(&other_signature), "other")];
    let miss = idx
        .lookup(&Request::Grpc {
            method: "/yandex.cloud.compute.v1.ImageService/Create",
            metadata: &metadata,
            messages: &messages,
        })
        .unwrap_err()
        .to_string();
    assert!(miss.contains("messages[0].description"), "{miss}");
    assert!(
        !miss.contains(&other_signature) && !miss.contains(KEY_ID),
        "{miss}"
    );
}

#[test]
fn user_rules_add_headers_fields_paths_and_patterns() {
    let rules: RedactionRules = serde_json::from_str(
        r#"{
            "headers": ["X-Vendor-Key"],
            "fields": ["apiSecret", "spec.credentials.value"],
            "patterns": ["sk-[a-z0-9]{10}", "pin=(\\d{4})"]
        }"#,
    )
    .unwrap();
    let r = Redactor::new(&rules).unwrap();
    let mut h = headers(&[
        ("x-vendor-key", "abc"),
        ("x-note", "use sk-abcdefghij with pin=1234"),
    ]);
    r.redact_headers(&mut h);
    let mut json = serde_json::json!({
        "api_secret": "s1",
        "spec": {"credentials": {"value": "v1", "other": "o"}},
        "value": "top-level value is not the path",
    });
    r.redact_json(&mut json);
    insta::assert_snapshot!(format!(
        "{}\n{}",
        serde_json::to_string_pretty(&h).unwrap(),
        serde_json::to_string_pretty(&json).unwrap()
    ));
    let c = cassette(vec![rest_interaction(
        "GET",
        "/x",
        "q=sk-abcdefghij",
        Body::Empty,
        "",
    )]);
    assert_eq!(r.scan(&c).len(), 1);
    assert_eq!(
        scan(&c).len(),
        0,
        "the built-in scan does not know user patterns"
    );

    let bad = RedactionRules {
        patterns: vec!["(".to_owned()],
        ..RedactionRules::default()
    };
    let err = Redactor::new(&bad).unwrap_err().to_string();
    assert!(err.starts_with("invalid redaction pattern `(`"), "{err}");
}

#[test]
fn raw_bytes_that_cannot_be_cleaned_are_dropped_with_a_note() {
    // Not a protobuf message (a group start), so it cannot be rewritten field by field.
    let mut bytes = vec![0x0b];
    bytes.extend_from_slice(API_KEY.as_bytes());
    let mut m = Message::from_bytes(&yc_proto::Schema::embedded(), None, &bytes);
    Redactor::default().redact_message(&mut m);
    assert_eq!(m.raw, None);
    assert!(m.note.as_deref().unwrap().contains("dropped"));
    assert!(m.to_bytes(&yc_proto::Schema::embedded()).is_err());
}

/// Recording redacts and scans in one pass that skips strings redaction found clean; it must report exactly what
/// redacting and then scanning report, and leave the same interaction: over the leaky cassette (a secret of every
/// shape in every place), the bundled cassettes, and interactions where a secret survives redaction (in a method
/// path, where no rule redacts, and beside the same text found clean elsewhere in the call).
#[test]
fn redacting_and_scanning_in_one_pass_reports_what_scanning_after_reports() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    let mut interactions = leaky().interactions;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let c = Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap();
            interactions.extend(c.interactions);
        }
    }
    let mut survivor = get_image("fd8abc", API_KEY).build();
    if let Interaction::Grpc(g) = &mut survivor {
        g.method = format!("/{API_KEY}.Service/Get");
    }
    interactions.push(survivor);
    let user = Redactor::new(
        &serde_json::from_str(r#"{"patterns": ["sk-[a-z0-9]{10}"], "fields": ["name"]}"#).unwrap(),
    )
    .unwrap();
    let mut survived = 0;
    for redactor in [Redactor::default(), user] {
        for interaction in &interactions {
            let mut apart = interaction.clone();
            redactor.redact_interaction(&mut apart);
            let mut probe = Cassette::new(Default::default());
            probe.interactions.push(apart);
            let expected = redactor.scan(&probe);
            let mut together = interaction.clone();
            let found = redactor.redact_and_scan(&mut together);
            assert_eq!(found, expected);
            assert_eq!(together, probe.interactions[0]);
            survived += found.len();
        }
    }
    assert!(
        survived >= 2,
        "the method path's key survives under both rule sets"
    );
}
