//! The API as a value: a [`Schema`] built from a descriptor set owns the descriptor pool, every message type
//! (the generated fast path for the types of the embedded files, else a dynamic type from its descriptor), the
//! method table with compiled `google.api.http` rules and a router over them, and the
//! `yandex.cloud.api.operation` types.
//!
//! [`Schema::embedded`] is the schema of `proto/` ([`crate::DESCRIPTOR_SET`]), built once; a user's descriptors
//! (compiled from their own protos, or a descriptor set file) are merged over it with
//! [`Schema::with_descriptor_sets`]. Everything above this crate takes a schema as a parameter; the static tables
//! ([`crate::registry`], [`crate::methods`]) are the typed convenience layer for code that knows its types.
//! Pure: no IO, the caller reads files.

mod methods;
mod set;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use prost_reflect::{DescriptorPool, MessageDescriptor};

use crate::Error;
use crate::http::{Route, Router, Template};
use crate::json::{ParseOptions, Style};
use crate::registry;

pub use methods::{HttpBinding, Method, OperationTypes, resolve_message};

/// Descriptors, message types, methods and their HTTP rules.
pub struct Schema {
    pool: DescriptorPool,
    encoded: Vec<u8>,
    types: HashMap<Box<str>, MessageType>,
    /// Sorted by gRPC path.
    methods: Vec<Method>,
    /// `(method index, binding index)` per template.
    router: Router<(usize, usize)>,
}

/// One message type of a schema: binary ↔ JSON in both styles.
#[derive(Clone)]
pub struct MessageType {
    descriptor: MessageDescriptor,
    generated: Option<&'static registry::MessageType>,
}

/// A REST request resolved to its method.
#[derive(Debug, Clone)]
pub struct RestRoute<'s> {
    pub method: &'s Method,
    /// The rule that matched (the method's own or one of its `additional_bindings`).
    pub binding: &'s HttpBinding,
    pub template: &'s Template,
    /// `(field path, percent-decoded value)` per path variable.
    pub bindings: Vec<(&'s str, String)>,
}

impl Schema {
    /// The schema of `proto/`, built on first use and shared.
    pub fn embedded() -> Arc<Schema> {
        static EMBEDDED: OnceLock<Arc<Schema>> = OnceLock::new();
        EMBEDDED
            .get_or_init(|| {
                let pool = registry::descriptor_pool().clone();
                let generated = pool.files().map(|f| f.name().to_owned()).collect();
                let schema =
                    Schema::build(pool, &generated).expect("the embedded descriptor set is valid");
                Arc::new(schema)
            })
            .clone()
    }

    /// The embedded schema with the files of each encoded `FileDescriptorSet` (`protoc --descriptor_set_out`,
    /// `buf build -o`, protox) merged over it.
    ///
    /// A user's file of the same name as an embedded one replaces it (a newer `cloudapi` file with more messages
    /// or methods); its types then go through the dynamic codec unless it is byte for byte the embedded file.
    /// Of two sets that hold a file, the first wins.
    pub fn with_descriptor_sets<'a>(
        sets: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Schema, Error> {
        let mut chosen: Vec<&[u8]> = Vec::new();
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for set in sets {
            for (name, file) in set::files(set)? {
                by_name.entry(name).or_insert_with(|| {
                    chosen.push(file);
                    chosen.len() - 1
                });
            }
        }
        let mut generated = HashSet::new();
        for (name, file) in set::files(crate::DESCRIPTOR_SET)? {
            match by_name.get(name) {
                Some(&i) if chosen[i] != file => continue,
                Some(_) => {}
                None => chosen.push(file),
            }
            generated.insert(name.to_owned());
        }
        let pool = DescriptorPool::decode(set::encode(chosen).as_slice())
            .map_err(|e| Error::Descriptors(e.to_string()))?;
        Schema::build(pool, &generated)
    }

    /// `generated`: the files whose types are the generated ones (the embedded files, as embedded).
    fn build(pool: DescriptorPool, generated_files: &HashSet<String>) -> Result<Schema, Error> {
        // The generated `Any` finds its payload in the generated registry only; once the schema has types of its
        // own, a generated type that can hold an `Any` goes through the dynamic codec, which looks in the pool.
        let extended = pool.files().len() != generated_files.len();
        let mut holds_any = HashMap::new();
        let types = pool
            .all_messages()
            .map(|descriptor| {
                let generated = generated_files
                    .contains(descriptor.parent_file().name())
                    .then_some(())
                    .filter(|()| !(extended && reaches_any(&descriptor, &mut holds_any)))
                    .and_then(|()| registry::get(descriptor.full_name()));
                let name: Box<str> = descriptor.full_name().into();
                (
                    name,
                    MessageType {
                        descriptor,
                        generated,
                    },
                )
            })
            .collect();
        let methods = methods::read(&pool)?;
        let mut router = Router::new();
        for (m, method) in methods.iter().enumerate() {
            for (b, binding) in method.http.iter().enumerate() {
                router.add(&binding.verb, binding.template.clone(), (m, b));
            }
        }
        Ok(Schema {
            encoded: pool.encode_to_vec(),
            pool,
            types,
            methods,
            router,
        })
    }

    /// Every descriptor, with custom options.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The encoded `FileDescriptorSet` of every file, for gRPC reflection.
    pub fn descriptor_set(&self) -> &[u8] {
        &self.encoded
    }

    /// The message type named `full_name`, e.g. `yandex.cloud.compute.v1.Image`.
    pub fn message(&self, full_name: &str) -> Option<&MessageType> {
        self.types.get(full_name)
    }

    /// The type a `google.protobuf.Any` names, e.g. `type.googleapis.com/yandex.cloud.compute.v1.Image`.
    pub fn by_type_url(&self, type_url: &str) -> Option<&MessageType> {
        self.message(type_url.rsplit_once('/').map_or(type_url, |(_, name)| name))
    }

    /// Every RPC, sorted by gRPC path.
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// The RPC served at a gRPC path such as `/yandex.cloud.compute.v1.ImageService/Get`.
    pub fn method(&self, grpc_path: &str) -> Option<&Method> {
        self.methods
            .binary_search_by(|m| m.grpc_path.as_str().cmp(grpc_path))
            .ok()
            .map(|i| &self.methods[i])
    }

    /// The RPC a REST request calls (`path` as sent, without the query), by its `google.api.http` rules.
    pub fn route(&self, verb: &str, path: &str) -> Option<RestRoute<'_>> {
        let Route {
            target: &(m, b),
            template,
            bindings,
        } = self.router.route(verb, path)?;
        let method = &self.methods[m];
        Some(RestRoute {
            method,
            binding: &method.http[b],
            template,
            bindings,
        })
    }
}

/// Whether a message of this type can hold a `google.protobuf.Any`, at any depth.
fn reaches_any(descriptor: &MessageDescriptor, memo: &mut HashMap<String, bool>) -> bool {
    if let Some(&known) = memo.get(descriptor.full_name()) {
        return known;
    }
    // A type being visited (a recursive one) counts as no `Any` until its other fields say otherwise.
    memo.insert(descriptor.full_name().to_owned(), false);
    let found = descriptor.full_name() == "google.protobuf.Any"
        || descriptor.fields().any(|field| match field.kind() {
            prost_reflect::Kind::Message(inner) => reaches_any(&inner, memo),
            _ => false,
        });
    memo.insert(descriptor.full_name().to_owned(), found);
    found
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("files", &self.pool.files().len())
            .field("types", &self.types.len())
            .field("methods", &self.methods.len())
            .finish_non_exhaustive()
    }
}

impl MessageType {
    /// Full name, e.g. `yandex.cloud.compute.v1.Image`.
    pub fn full_name(&self) -> &str {
        self.descriptor.full_name()
    }

    /// The type URL `Any` uses: `type.googleapis.com/<full name>`.
    pub fn type_url(&self) -> String {
        format!("type.googleapis.com/{}", self.full_name())
    }

    pub fn descriptor(&self) -> &MessageDescriptor {
        &self.descriptor
    }

    /// Whether JSON goes through generated code (else through [`crate::json::dynamic`]).
    pub fn is_generated(&self) -> bool {
        self.generated.is_some()
    }

    /// Whether the JSON of `bytes` would encode back to exactly `bytes`, without writing and parsing it:
    /// the generated type's answer ([`registry::MessageType::reencodes_exactly`]); `None` (ask the JSON) for a
    /// dynamic type.
    pub fn reencodes_exactly(&self, bytes: &[u8]) -> Option<bool> {
        self.generated?.reencodes_exactly(bytes)
    }

    /// Binary to JSON text.
    pub fn to_json(&self, bytes: &[u8], style: Style) -> Result<String, Error> {
        match self.generated {
            Some(generated) => generated.to_json(bytes, style),
            None => crate::json::dynamic::to_json(&self.descriptor, bytes, style),
        }
    }

    /// Binary to a JSON value.
    pub fn to_json_value(&self, bytes: &[u8], style: Style) -> Result<serde_json::Value, Error> {
        match self.generated {
            Some(generated) => generated.to_json_value(bytes, style),
            None => crate::json::dynamic::to_json_value(&self.descriptor, bytes, style),
        }
    }

    /// [`MessageType::to_json_value`] and [`MessageType::reencodes_exactly`] together, from one decode where the
    /// type is generated.
    pub fn to_json_value_reencoding(
        &self,
        bytes: &[u8],
        style: Style,
    ) -> Result<(serde_json::Value, Option<bool>), Error> {
        match self.generated {
            Some(generated) => generated.to_json_value_reencoding(bytes, style),
            None => Ok((self.to_json_value(bytes, style)?, None)),
        }
    }

    /// JSON text in either style to binary.
    pub fn from_json(&self, json: &str, options: ParseOptions) -> Result<Vec<u8>, Error> {
        match self.generated {
            Some(generated) => generated.from_json(json, options),
            None => crate::json::dynamic::from_json(&self.descriptor, json, options),
        }
    }

    /// A JSON value in either style to binary.
    pub fn from_json_value(
        &self,
        value: &serde_json::Value,
        options: ParseOptions,
    ) -> Result<Vec<u8>, Error> {
        match self.generated {
            Some(generated) => generated.from_json_value(value, options),
            None => crate::json::dynamic::from_json_value(&self.descriptor, value, options),
        }
    }
}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageType")
            .field("full_name", &self.full_name())
            .field("generated", &self.is_generated())
            .finish()
    }
}

#[cfg(test)]
mod tests;
