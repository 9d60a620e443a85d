//! Endpoint discovery answers point at the replay server itself, wherever it listens, so an SDK that discovers its
//! endpoints keeps talking to it.

use yc_cassette::Body;
use yc_proto::endpoint::api_endpoint_service_client::ApiEndpointServiceClient;
use yc_proto::endpoint::{
    ApiEndpoint, GetApiEndpointRequest, ListApiEndpointsRequest, ListApiEndpointsResponse,
};
use yc_proxy::ReplayConfig;

use crate::{cassette, channel, grpc, replay, replay_with, rest, rest_call};

/// Where the recording proxy listened: the cassette holds answers rewritten to this address.
const RECORDED: &str = "127.0.0.1:8080";

fn endpoints() -> ListApiEndpointsResponse {
    let endpoint = |id: &str| ApiEndpoint {
        id: id.into(),
        address: RECORDED.into(),
    };
    ListApiEndpointsResponse {
        endpoints: vec![
            endpoint("compute"),
            endpoint("container-registry"),
            endpoint("operation"),
        ],
        next_page_token: String::new(),
    }
}

#[tokio::test]
async fn grpc_discovery_answers_name_the_replay_server() {
    let server = replay(vec![cassette(vec![
        grpc("/yandex.cloud.endpoint.ApiEndpointService/List")
            .request(&ListApiEndpointsRequest::default())
            .response(&endpoints())
            .build(),
        grpc("/yandex.cloud.endpoint.ApiEndpointService/Get")
            .request(&GetApiEndpointRequest {
                api_endpoint_id: "compute".into(),
            })
            .response(&endpoints().endpoints[0])
            .build(),
    ])]);
    let own = server.local_addr().to_string();
    let mut client = ApiEndpointServiceClient::new(channel(server.local_addr()).await);

    let list = client
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let addresses: Vec<_> = list
        .endpoints
        .iter()
        .map(|e| (e.id.as_str(), e.address.as_str()))
        .collect();
    assert_eq!(
        addresses,
        [
            ("compute", own.as_str()),
            ("container-registry", own.as_str()),
            ("operation", own.as_str())
        ]
    );

    let get = client
        .get(GetApiEndpointRequest {
            api_endpoint_id: "compute".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(get.address, own);
}

#[tokio::test]
async fn rest_discovery_answers_name_the_replay_server() {
    let body = r#"{"endpoints":[{"id":"compute","address":"127.0.0.1:8080"}]}"#;
    let server = replay(vec![cassette(vec![rest(
        "GET",
        "/endpoints",
        "",
        Body::Empty,
        200,
        Body::from_bytes(Some("application/json"), body.as_bytes()),
    )])]);
    let seen = rest_call(server.local_addr(), "GET", "/endpoints", "", false).await;
    assert_eq!(seen.status, 200);
    let json: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        json["endpoints"][0]["address"],
        server.local_addr().to_string()
    );
}

#[tokio::test]
async fn an_explicit_advertised_address_wins() {
    let config = ReplayConfig {
        advertise: Some("replay.example:443".into()),
        ..ReplayConfig::default()
    };
    let server = replay_with(
        vec![cassette(vec![
            grpc("/yandex.cloud.endpoint.ApiEndpointService/List")
                .request(&ListApiEndpointsRequest::default())
                .response(&endpoints())
                .build(),
        ])],
        config,
    );
    let mut client = ApiEndpointServiceClient::new(channel(server.local_addr()).await);
    let list = client
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(
        list.endpoints
            .iter()
            .all(|e| e.address == "replay.example:443"),
        "{list:?}"
    );
}

#[tokio::test]
async fn discovery_that_no_cassette_recorded_names_every_service_at_the_replay_server() {
    let server = replay(vec![cassette(Vec::new())]);
    let own = server.local_addr().to_string();
    let mut client = ApiEndpointServiceClient::new(channel(server.local_addr()).await);

    let list = client
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = list.endpoints.iter().map(|e| e.id.as_str()).collect();
    for id in [
        "compute",
        "container-registry",
        "operation",
        "iam",
        "endpoint",
        "vpc",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(list.endpoints.iter().all(|e| e.address == own), "{list:?}");

    let get = client
        .get(GetApiEndpointRequest {
            api_endpoint_id: "iam".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (get.id.as_str(), get.address.as_str()),
        ("iam", own.as_str())
    );

    let seen = rest_call(server.local_addr(), "GET", "/endpoints/compute", "", false).await;
    assert_eq!(seen.status, 200, "{seen:?}");
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body, serde_json::json!({"id": "compute", "address": own}));
    let seen = rest_call(server.local_addr(), "GET", "/endpoints", "", false).await;
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert!(body["endpoints"].as_array().unwrap().len() > 10, "{body}");
}
