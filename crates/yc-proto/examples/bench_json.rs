//! `cargo xtask bench json`: JSON throughput of the typed path (`yc_proto::json`) against prost-reflect's
//! `DynamicMessage` serde, and of the generated binary <-> JSON path (`registry`) against the dynamic codec
//! (`json::dynamic`, descriptors only), measured side by side in one run, for an `Image`, an `Operation` with `Any`
//! metadata and response, and a `ListImagesResponse` of 100 images, in both styles, to and from JSON.
//!
//! Two comparisons per row. Typed vs reflect: the baseline is given every advantage, its `DynamicMessage` is built
//! before timing, so only its serde cost counts. Generated vs dynamic: both start from the same bytes (to JSON) or
//! the same text (from JSON) and end at text or bytes, so decoding and encoding count on both sides.
//! Every side parses the same text (the typed path's output). MB/s counts JSON bytes. Each cell runs about 0.5 s.
//! This program only prints figures; nothing asserts on time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, SerializeOptions};
use yc_proto::compute::v1::{Image, ListImagesResponse};
use yc_proto::json::{self, ParseOptions, Style, dynamic};
use yc_proto::operation::Operation;

const CELL: Duration = Duration::from_millis(500);

fn main() {
    let image = message::<Image>("compute_image_grpc_reference");
    let operation = message::<Operation>("operation_create_image_done");
    let list = ListImagesResponse {
        images: (0..100)
            .map(|i| Image {
                id: format!("fd8image{i:012}"),
                ..image.clone()
            })
            .collect(),
        next_page_token: "fd8image000000000099".into(),
    };

    println!(
        "{:<20} {:<6} {:<10} {:>7} {:>11} {:>8} {:>11} {:>7} {:>11} {:>11} {:>8}",
        "message",
        "style",
        "direction",
        "JSON B",
        "typed/s",
        "MB/s",
        "reflect/s",
        "ratio",
        "generated/s",
        "dynamic/s",
        "dyn cost"
    );
    macro_rules! rows {
        ($label:literal, $ty:ty, $message:expr) => {{
            let message: &$ty = $message;
            let name = <$ty as prost::Name>::full_name();
            let descriptor = yc_proto::registry::descriptor_pool()
                .get_message_by_name(&name)
                .expect("registered");
            let bytes = message.encode_to_vec();
            let generated = yc_proto::registry::get(&name).expect("registered");
            let dynamic =
                DynamicMessage::decode(descriptor.clone(), bytes.as_slice()).expect("decodes");
            for style in [Style::Snake, Style::Camel] {
                let text = json::to_string(message, style).expect("writes");
                let reflect_text = reflect_to_json(&dynamic, style);
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&text).unwrap(),
                    serde_json::from_str::<serde_json::Value>(&reflect_text).unwrap(),
                    "{name} {style:?}: the two paths disagree, so the comparison would be unfair"
                );
                assert_eq!(
                    dynamic::to_json(&descriptor, &bytes, style).unwrap(),
                    text,
                    "{name} {style:?}: the dynamic codec writes other text"
                );
                let typed = measure(|| json::to_string(black_box(message), style).unwrap().len());
                let reflect = measure(|| reflect_to_json(black_box(&dynamic), style).len());
                let from_bytes =
                    measure(|| generated.to_json(black_box(&bytes), style).unwrap().len());
                let dyn_from_bytes = measure(|| {
                    dynamic::to_json(&descriptor, black_box(&bytes), style)
                        .unwrap()
                        .len()
                });
                row(
                    $label,
                    style,
                    "to JSON",
                    text.len(),
                    [typed, reflect, from_bytes, dyn_from_bytes],
                );

                let typed = measure(|| {
                    let parsed: $ty =
                        json::from_str(black_box(&text), ParseOptions::default()).unwrap();
                    black_box(parsed);
                    text.len()
                });
                let reflect = measure(|| {
                    let mut deserializer = serde_json::Deserializer::from_str(black_box(&text));
                    let parsed = DynamicMessage::deserialize_with_options(
                        descriptor.clone(),
                        &mut deserializer,
                        &DeserializeOptions::new(),
                    )
                    .unwrap();
                    black_box(parsed);
                    text.len()
                });
                let to_bytes = measure(|| {
                    generated
                        .from_json(black_box(&text), ParseOptions::default())
                        .unwrap()
                        .len()
                });
                let dyn_to_bytes = measure(|| {
                    dynamic::from_json(&descriptor, black_box(&text), ParseOptions::default())
                        .unwrap()
                        .len()
                });
                row(
                    $label,
                    style,
                    "from JSON",
                    text.len(),
                    [typed, reflect, to_bytes, dyn_to_bytes],
                );
            }
        }};
    }
    rows!("Image", Image, &image);
    rows!("Operation (Any)", Operation, &operation);
    rows!("ListImages (100)", ListImagesResponse, &list);
    println!(
        "\nper second: messages. ratio = typed / reflect (prost-reflect DynamicMessage serde, message pre-built).\n\
         generated = registry bytes <-> JSON (prost + generated writer / pbjson + prost); dynamic = json::dynamic \
         on the same input.\ndyn cost = generated / dynamic: how many times longer the dynamic codec takes."
    );
}

/// A message from a conformance vector's bytes.
fn message<M: prost::Message + Default>(vector: &str) -> M {
    let path = format!(
        "{}/tests/it/vectors/{vector}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("vector file"))
            .expect("vector JSON");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(file["binary"].as_str().expect("binary"))
        .expect("base64");
    M::decode(bytes.as_slice()).expect("vector bytes decode")
}

fn reflect_to_json(message: &DynamicMessage, style: Style) -> String {
    let options = SerializeOptions::new()
        .stringify_64_bit_integers(true)
        .skip_default_fields(true)
        .use_proto_field_name(style == Style::Snake);
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::new(&mut out);
    message
        .serialize_with_options(&mut serializer, &options)
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// Operations per second of `f`, run for about [`CELL`]; `f` returns the bytes it handled, to keep it honest.
fn measure(mut f: impl FnMut() -> usize) -> f64 {
    // Warm up, then time whole batches so the clock is read rarely.
    for _ in 0..10 {
        black_box(f());
    }
    let start = Instant::now();
    let mut count = 0u64;
    let mut batch = 16u64;
    while start.elapsed() < CELL {
        for _ in 0..batch {
            black_box(f());
        }
        count += batch;
        batch = (batch * 2).min(4096);
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn row(label: &str, style: Style, direction: &str, bytes: usize, per_second: [f64; 4]) {
    let [typed, reflect, generated, dynamic] = per_second;
    let mb = |per_second: f64| per_second * bytes as f64 / 1e6;
    println!(
        "{:<20} {:<6} {:<10} {:>7} {:>11.0} {:>8.1} {:>11.0} {:>6.2}x {:>11.0} {:>11.0} {:>7.2}x",
        label,
        format!("{style:?}").to_lowercase(),
        direction,
        bytes,
        typed,
        mb(typed),
        reflect,
        typed / reflect,
        generated,
        dynamic,
        generated / dynamic
    );
}
