//! VCR's `new_episodes`: replay what the cassette holds, forward what it does not to the upstream and append it.
//!
//! One cassette, one [`Recorder`] in append mode (so its lock refuses a second writer, a `record` or another
//! `new_episodes` alike), a [`Replayer`] over the interactions already on file, and a [`Forwarder`] for the rest.
//! A hit is exactly what `replay` answers; a miss is forwarded and recorded as `record` does it, with the same
//! redaction, scan and journal. Each request body is read whole before the lookup (the replayer and, on a miss, the
//! forwarder both need it), so a streaming call is forwarded only once its client has sent everything; what is
//! recorded during a run is forwarded again if asked again in the same run, and replayed from the next run on.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use yc_cassette::Index;

use crate::Error;
use crate::grpc::{self, Code, Status, StatusResponse};
use crate::record::{Forwarder, Mode, ProxyBody, RecordConfig, Recorder, Summary};
use crate::replay::{MISS_HEADER, ReplayConfig, Replayer};
use crate::server::{Server, Tls};

/// A running `new_episodes` server.
#[derive(Debug)]
pub struct EpisodesServer {
    server: Server,
    recorder: Recorder,
}

impl EpisodesServer {
    /// Opens `config.cassette_path` for appending (taking its lock; `config.mode` is ignored), indexes what it holds
    /// with `config.redactor`, binds `addr` and serves. `replay` sets the replayer's limits and discovery address.
    pub async fn start(
        addr: SocketAddr,
        config: RecordConfig,
        replay: &ReplayConfig,
    ) -> Result<EpisodesServer, Error> {
        let mut recorder = Recorder::open(config.recorder(Mode::Append))?;
        let existing = recorder.take_existing();
        let recorded = existing.interactions.len();
        let origin = config.cassette_path.display().to_string();
        let index = Index::new(
            vec![(origin, existing)],
            config.redactor.clone(),
            config.schema.clone(),
        )?;
        // A miss is forwarded, not reported: looking for the closest recording would cost every new call a walk
        // over the whole cassette.
        let replayer = Replayer::new(index.with_brief_misses(), replay)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(Error::LocalAddr)?;
        let forwarder = Forwarder::new(&config.forward(), recorder.handle(), local_addr)?;
        let service = Episodes {
            replayer,
            forwarder,
            max_body: replay.max_message_size.saturating_mul(4),
        };
        let server = Server::serve(listener, service, &config.server)?;
        tracing::info!(addr = %local_addr, recorded, "new_episodes: replaying the cassette, recording what it lacks");
        Ok(EpisodesServer { server, recorder })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Interactions recorded in this run so far.
    pub fn recorded(&self) -> usize {
        self.recorder.recorded()
    }

    /// Stops accepting, lets calls in flight finish, writes the cassette and reports.
    pub async fn shutdown(self) -> Result<Summary, Error> {
        self.server.shutdown().await;
        self.recorder.finish().await
    }
}

/// The service: the replayer first, the forwarder on a miss.
#[derive(Clone)]
struct Episodes {
    replayer: Replayer,
    forwarder: Forwarder,
    max_body: usize,
}

impl Episodes {
    async fn answer(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let is_grpc = grpc::is_grpc(&request);
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, self.max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return too_large(is_grpc, self.max_body, &*error),
        };
        // The same request twice: once for the lookup, once, on a miss, for the upstream.
        let rebuild = || {
            let mut request = Request::new(Full::new(body.clone()));
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.version_mut() = parts.version;
            *request.headers_mut() = parts.headers.clone();
            if parts.extensions.get::<Tls>().is_some() {
                request.extensions_mut().insert(Tls);
            }
            request
        };
        let replayed = self.replayer.handle(rebuild()).await;
        if !replayed.headers().contains_key(MISS_HEADER) {
            return replayed.map(|body| body.map_err(|never| match never {}).boxed());
        }
        tracing::debug!(
            path = parts.uri.path(),
            "new_episodes: not recorded, forwarding"
        );
        self.forwarder.forward(rebuild()).await
    }
}

fn too_large(
    is_grpc: bool,
    limit: usize,
    error: &(dyn std::error::Error + Send + Sync),
) -> Response<ProxyBody> {
    let message =
        format!("yc-vcr new_episodes: cannot read the request body (limit {limit} bytes): {error}");
    tracing::warn!("{message}");
    let response = if is_grpc {
        Status::new(Code::ResourceExhausted, message).into_response()
    } else {
        let mut response = Response::new(crate::server::Body::from(message));
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        response
    };
    response.map(|body| body.map_err(|never| match never {}).boxed())
}

impl hyper::service::Service<Request<Incoming>> for Episodes {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(service.answer(request).await) })
    }
}
