//! gRPC server reflection (`grpc.reflection.v1` and `v1alpha`) over the embedded descriptor set, so that grpcurl,
//! grpcui and Postman list, describe and call the recorded API with no `.proto` files.
//!
//! The protocol is `tonic-reflection`'s; this module only routes to it by path and erases its types, so the replay
//! service can hold it beside the prepared answers.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use tower_service::Service;

use crate::Error;

const V1: &str = "/grpc.reflection.v1.ServerReflection/";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/";

type Answer = Pin<Box<dyn Future<Output = Response<tonic::body::Body>> + Send>>;
type Call = dyn Fn(Request<Incoming>) -> Answer + Send + Sync;

/// Both reflection versions, ready to serve; cheap to clone.
#[derive(Clone)]
pub(crate) struct Reflection {
    v1: Arc<Call>,
    v1alpha: Arc<Call>,
}

impl std::fmt::Debug for Reflection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reflection").finish_non_exhaustive()
    }
}

/// Whether a gRPC path belongs to server reflection.
pub(crate) fn is_reflection(path: &str) -> bool {
    path.starts_with("/grpc.reflection.")
}

impl Reflection {
    /// Reflection over an encoded `FileDescriptorSet`.
    pub(crate) fn new(descriptor_set: &[u8]) -> Result<Reflection, Error> {
        let reflection_error =
            |error: tonic_reflection::server::Error| Error::Reflection(error.to_string());
        let v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .build_v1()
            .map_err(reflection_error)?;
        let v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .build_v1alpha()
            .map_err(reflection_error)?;
        Ok(Reflection {
            v1: erase(v1),
            v1alpha: erase(v1alpha),
        })
    }

    /// Serves one reflection call; an unknown reflection version gets `UNIMPLEMENTED`, as any unknown service does.
    pub(crate) async fn call(&self, request: Request<Incoming>) -> Response<tonic::body::Body> {
        let path = request.uri().path();
        if path.starts_with(V1) {
            (self.v1)(request).await
        } else if path.starts_with(V1ALPHA) {
            (self.v1alpha)(request).await
        } else {
            let status = tonic::Status::unimplemented(format!(
                "yc-vcr replay: no reflection service at `{path}` (v1 and v1alpha are served)"
            ));
            status.into_http()
        }
    }
}

fn erase<S>(service: S) -> Arc<Call>
where
    S: Service<Request<Incoming>, Response = Response<tonic::body::Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    Arc::new(move |request| {
        let mut service = service.clone();
        Box::pin(async move {
            let ready = poll_fn(|cx| service.poll_ready(cx)).await;
            let answer = match ready {
                Ok(()) => service.call(request).await,
                Err(never) => Err(never),
            };
            match answer {
                Ok(response) => response,
                Err(never) => match never {},
            }
        })
    })
}
