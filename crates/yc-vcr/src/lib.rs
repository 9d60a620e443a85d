//! yc-vcr as a library for tests: record a test's Yandex Cloud traffic once, replay it offline ever after, switched
//! by a mode as VCR users expect.
//!
//! A test starts a [`Vcr`] for a cassette, points its client at the harness (a ready tonic [`Channel`], or
//! [`Harness::url`] for REST), and snapshots what it gets; generated `yc_proto` types are `serde::Serialize`, so
//! insta takes them directly:
//!
//! ```
//! use yc_proto::compute::v1::GetImageRequest;
//! use yc_proto::compute::v1::image_service_client::ImageServiceClient;
//! use yc_vcr::{Mode, Vcr};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let vcr = Vcr::cassette("../../cassettes/compute-get.json").mode(Mode::None).start().await?;
//! let mut images = ImageServiceClient::new(vcr.channel());
//! let image = images
//!     .get(GetImageRequest { image_id: "fd8j4ab7nq2vd1sg3k9p".into() })
//!     .await?
//!     .into_inner();
//! assert_eq!(image.name, "ubuntu-22-04-lts-v20240311");
//! // In a test: insta::assert_json_snapshot!(image);
//! assert!(serde_json::to_string(&image)?.contains(r#""storageSize":"8214544384""#));
//!
//! let report = vcr.finish().await?;
//! assert!(report.misses.is_empty() && report.unused.is_empty(), "{report:?}");
//! # Ok(())
//! # }
//! ```
//!
//! The [`Mode`] comes from [`Vcr::mode`], else from `YC_VCR_MODE` (`none`, `once`, `new_episodes`, `all`), else is
//! `none` when `CI` is set (a missing recording fails instead of reaching the cloud) and `once` otherwise.
//! Recording goes to the Yandex Cloud endpoints unless [`Vcr::upstream`] (or `YC_VCR_UPSTREAM`) names another,
//! with the same redaction, secret scan and durability as `yc-vcr record`.
//!
//! The harness runs on a thread and runtime of its own, so it works under any test runtime and can finish on drop:
//! dropping it writes the recording (unless the test is panicking: a failed test never replaces a cassette) and
//! prints, on stderr, the requests that matched nothing and the recorded interactions the test never reached.

pub mod protos;
mod vcr;

pub use vcr::{Error, Harness, Mode, Report, UPSTREAM_ENV, Vcr};

// The API a test needs, reexported so that one dependency is enough.
pub use tonic::transport::Channel;
pub use yc_cassette::RedactionRules;
pub use yc_proto::Schema;
