//! Benchmark: a 10,000-interaction cassette built in memory, saved, loaded, indexed, and looked up once per
//! interaction; then what the record writer does to each call (decoding its messages, redacting and scanning it,
//! serialising its journal line), with redaction and the scan run apart beside the one-pass
//! `redact_and_scan` the writer uses. Prints figures; asserts nothing about time. Runs on the `yc-vcr` binary's allocator (mimalloc): on the
//! system's, every figure was about a tenth higher. Run: `cargo run --release -p yc-cassette --example bench_cassette`.

/// The allocator the `yc-vcr` binary ships with, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use prost::Message as _;
use yc_cassette::fixture::{self, GET_IMAGE as GET};
use yc_cassette::{Cassette, Headers, Interaction, Request};
use yc_proto::compute::v1 as compute;

const N: usize = 10_000;
/// Misses timed for the average of a brief one.
const BRIEF_MISSES: usize = 1_000;

fn image_id(i: usize) -> String {
    format!("fd8{i:017}")
}

fn grpc(i: usize) -> (Interaction, Vec<u8>) {
    let request = fixture::get_image_request(&image_id(i));
    let image = compute::Image {
        id: image_id(i),
        folder_id: "b1g0123456789abcdefg".to_owned(),
        name: format!("ubuntu-22-04-lts-v{i}"),
        description: "Ubuntu 22.04 LTS with the latest updates".to_owned(),
        family: "ubuntu-2204-lts".to_owned(),
        labels: [
            ("os".to_owned(), "ubuntu".to_owned()),
            ("build".to_owned(), i.to_string()),
        ]
        .into_iter()
        .collect(),
        size: 3_221_225_472,
        storage_size: 1_234_567_890,
        ..Default::default()
    };
    let interaction = fixture::grpc(GET)
        .metadata(&[
            ("authorization", "Bearer <redacted:iam-token:0a1b2c3d>"),
            (
                "x-client-request-id",
                "7f9c1e2a-0000-4000-8000-000000000000",
            ),
            ("user-agent", "grpc-go/1.60"),
        ])
        .request(&request)
        .headers(&[
            ("content-type", "application/grpc"),
            ("x-server-trace-id", "abc"),
        ])
        .response(&image)
        .build();
    (interaction, request.encode_to_vec())
}

fn rest(i: usize) -> Interaction {
    let body = format!(
        r#"{{"id":"{}","folderId":"b1g0123456789abcdefg","name":"img-{i}"}}"#,
        image_id(i)
    );
    fixture::rest("GET", &format!("/compute/v1/images/{}", image_id(i)))
        .headers(&[("accept", "application/json")])
        .json(&body)
        .build()
}

fn main() {
    let mut cassette = fixture::cassette(Vec::new());
    let mut grpc_requests = Vec::new();
    for i in 0..N {
        if i % 10 == 9 {
            cassette.interactions.push(rest(i));
        } else {
            let (interaction, request) = grpc(i);
            cassette.interactions.push(interaction);
            grpc_requests.push(request);
        }
    }
    let dir = std::env::temp_dir().join(format!("yc-cassette-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bench.json");

    let t = Instant::now();
    cassette.save(&path).expect("save");
    let save = t.elapsed();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    // Best of 5 loads, to keep a cold page cache or a busy neighbour out of the figure.
    let mut load = Duration::MAX;
    let mut loaded = None;
    for _ in 0..5 {
        let t = Instant::now();
        let c = Cassette::load(&path, &yc_proto::Schema::embedded()).expect("load");
        load = load.min(t.elapsed());
        loaded = Some(c);
    }
    let loaded = loaded.expect("loaded");
    assert_eq!(loaded.interactions.len(), N);

    let t = Instant::now();
    let index = fixture::index(vec![loaded]);
    let build = t.elapsed();

    let metadata: Headers = [
        ("authorization", "Bearer t1.fresh"),
        ("user-agent", "bench"),
    ]
    .into_iter()
    .collect();
    let rest_headers = Headers::new();
    let paths: Vec<String> = (0..N)
        .filter(|i| i % 10 == 9)
        .map(|i| format!("/compute/v1/images/{}", image_id(i)))
        .collect();

    let t = Instant::now();
    for request in &grpc_requests {
        let messages = std::slice::from_ref(request);
        let hit = index.lookup(&Request::Grpc {
            method: GET,
            metadata: &metadata,
            messages,
        });
        assert!(hit.is_ok());
    }
    let grpc_lookup = t.elapsed();
    let t = Instant::now();
    for path in &paths {
        let hit = index.lookup(&Request::Rest {
            method: "GET",
            path,
            query: "",
            headers: &rest_headers,
            body: b"",
        });
        assert!(hit.is_ok());
    }
    let rest_lookup = t.elapsed();

    let miss_request = compute::GetImageRequest {
        image_id: "fd8nosuchimage000000".to_owned(),
    }
    .encode_to_vec();
    let missing = Request::Grpc {
        method: GET,
        metadata: &metadata,
        messages: std::slice::from_ref(&miss_request),
    };
    let t = Instant::now();
    let miss = index.lookup(&missing);
    let miss_time = t.elapsed();
    assert!(miss.is_err());
    // Misses that look for no closest recording, timed over many.
    let timed_misses = |miss: &dyn Fn() -> bool| {
        let t = Instant::now();
        for _ in 0..BRIEF_MISSES {
            assert!(miss());
        }
        t.elapsed()
    };
    // What replay pays for each message of a client stream before the one that matches.
    let probe_miss = timed_misses(&|| index.probe(&missing).is_none());
    // What `new_episodes` pays for a call the cassette lacks before forwarding it.
    let brief = index.with_brief_misses();
    let brief_miss = timed_misses(&|| brief.lookup(&missing).is_err_and(|m| m.closest.is_none()));

    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "cassette: {N} interactions ({} gRPC, {} REST), {:.1} MiB",
        grpc_requests.len(),
        paths.len(),
        size as f64 / 1048576.0
    );
    println!("save:               {:>8.1} ms", save.as_secs_f64() * 1e3);
    println!(
        "load (best of 5):   {:>8.1} ms   (target < 100 ms)",
        load.as_secs_f64() * 1e3
    );
    println!("index build:        {:>8.1} ms", build.as_secs_f64() * 1e3);
    println!(
        "lookup gRPC (avg):  {:>8.2} us   (target < 5 us)",
        per(grpc_lookup, grpc_requests.len())
    );
    println!(
        "lookup REST (avg):  {:>8.2} us",
        per(rest_lookup, paths.len())
    );
    println!(
        "lookup all (avg):   {:>8.2} us",
        per(grpc_lookup + rest_lookup, N)
    );
    println!(
        "one miss with diagnostics: {:>8.2} ms",
        miss_time.as_secs_f64() * 1e3
    );
    println!(
        "brief miss (new_episodes, avg): {:>6.2} us",
        per(brief_miss, BRIEF_MISSES)
    );
    println!(
        "probe miss (a client stream's message before the match, avg): {:>6.2} us",
        per(probe_miss, BRIEF_MISSES)
    );
    record_path(&cassette);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The record writer's work per call, over the cassette's gRPC interactions; best of 3 rounds each.
fn record_path(cassette: &Cassette) {
    let schema = yc_proto::Schema::embedded();
    let grpc: Vec<&yc_cassette::GrpcInteraction> = cassette
        .interactions
        .iter()
        .filter_map(|i| match i {
            Interaction::Grpc(g) => Some(g),
            Interaction::Rest(_) => None,
        })
        .collect();
    let wire: Vec<(Vec<u8>, Vec<u8>)> = grpc
        .iter()
        .map(|g| {
            let bytes = |m: &yc_cassette::Message| m.to_bytes(&schema).expect("encodes");
            (
                bytes(&g.request.messages[0]),
                bytes(&g.response.messages[0]),
            )
        })
        .collect();
    let interactions: Vec<Interaction> = grpc
        .iter()
        .map(|g| Interaction::Grpc((*g).clone()))
        .collect();
    let best = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let decode = best(&mut || {
        for (request, response) in &wire {
            let a = yc_cassette::Message::from_request_bytes(&schema, GET, request);
            let b = yc_cassette::Message::from_response_bytes(&schema, GET, response);
            std::hint::black_box((a, b));
        }
    });
    let redactor = yc_cassette::Redactor::default();
    let apart = best(&mut || {
        for interaction in &interactions {
            let mut probe = fixture::cassette(vec![interaction.clone()]);
            redactor.redact_interaction(&mut probe.interactions[0]);
            std::hint::black_box(redactor.scan(&probe));
        }
    });
    let together = best(&mut || {
        for interaction in &interactions {
            let mut interaction = interaction.clone();
            std::hint::black_box(redactor.redact_and_scan(&mut interaction));
        }
    });
    let copies = best(&mut || {
        for interaction in &interactions {
            std::hint::black_box(interaction.clone());
        }
    });
    let text = best(&mut || {
        for interaction in &interactions {
            std::hint::black_box(yc_cassette::CassetteFile::line(interaction));
        }
    });
    // A REST answer's body as the cloud sends it: the image as compact JSON.
    let bodies: Vec<Vec<u8>> = grpc
        .iter()
        .filter_map(|g| g.response.messages[0].json.as_ref())
        .map(|json| serde_json::to_vec(json).expect("serialises"))
        .collect();
    let rest_body = best(&mut || {
        for body in &bodies {
            std::hint::black_box(yc_cassette::Body::from_bytes(
                Some("application/json"),
                body,
            ));
        }
    });
    let per = |d: Duration| d.as_secs_f64() * 1e6 / interactions.len() as f64;
    let copy = per(copies);
    println!("record writer, per gRPC call (best of 3, the interaction's copy taken out):");
    println!("  decode both messages:        {:>6.2} us", per(decode));
    println!(
        "  redact, then scan:           {:>6.2} us   one pass (redact_and_scan): {:>6.2} us",
        per(apart) - copy,
        per(together) - copy
    );
    println!("  journal line:                {:>6.2} us", per(text));
    println!(
        "per REST call: its JSON body, parsed and checked exact: {:>6.2} us",
        rest_body.as_secs_f64() * 1e6 / bodies.len().max(1) as f64
    );
}
