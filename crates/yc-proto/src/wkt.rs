//! The well-known types of `google.protobuf` this API uses, owned here so that they carry
//! protobuf's reference JSON mapping (pbjson-types writes `Timestamp`, `FieldMask` and `Any` differently).
//!
//! Their JSON (writing and `serde::Deserialize`) is hand-written in the submodules; `Any` resolves its payload
//! through [`crate::registry`]. Nothing here knows the API's own message types.

pub(crate) mod json;
mod time;

/// A point in time: seconds and nanoseconds since the Unix epoch, in UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A signed span of time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Duration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// Any message, as its type URL and encoded bytes.
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

impl Any {
    /// `message` packed with its type URL (`type.googleapis.com/<full name>`).
    pub fn from_msg<M: prost::Message + prost::Name>(message: &M) -> Any {
        Any {
            type_url: M::type_url(),
            value: message.encode_to_vec(),
        }
    }

    /// The packed message, if it is an `M`: an operation's `response` as the `Image` it holds, say.
    pub fn to_msg<M: prost::Message + prost::Name + Default>(&self) -> Result<M, crate::Error> {
        if self.type_url != M::type_url() {
            return Err(crate::Error::AnyType {
                expected: M::type_url(),
                found: self.type_url.clone(),
            });
        }
        M::decode(self.value.as_slice())
            .map_err(|source| crate::Error::decode(&M::full_name(), source))
    }
}

/// A set of field paths, e.g. the fields an update touches.
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct FieldMask {
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
}

/// The empty message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Empty {}

macro_rules! well_known {
    ($($ty:ident),*) => {$(
        impl ::prost::Name for $ty {
            const NAME: &'static str = stringify!($ty);
            const PACKAGE: &'static str = "google.protobuf";
            fn full_name() -> String {
                concat!("google.protobuf.", stringify!($ty)).into()
            }
            fn type_url() -> String {
                concat!("type.googleapis.com/google.protobuf.", stringify!($ty)).into()
            }
        }
    )*};
}

well_known!(Timestamp, Duration, Any, FieldMask, Empty);
