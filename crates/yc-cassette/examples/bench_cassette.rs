//! Benchmark: a 10,000-interaction cassette built in memory, saved, loaded, indexed, and looked up once per
//! interaction. Prints figures; asserts nothing about time. Run: `cargo run --release -p yc-cassette --example bench_cassette`.

use std::time::{Duration, Instant};

use prost::Message as _;
use yc_cassette::fixture::{self, GET_IMAGE as GET};
use yc_cassette::{Cassette, Headers, Interaction, Request};
use yc_proto::compute::v1 as compute;

const N: usize = 10_000;

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

    let t = Instant::now();
    let miss_request = compute::GetImageRequest {
        image_id: "fd8nosuchimage000000".to_owned(),
    }
    .encode_to_vec();
    let miss = index.lookup(&Request::Grpc {
        method: GET,
        metadata: &metadata,
        messages: std::slice::from_ref(&miss_request),
    });
    let miss_time = t.elapsed();
    assert!(miss.is_err());

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
    let _ = std::fs::remove_dir_all(&dir);
}
