//! Bring your own protos: a service outside `proto/` (`tests/protos/acme`, made up for these tests), compiled at
//! startup, recorded against a local upstream that answers from the descriptors, stored as typed JSON, and replayed
//! over gRPC, over REST (transcoded by its own `google.api.http` rules, custom verb included) and listed by
//! reflection.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::{StreamExt as _, stream};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message as _;
use prost_reflect::{DynamicMessage, Value};
use serde_json::json;
use tonic_reflection::pb::v1;
use yc_vcr::{Mode, Schema, Vcr};

const GET: &str = "/acme.widgets.v1.WidgetService/GetWidget";
const POLISH: &str = "/acme.widgets.v1.WidgetService/PolishWidget";
const ARCHIVE: &str = "/acme.widgets.v1.WidgetService/ArchiveWidget";

fn protos() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/protos")
}

fn schema() -> Arc<Schema> {
    yc_vcr::protos::schema(&[protos()], &[]).unwrap()
}

/// A message of type `name` from `(field, value)` pairs.
fn message(schema: &Schema, name: &str, fields: Vec<(&str, Value)>) -> Vec<u8> {
    let descriptor = schema.message(name).unwrap().descriptor().clone();
    let mut message = DynamicMessage::new(descriptor);
    for (field, value) in fields {
        message.set_field_by_name(field, value);
    }
    message.encode_to_vec()
}

fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).unwrap());
    out.put_slice(message);
    out.freeze()
}

/// An upstream that knows the service only from descriptors: a widget named as asked, polished as asked.
async fn upstream(schema: Arc<Schema>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let schema = schema.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| answer(schema.clone(), request));
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn answer(
    schema: Arc<Schema>,
    request: Request<Incoming>,
) -> Result<Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let method = schema.method(request.uri().path()).unwrap().clone();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let input = schema
        .message(&method.input_type)
        .unwrap()
        .descriptor()
        .clone();
    let asked = DynamicMessage::decode(input, &body[5..]).unwrap();
    let name = asked
        .get_field_by_name("name")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let short = name.rsplit('/').next().unwrap_or_default().to_owned();
    let mut fields = vec![
        ("name", Value::String(name)),
        ("display_name", Value::String(format!("Widget {short}"))),
        ("gear_count", Value::I64(9_007_199_254_740_993)),
        ("tags", Value::List(vec![Value::String("blue".into())])),
    ];
    if method.name == "PolishWidget" {
        fields.push((
            "finish",
            asked.get_field_by_name("finish").unwrap().into_owned(),
        ));
    }
    let mut widget = message(&schema, "acme.widgets.v1.Widget", fields);
    if method.name == "ArchiveWidget" {
        let any = |type_name: &str, value: Vec<u8>| {
            let any = message(
                &schema,
                "google.protobuf.Any",
                vec![
                    (
                        "type_url",
                        Value::String(format!("type.googleapis.com/{type_name}")),
                    ),
                    ("value", Value::Bytes(value.into())),
                ],
            );
            let descriptor = schema
                .message("google.protobuf.Any")
                .unwrap()
                .descriptor()
                .clone();
            Value::Message(DynamicMessage::decode(descriptor, any.as_slice()).unwrap())
        };
        let metadata = message(
            &schema,
            "acme.widgets.v1.ArchiveWidgetMetadata",
            vec![(
                "name",
                Value::String(format!("projects/p1/widgets/{short}")),
            )],
        );
        widget = message(
            &schema,
            &method.output_type,
            vec![
                ("id", Value::String("op1".into())),
                ("done", Value::Bool(true)),
                (
                    "metadata",
                    any("acme.widgets.v1.ArchiveWidgetMetadata", metadata),
                ),
                ("response", any("acme.widgets.v1.Widget", widget)),
            ],
        );
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames = [Frame::data(frame(&widget)), Frame::trailers(trailers)];
    let body = BodyExt::boxed(StreamBody::new(stream::iter(frames.map(Ok))));
    Ok(Response::builder()
        .header("content-type", "application/grpc")
        .body(body)
        .unwrap())
}

/// One unary gRPC call: the response message and `grpc-status`.
async fn grpc(addr: SocketAddr, path: &str, request: &[u8]) -> (Bytes, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(frame(request)))
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    let headers = response.headers().clone();
    let collected = response.into_body().collect().await.unwrap();
    let status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .or_else(|| headers.get("grpc-status"))
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = collected.to_bytes();
    (bytes.slice(5.min(bytes.len())..), status)
}

/// One REST call over HTTP/1.1: status, `x-yc-vcr-translated`, body as JSON.
async fn rest(
    addr: SocketAddr,
    verb: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, String, serde_json::Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = Request::builder()
        .method(verb)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let translated = response
        .headers()
        .get("x-yc-vcr-translated")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, translated, json)
}

fn widget_json(schema: &Schema, bytes: &[u8]) -> serde_json::Value {
    let ty = schema.message("acme.widgets.v1.Widget").unwrap();
    ty.to_json_value(bytes, yc_proto::json::Style::Snake)
        .unwrap()
}

#[tokio::test]
async fn a_service_from_the_users_protos_records_as_typed_json_and_replays_over_both_transports() {
    let schema = schema();
    let upstream = upstream(schema.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("widgets.json");
    let get = message(
        &schema,
        "acme.widgets.v1.GetWidgetRequest",
        vec![("name", Value::String("projects/p1/widgets/w%1".into()))],
    );
    let polish = message(
        &schema,
        "acme.widgets.v1.PolishWidgetRequest",
        vec![
            ("name", Value::String("projects/p1/widgets/w2".into())),
            ("passes", Value::I32(3)),
            ("finish", Value::EnumNumber(2)),
        ],
    );

    let vcr = Vcr::cassette(&cassette)
        .mode(Mode::All)
        .upstream(format!("http://{upstream}"))
        .schema(schema.clone())
        .start()
        .await
        .unwrap();
    let (recorded_get, status) = grpc(vcr.addr(), GET, &get).await;
    assert_eq!(status, "0");
    let (recorded_polish, status) = grpc(vcr.addr(), POLISH, &polish).await;
    assert_eq!(status, "0");
    let archive = message(
        &schema,
        "acme.widgets.v1.ArchiveWidgetRequest",
        vec![("name", Value::String("projects/p1/widgets/w3".into()))],
    );
    let (_, status) = grpc(vcr.addr(), ARCHIVE, &archive).await;
    assert_eq!(status, "0");
    vcr.finish().await.unwrap();

    // Typed JSON, by the user's types: no base64 anywhere.
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cassette).unwrap()).unwrap();
    let first = &stored["interactions"][0]["grpc"];
    assert_eq!(first["method"], GET);
    assert_eq!(
        first["request"]["messages"][0],
        json!({"type": "acme.widgets.v1.GetWidgetRequest", "json": {"name": "projects/p1/widgets/w%1"}})
    );
    assert_eq!(
        first["response"]["messages"][0],
        json!({"type": "acme.widgets.v1.Widget", "json": {
            "name": "projects/p1/widgets/w%1",
            "display_name": "Widget w%1",
            "gear_count": "9007199254740993",
            "tags": ["blue"],
        }})
    );
    // An operation's `Any` payloads of the user's types are typed JSON too.
    let operation = &stored["interactions"][2]["grpc"]["response"]["messages"][0];
    assert_eq!(
        operation,
        &json!({"type": "yandex.cloud.operation.Operation", "json": {
            "id": "op1",
            "done": true,
            "metadata": {"@type": "type.googleapis.com/acme.widgets.v1.ArchiveWidgetMetadata", "name": "projects/p1/widgets/w3"},
            "response": {"@type": "type.googleapis.com/acme.widgets.v1.Widget", "name": "projects/p1/widgets/w3",
                         "display_name": "Widget w3", "gear_count": "9007199254740993", "tags": ["blue"]},
        }})
    );
    let types = schema.method(ARCHIVE).unwrap().operation.clone().unwrap();
    assert_eq!(
        (types.metadata.as_str(), types.response.as_str()),
        (
            "acme.widgets.v1.ArchiveWidgetMetadata",
            "acme.widgets.v1.Widget"
        )
    );
    assert!(!stored.to_string().contains("\"raw\""), "{stored:#}");
    // The embedded files keep their rules and their generated fast path beside the user's.
    assert!(schema.route("GET", "/compute/v1/images/fd8").is_some());
    assert!(
        schema
            .message("yandex.cloud.compute.v1.Image")
            .unwrap()
            .is_generated()
    );
    assert!(
        !schema
            .message("yandex.cloud.operation.Operation")
            .unwrap()
            .is_generated()
    );

    let vcr = Vcr::cassette(&cassette)
        .mode(Mode::None)
        .schema(schema.clone())
        .start()
        .await
        .unwrap();
    // gRPC: the recorded bytes.
    assert_eq!(
        grpc(vcr.addr(), GET, &get).await,
        (recorded_get.clone(), "0".to_owned())
    );
    assert_eq!(
        widget_json(&schema, &grpc(vcr.addr(), POLISH, &polish).await.0),
        widget_json(&schema, &recorded_polish)
    );
    // REST, transcoded by the user's rules: a `{name=projects/*/widgets/*}` binding (escaped `%` decoded) ...
    let (status, translated, body) = rest(
        vcr.addr(),
        "GET",
        "/acme/v1/projects/p1/widgets/w%251",
        None,
    )
    .await;
    assert_eq!((status, translated.as_str()), (200, "grpc->rest"));
    assert_eq!(
        body,
        json!({"name": "projects/p1/widgets/w%1", "displayName": "Widget w%1",
               "gearCount": "9007199254740993", "tags": ["blue"]})
    );
    // ... an `additional_bindings` rule with `**` ...
    let (status, _, by_name) = rest(
        vcr.addr(),
        "GET",
        "/acme/v1/by-name/projects/p1/widgets/w%251",
        None,
    )
    .await;
    assert_eq!((status, &by_name), (200, &body));
    // ... and the custom verb, with a `*` body in camelCase.
    let (status, _, body) = rest(
        vcr.addr(),
        "POST",
        "/acme/v1/projects/p1/widgets/w2:polish",
        Some(json!({"passes": 3, "finish": "GLOSSY"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["finish"], "GLOSSY");
    // A pattern the rule does not allow is not this method.
    let (status, _, _) = rest(vcr.addr(), "GET", "/acme/v1/folders/p1/widgets/w2", None).await;
    assert_eq!(status, 501);

    // Reflection lists and describes the user's service.
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(vcr.channel());
    let ask = |request| v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let requests = stream::iter([
        ask(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
        ask(
            v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                "acme.widgets.v1.WidgetService".into(),
            ),
        ),
    ])
    .chain(stream::pending());
    let mut answers = client
        .server_reflection_info(requests)
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("a list of services");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"acme.widgets.v1.WidgetService"),
        "{names:?}"
    );
    assert!(
        names.contains(&"yandex.cloud.compute.v1.ImageService"),
        "{names:?}"
    );
    let Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("the file of the service");
    };
    let file = prost_reflect::prost_types::FileDescriptorProto::decode(
        files.file_descriptor_proto[0].as_slice(),
    )
    .unwrap();
    assert_eq!(file.name(), "acme/widgets/v1/widget_service.proto");
    let report = vcr.finish().await.unwrap();
    assert!(
        report.misses.len() == 1,
        "only the refused pattern misses: {report:?}"
    );

    // `check` loads it as replay does: with the protos, and not without them.
    let path = cassette.to_str().unwrap();
    let proto_path = protos();
    let run = crate::yc_vcr(
        &["check", "--proto-path", proto_path.to_str().unwrap(), path],
        b"",
    );
    assert_eq!(run.code, 0, "{}{}", run.stderr, run.stdout_text());
    let run = crate::yc_vcr(&["check", path], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout_text()
            .contains("unknown message type `acme.widgets.v1.GetWidgetRequest`"),
        "{}",
        run.stdout_text()
    );
}

#[test]
fn the_cli_takes_protos_for_convert_and_check() {
    let proto_path = protos();
    let proto_path = proto_path.to_str().unwrap();
    let run = crate::yc_vcr(
        &[
            "convert",
            "--proto-path",
            proto_path,
            "--type",
            "acme.widgets.v1.Widget",
            "--from",
            "json",
            "--to",
            "camel",
        ],
        br#"{"display_name": "x", "gear_count": 7, "finish": "MATTE"}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout_text().trim(),
        r#"{"displayName":"x","gearCount":"7","finish":"MATTE"}"#
    );
    let run = crate::yc_vcr(
        &[
            "convert",
            "--type",
            "acme.widgets.v1.Widget",
            "--from",
            "json",
            "--to",
            "camel",
        ],
        b"{}",
    );
    assert_ne!(run.code, 0, "unknown without --proto-path");

    let missing = crate::yc_vcr(
        &[
            "convert",
            "--proto-path",
            "/nonexistent/protos",
            "--type",
            "x",
            "--from",
            "json",
            "--to",
            "camel",
        ],
        b"{}",
    );
    assert!(
        missing.stderr.contains("cannot read `/nonexistent/protos`"),
        "{}",
        missing.stderr
    );
}
