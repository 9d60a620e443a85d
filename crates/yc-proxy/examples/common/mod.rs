//! What the benchmarks share: their command line and the server that answers from memory, the baseline they are
//! measured against. Included by each with `mod common;` (a folder without `main.rs` is no example of its own).

#![allow(dead_code)] // each bench uses its part

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use yc_proxy::grpc::{Code, Status};
use yc_proxy::server::{Body, HttpService};

/// For a bench that takes no arguments: `--help` prints its usage and exits, anything else is refused (exit 2).
pub fn no_arguments(name: &str) {
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("-h" | "--help") => {
            println!("usage: {name} (no arguments: the figures it prints are for fixed loads)");
            std::process::exit(0);
        }
        Some(other) => {
            eprintln!("{name}: unknown argument `{other}`; it takes none");
            std::process::exit(2);
        }
    }
}

/// A service answering from memory, as cheaply as a server can: a gRPC call with `grpc` (framed) and status OK,
/// any other with the JSON text `json`. It reads each request whole, as any server must.
pub fn memory_service(grpc: Bytes, json: Bytes) -> impl HttpService<Body> {
    let trailers = Status::new(Code::Ok, "").to_trailers();
    hyper::service::service_fn(move |request: Request<Incoming>| {
        let (grpc, trailers, json) = (grpc.clone(), trailers.clone(), json.clone());
        async move {
            let is_grpc = yc_proxy::grpc::is_grpc(&request);
            let _ = request.into_body().collect().await;
            let (body, content_type) = if is_grpc {
                (Body::new(grpc, Some(trailers)), "application/grpc")
            } else {
                (Body::new(json, None), "application/json")
            };
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type));
            Ok::<_, Infallible>(response)
        }
    })
}
