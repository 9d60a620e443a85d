use std::time::Instant;
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn rss() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            / 1024
    };
    format!("rss {} MB hwm {} MB", get("VmRSS"), get("VmHWM"))
}
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let t = Instant::now();
    let schema = yc_proto::Schema::embedded();
    println!("schema {:?} {}", t.elapsed(), rss());
    let text = std::fs::read_to_string(&path).unwrap();
    println!("read {:?} {}", t.elapsed(), rss());
    let c = yc_cassette::Cassette::from_json_str_keeping(
        &text,
        &path,
        yc_cassette::Keep::Replay,
        &schema,
    )
    .unwrap();
    println!("parsed {:?} {}", t.elapsed(), rss());
    drop(text);
    println!("dropped text {:?} {}", t.elapsed(), rss());
    let index = yc_cassette::Index::new(
        vec![(path.clone(), c)],
        yc_cassette::Redactor::default(),
        schema.clone(),
    )
    .unwrap();
    println!("index {:?} {}", t.elapsed(), rss());
    let r = yc_proxy::Replayer::new(index, &Default::default()).unwrap();
    println!("replayer {:?} {}", t.elapsed(), rss());
    drop(r);
}
