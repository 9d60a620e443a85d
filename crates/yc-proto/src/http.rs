//! `google.api.http`, once: path templates parsed into segments ([`Template`]), a [`Router`] from REST requests
//! to methods, the request message built from a REST request's pieces ([`request_json`]), and the status-code
//! map between gRPC and HTTP ([`http_status`], [`grpc_code`]).
//!
//! Everything here is pure and knows no method table: [`crate::methods`] and [`crate::schema`] file their rules
//! in a router, and the cassette's matching and the proxy's translation ask them.

mod request;
mod router;
mod status;
mod template;

pub use request::{RequestError, RequestParts, request_json};
pub use router::{Route, Router};
pub use status::{grpc_code, http_status};
pub use template::{Segment, Specificity, Template, TemplateError, Variable};

#[cfg(test)]
mod tests;
