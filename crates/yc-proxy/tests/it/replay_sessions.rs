//! One replay server, many runs: a reset rewinds every sequence, and sessions (the `x-yc-vcr-session` header)
//! give concurrent tests sequences of their own, over the server's cassettes or their own.

use std::net::SocketAddr;

use tonic::metadata::MetadataValue;
use yc_proto::operation::operation_service_client::OperationServiceClient;
use yc_proto::operation::{GetOperationRequest, Operation};

use crate::{Seen, cassette, channel, grpc, replay, rest_call};

const GET_OPERATION: &str = "/yandex.cloud.operation.OperationService/Get";

fn poll() -> GetOperationRequest {
    GetOperationRequest {
        operation_id: "fd8op3b2rkqf8hkd5k7e".into(),
    }
}

fn operation(done: bool) -> Operation {
    Operation {
        id: "fd8op3b2rkqf8hkd5k7e".into(),
        done,
        ..Default::default()
    }
}

fn polling_cassette() -> yc_cassette::Cassette {
    cassette(vec![
        grpc(GET_OPERATION)
            .request(&poll())
            .response(&operation(false))
            .build(),
        grpc(GET_OPERATION)
            .request(&poll())
            .response(&operation(false))
            .build(),
        grpc(GET_OPERATION)
            .request(&poll())
            .response(&operation(true))
            .build(),
    ])
}

/// The scenario a test runs: poll the operation four times, in session `session` (or the default one).
async fn scenario(addr: SocketAddr, session: Option<&str>) -> Vec<bool> {
    let mut client = OperationServiceClient::new(channel(addr).await);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let mut request = tonic::Request::new(poll());
        if let Some(session) = session {
            request.metadata_mut().insert(
                "x-yc-vcr-session",
                MetadataValue::try_from(session).unwrap(),
            );
        }
        seen.push(client.get(request).await.unwrap().into_inner().done);
    }
    seen
}

async fn control(addr: SocketAddr, method: &str, path: &str, body: &str) -> Seen {
    rest_call(addr, method, path, body, false).await
}

#[tokio::test]
async fn a_reset_makes_the_second_run_give_the_first_runs_answers() {
    let server = replay(vec![polling_cassette()]);
    let addr = server.local_addr();
    let first = scenario(addr, None).await;
    assert_eq!(first, [false, false, true, true]);
    assert_eq!(
        scenario(addr, None).await,
        [true; 4],
        "without a reset the last repeats"
    );

    let reset = control(addr, "POST", "/_yc-vcr/reset", "").await;
    assert_eq!(reset.status, 200, "{reset:?}");
    assert_eq!(scenario(addr, None).await, first);
}

#[tokio::test]
async fn concurrent_sessions_never_see_each_others_sequences() {
    let server = replay(vec![polling_cassette()]);
    let addr = server.local_addr();
    let runs: Vec<_> = (0..8)
        .map(|i| tokio::spawn(async move { scenario(addr, Some(&format!("test-{i}"))).await }))
        .collect();
    for run in runs {
        assert_eq!(run.await.unwrap(), [false, false, true, true]);
    }
    // The default session was never touched.
    assert_eq!(scenario(addr, None).await, [false, false, true, true]);

    let reset = control(addr, "POST", "/_yc-vcr/reset?session=test-3", "").await;
    assert_eq!(reset.status, 200, "{reset:?}");
    assert_eq!(
        scenario(addr, Some("test-3")).await,
        [false, false, true, true]
    );
    assert_eq!(scenario(addr, Some("test-4")).await, [true; 4]);

    let list = control(addr, "GET", "/_yc-vcr/sessions", "").await;
    let ids: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    assert_eq!(ids["sessions"].as_array().unwrap().len(), 8, "{ids}");
}

#[tokio::test]
async fn a_session_can_serve_cassettes_of_its_own() {
    let server = replay(vec![cassette(Vec::new())]);
    let addr = server.local_addr();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("polling.json");
    polling_cassette().save(&path).unwrap();

    let body = serde_json::json!({ "cassettes": [path] }).to_string();
    let created = control(addr, "PUT", "/_yc-vcr/sessions/own", &body).await;
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(
        scenario(addr, Some("own")).await,
        [false, false, true, true]
    );

    let deleted = control(addr, "DELETE", "/_yc-vcr/sessions/own", "").await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    let gone = control(addr, "POST", "/_yc-vcr/reset?session=own", "").await;
    assert_eq!(gone.status, 404, "{gone:?}");
}

#[tokio::test]
async fn bad_control_requests_say_what_is_served() {
    let server = replay(vec![cassette(Vec::new())]);
    let addr = server.local_addr();
    let unknown = control(addr, "POST", "/_yc-vcr/rewind", "").await;
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.body.contains("POST /_yc-vcr/reset"),
        "{}",
        unknown.body
    );
    let missing = control(
        addr,
        "PUT",
        "/_yc-vcr/sessions/x",
        r#"{"cassettes": ["/nonexistent/cassette.json"]}"#,
    )
    .await;
    assert_eq!(missing.status, 400);
    assert!(
        missing.body.contains("/nonexistent/cassette.json"),
        "{}",
        missing.body
    );
}
