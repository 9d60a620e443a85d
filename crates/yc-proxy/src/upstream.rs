//! Where recorded traffic goes: the Yandex Cloud endpoints, learned from endpoint discovery as the SDKs learn them
//! (`learn`) with a built-in table to fall back on, or a single `--upstream` override; and the clients that carry
//! it, cleartext or rustls TLS: HTTP/2 over `h2` for gRPC and for REST from HTTP/2 clients (`http2`), hyper's
//! HTTP/1.1 client (hyper-rustls) for REST from HTTP/1.1 clients and for upstreams without HTTP/2.
//!
//! This module only forwards: it never looks at bodies, never records, and never panics on a request.
//! A failure to reach an upstream is an [`UpstreamError`] naming the upstream and the cause; the record service turns
//! it into `UNAVAILABLE` or `502`.

use std::error::Error as StdError;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioTimer;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::server::Coalesced;
use crate::{Error, discovery};
use http2::Http2Client;
use learn::Learned;

/// A boxed error, as bodies and connectors report them.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The body of a request sent upstream.
pub type UpstreamBody = BoxBody<Bytes, BoxError>;

/// The Yandex Cloud endpoints known without discovery, by gRPC package prefix and REST path prefix (wire facts,
/// section 5): where calls go when discovery cannot be reached.
///
/// A REST prefix ending in `/` matches that directory; one without matches the exact path or the path followed by
/// `/` or `:` (`/operations/{id}:cancel`).
pub const YANDEX_ROUTES: &[YandexRoute] = &[
    YandexRoute {
        package: "yandex.cloud.compute.",
        rest_prefix: "/compute/",
        host: "compute.api.cloud.yandex.net",
    },
    YandexRoute {
        package: "yandex.cloud.containerregistry.",
        rest_prefix: "/container-registry/",
        host: "container-registry.api.cloud.yandex.net",
    },
    YandexRoute {
        package: "yandex.cloud.operation.",
        rest_prefix: "/operations",
        host: "operation.api.cloud.yandex.net",
    },
    YandexRoute {
        package: "yandex.cloud.iam.",
        rest_prefix: "/iam/",
        host: "iam.api.cloud.yandex.net",
    },
    YandexRoute {
        package: "yandex.cloud.endpoint.",
        rest_prefix: "/endpoints",
        host: "api.cloud.yandex.net",
    },
];

/// One line of [`YANDEX_ROUTES`].
#[derive(Clone, Copy, Debug)]
pub struct YandexRoute {
    /// Prefix of the gRPC service name (`/yandex.cloud.compute.v1.ImageService/Get` starts with it after `/`).
    pub package: &'static str,
    /// Prefix of the REST path.
    pub rest_prefix: &'static str,
    /// The TLS host, port 443.
    pub host: &'static str,
}

/// An upstream base URL: `http://host:port` (cleartext) or `https://host[:port]` (TLS). No path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UpstreamUrl {
    tls: bool,
    authority: Authority,
}

impl UpstreamUrl {
    /// The TLS endpoint `https://host` (port 443; `:authority` is the bare host, as SDKs send it).
    pub fn https(host: &str) -> Result<UpstreamUrl, Error> {
        format!("https://{host}").parse()
    }

    /// Whether the upstream is reached over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `host:port` as sent in `:authority` (port omitted when the URL had none).
    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    /// The host to connect to and name in TLS (an IPv6 address without its brackets).
    fn host(&self) -> &str {
        let host = self.authority.host();
        host.strip_prefix('[')
            .and_then(|host| host.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// The port, 443 or 80 when the URL names none.
    fn port(&self) -> u16 {
        self.authority
            .port_u16()
            .unwrap_or(if self.tls { 443 } else { 80 })
    }

    fn uri(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        Uri::builder()
            .scheme(if self.tls {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            })
            .authority(self.authority.clone())
            .path_and_query(path_and_query.map_or("/", PathAndQuery::as_str))
            .build()
    }
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.authority)
    }
}

impl FromStr for UpstreamUrl {
    type Err = Error;

    fn from_str(text: &str) -> Result<UpstreamUrl, Error> {
        let invalid = |reason: &str| Error::InvalidUpstream {
            url: text.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = text.parse().map_err(|_| invalid("not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(invalid("the scheme must be `http` or `https`")),
        };
        let authority = uri.authority().cloned().ok_or_else(|| invalid("no host"))?;
        if authority.host().is_empty() {
            return Err(invalid("no host"));
        }
        if authority.as_str().contains('@') {
            return Err(invalid("credentials in the URL are not supported"));
        }
        if uri.path_and_query().is_some_and(|pq| pq.as_str() != "/") {
            return Err(invalid(
                "a path is not supported: give only scheme, host and port",
            ));
        }
        if !tls && authority.port().is_none() {
            return Err(invalid("a cleartext upstream needs a port"));
        }
        Ok(UpstreamUrl { tls, authority })
    }
}

/// Where traffic goes: the Yandex Cloud endpoints by default, or the overrides.
#[derive(Clone, Debug, Default)]
pub struct Upstreams {
    /// `--upstream`: all traffic goes here instead of the Yandex Cloud endpoints.
    pub all: Option<UpstreamUrl>,
    /// `--rest-upstream`: REST traffic goes here (overrides `all` for REST).
    pub rest: Option<UpstreamUrl>,
    /// `--upstream-ca`: PEM certificates trusted for TLS upstreams, next to the web PKI roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// `--discovery`: the host asked where each service lives (`ApiEndpointService/List`) when no override applies;
    /// default [`DISCOVERY`].
    pub discovery: Option<UpstreamUrl>,
    /// `--connect-timeout`: how long opening a connection to an upstream may take, TCP, TLS and (gRPC) the HTTP/2
    /// preface together; default [`CONNECT_TIMEOUT`]. A call that waits longer fails as the upstream's.
    pub connect_timeout: Option<Duration>,
}

/// How long opening a connection to an upstream may take unless told otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The discovery host the SDKs ask by default.
pub const DISCOVERY: &str = "https://api.cloud.yandex.net";

impl Upstreams {
    /// The Yandex Cloud endpoints over TLS.
    pub fn yandex() -> Upstreams {
        Upstreams::default()
    }

    /// Everything to `url`.
    pub fn single(url: UpstreamUrl) -> Upstreams {
        Upstreams {
            all: Some(url),
            ..Upstreams::default()
        }
    }
}

/// Why a call could not be forwarded. Its `Display` names the upstream and the cause (with its sources).
#[derive(Debug)]
pub struct UpstreamError {
    /// The upstream, or the method/path that has none.
    pub upstream: String,
    /// What went wrong, with the error's sources joined by `: `.
    pub cause: String,
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream `{}` failed: {}", self.upstream, self.cause)
    }
}

impl StdError for UpstreamError {}

impl UpstreamError {
    pub(crate) fn new(
        upstream: impl fmt::Display,
        error: &(dyn StdError + 'static),
    ) -> UpstreamError {
        UpstreamError {
            upstream: upstream.to_string(),
            cause: error_chain(error),
        }
    }
}

/// The error and its sources, joined by `: `, with adjacent repeats dropped (hyper repeats causes).
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
}

/// Which protocol a call speaks; it picks the client and the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    Rest,
}

/// The clients and the routes: one per record server, shared by every call.
#[derive(Clone, Debug)]
pub struct Upstream {
    upstreams: Upstreams,
    discovery: UpstreamUrl,
    /// What discovery taught, asked on the first call that needs it and kept.
    learned: Arc<tokio::sync::OnceCell<Learned>>,
    yandex: Arc<Vec<UpstreamUrl>>,
    /// gRPC, and REST from clients that spoke HTTP/2.
    http2: Arc<Http2Client>,
    /// REST over HTTP/1.1.
    rest: Client<TimedConnect<HttpsConnector<HttpConnector>>, UpstreamBody>,
}

impl Upstream {
    /// Builds the clients; fails on an unreadable `extra_ca_pem`.
    pub fn new(upstreams: &Upstreams) -> Result<Upstream, Error> {
        let roots = root_store(upstreams.extra_ca_pem.as_deref())?;
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls(source.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connect_timeout = upstreams.connect_timeout.unwrap_or(CONNECT_TIMEOUT);
        let http2 = Arc::new(Http2Client::new(&tls, connect_timeout));
        let rest = Client::builder(Coalescing)
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(TimedConnect {
                inner: connector(&tls, b"http/1.1"),
                limit: connect_timeout,
            });
        let yandex = YANDEX_ROUTES
            .iter()
            .map(|route| UpstreamUrl::https(route.host))
            .collect::<Result<Vec<_>, _>>()?;
        let discovery = match &upstreams.discovery {
            Some(url) => url.clone(),
            None => DISCOVERY.parse()?,
        };
        Ok(Upstream {
            upstreams: upstreams.clone(),
            discovery,
            learned: Arc::new(tokio::sync::OnceCell::new()),
            yandex: Arc::new(yandex),
            http2,
            rest,
        })
    }

    /// The upstream for a call: the override if any; else the endpoint discovery lists for the call's service id
    /// (discovery is asked once, on the first call that gets here); else the built-in table.
    pub async fn route(
        &self,
        transport: Transport,
        path: &str,
    ) -> Result<UpstreamUrl, UpstreamError> {
        if let Some(url) = self.fixed(transport) {
            return Ok(url.clone());
        }
        let id = match transport {
            Transport::Grpc => discovery::grpc_service_id(path),
            Transport::Rest => discovery::rest_service_id(path),
        };
        // Discovery itself is where the SDKs ask it, and nothing needs learning for it.
        if id == Some("endpoint") {
            return Ok(self.discovery.clone());
        }
        let Some(id) = id else {
            return self.choose(transport, path, None);
        };
        // Boxed: asked once, and inline its future (a whole discovery call), with connecting's, made every forwarded
        // call's future 11.9 KiB (4.3 KiB boxed), copied at each step of every call.
        let learned = self
            .learned
            .get_or_init(|| Box::pin(learn::learn(self, &self.discovery)))
            .await;
        self.choose(transport, path, Some((id, learned)))
    }

    /// [`Upstream::route`] past the overrides, given the call's service id and what discovery taught (`None`: a
    /// call with no service id, for which discovery is not asked). Pure, so it is tested without a network.
    fn choose(
        &self,
        transport: Transport,
        path: &str,
        service: Option<(&str, &Learned)>,
    ) -> Result<UpstreamUrl, UpstreamError> {
        if let Some((id, Ok(endpoints))) = service
            && let Some(url) = endpoints.get(id)
        {
            return Ok(url.clone());
        }
        if let Some(i) = yandex_route(transport, path) {
            return Ok(self.yandex[i].clone());
        }
        let why = match service {
            None => "it is in no package the SDKs map to a service id".to_owned(),
            Some((id, Ok(_))) => format!(
                "discovery at `{}` lists no service id `{id}`",
                self.discovery
            ),
            Some((id, Err(reason))) => format!(
                "discovery at `{}` failed ({reason}), and the built-in table has no service id `{id}`",
                self.discovery
            ),
        };
        Err(UpstreamError {
            upstream: "none".to_owned(),
            cause: format!(
                "no Yandex Cloud endpoint is known for `{path}`: {why}; pass --upstream to choose one"
            ),
        })
    }

    fn fixed(&self, transport: Transport) -> Option<&UpstreamUrl> {
        match transport {
            Transport::Grpc => self.upstreams.all.as_ref(),
            Transport::Rest => self.upstreams.rest.as_ref().or(self.upstreams.all.as_ref()),
        }
    }

    /// Sends `request` (its URI's path and query are kept) to the upstream for `transport`.
    ///
    /// The URI gets the upstream's scheme and authority, so `:authority` (HTTP/2) or `Host` (HTTP/1.1) and the TLS
    /// SNI name the upstream host.
    ///
    /// gRPC goes over HTTP/2. REST goes in the version the client spoke, as mitmproxy mirrors its client: over
    /// HTTP/2 (on the connection gRPC calls to the same upstream share) when the client spoke HTTP/2, unless the
    /// upstream answered in something else (TLS agreed on no `h2`, or a cleartext server did not speak it), and over
    /// HTTP/1.1 otherwise. Yandex Cloud serves gRPC and REST on the same hosts, and curl offers `h2` to every TLS
    /// server, so a host that agrees to it has to take REST over it; not run against the real cloud here.
    pub async fn send(
        &self,
        transport: Transport,
        upstream: &UpstreamUrl,
        mut request: Request<UpstreamBody>,
    ) -> Result<Response<ResponseBody>, UpstreamError> {
        let uri = upstream
            .uri(request.uri().path_and_query())
            .map_err(|error| UpstreamError::new(upstream, &error))?;
        *request.uri_mut() = uri;
        request.headers_mut().remove(http::header::HOST);
        let http2 = match transport {
            Transport::Grpc => true,
            Transport::Rest => {
                request.version() == http::Version::HTTP_2 && !self.http2.refused_http2(upstream)
            }
        };
        if http2 {
            *request.version_mut() = http::Version::HTTP_2;
            match self.http2.ready(upstream).await {
                Ok(sender) => {
                    let answer = self.http2.send(sender, upstream, request).await?;
                    return Ok(answer.map(ResponseBody::Http2));
                }
                Err(error)
                    if transport == Transport::Rest && self.http2.refused_http2(upstream) =>
                {
                    tracing::info!(%upstream, cause = %error.cause, "the upstream does not speak HTTP/2: REST goes to it over HTTP/1.1");
                }
                Err(error) => return Err(error),
            }
        }
        *request.version_mut() = http::Version::HTTP_11;
        Ok(self
            .rest
            .request(request)
            .await
            .map_err(|error| UpstreamError::new(upstream, &error))?
            .map(ResponseBody::Http1))
    }
}

/// The body of an upstream's answer: hyper's over HTTP/1.1, `http2::RecvBody` over HTTP/2.
#[derive(Debug)]
pub enum ResponseBody {
    Http1(Incoming),
    Http2(http2::RecvBody),
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ResponseBody::Http1(body) => {
                std::pin::Pin::new(body).poll_frame(cx).map_err(Into::into)
            }
            ResponseBody::Http2(body) => std::pin::Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Http1(body) => body.is_end_stream(),
            ResponseBody::Http2(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            ResponseBody::Http1(body) => body.size_hint(),
            ResponseBody::Http2(body) => body.size_hint(),
        }
    }
}

/// The REST client's executor: tokio, with each future hyper spawns (a connection, a request body's pipe)
/// [`Coalesced`], as the gRPC client's connections are: polled at once on each wake-up, a connection writes each
/// request as it comes, one `writev` apiece, and on loopback a `writev` costs the sender the receiver's TCP work too.
/// Coalesced, it writes the requests of every call that was ready together.
#[derive(Clone, Copy, Debug)]
struct Coalescing;

impl<F> hyper::rt::Executor<F> for Coalescing
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        tokio::spawn(Coalesced::new(future));
    }
}

/// The index into [`YANDEX_ROUTES`] for a gRPC path (`/pkg.Service/Method`) or a REST path.
pub fn yandex_route(transport: Transport, path: &str) -> Option<usize> {
    YANDEX_ROUTES.iter().position(|route| match transport {
        Transport::Grpc => path
            .strip_prefix('/')
            .is_some_and(|service| service.starts_with(route.package)),
        Transport::Rest => match path.strip_prefix(route.rest_prefix) {
            None => false,
            Some(_) if route.rest_prefix.ends_with('/') => true,
            Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with(':'),
        },
    })
}

fn root_store(extra_ca_pem: Option<&[u8]>) -> Result<rustls::RootCertStore, Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let Some(pem) = extra_ca_pem else {
        return Ok(roots);
    };
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|source| Error::UpstreamCa(format!("unreadable PEM: {source}")))?;
        roots.add(cert).map_err(|source| {
            Error::UpstreamCa(format!("not a usable CA certificate: {source}"))
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(Error::UpstreamCa(
            "no `CERTIFICATE` block in the PEM".to_owned(),
        ));
    }
    Ok(roots)
}

/// Opens TCP connections, then TLS for `https` URIs (SNI = the URI host, ALPN `alpn`); `http` URIs stay cleartext.
///
/// Built from the tuple rather than `HttpsConnectorBuilder`: the builder refuses a configuration with ALPN set and,
/// for HTTP/1.1 only, offers no ALPN at all, while the REST client has always offered `http/1.1`.
fn connector(config: &rustls::ClientConfig, alpn: &[u8]) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let mut config = config.clone();
    config.alpn_protocols = vec![alpn.to_vec()];
    HttpsConnector::from((http, Arc::new(config)))
}

/// A connector whose connections must be open within `limit`: the TLS handshake as well as TCP. `HttpConnector`'s own
/// timeout covers TCP only, so an upstream that accepts and then says nothing held a REST call forever.
#[derive(Clone, Debug)]
struct TimedConnect<C> {
    inner: C,
    limit: Duration,
}

impl<C> tower_service::Service<Uri> for TimedConnect<C>
where
    C: tower_service::Service<Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let limit = self.limit;
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            match tokio::time::timeout(limit, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(connect_timed_out(limit, "TCP and TLS").into()),
            }
        })
    }
}

/// What a call that could not connect in time says; `steps`: what opening the connection took.
fn connect_timed_out(limit: Duration, steps: &str) -> String {
    format!("the connection was not open after {limit:?} ({steps}; see --connect-timeout)")
}

mod http2;
mod learn;

#[cfg(test)]
mod tests;
