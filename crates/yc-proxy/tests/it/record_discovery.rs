//! Routing learned from endpoint discovery: with no `--upstream`, record asks a discovery server (here a local one,
//! named by `Upstreams::discovery`) where each service lives, once, and routes gRPC packages and REST prefixes by
//! service id; what discovery does not list is refused with the id it looked for.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tonic::codegen::Service as _;
use yc_proto::endpoint::api_endpoint_service_client::ApiEndpointServiceClient;
use yc_proto::endpoint::api_endpoint_service_server::{
    ApiEndpointService, ApiEndpointServiceServer,
};
use yc_proto::endpoint::{
    ApiEndpoint, GetApiEndpointRequest, ListApiEndpointsRequest, ListApiEndpointsResponse,
};
use yc_proxy::upstream::{UpstreamUrl, Upstreams};

use crate::record::{Recording, get_images_at_once};
use crate::upstream_fixture::Fixture;
use crate::{channel, raw_grpc, rest_call};

const NETWORKS: &str = "/yandex.cloud.vpc.v1.NetworkService/List";

/// A discovery server on 127.0.0.1:0 answering `List` with fixed endpoints, counting the calls.
struct Discovery {
    addr: SocketAddr,
    lists: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Discovery {
    async fn start(endpoints: &[(&str, SocketAddr)]) -> Discovery {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let lists = Arc::new(AtomicUsize::new(0));
        let service = ApiEndpointServiceServer::new(Listing {
            endpoints: endpoints
                .iter()
                .map(|(id, addr)| ApiEndpoint {
                    id: (*id).to_owned(),
                    address: addr.to_string(),
                })
                .collect(),
            lists: Arc::clone(&lists),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        service.clone().call(request)
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Discovery { addr, lists, task }
    }

    fn url(&self) -> UpstreamUrl {
        format!("http://{}", self.addr).parse().unwrap()
    }

    fn lists(&self) -> usize {
        self.lists.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct Listing {
    endpoints: Vec<ApiEndpoint>,
    lists: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl ApiEndpointService for Listing {
    async fn get(
        &self,
        _: tonic::Request<GetApiEndpointRequest>,
    ) -> Result<tonic::Response<ApiEndpoint>, tonic::Status> {
        Err(tonic::Status::unimplemented("only List"))
    }

    async fn list(
        &self,
        _: tonic::Request<ListApiEndpointsRequest>,
    ) -> Result<tonic::Response<ListApiEndpointsResponse>, tonic::Status> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        Ok(tonic::Response::new(ListApiEndpointsResponse {
            endpoints: self.endpoints.clone(),
            next_page_token: String::new(),
        }))
    }
}

fn via(discovery: &Discovery) -> Upstreams {
    Upstreams {
        discovery: Some(discovery.url()),
        ..Upstreams::default()
    }
}

/// A port nothing listens on: bound, read back, released.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn record_routes_by_the_endpoints_discovery_lists_and_asks_once() {
    let compute_side = Fixture::start("compute-side").await;
    let vpc_side = Fixture::start("vpc-side").await;
    let discovery =
        Discovery::start(&[("compute", compute_side.addr), ("vpc", vpc_side.addr)]).await;
    let recording = Recording::start(via(&discovery)).await;
    assert_eq!(
        discovery.lists(),
        0,
        "nothing is asked before a call needs it"
    );

    // Calls that start together wait for one discovery.
    let channel = channel(recording.addr()).await;
    get_images_at_once(&channel, (0..8).map(|i| format!("fd8d{i}"))).await;
    assert_eq!(compute_side.requests(), 8);

    // A service no built-in route knows reaches the server discovery names for its id, over gRPC and REST.
    let seen = raw_grpc(recording.addr(), "POST", NETWORKS, &[], b"").await;
    assert_eq!(seen.headers["x-fixture-server"], "vpc-side");
    let rest = rest_call(recording.addr(), "GET", "/vpc/v1/networks", "", false).await;
    assert_eq!(rest.headers["x-fixture-server"], "vpc-side");
    let rest = rest_call(
        recording.addr(),
        "GET",
        "/compute/v1/images/fd8rest",
        "",
        false,
    )
    .await;
    assert_eq!(rest.status, StatusCode::OK);
    assert_eq!(rest.headers["x-fixture-server"], "compute-side");
    assert_eq!(discovery.lists(), 1, "learned once, kept");

    // A client's own discovery call goes to the discovery host, and its answer points at the proxy.
    let mut endpoints = ApiEndpointServiceClient::new(channel.clone());
    let listed = endpoints
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(discovery.lists(), 2);
    let addresses: Vec<&str> = listed
        .endpoints
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    let proxy = recording.addr().to_string();
    assert_eq!(addresses, [proxy.as_str(), proxy.as_str()]);

    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 12);
}

#[tokio::test]
async fn a_service_discovery_does_not_list_is_refused_naming_its_id() {
    let compute_side = Fixture::start("compute-side").await;
    let discovery = Discovery::start(&[("compute", compute_side.addr)]).await;
    let recording = Recording::start(via(&discovery)).await;

    let seen = raw_grpc(recording.addr(), "POST", NETWORKS, &[], b"").await;
    let status = seen.grpc_status();
    assert_eq!(status.code, tonic::Code::Unavailable as i32);
    let message = status.message;
    assert_eq!(
        message,
        format!(
            "upstream `none` failed: no Yandex Cloud endpoint is known for `{NETWORKS}`: discovery at `{}` lists \
             no service id `vpc`; pass --upstream to choose one",
            discovery.url()
        )
    );
    let rest = rest_call(recording.addr(), "GET", "/vpc/v1/networks", "", false).await;
    assert_eq!(rest.status, StatusCode::BAD_GATEWAY);
    assert!(
        rest.body.contains("no service id `vpc`; pass --upstream"),
        "{}",
        rest.body
    );
    assert_eq!(discovery.lists(), 1);
    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 0);
}

#[tokio::test]
async fn an_unreachable_discovery_is_named_in_the_refusal() {
    let discovery: UpstreamUrl = format!("http://127.0.0.1:{}", free_port()).parse().unwrap();
    let recording = Recording::start(Upstreams {
        discovery: Some(discovery.clone()),
        ..Upstreams::default()
    })
    .await;
    let seen = raw_grpc(recording.addr(), "POST", NETWORKS, &[], b"").await;
    let status = seen.grpc_status();
    assert_eq!(status.code, tonic::Code::Unavailable as i32);
    let message = status.message;
    let expected_start = format!(
        "upstream `none` failed: no Yandex Cloud endpoint is known for `{NETWORKS}`: discovery at `{discovery}` \
         failed ("
    );
    assert!(message.starts_with(&expected_start), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    assert!(
        message.ends_with(
            "and the built-in table has no service id `vpc`; pass --upstream to choose one"
        ),
        "{message}"
    );
    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 0);
}
