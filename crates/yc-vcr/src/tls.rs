//! The TLS options of `record` and `replay` (the local CA's folder, cleartext only) and `yc-vcr ca`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use yc_proxy::{Ca, TlsConfig};

/// The folder of the local CA, shared by `ca`, `record` and `replay`.
#[derive(clap::Args)]
pub(crate) struct CaDirArg {
    /// The local CA's folder; created with a new CA if it holds none
    /// [default: $XDG_DATA_HOME/yc-vcr/ca, else ~/.local/share/yc-vcr/ca]
    #[arg(long, env = "YC_VCR_CA_DIR", value_name = "DIR")]
    ca_dir: Option<PathBuf>,
}

impl CaDirArg {
    fn open(&self) -> Result<Ca> {
        let dir = match &self.ca_dir {
            Some(dir) => dir.clone(),
            None => Ca::default_dir().context(
                "no folder for the local CA: neither XDG_DATA_HOME nor HOME is set; pass --ca-dir DIR",
            )?,
        };
        Ok(Ca::open_or_create(&dir)?)
    }
}

/// TLS beside cleartext on the listening port.
#[derive(clap::Args)]
#[command(next_help_heading = "TLS (on the same port as cleartext)")]
pub(crate) struct TlsArgs {
    #[command(flatten)]
    ca_dir: CaDirArg,
    /// Serve cleartext only: no TLS and no CA.
    #[arg(long)]
    no_tls: bool,
    /// The address (HOST:PORT) discovery answers point clients at, instead of the one each client reached
    /// (behind port forwarding, say); its host is also put into the certificate.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_advertise)]
    pub(crate) advertise: Option<String>,
}

impl TlsArgs {
    /// The TLS configuration for a server listening on `listen`; `None` with `--no-tls`.
    pub(crate) fn config(&self, listen: SocketAddr) -> Result<Option<TlsConfig>> {
        if self.no_tls {
            return Ok(None);
        }
        let ca = self
            .ca_dir
            .open()
            .context("cannot serve TLS (pass --no-tls to serve cleartext only)")?;
        let mut names = Vec::new();
        if !listen.ip().is_unspecified() {
            names.push(listen.ip().to_string());
        }
        if let Some((host, _)) = self.advertise.as_deref().and_then(|a| a.rsplit_once(':')) {
            names.push(host.to_owned());
        }
        Ok(Some(TlsConfig::new(ca, &names)?))
    }
}

/// The lines a server's start prints on stdout, flushed at once: `listening on http://ADDR`, then, when TLS is on,
/// `tls: https://ADDR, CA certificate PATH`.
pub(crate) fn announce(addr: SocketAddr, tls: Option<&TlsConfig>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    if let Some(tls) = tls {
        writeln!(
            stdout,
            "tls: https://{addr}, CA certificate {}",
            tls.ca_path().display()
        )?;
    }
    stdout.flush()
}

fn parse_advertise(text: &str) -> Result<String, String> {
    let valid = text.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && port.parse::<u16>().is_ok()
            && !host.contains(['/', '@', ' '])
            && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']')))
    });
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not HOST:PORT (an IPv6 address in brackets)"
        ))
    }
}

/// Print the path of the local CA's certificate (PEM), creating the CA if there is none.
///
/// `record` and `replay` serve TLS and cleartext on one port; TLS clients must trust this certificate.
/// The CA is made on first use and kept per user: $XDG_DATA_HOME/yc-vcr/ca or ~/.local/share/yc-vcr/ca
/// (or --ca-dir, or YC_VCR_CA_DIR), its key readable by its owner only. It signs certificates for
/// 127.0.0.1, ::1, localhost and any name a client sends, so a client that resolves
/// compute.api.cloud.yandex.net to the proxy works too.
///
/// Hand it to each client (CA=$(yc-vcr ca)):
///
///   Python: yandexcloud.SDK(endpoint="127.0.0.1:8080", root_certificates=open(CA, "rb").read(), ...)
///           or GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=$CA for any grpcio client
///
///   Node:   session = new Session({ iamToken, ssl: { rootCerts: fs.readFileSync(CA) } })
///           session.client(ImageServiceClient, "127.0.0.1:8080")   (the SDK has no discovery: name it per client)
///
///   Go:     SSL_CERT_FILE=$CA go test ./...   (ycsdk.Build with Endpoint "127.0.0.1:8080")
///
///   grpcurl -cacert $CA 127.0.0.1:8080 list
///
///   curl --cacert $CA https://127.0.0.1:8080/compute/v1/images/IMAGE_ID
#[derive(clap::Args)]
// Verbatim, for its lists; the summary is spelt out so that it reads like the other commands' (no full stop).
#[command(
    verbatim_doc_comment,
    about = "Print the path of the local CA's certificate (PEM), creating the CA if there is none"
)]
pub(crate) struct Args {
    #[command(flatten)]
    ca_dir: CaDirArg,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let ca = args.ca_dir.open()?;
    let path = absolute(ca.cert_path());
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", path.display())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
