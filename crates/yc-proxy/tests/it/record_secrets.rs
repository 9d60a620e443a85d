//! Every secret shape in every place a call can carry it: none reaches the cassette file, while the client still
//! gets exactly what the upstream sent.

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use prost::Message as _;
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proto::operation::GetOperationRequest;
use yc_proto::operation::operation_service_client::OperationServiceClient;
use yc_proxy::upstream::Upstreams;

use crate::record::Recording;
use crate::upstream_fixture::secrets::{self, *};
use crate::upstream_fixture::{Fixture, STREAM_PATH};
use crate::{channel, frame, raw_grpc};

fn with_metadata<T>(message: T, fields: &[(&'static str, String)]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (name, value) in fields {
        if name.ends_with("-bin") {
            request.metadata_mut().insert_bin(
                *name,
                tonic::metadata::MetadataValue::from_bytes(value.as_bytes()),
            );
        } else {
            request.metadata_mut().insert(*name, value.parse().unwrap());
        }
    }
    request
}

async fn rest(
    addr: std::net::SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, String)],
    body: String,
) -> String {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path_and_query}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = client
        .request(
            request
                .body(http_body_util::Full::new(Bytes::from(body)))
                .unwrap(),
        )
        .await
        .unwrap();
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(set_cookie, SET_COOKIE, "the client gets the real header");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn no_secret_shape_reaches_the_file_from_any_place() {
    let fixture = Fixture::start("secrets").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let addr = recording.addr();
    let mut images = ImageServiceClient::new(channel(addr).await);

    // gRPC request metadata: secret headers, token shapes in other headers, a token inside a `-bin` value.
    let response = images
        .get(with_metadata(
            compute::GetImageRequest {
                image_id: "fd8abc".into(),
            },
            &[
                ("authorization", format!("Bearer {IAM_TOKEN}")),
                ("cookie", SESSION_COOKIE.to_owned()),
                ("x-yacloud-subjecttoken", SUBJECT_TOKEN.to_owned()),
                ("x-debug-oauth", OAUTH_TOKEN.to_owned()),
                ("x-token-bin", IAM_TOKEN.to_owned()),
            ],
        ))
        .await
        .unwrap();
    // gRPC response headers: `set-cookie`; the client still sees it.
    assert_eq!(response.metadata().get("set-cookie").unwrap(), SET_COOKIE);

    // gRPC request message: a pre-signed URL in `CreateImageRequest.uri`, keys in free text and labels;
    // the response message echoes the URL.
    let create = compute::CreateImageRequest {
        folder_id: "b1gfolder".into(),
        name: "from-url".into(),
        description: format!("api key {API_KEY}, static key {STATIC_KEY_ID} / {STATIC_SECRET_KEY}"),
        labels: BTreeMap::from([("owner-token".to_owned(), OAUTH_TOKEN.to_owned())]),
        source: Some(compute::create_image_request::Source::Uri(
            secrets::signed_url(),
        )),
        ..Default::default()
    };
    let operation = images
        .create(with_metadata(
            create,
            &[("authorization", format!("Api-Key {API_KEY}"))],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        operation.description.contains(SIGNATURE),
        "the client gets the real answer"
    );

    // gRPC status: a token in `grpc-message` and in `grpc-status-details-bin`.
    let error = images
        .get(compute::GetImageRequest {
            image_id: "fd8leak".into(),
        })
        .await
        .unwrap_err();
    assert!(error.message().contains(IAM_TOKEN_2));

    // gRPC response message: a token in a string field.
    let mut operations = OperationServiceClient::new(channel(addr).await);
    let op = operations
        .get(GetOperationRequest {
            operation_id: "op-token".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(op.description.contains(IAM_TOKEN_2));

    // gRPC trailers: a token after a stream of messages.
    let stream = raw_grpc(
        addr,
        "POST",
        STREAM_PATH,
        &[("x-fixture", "stream:1")],
        &frame(b""),
    )
    .await;
    assert_eq!(stream.trailers.unwrap()["x-trailer-token"], TRAILER_TOKEN);

    // REST: secrets in headers, the query, request JSON (by field name and by shape) and response JSON.
    let query = secrets::signed_url().split_once('?').unwrap().1.to_owned();
    rest(
        addr,
        "GET",
        &format!("/compute/v1/images/fd8abc?{query}"),
        &[
            ("authorization", format!("Api-Key {API_KEY}")),
            ("cookie", SESSION_COOKIE.to_owned()),
        ],
        String::new(),
    )
    .await;
    let token = rest(
        addr,
        "POST",
        "/iam/v1/tokens",
        &[],
        serde_json::json!({ "yandexPassportOauthToken": OAUTH_TOKEN }).to_string(),
    )
    .await;
    assert!(
        token.contains(IAM_TOKEN_2),
        "the client gets the real token"
    );
    let echoed = rest(
        addr,
        "POST",
        "/iam/v1/echo",
        &[("x-yacloud-subjecttoken", SUBJECT_TOKEN.to_owned())],
        serde_json::json!({
            "secret": JSON_SECRET,
            "password": PASSWORD,
            "keys": { "accessKeyId": STATIC_KEY_ID, "secretAccessKey": STATIC_SECRET_KEY },
            "note": format!("see {}", secrets::signed_url()),
        })
        .to_string(),
    )
    .await;
    assert!(echoed.contains(JSON_SECRET));
    rest(
        addr,
        "POST",
        "/compute/v1/images",
        &[("authorization", format!("Bearer {IAM_TOKEN}"))],
        serde_json::json!({ "folderId": "b1gfolder", "uri": secrets::signed_url() }).to_string(),
    )
    .await;

    let (summary, _, text, _dir) = recording.finish().await;
    assert_eq!(
        summary.recorded, 9,
        "every call was recorded (and none left out)"
    );
    for marker in secrets::MARKERS {
        assert!(
            !text.contains(marker),
            "`{marker}` reached the file:\n{text}"
        );
    }
    // Base64 forms too (`-bin` metadata, raw bytes).
    for secret in [IAM_TOKEN, IAM_TOKEN_2, OAUTH_TOKEN] {
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ] {
            let encoded = engine.encode(secret);
            assert!(
                !text.contains(&encoded[..encoded.len() - 4]),
                "base64 of a secret reached the file"
            );
        }
    }
    let findings = yc_cassette::scan_text(&text);
    assert!(findings.is_empty(), "{findings:?}");
    // What was recorded is still there, in placeholder form.
    for kind in ["iam-token", "oauth-token", "api-key"] {
        assert!(
            text.contains(&format!("<redacted:{kind}:")),
            "no `{kind}` placeholder in:\n{text}"
        );
    }
    assert!(
        text.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
        "the rest of a signed URL stays readable"
    );
    let _ = compute::Image::default().encode_to_vec();
}

/// The redaction rules leave gRPC method paths alone, but the scan looks there too: a secret-shaped method path is
/// the one place a secret survives redaction, so it proves the last check fails closed.
#[tokio::test]
async fn a_secret_that_survives_redaction_keeps_its_interaction_off_the_disk() {
    let fixture = Fixture::start("fail-closed").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let addr = recording.addr();
    let path = recording.path.clone();
    let get = frame(
        &compute::GetImageRequest {
            image_id: "fd8abc".into(),
        }
        .encode_to_vec(),
    );
    raw_grpc(
        addr,
        "POST",
        "/yandex.cloud.compute.v1.ImageService/Get",
        &[],
        &get,
    )
    .await;
    let leaky = format!("/{API_KEY}.Service/Get");
    let seen = raw_grpc(addr, "POST", &leaky, &[], &frame(b"")).await;
    assert_eq!(
        seen.grpc_status().code,
        12,
        "the client still gets its answer"
    );
    raw_grpc(
        addr,
        "POST",
        "/yandex.cloud.compute.v1.ImageService/Get",
        &[],
        &get,
    )
    .await;

    let error = recording.server.shutdown().await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "secrets survived redaction, so those interactions were not written to `{}`: \
             interactions[1].grpc.method in `{leaky}`: `api-key` survived",
            path.display()
        )
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(API_KEY));
    let cassette =
        yc_cassette::Cassette::from_json_str(&text, "recorded.json", &yc_proto::Schema::embedded())
            .unwrap();
    assert_eq!(
        cassette.interactions.len(),
        2,
        "the calls around it are kept"
    );
}
