//! The method table read from descriptors at run time: what `cargo xtask codegen` writes into
//! `generated/methods.rs` for `proto/`, for any pool, with every `additional_bindings` rule as well.

use prost_reflect::{DescriptorPool, MethodDescriptor, Value};

use crate::Error;
use crate::google::api::HttpRule;
use crate::google::api::http_rule::Pattern;
use crate::http::Template;
use crate::yandex_cloud::api::Operation;

/// One RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Full service name, e.g. `yandex.cloud.compute.v1.ImageService`.
    pub service: String,
    /// Method name, e.g. `Get`.
    pub name: String,
    /// The HTTP/2 path gRPC uses, e.g. `/yandex.cloud.compute.v1.ImageService/Get`.
    pub grpc_path: String,
    /// Full name of the request message.
    pub input_type: String,
    /// Full name of the response message.
    pub output_type: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
    /// The REST mappings, from `google.api.http`: the rule, then its `additional_bindings`.
    pub http: Vec<HttpBinding>,
    /// For methods returning an `Operation`: what its `metadata` and `response` hold.
    pub operation: Option<OperationTypes>,
}

/// One `google.api.http` rule, its template compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpBinding {
    /// Upper-case HTTP verb (or a custom pattern's kind).
    pub verb: String,
    pub template: Template,
    /// Which request field the body fills: `*` for all, empty for none.
    pub body: String,
}

/// Full type names of an operation's `metadata` and `response`, from `yandex.cloud.api.operation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationTypes {
    pub metadata: String,
    pub response: String,
}

impl Method {
    /// Whether one message goes each way.
    pub fn is_unary(&self) -> bool {
        !self.client_streaming && !self.server_streaming
    }

    /// The first REST mapping, if any.
    pub fn rule(&self) -> Option<&HttpBinding> {
        self.http.first()
    }
}

/// Every method of every service in `pool`, sorted by gRPC path.
pub(super) fn read(pool: &DescriptorPool) -> Result<Vec<Method>, Error> {
    let http_ext = pool.get_extension_by_name("google.api.http");
    let operation_ext = pool.get_extension_by_name("yandex.cloud.api.operation");
    let mut methods = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            let http = match &http_ext {
                Some(ext) if options.has_extension(ext) => {
                    let rule: HttpRule = transcode(&options.get_extension(ext), &method)?;
                    bindings(&rule, &method)?
                }
                _ => Vec::new(),
            };
            let operation = match &operation_ext {
                Some(ext) if options.has_extension(ext) => {
                    let op: Operation = transcode(&options.get_extension(ext), &method)?;
                    Some(OperationTypes {
                        metadata: resolve(&method, &op.metadata)?,
                        response: resolve(&method, &op.response)?,
                    })
                }
                _ => None,
            };
            methods.push(Method {
                service: service.full_name().to_owned(),
                name: method.name().to_owned(),
                grpc_path: format!("/{}/{}", service.full_name(), method.name()),
                input_type: method.input().full_name().to_owned(),
                output_type: method.output().full_name().to_owned(),
                client_streaming: method.is_client_streaming(),
                server_streaming: method.is_server_streaming(),
                http,
                operation,
            });
        }
    }
    methods.sort_by(|a, b| a.grpc_path.cmp(&b.grpc_path));
    Ok(methods)
}

fn transcode<T: prost::Message + Default>(
    value: &Value,
    method: &MethodDescriptor,
) -> Result<T, Error> {
    value
        .as_message()
        .and_then(|m| m.transcode_to::<T>().ok())
        .ok_or_else(|| {
            Error::Descriptors(format!(
                "an option of `{}` is not its declared type",
                method.full_name()
            ))
        })
}

/// The rule and its `additional_bindings`, each template parsed.
fn bindings(rule: &HttpRule, method: &MethodDescriptor) -> Result<Vec<HttpBinding>, Error> {
    let mut out = Vec::new();
    for rule in std::iter::once(rule).chain(&rule.additional_bindings) {
        let (verb, path) = match &rule.pattern {
            Some(Pattern::Get(path)) => ("GET", path),
            Some(Pattern::Put(path)) => ("PUT", path),
            Some(Pattern::Post(path)) => ("POST", path),
            Some(Pattern::Delete(path)) => ("DELETE", path),
            Some(Pattern::Patch(path)) => ("PATCH", path),
            Some(Pattern::Custom(custom)) => (custom.kind.as_str(), &custom.path),
            None => continue,
        };
        let template = Template::parse(path)
            .map_err(|e| Error::Descriptors(format!("`{}`: {e}", method.full_name())))?;
        out.push(HttpBinding {
            verb: verb.to_ascii_uppercase(),
            template,
            body: rule.body.clone(),
        });
    }
    Ok(out)
}

/// A type name from `method`'s operation option, resolved ([`resolve_message`]); an error naming the option when no
/// message has that name.
fn resolve(method: &MethodDescriptor, name: &str) -> Result<String, Error> {
    resolve_message(method, name).ok_or_else(|| {
        Error::Descriptors(format!(
            "`{}` in the operation option of `{}` names no message",
            name.trim_start_matches('.'),
            method.full_name()
        ))
    })
}

/// The full name of the message `name` refers to in `method`'s service, resolved as protobuf resolves a type name
/// relative to a package: the innermost scope first. `None` when no scope has it.
pub fn resolve_message(method: &MethodDescriptor, name: &str) -> Option<String> {
    let pool = method.parent_pool();
    let name = name.trim_start_matches('.');
    let mut scope = method.parent_service().package_name();
    loop {
        let candidate = if scope.is_empty() {
            name.to_owned()
        } else {
            format!("{scope}.{name}")
        };
        if pool.get_message_by_name(&candidate).is_some() {
            return Some(candidate);
        }
        if scope.is_empty() {
            return None;
        }
        scope = scope.rsplit_once('.').map_or("", |(parent, _)| parent);
    }
}
