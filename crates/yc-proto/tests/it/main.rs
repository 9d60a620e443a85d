//! yc-proto's integration tests: conformance with protobuf's reference JSON mapping (vectors written by the Python
//! runtime), parsing behaviour and its errors, binary -> JSON -> binary round trips for every registered type,
//! and snapshots of the documented shapes.
//!
//! The tests use only the public API, so they hold for any implementation behind it.

mod conformance;
mod dynamic;
mod parsing;
mod roundtrip;
mod serde_impls;
mod shapes;
mod support;
