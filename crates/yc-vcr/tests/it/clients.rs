//! Real clients for the tests: a pass-through tonic codec and a hyper REST client.

use bytes::{Buf, BufMut, Bytes};
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use yc_cassette::{Body, RestInteraction};

/// A tonic codec that sends and receives message bytes as they are: the test decides what they mean.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// Sends the recorded REST request over HTTP/1.1 and describes the response.
pub(crate) async fn rest_call(url: &str, interaction: &RestInteraction) -> Value {
    let request = &interaction.request;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let query = if request.query.is_empty() {
        String::new()
    } else {
        format!("?{}", request.query)
    };
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(format!("{url}{}{query}", request.path));
    for (name, value) in request.headers.iter() {
        if name != "host" {
            builder = builder.header(name, value);
        }
    }
    let response = client
        .request(
            builder
                .body(Full::new(Bytes::from(request.body.to_bytes())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = headers_json(response.headers());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let content_type = interaction.response.headers.get("content-type");
    let body = match Body::from_bytes(content_type, &body) {
        Body::Json(value) => value,
        Body::Empty => Value::Null,
        other => json!(format!("{other:?}")),
    };
    json!({
        "call": format!("REST {} {}{query}", request.method, request.path),
        "status": status,
        "headers": headers,
        "body": body,
    })
}

/// Headers as JSON, minus those that differ from run to run.
pub(crate) fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        if name == "date" {
            continue;
        }
        out.insert(
            name.as_str().to_owned(),
            json!(value.to_str().unwrap_or("<binary>")),
        );
    }
    Value::Object(out)
}
