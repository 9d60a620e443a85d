//! The method table: every RPC in `proto/`, its gRPC path, HTTP rule and operation types.
//!
//! The table is generated (`generated/methods.rs`) from the `google.api.http` and `yandex.cloud.api.operation`
//! options, so it is a static slice: no descriptor parsing at run time.

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
/// `/images/{resource_id}:listAccessBindings`), the one with more literal text wins.
pub fn match_rest(verb: &str, path: &str) -> Option<RestMatch> {
    let mut best: Option<(usize, RestMatch)> = None;
    for method in METHODS {
        let Some(rule) = method.http else { continue };
        if !rule.verb.eq_ignore_ascii_case(verb) {
            continue;
        }
        let Some((score, bindings)) = match_template(rule.path, path) else {
            continue;
        };
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, RestMatch { method, bindings }));
        }
    }
    best.map(|(_, m)| m)
}

/// Matches `path` against a template; returns the literal length matched and the bindings.
fn match_template(
    template: &'static str,
    path: &str,
) -> Option<(usize, Vec<(&'static str, String)>)> {
    let template_segments: Vec<&'static str> =
        template.trim_start_matches('/').split('/').collect();
    let path_segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if template_segments.len() != path_segments.len() {
        return None;
    }
    let mut score = 0;
    let mut bindings = Vec::new();
    for (t, p) in template_segments.into_iter().zip(path_segments) {
        match t.split_once('{') {
            None => {
                if t != p {
                    return None;
                }
                score += t.len() + 1;
            }
            Some((prefix, rest)) => {
                let (var, suffix) = rest.split_once('}')?;
                let field = var.split_once('=').map_or(var, |(f, _)| f);
                let value = p.strip_prefix(prefix)?.strip_suffix(suffix)?;
                if value.is_empty() {
                    return None;
                }
                score += prefix.len() + suffix.len() + 1;
                bindings.push((field, percent_decode(value)));
            }
        }
    }
    Some((score, bindings))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
