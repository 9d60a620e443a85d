//! A recorder in a process of its own, for the tests that kill it with SIGKILL mid-recording.
//!
//! Usage: `record_child CASSETTE UPSTREAM_URL [new|replace|append]`. Prints `listening on http://ADDR`, then records
//! until killed. A start that fails (the cassette is locked, say) prints the error on stderr and exits 1.

use std::io::Write as _;
use std::net::SocketAddr;

use yc_proxy::record::{Mode, RecordConfig, RecordServer};
use yc_proxy::upstream::Upstreams;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(cassette), Some(upstream)) = (args.next(), args.next()) else {
        return Err("usage: record_child CASSETTE UPSTREAM_URL [new|replace|append]".into());
    };
    let mut config = RecordConfig::new(cassette, Upstreams::single(upstream.parse()?));
    config.mode = match args.next().as_deref() {
        None | Some("new") => Mode::New,
        Some("replace") => Mode::Replace,
        Some("append") => Mode::Append,
        Some(other) => return Err(format!("unknown mode `{other}`").into()),
    };
    let server = RecordServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", server.local_addr())?;
    stdout.flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
