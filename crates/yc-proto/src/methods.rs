//! The method table: every RPC in `proto/`, its gRPC path, HTTP rule and operation types.
//!
//! The table is generated (`generated/methods.rs`) from the `google.api.http` and `yandex.cloud.api.operation`
//! options, so it is a static slice: no descriptor parsing at run time. REST requests resolve through one
//! [`crate::http::Router`] over every rule, built on first use.

/// One RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// Full service name, e.g. `yandex.cloud.compute.v1.ImageService`.
    pub service: &'static str,
    /// Method name, e.g. `Get`.
    pub name: &'static str,
    /// The HTTP/2 path gRPC uses, e.g. `/yandex.cloud.compute.v1.ImageService/Get`.
    pub grpc_path: &'static str,
    /// Full name of the request message.
    pub input_type: &'static str,
    /// Full name of the response message.
    pub output_type: &'static str,
    pub client_streaming: bool,
    pub server_streaming: bool,
    /// The REST mapping, from `google.api.http`.
    pub http: Option<HttpRule>,
    /// For methods returning an `Operation`: what its `metadata` and `response` hold.
    pub operation: Option<OperationTypes>,
}

/// A `google.api.http` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRule {
    /// Upper-case HTTP verb.
    pub verb: &'static str,
    /// Path template, e.g. `/compute/v1/images/{image_id}`.
    pub path: &'static str,
    /// Which request field the body fills: `*` for all, empty for none.
    pub body: &'static str,
}

/// Full type names of an operation's `metadata` and `response`, from `yandex.cloud.api.operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationTypes {
    pub metadata: &'static str,
    pub response: &'static str,
}

/// A REST request resolved to its RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestMatch {
    pub method: &'static Method,
    /// Request fields bound by path variables, percent-decoded: `("image_id", "fd8abc")`.
    pub bindings: Vec<(&'static str, String)>,
}

use std::sync::OnceLock;

use crate::http::{Router, Template};

include!("generated/methods.rs");

/// Every RPC, sorted by gRPC path.
pub fn all() -> &'static [Method] {
    METHODS
}

/// The RPC served at a gRPC path such as `/yandex.cloud.compute.v1.ImageService/Get`.
pub fn by_grpc_path(path: &str) -> Option<&'static Method> {
    METHODS
        .binary_search_by(|m| m.grpc_path.cmp(path))
        .ok()
        .map(|i| &METHODS[i])
}

/// The RPC a REST request calls: `("GET", "/compute/v1/images/fd8abc")` is `ImageService/Get`
/// with `image_id` bound to `fd8abc`.
///
/// `path` has no query string. Where templates overlap (`/images/{image_id}` and
/// `/images/{resource_id}:listAccessBindings`), the most specific wins ([`crate::http::Specificity`]).
pub fn match_rest(verb: &str, path: &str) -> Option<RestMatch> {
    let route = router().route(verb, path)?;
    Some(RestMatch {
        method: route.target,
        bindings: route.bindings,
    })
}

/// The router over every method's rule, built on first use.
fn router() -> &'static Router<&'static Method> {
    static ROUTER: OnceLock<Router<&'static Method>> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut router = Router::new();
        for method in METHODS {
            // Every generated template parses (a test checks); one that did not would only be unroutable.
            if let Some(rule) = method.http
                && let Ok(template) = Template::parse(rule.path)
            {
                router.add(rule.verb, template, method);
            }
        }
        router
    })
}

#[cfg(test)]
mod tests;
