//! The secret corpus: every kind of secret in every place a call carries it, in every encoding the decoding
//! pipeline knows, recorded end to end through the proxy from a local echo upstream. The file, read raw and
//! decoded (JSON, URL escapes, base64, gzip), holds none of them; `check`'s scan finds nothing; and replaying the
//! file answers every call from its recording.

use std::convert::Infallible;
use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use prost::Message as _;
use serde_json::Value;
use yc_cassette::Encoding;
use yc_proto::compute::v1 as compute;
use yc_proto::google::protobuf::Any;
use yc_proto::google::rpc;
use yc_proxy::server::Body;
use yc_proxy::upstream::Upstreams;

use crate::record::{Recording, replay};
use crate::upstream_fixture::secrets::*;
use crate::{frame, raw_grpc};

const GET: &str = "/yandex.cloud.compute.v1.ImageService/Get";
/// Outside the schema: its messages are stored as raw bytes.
const IAM_CREATE: &str = "/yandex.cloud.iam.v1.IamTokenService/Create";
const JWT: &str = "eyJhbGciOiJQUzI1NiIsImtpZCI6ImFqZUpXVEtFWSJ9.eyJpc3MiOiJhamVKV1RTRUNSRVQiLCJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJlSldUU0lHTkFUVVJFc2VjcmV0";
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQPEMSECRETKEYBODYqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
const SIGV2: &str = "vjbyPxybdZaNmGaSIGVTWOSECRETyT272YEAiv4";
/// Credentials with no shape: only their name or auth scheme word gives them away.
const SHAPELESS: &str = "opaqueSHAPELESSSECRET77";
const BASIC: &str = "dXNlcjpCQVNJQ1BBU1NXT1JEU0VDUkVU"; // user:BASICPASSWORDSECRET

/// Secrets with a shape, found wherever they are.
fn shaped() -> Vec<&'static str> {
    vec![
        IAM_TOKEN,
        OAUTH_TOKEN,
        API_KEY,
        STATIC_KEY_ID,
        STATIC_SECRET_KEY,
        JWT,
        PEM,
    ]
}

/// A distinctive part of every secret sent; none may be found in the file in any form.
const CORPUS_MARKERS: &[&str] = &[
    "IAMSECRET1",
    "OAUTHSECRET",
    "APIKEYSECRET",
    "staticKEYIDsecret",
    "staticSECRETkey",
    "SldUU0lHTkFUVVJF",
    "JWTSIGNATURE",
    "PEMSECRETKEYBODY",
    "SIGVTWOSECRET",
    "SHAPELESSSECRET",
    "BASICPASSWORDSECRET",
    SIGNATURE,
];

/// How a text value is written where it is carried.
#[derive(Clone, Copy, Debug)]
enum Form {
    Plain,
    /// `.`, `_` and `-` escaped (`t1%2E...`).
    Escaped,
    /// Every byte `%XX`.
    EscapedAll,
    /// Escaped twice (`%252E`).
    EscapedTwice,
    /// Base64 inside a longer string.
    Base64,
    /// Base64url inside a longer string.
    Base64Url,
}

const FORMS: [Form; 6] = [
    Form::Plain,
    Form::Escaped,
    Form::EscapedAll,
    Form::EscapedTwice,
    Form::Base64,
    Form::Base64Url,
];

fn escape_all(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn write(form: Form, secret: &str) -> String {
    match form {
        Form::Plain => secret.to_owned(),
        Form::Escaped => secret
            .replace('.', "%2E")
            .replace('_', "%5F")
            .replace('-', "%2D")
            .replace('\n', "%0A")
            .replace(' ', "%20"),
        Form::EscapedAll => escape_all(secret),
        Form::EscapedTwice => escape_all(&escape_all(secret)),
        Form::Base64 => format!("blob:{}", STANDARD.encode(format!("key {secret} end"))),
        Form::Base64Url => format!(
            "blob:{}",
            URL_SAFE_NO_PAD.encode(format!("key {secret} end"))
        ),
    }
}

/// One call to make through the proxy, and again against replay.
#[derive(Clone, Debug)]
enum Call {
    Grpc {
        path: &'static str,
        headers: Vec<(String, String)>,
        message: Vec<u8>,
        gzip: bool,
    },
    Rest {
        method: &'static str,
        path_and_query: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

fn get(image_id: &str, headers: Vec<(String, String)>, gzip: bool) -> Call {
    Call::Grpc {
        path: GET,
        headers,
        message: compute::GetImageRequest {
            image_id: image_id.to_owned(),
        }
        .encode_to_vec(),
        gzip,
    }
}

fn rest(method: &'static str, path_and_query: String, content_type: &str, body: Vec<u8>) -> Call {
    Call::Rest {
        method,
        path_and_query,
        headers: vec![("content-type".to_owned(), content_type.to_owned())],
        body,
    }
}

fn header(name: &str, value: String) -> (String, String) {
    (name.to_owned(), value)
}

/// Every secret in every place and form.
fn corpus() -> Vec<Call> {
    let mut calls = Vec::new();
    for (i, secret) in shaped().into_iter().enumerate() {
        let one_line = secret.replace('\n', " ");
        for form in FORMS {
            let text = write(form, secret);
            // gRPC: a message field (echoed back in the answer), plain and compressed both ways.
            calls.push(get(&text, Vec::new(), false));
            calls.push(get(&format!("gz {text}"), Vec::new(), true));
            // REST: path, query, JSON body, a URL inside JSON.
            let query_text = write(form, &one_line);
            calls.push(rest(
                "GET",
                format!("/echo/{i}/{}", path_safe(&query_text)),
                "application/json",
                Vec::new(),
            ));
            calls.push(rest(
                "GET",
                format!("/echo?note={}&i={i}", query_safe(&query_text)),
                "application/json",
                Vec::new(),
            ));
            let json = serde_json::json!({
                "note": text,
                "callback": format!("https://example.net/cb?state=1&next={}", query_safe(&query_text)),
            });
            calls.push(rest(
                "POST",
                format!("/echo/json/{i}"),
                "application/json",
                json.to_string().into_bytes(),
            ));
        }
        // Metadata, trailers, status message, status details (an `Any`), and `-bin` metadata.
        let proto = string_field(secret);
        calls.push(get(
            &format!("status-{i}"),
            vec![
                header("x-note", one_line.clone()),
                header("x-echo-status", "7".to_owned()),
                header("x-creds-bin", STANDARD_NO_PAD.encode(&proto)),
            ],
            false,
        ));
        // Raw bytes of a method outside the schema.
        calls.push(Call::Grpc {
            path: IAM_CREATE,
            headers: Vec::new(),
            message: string_field(secret),
            gzip: false,
        });
        // A compressed REST body in each coding, answered in each coding.
        for coding in ["gzip", "deflate", "br", "zstd"] {
            let body = serde_json::json!({ "note": secret, "coding": coding }).to_string();
            calls.push(Call::Rest {
                method: "POST",
                path_and_query: format!("/echo/compressed/{i}/{coding}"),
                headers: vec![
                    header("content-type", "application/json".to_owned()),
                    header("content-encoding", coding.to_owned()),
                    header("x-echo-encoding", coding.to_owned()),
                ],
                body: yc_cassette::encode_content(coding, body.as_bytes()).unwrap(),
            });
        }
    }
    // Names and meanings: shapeless credentials under secret names and after auth scheme words.
    for form in [Form::Plain, Form::Escaped, Form::EscapedAll] {
        let value = write(form, SHAPELESS);
        calls.push(rest(
            "POST",
            format!("/echo/form/{form:?}"),
            "application/x-www-form-urlencoded",
            format!("grant_type=token-exchange&client_secret={value}&subject%5Ftoken={value}")
                .into_bytes(),
        ));
        calls.push(rest(
            "GET",
            format!("/echo/query/{form:?}?folderId=b1g&access_token={value}&apiKey={value}"),
            "application/json",
            Vec::new(),
        ));
    }
    calls.push(rest(
        "POST",
        "/echo/fields".to_owned(),
        "application/json",
        serde_json::json!({
            "apiKey": SHAPELESS,
            "api_key": SHAPELESS,
            "credentials": { "value": SHAPELESS },
            "client-secret": SHAPELESS,
            "auth": format!("Bearer {SHAPELESS}"),
            "signed": format!("https://s3.example/b/k?AWSAccessKeyId=AKIAEXAMPLE&Expires=1&Signature={SIGV2}%3D"),
            "v4": signed_url(),
        })
        .to_string()
        .into_bytes(),
    ));
    calls.push(Call::Rest {
        method: "GET",
        path_and_query: format!("/echo/headers?url={}", query_safe(&signed_url())),
        headers: vec![
            header("authorization", format!("Basic {BASIC}")),
            header("x-forwarded-authorization", format!("Bearer {SHAPELESS}")),
            header("x-auth-token", SHAPELESS.to_owned()),
            header("x-note", format!("Basic {BASIC}")),
            header("x-api-key", SHAPELESS.to_owned()),
        ],
        body: Vec::new(),
    });
    calls.push(get(
        "headers",
        vec![
            header("x-forwarded-authorization", format!("Bearer {SHAPELESS}")),
            header("x-note", format!("OAuth {SHAPELESS}")),
        ],
        false,
    ));
    calls
}

/// Protobuf field 1 holding `value`.
fn string_field(value: &str) -> Vec<u8> {
    let mut out = vec![0x0a];
    prost::encoding::encode_varint(value.len() as u64, &mut out);
    out.extend_from_slice(value.as_bytes());
    out
}

/// A path segment: `/` and `?` would change the path's shape.
fn path_safe(text: &str) -> String {
    text.replace('/', "%2F")
        .replace('?', "%3F")
        .replace(' ', "%20")
        .replace('+', "%2B")
        .replace('#', "%23")
        .replace(':', "%3A")
        .replace('=', "%3D")
}

/// A query value: `&`, `=`, `+` and spaces would change the pairs.
fn query_safe(text: &str) -> String {
    text.replace('&', "%26")
        .replace('=', "%3D")
        .replace('+', "%2B")
        .replace(' ', "%20")
        .replace('#', "%23")
        .replace('/', "%2F")
        .replace(':', "%3A")
        .replace('?', "%3F")
}

/// What a client saw: whether replay answered from a recording.
struct Seen {
    miss: bool,
    grpc_status: Option<i32>,
    http_status: u16,
}

async fn send(addr: SocketAddr, call: &Call) -> Seen {
    match call {
        Call::Grpc {
            path,
            headers,
            message,
            gzip,
        } => {
            let body = if *gzip {
                let packed = Encoding::Gzip.encode(message);
                let mut framed = vec![1];
                framed.extend_from_slice(&u32::try_from(packed.len()).unwrap().to_be_bytes());
                framed.extend_from_slice(&packed);
                framed
            } else {
                frame(message)
            };
            let mut extra: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            if *gzip {
                extra.push(("grpc-encoding", "gzip"));
            }
            let seen = raw_grpc(addr, "POST", path, &extra, &body).await;
            Seen {
                miss: seen.headers.contains_key("x-yc-vcr-miss"),
                grpc_status: Some(seen.grpc_status().code),
                http_status: seen.status.as_u16(),
            }
        }
        Call::Rest {
            method,
            path_and_query,
            headers,
            body,
        } => {
            let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build_http::<Full<Bytes>>();
            let mut request = Request::builder()
                .method(*method)
                .uri(format!("http://{addr}{path_and_query}"));
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let response = client
                .request(request.body(Full::new(Bytes::from(body.clone()))).unwrap())
                .await
                .unwrap();
            let miss = response.headers().contains_key("x-yc-vcr-miss");
            let status = response.status().as_u16();
            let _ = response.into_body().collect().await.unwrap();
            Seen {
                miss,
                grpc_status: None,
                http_status: status,
            }
        }
    }
}

#[tokio::test]
async fn no_secret_of_the_corpus_reaches_the_file_in_any_form_and_replay_still_answers() {
    let upstream = start_echo().await;
    let recording = Recording::start(Upstreams::single(
        format!("http://{upstream}").parse().unwrap(),
    ))
    .await;
    let calls = corpus();
    for call in &calls {
        let seen = send(recording.addr(), call).await;
        assert_eq!(seen.http_status, 200, "{call:?}");
        assert_ne!(seen.grpc_status, Some(12), "{call:?}");
    }
    let (summary, cassette, text, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, calls.len(), "every call was recorded");

    for marker in CORPUS_MARKERS {
        for form in forms_of(marker) {
            if let Some(at) = text.find(&form) {
                let line = text[..at].rsplit('\n').next().unwrap_or_default();
                let rest = text[at..].split('\n').next().unwrap_or_default();
                panic!("`{marker}` reached the file as `{form}`: {line}{rest}");
            }
        }
    }
    let value: Value = serde_json::from_str(&text).unwrap();
    let mut views = Vec::new();
    collect_views(&value, &mut views);
    for view in &views {
        for marker in CORPUS_MARKERS {
            assert!(
                !view.contains(marker),
                "`{marker}` in a decoded value: {view}"
            );
        }
    }
    let findings = yc_cassette::scan_text(&text);
    assert!(findings.is_empty(), "{findings:?}");

    // Replay answers every call from its recording (fresh credentials of each kind: `yc-cassette`'s
    // `credentials` property test).
    let server = replay(cassette);
    for call in &calls {
        let seen = send(server.local_addr(), call).await;
        assert!(!seen.miss, "replay missed {call:?}");
    }
}

/// The ways a marker could be written in the file: as is, URL-escaped, and inside base64 at each alignment.
fn forms_of(marker: &str) -> Vec<String> {
    let mut forms = vec![
        marker.to_owned(),
        escape_all(marker),
        escape_all(&escape_all(marker)),
    ];
    for offset in 0..3usize {
        let mut input = vec![b'x'; offset];
        input.extend_from_slice(marker.as_bytes());
        let first = (8 * offset).div_ceil(6);
        let last = (8 * (offset + marker.len())) / 6;
        for engine in [&STANDARD, &URL_SAFE] {
            forms.push(engine.encode(&input)[first..last].to_owned());
        }
    }
    forms
}

/// Every string of the file in the forms a reader could decode it to.
fn collect_views(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => views_of(s.as_bytes(), 0, out),
        Value::Array(items) => items.iter().for_each(|v| collect_views(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                collect_views(v, out);
            }
        }
        _ => {}
    }
}

fn views_of(bytes: &[u8], depth: usize, out: &mut Vec<String>) {
    let text = String::from_utf8_lossy(bytes).into_owned();
    out.push(text.clone());
    if depth > 3 {
        return;
    }
    if let Ok(plain) = Encoding::Gzip.decode(bytes, 1 << 24) {
        views_of(&plain, depth + 1, out);
    }
    let unescaped: Vec<u8> = percent_decode(&text);
    if unescaped != bytes {
        views_of(&unescaped, depth + 1, out);
    }
    for run in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_=".contains(c))) {
        if run.len() < 16 {
            continue;
        }
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            if let Ok(decoded) = engine.decode(run) {
                views_of(&decoded, depth + 1, out);
            }
        }
    }
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A local upstream that answers every call with what it was sent: gRPC messages echoed (compressed when the
/// request was), `x-note` copied into response headers and trailers, `x-echo-status` turned into an error status
/// whose message and details (an `Any`) carry the note; REST bodies echoed, encoded as `x-echo-encoding` asks,
/// with the path and query in the JSON answer.
async fn start_echo() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(echo);
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn echo(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = request.into_parts();
    let data = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let get = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let note = get("x-note");
    let grpc = get("content-type").is_some_and(|c| c.starts_with("application/grpc"));
    if !grpc {
        let decoded = match get("content-encoding") {
            Some(coding) => {
                Bytes::from(yc_cassette::decode_content(&coding, &data, 1 << 24).unwrap())
            }
            None => data,
        };
        let body = if decoded.is_empty() {
            serde_json::json!({
                "path": parts.uri.path(),
                "query": parts.uri.query(),
                "note": note,
            })
            .to_string()
            .into_bytes()
        } else {
            decoded.to_vec()
        };
        let mut response = Response::new(Body::from(match get("x-echo-encoding") {
            Some(coding) => Bytes::from(yc_cassette::encode_content(&coding, &body).unwrap()),
            None => Bytes::from(body),
        }));
        let headers = response.headers_mut();
        let content_type = get("content-type").unwrap_or_else(|| "application/json".to_owned());
        headers.insert(
            "content-type",
            HeaderValue::from_str(&content_type).unwrap(),
        );
        if let Some(coding) = get("x-echo-encoding") {
            headers.insert("content-encoding", HeaderValue::from_str(&coding).unwrap());
        }
        if let Some(note) = &note {
            headers.insert("x-echoed", HeaderValue::from_str(note).unwrap());
        }
        return Ok(response);
    }
    let gzip = get("grpc-encoding").as_deref() == Some("gzip");
    let mut messages = Vec::new();
    let mut at = 0;
    while at + 5 <= data.len() {
        let len =
            u32::from_be_bytes([data[at + 1], data[at + 2], data[at + 3], data[at + 4]]) as usize;
        let payload = &data[at + 5..at + 5 + len];
        messages.push(if data[at] == 1 {
            Encoding::Gzip.decode(payload, 1 << 24).unwrap()
        } else {
            payload.to_vec()
        });
        at += 5 + len;
    }
    let mut out = BytesMut::new();
    let mut trailers = HeaderMap::new();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/grpc"));
    if let Some(note) = &note {
        headers.insert("x-echoed", HeaderValue::from_str(note).unwrap());
        trailers.insert("x-trailer-note", HeaderValue::from_str(note).unwrap());
    }
    if get("x-echo-status").is_some() {
        let note = note.unwrap_or_default();
        let info = rpc::ErrorInfo {
            reason: "DENIED".into(),
            domain: "iam".into(),
            metadata: [("token".to_owned(), note.clone())].into(),
        };
        let details = rpc::Status {
            code: 7,
            message: format!("denied for {note}"),
            details: vec![Any {
                type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
                value: info.encode_to_vec(),
            }],
        };
        let status = yc_proxy::grpc::Status {
            code: 7,
            message: format!("denied for {note}"),
            details: Some(Bytes::from(details.encode_to_vec())),
        };
        status.write_to(&mut trailers);
    } else {
        if gzip {
            headers.insert("grpc-encoding", HeaderValue::from_static("gzip"));
        }
        for message in &messages {
            if gzip {
                let packed = Encoding::Gzip.encode(message);
                out.extend_from_slice(&[1]);
                out.extend_from_slice(&u32::try_from(packed.len()).unwrap().to_be_bytes());
                out.extend_from_slice(&packed);
            } else {
                yc_proxy::grpc::encode_frame(message, &mut out);
            }
        }
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
    }
    let mut response = Response::new(Body::new(out.freeze(), Some(trailers)));
    *response.headers_mut() = headers;
    Ok(response)
}
