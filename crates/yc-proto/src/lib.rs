//! Yandex Cloud's Compute and Container Registry image APIs, long-running operations, endpoint discovery and the IAM
//! token exchange, as Rust types.
//!
//! The types are generated from `proto/` by `cargo xtask codegen` (prost, tonic stubs, pbjson parsers).
//! On top of them this crate offers what a record/replay tool needs to handle messages it does not know
//! at compile time:
//!
//! - [`json`]: protobuf's reference JSON mapping in both naming styles the API uses,
//!   [`Style::Snake`](json::Style::Snake) (proto field names, as the gRPC reference shows) and
//!   [`Style::Camel`](json::Style::Camel) (json names, as the REST API sends);
//! - [`registry`]: every message type by full name or type URL, to convert between binary and JSON;
//! - [`methods`]: every RPC with its gRPC path, HTTP rule and operation types,
//!   looked up by gRPC path or by a concrete REST request.
//!
//! This crate does no IO.

pub mod http;
pub mod json;
pub mod methods;
pub mod registry;
pub mod schema;
pub mod wkt;

mod error;

pub use error::Error;
pub use schema::Schema;

#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::all,
    unused_qualifications,
    reason = "generated code"
)]
mod generated {
    include!("generated/mod.rs");
}

pub use generated::yandex::cloud::{access, compute, containerregistry, endpoint, iam, operation};

/// `yandex.cloud` itself: the validation option types and the `api.operation` option.
pub mod yandex_cloud {
    pub use crate::generated::yandex::cloud::{MapKeySpec, api};
}

/// Google's shared API types: the HTTP annotations, `google.rpc` status and error details,
/// and the well-known types of `google.protobuf`.
pub mod google {
    pub use crate::generated::google::{api, rpc};
    pub use crate::wkt as protobuf;
}

/// The encoded `FileDescriptorSet` of every file in `proto/` and its imports, custom options included.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!("generated/descriptor_set.bin");
