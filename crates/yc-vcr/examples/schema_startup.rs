//! What `--proto-path` costs at startup: writes N synthetic `.proto` files (default 300; each a package with five
//! messages of ten fields, one importing the previous file, and a service of four methods with HTTP rules) into a
//! temporary folder, then times compiling them (protox) and building the schema over the embedded one.
//!
//! `cargo run -p yc-vcr --example schema_startup [--release] -- [FILES]`

use std::fmt::Write as _;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 300,
    };
    let dir = tempfile::tempdir()?;
    let mut bytes = 0;
    for i in 0..files {
        let text = synthetic(i);
        bytes += text.len();
        let folder = dir.path().join(format!("synth/p{i}/v1"));
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join("service.proto"), text)?;
    }
    let paths = [dir.path().to_path_buf()];
    for run in 1..=3 {
        let started = Instant::now();
        let set = yc_vcr::protos::compile(&paths)?;
        let compiled = started.elapsed();
        let schema = yc_vcr::Schema::with_descriptor_sets([set.as_slice()])?;
        let total = started.elapsed();
        println!(
            "run {run}: {files} files ({} KiB of source): compile {:.0} ms, schema {:.0} ms, total {:.0} ms; \
             {} methods, descriptor set {} KiB",
            bytes / 1024,
            compiled.as_secs_f64() * 1e3,
            (total - compiled).as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            schema.methods().len(),
            set.len() / 1024,
        );
    }
    Ok(())
}

fn synthetic(i: usize) -> String {
    let mut text = format!(
        "syntax = \"proto3\";\npackage synth.p{i}.v1;\nimport \"google/api/annotations.proto\";\n"
    );
    if i > 0 {
        let _ = writeln!(text, "import \"synth/p{}/v1/service.proto\";", i - 1);
    }
    for m in 0..5 {
        let _ = writeln!(text, "message Thing{m} {{");
        for f in 1..=10 {
            let kind = ["string", "int64", "bool", "double", "bytes"][f % 5];
            let _ = writeln!(text, "  {kind} field_{f} = {f};");
        }
        if i > 0 && m == 0 {
            let _ = writeln!(text, "  synth.p{}.v1.Thing1 previous = 11;", i - 1);
        }
        let _ = writeln!(text, "  repeated Thing{} children = 12;", (m + 1) % 5);
        text.push_str("}\n");
    }
    let _ = writeln!(text, "service Service{i} {{");
    let rules = [
        ("Get", "get: \"/synth/p{i}/v1/{field_1=things/*}\""),
        ("List", "get: \"/synth/p{i}/v1/things\""),
        ("Create", "post: \"/synth/p{i}/v1/things\" body: \"*\""),
        (
            "Frob",
            "post: \"/synth/p{i}/v1/{field_1=things/*}:frob\" body: \"*\"",
        ),
    ];
    for (m, (name, rule)) in rules.iter().enumerate() {
        let rule = rule.replace("{i}", &i.to_string());
        let _ = writeln!(
            text,
            "  rpc {name}(Thing{m}) returns (Thing{}) {{ option (google.api.http) = {{ {rule} }}; }}",
            m + 1
        );
    }
    text.push_str("}\n");
    text
}
