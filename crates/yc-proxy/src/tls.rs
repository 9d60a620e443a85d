//! TLS on the listening side: the rustls server configuration, certificates minted per name by the local [`Ca`],
//! and the handshake with its log lines.
//!
//! [`server`](crate::server) decides per connection, from its first byte, whether a client speaks TLS (a handshake
//! record starts with 0x16) and only then comes here; the HTTP served over the decrypted stream is the same as over
//! cleartext. ALPN offers `h2` and `http/1.1`; a client that offers none still works, since the HTTP layer sniffs
//! HTTP/2 prior knowledge from the decrypted bytes.
//!
//! A certificate names `127.0.0.1`, `::1`, `localhost` and the names given to [`TlsConfig::new`]; a client that
//! sends another name as SNI (`compute.api.cloud.yandex.net` resolved to the proxy) gets a certificate minted for that
//! name on first use and cached. Failures never panic: a handshake that fails or stalls is logged at `warn` with the
//! client's address and the reason, and the connection is closed.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::KeyPair;
use rustls::AlertDescription;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::{CertifiedKey, SigningKey};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::Error;
use crate::ca::Ca;

/// Names every certificate carries: the proxy is local.
pub const LOCAL_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];
/// How many SNI names get a cached certificate; past that, each handshake with a new name mints one anew.
const MAX_CACHED_NAMES: usize = 1024;

/// What the listener needs to speak TLS: a cheap handle ([`Clone`]) over the rustls configuration.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
    ca_path: PathBuf,
    /// How long a client may take from its first byte to the end of the handshake.
    pub handshake_timeout: Duration,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_path", &self.ca_path)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Certificates signed by `ca`, valid for [`LOCAL_NAMES`], `names` (DNS names or IP addresses: the listening
    /// address, an advertised host) and any name a client sends.
    pub fn new(ca: Ca, names: &[String]) -> Result<TlsConfig, Error> {
        let ca_path = ca.cert_path().to_path_buf();
        let resolver = Leaves::new(ca, names)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| Error::Tls(error.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_path,
            handshake_timeout: Duration::from_secs(10),
        })
    }

    /// The CA certificate clients must trust.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// Runs the server side of the handshake; `None` (after a log line) if it fails or takes too long.
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Option<TlsStream<TcpStream>> {
        let handshake = tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(stream));
        match handshake.await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                self.log_failure(peer, &error);
                None
            }
            Err(_) => {
                tracing::warn!(
                    %peer,
                    "tls: no complete handshake within {:?}: closing the connection",
                    self.handshake_timeout
                );
                None
            }
        }
    }

    fn log_failure(&self, peer: SocketAddr, error: &io::Error) {
        let ca = self.ca_path.display();
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::AlertReceived(
                alert @ (AlertDescription::UnknownCA
                | AlertDescription::BadCertificate
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnsupportedCertificate),
            )) => tracing::warn!(
                %peer,
                alert = ?alert,
                "tls: client does not trust the yc-vcr CA: pass `{ca}` as root certificates (the certificate \
                 names 127.0.0.1, ::1, localhost and the name the client sends)"
            ),
            // The client checked our certificate's signature against another CA of the same name.
            Some(rustls::Error::AlertReceived(AlertDescription::DecryptError)) => tracing::warn!(
                %peer,
                "tls: client does not trust the yc-vcr CA: pass `{ca}` as root certificates (it trusts another \
                 certificate by the same name, from an older yc-vcr CA?)"
            ),
            Some(rustls::Error::NoApplicationProtocol) => tracing::warn!(
                %peer,
                "tls: handshake failed: the client offers no protocol this server speaks (ALPN `h2` or `http/1.1`)"
            ),
            Some(error) => tracing::warn!(%peer, %error, "tls: handshake failed"),
            // BoringSSL (grpcio, so the Python SDK) closes without an alert when it rejects the certificate.
            None if matches!(
                error.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
            ) =>
            {
                tracing::warn!(
                    %peer,
                    %error,
                    "tls: client closed the connection during the handshake; if the client does not trust the \
                     yc-vcr CA: pass `{ca}` as root certificates"
                )
            }
            None => tracing::debug!(%peer, %error, "tls: connection failed during the handshake"),
        }
    }
}

/// Hands out certificates by SNI name: one made at startup for the local names, the rest minted on demand.
struct Leaves {
    ca: Ca,
    key: KeyPair,
    signing: Arc<dyn SigningKey>,
    /// Lower-case names the default certificate carries.
    default_names: Vec<String>,
    default: Arc<CertifiedKey>,
    minted: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Leaves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaves")
            .field("ca", &self.ca)
            .field("default_names", &self.default_names)
            .finish_non_exhaustive()
    }
}

impl Leaves {
    fn new(ca: Ca, names: &[String]) -> Result<Leaves, Error> {
        // One key for every leaf: minting a certificate is then one signature, not a key generation.
        let key = KeyPair::generate().map_err(|error| Error::Tls(error.to_string()))?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::ring::sign::any_supported_type(&der)
            .map_err(|error| Error::Tls(error.to_string()))?;
        let mut default_names: Vec<String> =
            LOCAL_NAMES.iter().map(|&name| name.to_owned()).collect();
        for name in names {
            let name = name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase();
            if !name.is_empty() && !default_names.contains(&name) {
                default_names.push(name);
            }
        }
        let default = mint(&ca, &key, &signing, &default_names).map_err(|error| {
            Error::Tls(format!(
                "cannot make a certificate for {default_names:?}: {error}"
            ))
        })?;
        Ok(Leaves {
            ca,
            key,
            signing,
            default_names,
            default,
            minted: Mutex::new(HashMap::new()),
        })
    }

    fn for_name(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.to_ascii_lowercase();
        if self.default_names.contains(&name) {
            return Some(Arc::clone(&self.default));
        }
        let mut minted = self
            .minted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(leaf) = minted.get(&name) {
            return Some(Arc::clone(leaf));
        }
        let mut names = self.default_names.clone();
        names.insert(0, name.clone());
        match mint(&self.ca, &self.key, &self.signing, &names) {
            Ok(leaf) => {
                tracing::debug!(name, "tls: minted a certificate for a new name");
                if minted.len() < MAX_CACHED_NAMES {
                    minted.insert(name, Arc::clone(&leaf));
                }
                Some(leaf)
            }
            Err(error) => {
                tracing::warn!(name, %error, "tls: cannot make a certificate for this name");
                None
            }
        }
    }
}

/// A certificate for `names` with the shared leaf key.
fn mint(
    ca: &Ca,
    key: &KeyPair,
    signing: &Arc<dyn SigningKey>,
    names: &[String],
) -> Result<Arc<CertifiedKey>, rcgen::Error> {
    let cert = ca.sign_leaf(names, key)?;
    Ok(Arc::new(CertifiedKey::new(vec![cert], Arc::clone(signing))))
}

impl ResolvesServerCert for Leaves {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match hello.server_name() {
            // Clients send no SNI for an IP address.
            None => Some(Arc::clone(&self.default)),
            Some(name) => self.for_name(name),
        }
    }
}

#[cfg(test)]
mod tests;
