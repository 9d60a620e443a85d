//! Interactions, cassettes and indexes built in code, for tests, benchmarks and `cargo xtask`: one builder instead
//! of a copy in each of them. Behind the `fixture` feature (off by default; dev-dependencies, examples and xtask
//! turn it on).
//!
//! - [`grpc`] and [`rest`] start an interaction of either transport and set what differs from the plain case;
//!   [`get_image`] is the common one, a recorded `ImageService/Get` of an image by id;
//! - [`cassette`] (and [`cassette_matching`], with rules) holds interactions, [`index`] indexes cassettes as replay
//!   does;
//! - [`synthetic`] is a cassette of `n` distinct Gets shaped like recorded ones, for measuring at scale.
//!
//! ```
//! use yc_cassette::fixture::{self, get_image, rest};
//! let index = fixture::index(vec![fixture::cassette(vec![
//!     get_image("fd8abc", "ubuntu").build(),
//!     rest("GET", "/compute/v1/images/fd8abc").json(r#"{"id":"fd8abc"}"#).build(),
//! ])]);
//! assert_eq!(index.cassettes()[0].1.interactions.len(), 2);
//! ```

use prost::Name;
use yc_proto::Schema;
use yc_proto::compute::v1 as compute;

use crate::{
    Body, Cassette, GrpcInteraction, GrpcRequest, GrpcResponse, GrpcStatus, Headers, Index,
    Interaction, MatchRules, Message, Meta, Redactor, RestInteraction, RestRequest, RestResponse,
};

/// The method of [`get_image`].
pub const GET_IMAGE: &str = "/yandex.cloud.compute.v1.ImageService/Get";
/// The request type of [`GET_IMAGE`].
pub const GET_IMAGE_REQUEST: &str = "yandex.cloud.compute.v1.GetImageRequest";
/// The response type of [`GET_IMAGE`].
pub const IMAGE: &str = "yandex.cloud.compute.v1.Image";
/// The folder of the images [`image`] makes.
pub const FOLDER: &str = "b1g0123456789abcdefg";

/// Header fields in order.
pub fn headers(fields: &[(&str, &str)]) -> Headers {
    fields.iter().copied().collect()
}

/// A message of a generated type, stored as a recording stores it (typed JSON, raw bytes only where needed).
pub fn message<M: prost::Message + Name>(value: &M) -> Message {
    Message::from_bytes(
        &Schema::embedded(),
        Some(&M::full_name()),
        &value.encode_to_vec(),
    )
}

/// A message for [`Grpc::request`] and [`Grpc::response`].
pub trait IntoMessage {
    fn into_message(self) -> Message;
}

/// Stored as it is.
impl IntoMessage for Message {
    fn into_message(self) -> Message {
        self
    }
}

/// Stored as a recording stores it ([`message`]).
impl<M: prost::Message + Name> IntoMessage for &M {
    fn into_message(self) -> Message {
        message(self)
    }
}

/// A gRPC interaction being built.
#[derive(Clone, Debug)]
pub struct Grpc(GrpcInteraction);

/// A unary-shaped gRPC call of `method`: no metadata and no messages yet, answered with
/// `content-type: application/grpc` and status OK in trailers.
pub fn grpc(method: &str) -> Grpc {
    Grpc(GrpcInteraction {
        method: method.to_owned(),
        request: GrpcRequest::default(),
        response: GrpcResponse {
            headers: headers(&[("content-type", "application/grpc")]),
            ..GrpcResponse::default()
        },
    })
}

/// `ImageService/Get` of `image_id` as recorded (a redacted bearer token in the metadata), answered with
/// [`image`]`(image_id, name)`.
pub fn get_image(image_id: &str, name: &str) -> Grpc {
    grpc(GET_IMAGE)
        .metadata(&[("authorization", "Bearer <redacted:iam-token:00000000>")])
        .request(&get_image_request(image_id))
        .response(&image(image_id, name))
}

/// The request of [`GET_IMAGE`].
pub fn get_image_request(image_id: &str) -> compute::GetImageRequest {
    compute::GetImageRequest {
        image_id: image_id.to_owned(),
    }
}

/// An image with an id, a name and [`FOLDER`], the rest left at defaults.
pub fn image(id: &str, name: &str) -> compute::Image {
    compute::Image {
        id: id.to_owned(),
        folder_id: FOLDER.to_owned(),
        name: name.to_owned(),
        ..Default::default()
    }
}

impl Grpc {
    /// Changes anything the other methods do not reach.
    pub fn with(mut self, edit: impl FnOnce(&mut GrpcInteraction)) -> Grpc {
        edit(&mut self.0);
        self
    }

    /// The request metadata, replacing any set before.
    pub fn metadata(self, fields: &[(&str, &str)]) -> Grpc {
        self.with(|call| call.request.metadata = headers(fields))
    }

    /// Adds a request message: a value of a generated type, or a [`Message`] as it is stored.
    pub fn request(self, message: impl IntoMessage) -> Grpc {
        self.with(|call| call.request.messages.push(message.into_message()))
    }

    /// Adds a response message: a value of a generated type, or a [`Message`] as it is stored.
    pub fn response(self, message: impl IntoMessage) -> Grpc {
        self.with(|call| call.response.messages.push(message.into_message()))
    }

    /// The response headers, replacing the default `content-type`.
    pub fn headers(self, fields: &[(&str, &str)]) -> Grpc {
        self.with(|call| call.response.headers = headers(fields))
    }

    /// The response trailers other than the status.
    pub fn trailers(self, fields: &[(&str, &str)]) -> Grpc {
        self.with(|call| call.response.trailers = headers(fields))
    }

    /// The status the call ended with.
    pub fn status(self, status: GrpcStatus) -> Grpc {
        self.with(|call| call.response.status = status)
    }

    /// The status came in the headers (a trailers-only response).
    pub fn trailers_only(self) -> Grpc {
        self.with(|call| call.response.trailers_only = true)
    }

    pub fn build(self) -> Interaction {
        Interaction::Grpc(self.0)
    }
}

/// A REST interaction being built.
#[derive(Clone, Debug)]
pub struct Rest(RestInteraction);

/// `method path`: no query, headers or body, answered 200 with no headers and no body.
pub fn rest(method: &str, path: &str) -> Rest {
    Rest(RestInteraction {
        request: RestRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            ..RestRequest::default()
        },
        response: RestResponse {
            status: 200,
            ..RestResponse::default()
        },
    })
}

impl Rest {
    /// Changes anything the other methods do not reach.
    pub fn with(mut self, edit: impl FnOnce(&mut RestInteraction)) -> Rest {
        edit(&mut self.0);
        self
    }

    /// The query string, without its `?`.
    pub fn query(self, query: &str) -> Rest {
        self.with(|call| call.request.query = query.to_owned())
    }

    /// The request headers, replacing any set before.
    pub fn headers(self, fields: &[(&str, &str)]) -> Rest {
        self.with(|call| call.request.headers = headers(fields))
    }

    /// The request body.
    pub fn body(self, body: Body) -> Rest {
        self.with(|call| call.request.body = body)
    }

    /// The response status.
    pub fn status(self, status: u16) -> Rest {
        self.with(|call| call.response.status = status)
    }

    /// The response headers, replacing any set before.
    pub fn response_headers(self, fields: &[(&str, &str)]) -> Rest {
        self.with(|call| call.response.headers = headers(fields))
    }

    /// The response body.
    pub fn response(self, body: Body) -> Rest {
        self.with(|call| call.response.body = body)
    }

    /// A JSON answer: `content-type: application/json` and `text` stored as a recording stores it.
    pub fn json(self, text: &str) -> Rest {
        self.response_headers(&[("content-type", "application/json")])
            .response(Body::from_bytes(Some("application/json"), text.as_bytes()))
    }

    pub fn build(self) -> Interaction {
        Interaction::Rest(self.0)
    }
}

/// A cassette holding `interactions` in order, with no matching rules.
pub fn cassette(interactions: Vec<Interaction>) -> Cassette {
    cassette_matching(MatchRules::default(), interactions)
}

/// A cassette holding `interactions` in order, matched by `rules`.
pub fn cassette_matching(rules: MatchRules, interactions: Vec<Interaction>) -> Cassette {
    let mut cassette = Cassette::new(Meta {
        description: "fixture".to_owned(),
        recorded_with: "yc_cassette::fixture".to_owned(),
    });
    cassette.matching = rules;
    cassette.interactions = interactions;
    cassette
}

/// The index replay builds over `cassettes` (named `cassette-0.json`, `cassette-1.json`, ...), with the built-in
/// redaction and the embedded schema.
///
/// # Panics
///
/// When the cassettes do not index (a recording replay would refuse); a test that expects that calls [`Index::new`].
pub fn index(cassettes: Vec<Cassette>) -> Index {
    let named = cassettes
        .into_iter()
        .enumerate()
        .map(|(i, cassette)| (format!("cassette-{i}.json"), cassette))
        .collect();
    Index::new(named, Redactor::default(), Schema::embedded())
        .unwrap_or_else(|error| panic!("the fixture cassettes do not index: {error}"))
}

/// A cassette of `n` `ImageService/Get` interactions with distinct ids (`fd8scale00000000` on), shaped like
/// recorded ones: metadata as an SDK sends it, a trace id per answer, an [`synthetic_image`] with labels and a
/// description, about 2 KB of pretty JSON each.
pub fn synthetic(n: usize) -> Cassette {
    let interactions = (0..n)
        .map(|i| {
            let request_id = format!("00000000-0000-0000-0000-{i:012}");
            let trace_id = format!("{i:016x}");
            grpc(GET_IMAGE)
                .metadata(&[
                    ("authorization", "Bearer <redacted:iam-token:2b8a7b62>"),
                    (
                        "user-agent",
                        "grpc-python/1.66.1 grpc-c/43.0.0 (linux; chttp2)",
                    ),
                    ("x-request-id", &request_id),
                ])
                .request(&get_image_request(&synthetic_id(i)))
                .headers(&[
                    ("content-type", "application/grpc"),
                    ("x-server-trace-id", &trace_id),
                ])
                .response(&synthetic_image(i))
                .build()
        })
        .collect();
    cassette(interactions)
}

/// The id of the `i`th image of [`synthetic`].
pub fn synthetic_id(i: usize) -> String {
    format!("fd8scale{i:08}")
}

/// The `i`th image of [`synthetic`].
pub fn synthetic_image(i: usize) -> compute::Image {
    compute::Image {
        id: synthetic_id(i),
        folder_id: "b1gfolder0000000000".into(),
        name: format!("ubuntu-2204-lts-v{i}"),
        description:
            "Ubuntu 22.04 LTS, built for the scale benchmark; a description of realistic length"
                .into(),
        labels: [("family", "ubuntu"), ("build", "scale"), ("owner", "bench")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        family: "ubuntu-2204-lts".into(),
        storage_size: 4_194_304_000,
        min_disk_size: 5_368_709_120,
        product_ids: vec!["f2e0000000000000000".into(), "f2e0000000000000001".into()],
        status: 2,
        size: 3_221_225_472,
        ..Default::default()
    }
}
