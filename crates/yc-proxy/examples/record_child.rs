//! A recorder in a process of its own, for the test that kills it with SIGKILL mid-recording.
//!
//! Usage: `record_child CASSETTE UPSTREAM_URL`. Prints `listening on http://ADDR`, then records until killed.

use std::io::Write as _;
use std::net::SocketAddr;

use yc_proxy::record::{RecordConfig, RecordServer};
use yc_proxy::upstream::Upstreams;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(cassette), Some(upstream)) = (args.next(), args.next()) else {
        return Err("usage: record_child CASSETTE UPSTREAM_URL".into());
    };
    let config = RecordConfig::new(cassette, Upstreams::single(upstream.parse()?));
    let server = RecordServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", server.local_addr())?;
    stdout.flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
