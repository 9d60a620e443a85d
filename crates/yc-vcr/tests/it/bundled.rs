//! Every bundled cassette, served by `yc-vcr replay` and called by real clients (tonic for gRPC, hyper for REST),
//! with a snapshot of what the client saw: status, headers, trailers and messages as JSON.

use std::path::Path;

use serde_json::{Value, json};
use yc_cassette::{Cassette, GrpcInteraction, Interaction};
use yc_proto::json::Style;

use crate::clients::{RawCodec, rest_call};
use crate::server::Server;

#[test]
fn bundled_cassettes_replay_as_recorded() {
    insta::glob!("../../../../cassettes", "*.json", |path| {
        let seen = replay_all(path);
        insta::assert_json_snapshot!(seen);
    });
}

/// Calls every interaction of the cassette at `path`, in order, against `yc-vcr replay` serving that cassette alone.
fn replay_all(path: &Path) -> Value {
    let cassette = Cassette::load(path, &yc_proto::Schema::embedded()).unwrap();
    let server = Server::replay(&[path]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let calls: Vec<Value> = runtime.block_on(async {
        let call = |interaction: &Interaction| {
            let url = server.url();
            let interaction = interaction.clone();
            async move {
                match &interaction {
                    Interaction::Grpc(grpc) => grpc_call(&url, grpc).await,
                    Interaction::Rest(rest) => rest_call(&url, rest).await,
                }
            }
        };
        let mut calls = Vec::new();
        for interaction in &cassette.interactions {
            calls.push(call(interaction).await);
        }
        // Past the end of a sequence the last answer repeats: a client polling longer than during recording
        // sees the final state again instead of an error or a hang.
        let last = cassette
            .interactions
            .last()
            .expect("bundled cassettes are not empty");
        assert_eq!(
            &call(last).await,
            calls.last().unwrap(),
            "{}: the last answer repeats",
            path.display()
        );
        calls
    });
    json!({ "description": cassette.meta.description, "calls": calls })
}

async fn grpc_call(url: &str, interaction: &GrpcInteraction) -> Value {
    let method = yc_proto::methods::by_grpc_path(&interaction.method)
        .expect("bundled cassettes use known methods");
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();

    let body = interaction.request.messages[0]
        .to_bytes(&yc_proto::Schema::embedded())
        .unwrap();
    let mut request = tonic::Request::new(bytes::Bytes::from(body));
    for (name, value) in interaction.request.metadata.iter() {
        if !matches!(name, "content-type" | "te" | "user-agent") {
            request.metadata_mut().insert(
                tonic::metadata::MetadataKey::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
    }
    let path = http::uri::PathAndQuery::try_from(interaction.method.as_str()).unwrap();
    match client.server_streaming(request, path, RawCodec).await {
        Ok(response) => {
            let headers = metadata_json(response.metadata());
            let mut stream = response.into_inner();
            let mut messages = Vec::new();
            let status = loop {
                match stream.message().await {
                    Ok(Some(message)) => messages.push(decode(method.output_type, &message)),
                    Ok(None) => break json!({ "code": 0 }),
                    Err(status) => break status_json(&status),
                }
            };
            let trailers = stream
                .trailers()
                .await
                .ok()
                .flatten()
                .map(|t| metadata_json(&t));
            json!({
                "call": format!("gRPC {}", interaction.method),
                "headers": headers,
                "messages": messages,
                "trailers": trailers,
                "status": status,
            })
        }
        Err(status) => json!({
            "call": format!("gRPC {}", interaction.method),
            "trailers_only": metadata_json(status.metadata()),
            "status": status_json(&status),
        }),
    }
}

fn status_json(status: &tonic::Status) -> Value {
    let details = if status.details().is_empty() {
        Value::Null
    } else {
        let status_type = yc_proto::registry::get("google.rpc.Status").unwrap();
        status_type
            .to_json_value(status.details(), Style::Snake)
            .unwrap()
    };
    json!({ "code": status.code() as i32, "message": status.message(), "status_details": details })
}

fn decode(type_name: &str, bytes: &[u8]) -> Value {
    yc_proto::registry::get(type_name)
        .unwrap()
        .to_json_value(bytes, Style::Snake)
        .unwrap()
}

/// Headers as the client saw them, minus those that change on every run.
fn metadata_json(metadata: &tonic::metadata::MetadataMap) -> Value {
    let headers = metadata.clone().into_headers();
    crate::clients::headers_json(&headers)
}
