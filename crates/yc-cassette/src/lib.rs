//! Cassettes of recorded Yandex Cloud API traffic: the model and its file format, request matching,
//! redaction and the secret scan.
//!
//! This crate is the pure core of yc-vcr. It knows nothing of sockets, clocks or tokio; its only IO is
//! [`Cassette::load`] and [`Cassette::save`]. The proxy records into and replays from these values.
//! A recorder hands over each call as it came off the wire ([`wire::Call`]: header maps, body bytes, trailers) and
//! gets an [`Interaction`] back ([`wire::interaction`]); [`wire::grpc`] holds the gRPC framing and status.
//!
//! # The file format
//!
//! One UTF-8 JSON file per cassette, pretty-printed with two-space indents, keys in a fixed order, ending with a
//! newline, and no timestamps: re-recording the same traffic gives the same file. Interactions are in recorded
//! order. A gRPC interaction keeps the method path, request metadata and messages, response headers, messages,
//! trailers (apart from headers) and the status, whose `grpc-status-details-bin` is decoded into `details`.
//! Messages are snake_case JSON with their protobuf type; `raw` (base64) is added only when encoding the JSON does
//! not reproduce the recorded bytes (unknown fields, an unknown method), so replay stays byte for byte.
//! `-bin` metadata stays as its wire text. A REST body is `{"json": ...}` when re-serialising the JSON gives the
//! exact bytes, else `{"text": ...}`, else `{"base64": ...}`; an empty body is left out.
//!
//! ```json
//! {
//!   "version": 1,
//!   "meta": { "description": "compute Get", "recorded_with": "yc-vcr 0.1.0" },
//!   "matching": { "headers": [], "ignore_fields": [] },
//!   "interactions": [
//!     {
//!       "grpc": {
//!         "method": "/yandex.cloud.compute.v1.ImageService/Get",
//!         "request": {
//!           "metadata": { "authorization": "Bearer <redacted:iam-token:5f1c2a9e>" },
//!           "messages": [{ "type": "yandex.cloud.compute.v1.GetImageRequest", "json": { "image_id": "fd8abc" } }]
//!         },
//!         "response": {
//!           "headers": { "content-type": "application/grpc" },
//!           "messages": [{ "type": "yandex.cloud.compute.v1.Image", "json": { "id": "fd8abc" } }],
//!           "trailers": {},
//!           "status": { "code": 0, "message": "" }
//!         }
//!       }
//!     },
//!     { "rest": { "request": { "method": "GET", "path": "/compute/v1/images/fd8abc", "query": "", "headers": {} },
//!                 "response": { "status": 200, "headers": {}, "body": { "json": { "id": "fd8abc" } } } } }
//!   ]
//! }
//! ```
//!
//! Response `trailers` hold the trailer fields other than `grpc-status`, `grpc-message` and
//! `grpc-status-details-bin`, which live in `status` ([`GrpcStatus::from_wire`] when recording,
//! [`GrpcStatus::details_bin_text`] when replaying; `details_bin` keeps the original text only when re-encoding the
//! decoded details would not reproduce it). Header names are lower-case; a repeated name is written once with an
//! array of values, so order is kept among the values of one name but not between interleaved names.
//!
//! Loading never panics: bad JSON, a truncated file, a wrong version, an unknown field or a message that is not its
//! type gives an [`Error`] with the file, line, column (or interaction) and what was expected.
//! Saving writes a temporary file in the same directory, syncs it and renames it over the target.
//!
//! # Matching
//!
//! [`Index`] keys every recorded request by a canonical form (sorted-key JSON): transport, gRPC method or REST verb,
//! path and query (as sorted decoded pairs), the body as data (decoded message JSON; parsed JSON, else text or
//! bytes), and only the headers a cassette lists in [`MatchRules::headers`]; volatile headers ([`VOLATILE_HEADERS`])
//! never count. [`MatchRules::ignore_fields`] removes body fields by dotted path. Requests are redacted with the same
//! [`Redactor`] before keying, and placeholders compare by kind, so a live request with a fresh token matches its
//! redacted recording. Identical requests get their recorded responses in recorded order and after the last the last
//! repeats (a client polling an operation never hangs); different requests may come in any order, from any thread.
//! A [`Miss`] names the request, shows it as JSON, and points at the closest recording (same method first, then
//! fewest differing fields) with each differing field's path and both values.
//!
//! Every request also has a **logical key**: the gRPC method and its one request message as canonical snake_case
//! JSON. A gRPC request's is its decoded message; a REST request's is built as the gRPC-JSON transcoder in front of
//! the API builds it (`google.api.http` rules, through `yc_proto::Schema::route`): path variables set their
//! fields, a `*` body is the rest of the message (a named body fills that field), and query parameters set fields
//! by JSON or proto name, dotted for nested fields, repeated for repeated ones, converted by the field's type
//! (strings, numbers, bools, enums by name or number, timestamps, durations, field masks, wrappers); the result goes
//! through the request type, so both spellings meet in one form. When the exact key misses, [`Index::lookup`] tries
//! the logical key, which points at the same recordings and cursors: a cassette recorded over gRPC serves REST
//! clients and the reverse, and one sequence (an operation polled) continues across transports.
//! [`Hit::translated`] says when the recording is of the other transport, so the caller can translate the answer.
//! Redaction, matched headers and `ignore_fields` apply to the logical key as to the exact one. Streaming methods,
//! methods without an HTTP rule and REST requests that do not transcode (an unknown query parameter, a body that is
//! not the request type) have no logical key; when the same method was recorded over the other transport, a
//! [`Miss`] says so in [`Miss::logical`]: the logical form tried and its closest recording, or why there was none.
//!
//! # Redaction
//!
//! Secrets never reach the disk. Built-in rules replace with `<redacted:KIND:HASH8>` (first 8 hex digits of the
//! secret's SHA-256, so the same secret gives the same placeholder); what is replaced:
//! - by header name: `authorization`, `proxy-authorization`, `cookie`, `set-cookie`, `x-yacloud-subjecttoken`,
//!   `x-amz-security-token`, `x-api-key`, any name containing `authorization`, any `x-` name containing `auth`,
//!   and any `x-` name that is a secret field name (`x-iam-token`); an auth scheme word such as `Bearer` stays;
//! - by field name, in JSON at any depth (everything under the field), queries, form bodies and URLs anywhere:
//!   `iam_token`, `yandex_passport_oauth_token`, `jwt`, `private_key`, `secret`, `password`, `token`,
//!   `access_token`, `refresh_token`, `client_secret`, `subject_token`, `api_key`, `credentials`, `signature`
//!   (AWS SigV2 `Signature=`), `X-Amz-Signature` and more, in any spelling (`apiKey`, `api-key`, `API_KEY`);
//! - by meaning: the credential after an auth scheme word (`Bearer`, `Basic`, `Api-Key`, `OAuth`, `Digest`) in any
//!   value it starts (and in free text when it looks like one); anything shaped like an IAM token (`t1.`), OAuth
//!   token (`y0_`..`y3_`, `AQAAAA`), API key (`AQVN`), static access key id (`YCAJ`) and secret (`YC` and 38
//!   mixed-case characters), JWT or PEM private key, and `X-Amz-Signature`/`-Credential`/`-Security-Token` values;
//! - in every place: headers, trailers, `-bin` metadata, messages (JSON and raw bytes, cleaned field by field with
//!   lengths fixed up, or dropped with a `note`), status message and details, REST path, query and bodies;
//! - through every encoding (the `decode` module): JSON escapes (values are examined parsed), URL escapes (up to
//!   four levels, replaced in place), form bodies, base64 runs inside any string (cleaned and written back in the
//!   same alphabet), compressed blobs inside base64 (up to 1 MiB decoded), REST bodies per `content-encoding` and
//!   gRPC messages per `grpc-encoding`, both stored decoded ([`Body::from_wire`], [`RestResponse::encoding`]).
//!
//! [`RedactionRules`] adds header names, field names or paths, and regular expressions.
//! [`scan`] and [`Redactor::scan_text`] are the fail-closed last check: they run the same rules through the same
//! layers, so whatever redaction would replace they report. What is not found: a credential with no shape under a
//! name that is not on the list (add a rule), a secret more than four encodings deep, and one inside a compressed
//! blob whose decoded size passes 1 MiB (bodies: 64 MiB, [`MAX_DECODED_SIZE`]; a body past it is not recorded).
//!
//! Not yet expressible: timing (deliberately: replay never waits), the interleaving of request and response
//! messages in a bidirectional stream, per-message compression flags, REST trailers and the HTTP version, and
//! `Operation` semantics beyond recorded order (the link between the gRPC and REST forms of one call is not stored:
//! matching derives it from the schema's HTTP rules).

/// Declares `fn NAME<R>(f: impl FnOnce(&Regex) -> R) -> R`, which gives `f` this thread's copy of a regex compiled
/// once. The `regex` crate keeps one pool of search caches per `Regex`, fast only for the thread that used it first;
/// every other thread takes a mutex, and loading, indexing and scanning on all cores spent a tenth of `check` in that
/// pool (`Pool::get_slow`). A clone shares the compiled program and has a pool of its own (the crate's advice,
/// rust-lang/regex#934).
macro_rules! thread_regex {
    ($(#[$doc:meta])* $vis:vis fn $name:ident() -> $ty:ty = $make:expr;) => {
        $(#[$doc])*
        $vis fn $name<R>(f: impl FnOnce(&$ty) -> R) -> R {
            static SHARED: std::sync::OnceLock<$ty> = std::sync::OnceLock::new();
            thread_local! {
                static LOCAL: $ty = SHARED.get_or_init(|| $make).clone();
            }
            LOCAL.with(f)
        }
    };
}

mod decode;
mod error;
mod format;
mod matching;
mod model;
mod redact;
mod scan;
mod store;
mod transcode;

#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
pub mod parallel;
pub mod wire;

pub use decode::{DecodeError, Encoding, MAX_DECODED_SIZE, decode_content, encode_content};
pub use error::Error;
pub use format::{CassetteFile, CassetteSnapshot, Keep};
pub use matching::{
    Closest, Cursors, Difference, Hit, Index, LogicalMiss, Miss, Request, VOLATILE_HEADERS,
};
pub use model::{
    Body, Cassette, FORMAT_VERSION, GrpcInteraction, GrpcRequest, GrpcResponse, GrpcStatus,
    Headers, Interaction, MatchRules, Message, Meta, RestInteraction, RestRequest, RestResponse,
};
pub use redact::{RedactionRules, Redactor};
pub use scan::{Finding, scan, scan_text};
pub use store::journal::{self, Journal, JournalHeader, JournalWriter};
pub use store::lock::{self, CassetteLock};
pub use store::{DEFAULT_MAX_CASSETTE_SIZE, Opened, Recovery, journal_path, lock_path, read_text};
