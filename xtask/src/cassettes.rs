//! `cargo xtask cassettes`: the bundled cassettes in `cassettes/`, one per scenario of the API reference.
//!
//! They are synthetic: built here from `yc-proto` types with realistic ids and values, then passed through the same
//! redaction and secret scan as a recording. Each says so in its `meta.recorded_with`.
//! A test fails when the files in `cassettes/` differ from what this module builds.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use prost::Name;
use yc_cassette::{Body, Cassette, GrpcStatus, Interaction, Meta, Redactor, fixture};
use yc_proto::compute::v1 as compute;
use yc_proto::containerregistry::v1 as registry;
use yc_proto::google::protobuf::{Any, FieldMask, Timestamp};
use yc_proto::google::rpc;
use yc_proto::json::Style;
use yc_proto::operation::{self, Operation};

/// Where the bundled cassettes live, relative to the workspace root.
pub(crate) const CASSETTES_DIR: &str = "cassettes";

const RECORDED_WITH: &str =
    "cargo xtask cassettes (synthetic: built from yc-proto types after the API reference)";

const FOLDER: &str = "b1g8a1e2k4m6n8p0q2r4";
const SERVICE_ACCOUNT: &str = "ajeq0v2k4m6n8p1r3t5v";
/// Shaped like a real IAM token so that the generated cassettes prove redaction works; it grants nothing.
const FAKE_IAM_TOKEN: &str = "t1.9euelZqKnJiSkMiWnpWPyZKalJ7Li-3rnpWajpuTlIuWzJyenpKSmJKQnM7l8_dPYXZ4-e9vMWJxVv3t8_cPKXZ4-e9vMWJxVv3N5_XrnpWax5CVkZiazc6ZnZ7Knp2OxpKR7_zF656Vmsexxw.cVwk0tDRh0NzvxNXcTZ6SCl5hHM9LIR7z_PTWBg3rHKhYbwNA0Ngk9Cz2Efk7A7SZLF4BzdqMZVq9m4pj_jbDA";

pub(crate) fn run(root: &Path, check: bool) -> Result<()> {
    let files = generate()?;
    let dir = root.join(CASSETTES_DIR);
    let stale = crate::codegen::stale_files(&dir, &files)?;
    if check {
        if !stale.is_empty() {
            bail!(
                "bundled cassettes are stale ({}); run `cargo xtask cassettes`",
                stale.join(", ")
            );
        }
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    for (name, contents) in &files {
        std::fs::write(dir.join(name), contents)
            .with_context(|| format!("writing cassettes/{name}"))?;
    }
    eprintln!("wrote {} cassettes to {}", files.len(), dir.display());
    Ok(())
}

/// Every bundled cassette, by file name.
pub(crate) fn generate() -> Result<BTreeMap<String, Vec<u8>>> {
    let redactor = Redactor::new(&Default::default())?;
    let scenarios: [(&str, &str, Vec<Interaction>); 7] = [
        (
            "compute-get.json",
            "Compute ImageService/Get over gRPC: a ready Ubuntu image.",
            compute_get(),
        ),
        (
            "compute-get-not-found.json",
            "Compute ImageService/Get of a missing image: NOT_FOUND with ErrorInfo and RequestInfo details.",
            compute_get_not_found(),
        ),
        (
            "compute-create-poll.json",
            "Compute ImageService/Create returns an Operation; OperationService/Get polls it: pending, pending, done with the Image.",
            compute_create_poll(),
        ),
        (
            "compute-update-then-get.json",
            "Compute ImageService/Update with an update_mask replacing description and labels, then a Get that shows the change.",
            compute_update_then_get(),
        ),
        (
            "registry-get-grpc.json",
            "Container Registry ImageService/Get over gRPC.",
            registry_get_grpc(),
        ),
        (
            "registry-get-rest.json",
            "Container Registry GET /container-registry/v1/images/{imageId} over REST: camelCase, int64 as strings.",
            registry_get_rest()?,
        ),
        (
            "rest-error.json",
            "Compute GET /compute/v1/images/{imageId} over REST for a missing image: 404 with a google.rpc.Status body.",
            rest_error(),
        ),
    ];
    let mut files = BTreeMap::new();
    for (name, description, interactions) in scenarios {
        let mut cassette = Cassette::new(Meta {
            description: description.into(),
            recorded_with: RECORDED_WITH.into(),
        });
        for mut interaction in interactions {
            redactor.redact_interaction(&mut interaction);
            cassette.interactions.push(interaction);
        }
        let findings = yc_cassette::scan(&cassette);
        if !findings.is_empty() {
            bail!("cassettes/{name}: secrets survived redaction: {findings:?}");
        }
        files.insert(name.to_owned(), cassette.to_json_string().into_bytes());
    }
    Ok(files)
}

// ---- scenarios ---------------------------------------------------------------------------------------------------

fn compute_get() -> Vec<Interaction> {
    let id = "fd8j4ab7nq2vd1sg3k9p";
    vec![grpc(
        "/yandex.cloud.compute.v1.ImageService/Get",
        &compute::GetImageRequest {
            image_id: id.into(),
        },
        &[&ubuntu_image(id)],
        "0a4c6f1e-2b7d-4c3a-9e58-1f6b2d8a7c01",
    )]
}

fn compute_get_not_found() -> Vec<Interaction> {
    let id = "fd8zq4x6c8v0b2n4m6k8";
    let request_id = "5be1c9a2-7f3e-4d61-8a0b-3c2d1e4f5a6b";
    let status = GrpcStatus {
        code: 5,
        message: format!("Image {id} not found"),
        details: vec![
            any_json(&rpc::ErrorInfo {
                reason: "NOT_FOUND".into(),
                domain: "compute.api.cloud.yandex.net".into(),
                metadata: [("image_id".to_owned(), id.to_owned())].into(),
            }),
            any_json(&rpc::RequestInfo {
                request_id: request_id.into(),
                serving_data: String::new(),
            }),
        ],
        details_bin: None,
    };
    vec![
        sdk_call(
            "/yandex.cloud.compute.v1.ImageService/Get",
            &compute::GetImageRequest {
                image_id: id.into(),
            },
        )
        .headers(&[
            ("content-type", "application/grpc"),
            ("x-request-id", request_id),
            ("x-server-trace-id", "8c1f3b5d7e9a2c4e"),
        ])
        .status(status)
        .trailers_only()
        .build(),
    ]
}

fn compute_create_poll() -> Vec<Interaction> {
    let image_id = "fd8c3r7t9v1x3z5b7d9f";
    let operation_id = "fd8nq2c9t4v6x8z1b3d5";
    let request = compute::CreateImageRequest {
        folder_id: FOLDER.into(),
        name: "app-image-v42".into(),
        description: "Application image, build 42".into(),
        labels: [("env".to_owned(), "ci".to_owned())].into(),
        family: "app-image".into(),
        min_disk_size: 10_737_418_240,
        os: Some(compute::Os {
            r#type: compute::os::Type::Linux.into(),
            nvidia: None,
        }),
        source: Some(compute::create_image_request::Source::DiskId(
            "fhm1o2p3q4r5s6t7u8v9".into(),
        )),
        ..Default::default()
    };
    let metadata = pack(&compute::CreateImageMetadata {
        image_id: image_id.into(),
    });
    let pending = |modified: i64| Operation {
        id: operation_id.into(),
        description: "Create image".into(),
        created_at: Some(timestamp(1_710_151_323, 456_000_000)),
        created_by: SERVICE_ACCOUNT.into(),
        modified_at: Some(timestamp(modified, 0)),
        done: false,
        metadata: Some(metadata.clone()),
        result: None,
    };
    let mut image = app_image(image_id, "app-image-v42");
    image.created_at = Some(timestamp(1_710_151_323, 456_000_000));
    let done = Operation {
        done: true,
        modified_at: Some(timestamp(1_710_151_341, 0)),
        result: Some(operation::operation::Result::Response(pack(&image))),
        ..pending(0)
    };
    let get = operation::GetOperationRequest {
        operation_id: operation_id.into(),
    };
    let get_path = "/yandex.cloud.operation.OperationService/Get";
    vec![
        grpc(
            "/yandex.cloud.compute.v1.ImageService/Create",
            &request,
            &[&pending(1_710_151_323)],
            "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
        ),
        grpc(
            get_path,
            &get,
            &[&pending(1_710_151_324)],
            "2e3f4051-6b7c-4d8e-9fa0-b1c2d3e4f5a6",
        ),
        grpc(
            get_path,
            &get,
            &[&pending(1_710_151_325)],
            "3f405162-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
        ),
        grpc(
            get_path,
            &get,
            &[&done],
            "40516273-8d9e-4fa0-b1c2-d3e4f5a6b7c8",
        ),
    ]
}

fn compute_update_then_get() -> Vec<Interaction> {
    let image_id = "fd8u2p4d6a8t1e3i5m7g";
    let labels: BTreeMap<String, String> = [
        ("env".to_owned(), "staging".to_owned()),
        ("team".to_owned(), "infra".to_owned()),
    ]
    .into();
    let update = compute::UpdateImageRequest {
        image_id: image_id.into(),
        update_mask: Some(FieldMask {
            paths: vec!["description".into(), "labels".into()],
        }),
        description: "Nightly build, promoted to staging".into(),
        labels: labels.clone(),
        ..Default::default()
    };
    let mut image = app_image(image_id, "app-image-nightly");
    image.description = update.description.clone();
    image.labels = labels;
    let operation = Operation {
        id: "fd8d1f3h5j7l9n1p3r5t".into(),
        description: "Update image".into(),
        created_at: Some(timestamp(1_710_237_600, 120_000_000)),
        created_by: SERVICE_ACCOUNT.into(),
        modified_at: Some(timestamp(1_710_237_600, 120_000_000)),
        done: true,
        metadata: Some(pack(&compute::UpdateImageMetadata {
            image_id: image_id.into(),
        })),
        result: Some(operation::operation::Result::Response(pack(&image))),
    };
    vec![
        grpc(
            "/yandex.cloud.compute.v1.ImageService/Update",
            &update,
            &[&operation],
            "51627384-9eaf-4b0c-8d1e-2f3a4b5c6d7e",
        ),
        grpc(
            "/yandex.cloud.compute.v1.ImageService/Get",
            &compute::GetImageRequest {
                image_id: image_id.into(),
            },
            &[&image],
            "62738495-afb0-4c1d-9e2f-3a4b5c6d7e8f",
        ),
    ]
}

fn registry_get_grpc() -> Vec<Interaction> {
    let id = "crp3a5b7c9d1e3f5g7h9";
    vec![grpc(
        "/yandex.cloud.containerregistry.v1.ImageService/Get",
        &registry::GetImageRequest {
            image_id: id.into(),
        },
        &[&registry_image(id, "backend")],
        "738495a6-b0c1-4d2e-8f3a-4b5c6d7e8f90",
    )]
}

fn registry_get_rest() -> Result<Vec<Interaction>> {
    let id = "crp7k2m4n6p8q1s3u5w7";
    let body = yc_proto::json::to_string(&registry_image(id, "frontend"), Style::Camel)?;
    Ok(vec![
        fixture::rest("GET", &format!("/container-registry/v1/images/{id}"))
            .headers(&[
                ("host", "container-registry.api.cloud.yandex.net"),
                ("authorization", &format!("Bearer {FAKE_IAM_TOKEN}")),
                ("accept", "application/json"),
            ])
            .response_headers(&[
                ("content-type", "application/json"),
                ("x-request-id", "8495a6b7-c1d2-4e3f-9a4b-5c6d7e8f90a1"),
                ("x-server-trace-id", "4a6c8e0f2b4d6f81"),
            ])
            .response(Body::from_bytes(Some("application/json"), body.as_bytes()))
            .build(),
    ])
}

fn rest_error() -> Vec<Interaction> {
    let id = "fd8x0y2z4a6b8c0d2e4f";
    let request_id = "95a6b7c8-d2e3-4f4a-8b5c-6d7e8f90a1b2";
    let body = format!(
        r#"{{"code":5,"message":"Image {id} not found","details":[{{"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":"{request_id}"}}]}}"#
    );
    vec![
        fixture::rest("GET", &format!("/compute/v1/images/{id}"))
            .headers(&[
                ("host", "compute.api.cloud.yandex.net"),
                ("authorization", &format!("Bearer {FAKE_IAM_TOKEN}")),
                ("accept", "application/json"),
            ])
            .status(404)
            .response_headers(&[
                ("content-type", "application/json"),
                ("x-request-id", request_id),
                ("x-server-trace-id", "5b7d9f1a3c5e7092"),
            ])
            .response(Body::from_bytes(Some("application/json"), body.as_bytes()))
            .build(),
    ]
}

// ---- data --------------------------------------------------------------------------------------------------------

fn ubuntu_image(id: &str) -> compute::Image {
    compute::Image {
        id: id.into(),
        folder_id: "standard-images".into(),
        created_at: Some(timestamp(1_710_151_323, 456_000_000)),
        name: "ubuntu-22-04-lts-v20240311".into(),
        description: "ubuntu 22.04 lts".into(),
        labels: BTreeMap::new(),
        family: "ubuntu-2204-lts".into(),
        storage_size: 8_214_544_384,
        min_disk_size: 8_589_934_592,
        product_ids: vec!["f2e0e3dbb2pqo3tk1v7c".into()],
        status: compute::image::Status::Ready.into(),
        os: Some(compute::Os {
            r#type: compute::os::Type::Linux.into(),
            nvidia: None,
        }),
        pooled: true,
        hardware_generation: Some(compute::HardwareGeneration {
            features: Some(compute::hardware_generation::Features::LegacyFeatures(
                compute::LegacyHardwareFeatures {
                    pci_topology: compute::PciTopology::V2.into(),
                },
            )),
        }),
        kms_key: None,
        size: 8_214_544_384,
    }
}

fn app_image(id: &str, name: &str) -> compute::Image {
    compute::Image {
        id: id.into(),
        folder_id: FOLDER.into(),
        created_at: Some(timestamp(1_710_151_323, 456_000_000)),
        name: name.into(),
        description: "Application image, build 42".into(),
        labels: [("env".to_owned(), "ci".to_owned())].into(),
        family: "app-image".into(),
        storage_size: 3_221_225_472,
        min_disk_size: 10_737_418_240,
        product_ids: Vec::new(),
        status: compute::image::Status::Ready.into(),
        os: Some(compute::Os {
            r#type: compute::os::Type::Linux.into(),
            nvidia: None,
        }),
        pooled: false,
        hardware_generation: Some(compute::HardwareGeneration {
            features: Some(compute::hardware_generation::Features::Generation2Features(
                compute::Generation2HardwareFeatures {},
            )),
        }),
        kms_key: Some(compute::KmsKey {
            key_id: "abjp4r6t8v0x2z4b6d8f".into(),
            version_id: "abjv1c3e5g7i9k1m3o5q".into(),
        }),
        size: 3_221_225_472,
    }
}

fn registry_image(id: &str, repository: &str) -> registry::Image {
    let blob = |id: &str, digest: &str, size: i64| registry::Blob {
        id: id.into(),
        digest: format!("sha256:{digest}"),
        size,
        urls: Vec::new(),
    };
    registry::Image {
        id: id.into(),
        name: format!("crp0r1s2t3u4v5w6x7y8/{repository}"),
        digest: "sha256:6f1a8e4c2b9d7053e1f4a6c8b2d9e0f7a3c5b8d1e4f6a9c2b5d8e1f3a6c9b2d4".into(),
        compressed_size: 31_457_280,
        config: Some(blob(
            "crpb1c3e5g7i9k1m3o5q",
            "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
            7_023,
        )),
        layers: vec![
            blob(
                "crpl2d4f6h8j0l2n4p6r",
                "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a",
                29_534_055,
            ),
            blob(
                "crpl3e5g7i9k1m3o5q7s",
                "2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b",
                1_916_202,
            ),
        ],
        tags: vec!["v1.4.2".into(), "latest".into()],
        created_at: Some(timestamp(1_710_151_400, 0)),
    }
}

// ---- building blocks ---------------------------------------------------------------------------------------------

fn pack<M: prost::Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

fn timestamp(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp { seconds, nanos }
}

/// A message as the JSON `Any` form the cassette stores in status details.
fn any_json<M: prost::Message + Name>(message: &M) -> serde_json::Value {
    let any = pack(message);
    let status = rpc::Status {
        code: 0,
        message: String::new(),
        details: vec![any],
    };
    let value = yc_proto::json::to_value(&status, Style::Snake).unwrap();
    value["details"][0].clone()
}

/// A call of `method` as the Python SDK sends it, carrying `request`.
fn sdk_call<M: prost::Message + Name>(method: &str, request: &M) -> fixture::Grpc {
    fixture::grpc(method)
        .metadata(&[
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("authorization", &format!("Bearer {FAKE_IAM_TOKEN}")),
            (
                "x-client-request-id",
                "c0ffee00-1234-4abc-8def-0123456789ab",
            ),
            (
                "user-agent",
                "grpc-python/1.66.1 grpc-c/43.0.0 (linux; chttp2)",
            ),
        ])
        .request(request)
}

/// A successful unary gRPC call.
fn grpc<Req: prost::Message + Name, Resp: prost::Message + Name>(
    method: &str,
    request: &Req,
    responses: &[&Resp],
    request_id: &str,
) -> Interaction {
    let call = sdk_call(method, request).headers(&[
        ("content-type", "application/grpc"),
        ("x-request-id", request_id),
        ("x-server-trace-id", "7e9a1c3e5f7b9d02"),
    ]);
    responses
        .iter()
        .fold(call, |call, response| call.response(*response))
        .build()
}

#[cfg(test)]
mod tests {
    /// The bundled cassettes are what `cargo xtask cassettes` builds.
    #[test]
    fn bundled_cassettes_are_fresh() {
        super::run(&crate::project_root(), true).unwrap();
    }
}
