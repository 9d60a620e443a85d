//! Endpoint discovery: `ApiEndpointService` answers (gRPC and REST `/endpoints`) get every `address` rewritten to
//! the proxy's own, so an SDK that discovers its endpoints keeps talking to the proxy: when recording (the cassette
//! stores the rewritten answer) and again when replaying (a replay server may listen elsewhere than the recorder did).
//!
//! The proxy's own address is the one the client reached ([`reached`]: `:authority` or `Host`, so a client behind a
//! port forward or one that resolved a Yandex host name to the proxy is sent back the same way, and over TLS the
//! name its certificate check already accepted), unless an address is configured (`--advertise`).
//!
//! When no cassette recorded discovery, replay answers it itself ([`answer_grpc`], [`answer_rest`]): every service id
//! the SDKs know, at the replay address, so an SDK configured with only the replay address finds all its services.
//!
//! Pure functions over requests and bodies; an answer that cannot be decoded is left as it was (and passes through
//! unchanged).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use http::uri::{Authority, Scheme};
use http::{Request, Response, StatusCode};
use prost::Message as _;
use serde_json::Value;
use yc_proto::endpoint::{ApiEndpoint, ListApiEndpointsResponse};

use crate::grpc::{FrameDecoder, FrameLimits, encode_frame};
use crate::server::{Body, Tls};

const LIST: &str = "/yandex.cloud.endpoint.ApiEndpointService/List";
const GET: &str = "/yandex.cloud.endpoint.ApiEndpointService/Get";

/// The address to put into discovery answers for a server listening on `addr`: loopback for a wildcard address.
pub(crate) fn advertised(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        let ip = if addr.is_ipv4() { "127.0.0.1" } else { "[::1]" };
        format!("{ip}:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// A discovery request and the address its client reached.
#[derive(Debug)]
pub(crate) struct Reached {
    /// The gRPC method; `None` for REST.
    grpc_method: Option<&'static str>,
    pub(crate) address: String,
}

/// For a discovery request, the address its client reached; `None` for any other request, or one naming no host.
pub(crate) fn reached<B>(request: &Request<B>) -> Option<Reached> {
    let path = request.uri().path();
    let grpc_method = match path {
        LIST => Some(LIST),
        GET => Some(GET),
        _ if is_rest(request.method(), path) => None,
        _ => return None,
    };
    Some(Reached {
        grpc_method,
        address: reached_address(request)?,
    })
}

/// `host:port` as the client named it (`:authority`, else `Host`), with the scheme's default port if it named none.
pub(crate) fn reached_address<B>(request: &Request<B>) -> Option<String> {
    let authority = match request.uri().authority() {
        Some(authority) => authority.clone(),
        None => request
            .headers()
            .get(http::header::HOST)?
            .to_str()
            .ok()?
            .parse::<Authority>()
            .ok()?,
    };
    if authority.host().is_empty() || authority.as_str().contains('@') {
        return None;
    }
    if authority.port().is_some() {
        return Some(authority.as_str().to_owned());
    }
    let tls = request.uri().scheme() == Some(&Scheme::HTTPS)
        || request.extensions().get::<Tls>().is_some();
    Some(format!(
        "{}:{}",
        authority.host(),
        if tls { 443 } else { 80 }
    ))
}

/// Points a successful discovery answer at `reached`; anything else stays as it is.
pub(crate) fn point_at(response: &mut Response<Body>, reached: &Reached) {
    if response.status() != StatusCode::OK {
        return;
    }
    let Some(data) = response.body().data() else {
        return;
    };
    let rewritten = match reached.grpc_method {
        Some(method) => {
            let limits = FrameLimits {
                max_message_size: usize::MAX,
                max_body_size: usize::MAX,
            };
            rewrite_grpc(method, data, &reached.address, limits)
        }
        None => rewrite_rest(data, &reached.address).map(Bytes::from),
    };
    if let Some(data) = rewritten {
        response.body_mut().set_data(data);
    }
}

/// Whether a gRPC method's answer carries endpoint addresses.
pub(crate) fn is_grpc(method: &str) -> bool {
    method == LIST || method == GET
}

/// Whether a REST call's answer carries endpoint addresses (`GET /endpoints`, `GET /endpoints/{id}`).
pub(crate) fn is_rest(verb: &http::Method, path: &str) -> bool {
    verb == http::Method::GET
        && path.strip_prefix("/endpoints").is_some_and(|rest| {
            rest.is_empty() || (rest.starts_with('/') && !rest[1..].contains('/'))
        })
}

/// The frames of a gRPC answer with every address set to `address`; `None` if they cannot be decoded.
pub(crate) fn rewrite_grpc(
    method: &str,
    body: &[u8],
    address: &str,
    limits: FrameLimits,
) -> Option<Bytes> {
    let mut decoder = FrameDecoder::new(FrameLimits {
        max_body_size: usize::MAX,
        ..limits
    });
    decoder.push(body).ok()?;
    let mut out = BytesMut::with_capacity(body.len() + 64);
    while let Some(message) = decoder.next_message().ok()? {
        let encoded = if method == LIST {
            let mut list = ListApiEndpointsResponse::decode(message).ok()?;
            for endpoint in &mut list.endpoints {
                endpoint.address = address.to_owned();
            }
            list.encode_to_vec()
        } else {
            let mut endpoint = ApiEndpoint::decode(message).ok()?;
            endpoint.address = address.to_owned();
            endpoint.encode_to_vec()
        };
        encode_frame(&encoded, &mut out);
    }
    decoder.finish().ok()?;
    Some(out.freeze())
}

/// A JSON answer (`{"endpoints": [...]}` or one endpoint) with every `address` set to `address`;
/// `None` if it is not JSON of that shape (an error answer, say).
pub(crate) fn rewrite_rest(body: &[u8], address: &str) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object_mut()?;
    let mut changed = false;
    if let Some(Value::Array(endpoints)) = object.get_mut("endpoints") {
        for endpoint in endpoints {
            if let Some(slot) = endpoint.get_mut("address") {
                *slot = Value::String(address.to_owned());
                changed = true;
            }
        }
    } else if let Some(slot) = object.get_mut("address") {
        *slot = Value::String(address.to_owned());
        changed = true;
    }
    if !changed {
        return None;
    }
    serde_json::to_vec(&value).ok()
}

/// The service ids the official SDKs look up in discovery (the Python SDK maps each `yandex.cloud` package to one of
/// these, the Go SDK likewise), so that an SDK finds every service it may call at the replay address.
const SERVICE_IDS: &[&str] = &[
    "ai-assistants",
    "ai-files",
    "ai-foundation-models",
    "ai-llm",
    "ai-speechkit",
    "ai-stt",
    "ai-translate",
    "ai-vision",
    "ai-vision-ocr",
    "alb",
    "apigateway-connections",
    "billing",
    "cdn",
    "certificate-manager",
    "certificate-manager-data",
    "compute",
    "container-registry",
    "dataproc",
    "dataproc-manager",
    "datasphere",
    "datatransfer",
    "dns",
    "endpoint",
    "iam",
    "iot-devices",
    "kms",
    "kms-crypto",
    "load-balancer",
    "loadtesting",
    "lockbox",
    "lockbox-payload",
    "log-ingestion",
    "log-reading",
    "logging",
    "managed-airflow",
    "managed-clickhouse",
    "managed-elasticsearch",
    "managed-greenplum",
    "managed-kafka",
    "managed-kubernetes",
    "managed-mongodb",
    "managed-mysql",
    "managed-opensearch",
    "managed-postgresql",
    "managed-redis",
    "managed-spark",
    "managed-sqlserver",
    "marketplace",
    "operation",
    "organization-manager",
    "quota",
    "quota-manager",
    "resource-manager",
    "serverless-apigateway",
    "serverless-containers",
    "serverless-functions",
    "serverless-triggers",
    "storage-api",
    "trino",
    "vpc",
    "ydb",
];

/// Which service id a gRPC service lives under, as the SDKs decide it: by the service's package, or for the few
/// services that live apart from the rest of their package, by the service itself. The longest prefix wins; a prefix
/// matches a whole name or the name followed by `.`. Every id is one of [`SERVICE_IDS`].
const PACKAGES: &[(&str, &str)] = &[
    ("yandex.cloud.ai.assistants", "ai-assistants"),
    ("yandex.cloud.ai.files", "ai-files"),
    ("yandex.cloud.ai.foundation_models", "ai-foundation-models"),
    ("yandex.cloud.ai.llm", "ai-llm"),
    ("yandex.cloud.ai.ocr", "ai-vision-ocr"),
    ("yandex.cloud.ai.stt", "ai-stt"),
    ("yandex.cloud.ai.translate", "ai-translate"),
    ("yandex.cloud.ai.tts", "ai-speechkit"),
    ("yandex.cloud.ai.vision", "ai-vision"),
    ("yandex.cloud.apploadbalancer", "alb"),
    ("yandex.cloud.billing", "billing"),
    ("yandex.cloud.cdn", "cdn"),
    ("yandex.cloud.certificatemanager", "certificate-manager"),
    (
        "yandex.cloud.certificatemanager.v1.CertificateContentService",
        "certificate-manager-data",
    ),
    ("yandex.cloud.compute", "compute"),
    ("yandex.cloud.containerregistry", "container-registry"),
    ("yandex.cloud.dataproc", "dataproc"),
    ("yandex.cloud.dataproc.manager", "dataproc-manager"),
    ("yandex.cloud.datasphere", "datasphere"),
    ("yandex.cloud.datatransfer", "datatransfer"),
    ("yandex.cloud.dns", "dns"),
    ("yandex.cloud.endpoint", "endpoint"),
    ("yandex.cloud.iam", "iam"),
    ("yandex.cloud.iot.devices", "iot-devices"),
    ("yandex.cloud.k8s", "managed-kubernetes"),
    ("yandex.cloud.kms", "kms"),
    ("yandex.cloud.kms.v1.SymmetricCryptoService", "kms-crypto"),
    ("yandex.cloud.loadbalancer", "load-balancer"),
    ("yandex.cloud.loadtesting", "loadtesting"),
    ("yandex.cloud.lockbox", "lockbox"),
    ("yandex.cloud.lockbox.v1.PayloadService", "lockbox-payload"),
    ("yandex.cloud.logging", "logging"),
    (
        "yandex.cloud.logging.v1.LogIngestionService",
        "log-ingestion",
    ),
    ("yandex.cloud.logging.v1.LogReadingService", "log-reading"),
    ("yandex.cloud.marketplace", "marketplace"),
    ("yandex.cloud.mdb.clickhouse", "managed-clickhouse"),
    ("yandex.cloud.mdb.elasticsearch", "managed-elasticsearch"),
    ("yandex.cloud.mdb.greenplum", "managed-greenplum"),
    ("yandex.cloud.mdb.kafka", "managed-kafka"),
    ("yandex.cloud.mdb.mongodb", "managed-mongodb"),
    ("yandex.cloud.mdb.mysql", "managed-mysql"),
    ("yandex.cloud.mdb.opensearch", "managed-opensearch"),
    ("yandex.cloud.mdb.postgresql", "managed-postgresql"),
    ("yandex.cloud.mdb.redis", "managed-redis"),
    ("yandex.cloud.mdb.sqlserver", "managed-sqlserver"),
    ("yandex.cloud.airflow", "managed-airflow"),
    ("yandex.cloud.spark", "managed-spark"),
    ("yandex.cloud.trino", "trino"),
    ("yandex.cloud.operation", "operation"),
    ("yandex.cloud.organizationmanager", "organization-manager"),
    ("yandex.cloud.quotamanager", "quota-manager"),
    ("yandex.cloud.resourcemanager", "resource-manager"),
    (
        "yandex.cloud.serverless.apigateway",
        "serverless-apigateway",
    ),
    (
        "yandex.cloud.serverless.apigateway.websocket",
        "apigateway-connections",
    ),
    (
        "yandex.cloud.serverless.containers",
        "serverless-containers",
    ),
    ("yandex.cloud.serverless.functions", "serverless-functions"),
    ("yandex.cloud.serverless.triggers", "serverless-triggers"),
    ("yandex.cloud.storage", "storage-api"),
    ("yandex.cloud.vpc", "vpc"),
    ("yandex.cloud.ydb", "ydb"),
];

/// The service id for a gRPC path (`/yandex.cloud.vpc.v1.NetworkService/List` → `vpc`); `None` outside every
/// package of [`PACKAGES`].
pub(crate) fn grpc_service_id(path: &str) -> Option<&'static str> {
    let service = path.strip_prefix('/')?.split('/').next()?;
    PACKAGES
        .iter()
        .filter(|(prefix, _)| {
            service
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, id)| *id)
}

/// The service id for a REST path: its first segment when that is a service id (`/vpc/v1/networks` → `vpc`,
/// `/resource-manager/v1/clouds` → `resource-manager`), and the two collections named apart from their service
/// (`/operations` → `operation`, `/endpoints` → `endpoint`).
pub(crate) fn rest_service_id(path: &str) -> Option<&'static str> {
    let first = path.strip_prefix('/')?.split(['/', ':']).next()?;
    match first {
        "operations" => Some("operation"),
        "endpoints" => Some("endpoint"),
        _ => SERVICE_IDS.iter().find(|id| **id == first).copied(),
    }
}

/// Every known service at `address`, as `ApiEndpointService/List` answers.
fn every_endpoint(address: &str) -> ListApiEndpointsResponse {
    ListApiEndpointsResponse {
        endpoints: SERVICE_IDS
            .iter()
            .map(|id| ApiEndpoint {
                id: (*id).to_owned(),
                address: address.to_owned(),
            })
            .collect(),
        next_page_token: String::new(),
    }
}

/// The message of a discovery answer that no cassette recorded: `List` gives every known service at `address`,
/// `Get` the requested id there (replay serves every service on one port, so any id is at `address`).
/// `None` for any other method, or a `Get` whose request does not decode.
pub(crate) fn answer_grpc(method: &str, messages: &[Vec<u8>], address: &str) -> Option<Vec<u8>> {
    use yc_proto::endpoint::GetApiEndpointRequest;

    match method {
        LIST => Some(every_endpoint(address).encode_to_vec()),
        GET => {
            let request = match messages {
                [] => GetApiEndpointRequest::default(),
                [message] => GetApiEndpointRequest::decode(message.as_slice()).ok()?,
                _ => return None,
            };
            let endpoint = ApiEndpoint {
                id: request.api_endpoint_id,
                address: address.to_owned(),
            };
            Some(endpoint.encode_to_vec())
        }
        _ => None,
    }
}

/// The JSON body of a REST discovery answer that no cassette recorded (`GET /endpoints`, `GET /endpoints/{id}`),
/// in the camelCase style the REST API writes; `None` for any other request.
pub(crate) fn answer_rest(verb: &http::Method, path: &str, address: &str) -> Option<Vec<u8>> {
    use yc_proto::json::{self, Style};

    if !is_rest(verb, path) {
        return None;
    }
    let text = match path.strip_prefix("/endpoints/") {
        Some(id) => {
            let endpoint = ApiEndpoint {
                id: crate::grpc::percent_decode(id.as_bytes()),
                address: address.to_owned(),
            };
            json::to_string(&endpoint, Style::Camel)
        }
        None => json::to_string(&every_endpoint(address), Style::Camel),
    };
    text.ok().map(String::into_bytes)
}

#[cfg(test)]
mod tests;
