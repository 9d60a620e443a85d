//! Placeholders compare by kind everywhere: a recording made with one credential matches a live request carrying
//! any other credential of the same kind, in every place and encoding a request can carry it, raw message bytes of
//! a method outside the schema included.

use base64::Engine as _;
use proptest::prelude::*;
use yc_cassette::{
    Body, GrpcInteraction, GrpcRequest, GrpcResponse, Headers, Index, Interaction, Message,
    Redactor, Request,
};

use crate::*;

/// A kind of credential and two of its values.
#[derive(Debug, Clone)]
struct Pair {
    /// Whether the kind has a shape (found anywhere) or only a name (found in secret fields).
    shaped: bool,
    a: String,
    b: String,
}

fn pairs() -> impl Strategy<Value = Pair> {
    let shaped =
        |s: BoxedStrategy<String>| (s.clone(), s).prop_map(|(a, b)| Pair { shaped: true, a, b });
    let iam = "t1\\.[A-Za-z0-9_-]{20,40}\\.[A-Za-z0-9_-]{86}".boxed();
    let oauth = "y0_[A-Z][a-z][A-Za-z0-9_-]{50,60}".boxed();
    let api_key = "AQVN[A-Za-z0-9_-]{36}".boxed();
    let jwt = "eyJ[A-Za-z0-9_-]{10,30}\\.eyJ[A-Za-z0-9_-]{10,40}\\.[A-Za-z0-9_-]{20,43}".boxed();
    let secret_key = "YC[A-Z][a-z][A-Za-z0-9]{36}".boxed();
    let shapeless = ("[a-f0-9]{12,40}", "[a-f0-9]{12,40}").prop_map(|(a, b)| Pair {
        shaped: false,
        a,
        b,
    });
    prop_oneof![
        shaped(iam),
        shaped(oauth),
        shaped(api_key),
        shaped(jwt),
        shaped(secret_key),
        shapeless,
    ]
}

/// A protobuf string field.
fn field(out: &mut Vec<u8>, number: u8, value: &str) {
    out.push(number << 3 | 2);
    let mut n = value.len();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(value.as_bytes());
}

/// Every byte as `%XX`.
fn escape_all(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// One request shape: how a credential is carried, and whether only a name reveals it.
struct Place {
    name: &'static str,
    by_name_only: bool,
    request: fn(&str) -> Live,
}

/// A request as the proxy sees it, before redaction.
enum Live {
    Grpc {
        method: &'static str,
        message: Vec<u8>,
        type_name: Option<&'static str>,
    },
    Rest {
        method: &'static str,
        path: String,
        query: String,
        content_type: &'static str,
        body: Vec<u8>,
    },
}

const CREATE_IMAGE: &str = "/yandex.cloud.compute.v1.ImageService/Create";
const CREATE_IMAGE_REQUEST: &str = "yandex.cloud.compute.v1.CreateImageRequest";
/// A token exchange of a service outside the schema, so its messages are kept as raw bytes.
const OUTSIDE_CREATE: &str = "/example.auth.v1.TokenService/Create";

fn places() -> Vec<Place> {
    vec![
        Place {
            name: "message text",
            by_name_only: false,
            request: |c| Live::Grpc {
                method: CREATE_IMAGE,
                message: create_image(&format!("made with {c} today")),
                type_name: Some(CREATE_IMAGE_REQUEST),
            },
        },
        Place {
            name: "raw bytes of a method outside the schema",
            by_name_only: false,
            request: |c| {
                let mut message = Vec::new();
                field(&mut message, 1, c);
                field(&mut message, 3, "b1gfolder");
                Live::Grpc {
                    method: OUTSIDE_CREATE,
                    message,
                    type_name: None,
                }
            },
        },
        Place {
            name: "secret query parameter",
            by_name_only: true,
            request: |c| Live::Rest {
                method: "GET",
                path: "/compute/v1/images".into(),
                query: format!("folderId=b1g&access_token={}", escape_all(c)),
                content_type: "application/json",
                body: Vec::new(),
            },
        },
        Place {
            name: "fully escaped query value",
            by_name_only: false,
            request: |c| Live::Rest {
                method: "GET",
                path: "/compute/v1/images".into(),
                query: format!("folderId=b1g&next={}", escape_all(c)),
                content_type: "application/json",
                body: Vec::new(),
            },
        },
        Place {
            name: "path segment",
            by_name_only: false,
            request: |c| Live::Rest {
                method: "DELETE",
                path: format!("/iam/v1/keys/{}", c.replace('.', "%2E")),
                query: String::new(),
                content_type: "application/json",
                body: Vec::new(),
            },
        },
        Place {
            name: "JSON field",
            by_name_only: true,
            request: |c| Live::Rest {
                method: "POST",
                path: "/iam/v1/tokens".into(),
                query: String::new(),
                content_type: "application/json",
                body: serde_json::json!({ "yandexPassportOauthToken": c, "folderId": "b1g" })
                    .to_string()
                    .into_bytes(),
            },
        },
        Place {
            name: "form body",
            by_name_only: true,
            request: |c| Live::Rest {
                method: "POST",
                path: "/oauth/token".into(),
                query: String::new(),
                content_type: "application/x-www-form-urlencoded",
                body: format!(
                    "grant_type=exchange&client_secret={}&scope=x",
                    escape_all(c)
                )
                .into_bytes(),
            },
        },
        Place {
            name: "base64 inside a longer string",
            by_name_only: false,
            request: |c| Live::Rest {
                method: "POST",
                path: "/upload".into(),
                query: String::new(),
                content_type: "application/json",
                body: serde_json::json!({
                    "blob": format!(
                        "data:{}",
                        base64::engine::general_purpose::STANDARD.encode(format!("key {c} end"))
                    ),
                })
                .to_string()
                .into_bytes(),
            },
        },
    ]
}

fn create_image(description: &str) -> Vec<u8> {
    use prost::Message as _;
    compute::CreateImageRequest {
        folder_id: "b1gfolder".into(),
        name: "disk".into(),
        description: description.to_owned(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The interaction `record` would store for `live` (before redaction).
fn recorded(live: &Live) -> Interaction {
    match live {
        Live::Grpc {
            method,
            message,
            type_name,
        } => Interaction::Grpc(GrpcInteraction {
            method: (*method).to_owned(),
            request: GrpcRequest {
                metadata: Headers::new(),
                messages: vec![Message::from_bytes(
                    &yc_proto::Schema::embedded(),
                    *type_name,
                    message,
                )],
            },
            response: GrpcResponse::default(),
        }),
        Live::Rest {
            method,
            path,
            query,
            content_type,
            body,
        } => {
            let mut interaction = rest_interaction(
                method,
                path,
                query,
                Body::from_bytes(Some(content_type), body),
                "{}",
            );
            if let Interaction::Rest(r) = &mut interaction {
                r.request.headers = headers(&[("content-type", content_type)]);
            }
            interaction
        }
    }
}

fn lookup(index: &Index, live: &Live) -> Result<usize, String> {
    let result = match live {
        Live::Grpc {
            method, message, ..
        } => index.lookup(&Request::Grpc {
            method,
            metadata: &Headers::new(),
            messages: std::slice::from_ref(message),
        }),
        Live::Rest {
            method,
            path,
            query,
            content_type,
            body,
        } => index.lookup(&Request::Rest {
            method,
            path,
            query,
            headers: &headers(&[("content-type", content_type)]),
            body,
        }),
    };
    result.map(|hit| hit.index).map_err(|miss| miss.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_credential_of_the_recorded_kind_matches_the_same_recording(pair in pairs()) {
        let redactor = Redactor::default();
        let places: Vec<Place> = places()
            .into_iter()
            .filter(|p| pair.shaped || p.by_name_only)
            .collect();
        let mut interactions: Vec<Interaction> =
            places.iter().map(|p| recorded(&(p.request)(&pair.a))).collect();
        for interaction in &mut interactions {
            redactor.redact_interaction(interaction);
        }
        let text = cassette(interactions.clone()).to_json_string();
        prop_assert!(!text.contains(&pair.a), "the credential reached the cassette:\n{}", text);
        let index = Index::new(vec![("c.json".to_owned(), cassette(interactions))], redactor, yc_proto::Schema::embedded()).unwrap();
        for (i, place) in places.iter().enumerate() {
            let with_a = lookup(&index, &(place.request)(&pair.a));
            let with_b = lookup(&index, &(place.request)(&pair.b));
            prop_assert_eq!(&with_a, &Ok(i), "{} with the recorded credential", place.name);
            prop_assert_eq!(&with_b, &with_a, "{} with another credential of its kind", place.name);
        }
    }
}
