//! The local certificate authority: one per user, made on first use, that signs the certificates the proxy presents
//! to TLS clients.
//!
//! A folder (by default `$XDG_DATA_HOME/yc-vcr/ca`, else `~/.local/share/yc-vcr/ca`) holds two files:
//! - `ca-key.pem`: the private key and the certificate, mode 0600; it is the CA. It is created once, by moving a
//!   finished temporary file into place without replacing anything, so two processes starting at once end with one
//!   CA (the loser reads the winner's);
//! - `ca.pem`: the certificate alone, the file clients are given as root certificates; derived from `ca-key.pem`
//!   and rewritten (atomically, with the same bytes) when missing.
//!
//! Nothing here regenerates a CA that exists: a file that cannot be read or parsed, a key that does not match its
//! certificate, or a `ca.pem` without its key is an [`Error::Ca`] naming the path, because clients may already
//! trust that certificate. This module does files and certificates only; no sockets.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

use crate::Error;

/// The certificate clients trust, in the CA folder.
pub const CERT_FILE: &str = "ca.pem";
/// The CA's private key and certificate, in the CA folder.
pub const KEY_FILE: &str = "ca-key.pem";
/// The start of the CA's subject common name; the rest is a fingerprint of its key, so that two CAs never share a
/// name (a client that trusts another yc-vcr CA is then told the issuer is unknown, not that a signature failed).
const COMMON_NAME: &str = "yc-vcr local CA";

/// A loaded CA, ready to sign leaf certificates.
pub struct Ca {
    dir: PathBuf,
    cert_path: PathBuf,
    cert: CertificateDer<'static>,
    /// The CA certificate as rcgen's issuer: same name and key as `cert`, so what it signs chains to `cert`.
    issuer: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// The per-user folder: `$XDG_DATA_HOME/yc-vcr/ca`, else `$HOME/.local/share/yc-vcr/ca`; `None` without either.
    pub fn default_dir() -> Option<PathBuf> {
        let data = std::env::var_os("XDG_DATA_HOME")
            .filter(|dir| Path::new(dir).is_absolute())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|home| !home.is_empty())
                    .map(|home| Path::new(&home).join(".local/share"))
            })?;
        Some(data.join("yc-vcr").join("ca"))
    }

    /// Loads the CA in `dir`, creating the folder (0700) and a new CA if it holds none.
    pub fn open_or_create(dir: &Path) -> Result<Ca, Error> {
        create_dir(dir)?;
        let key_path = dir.join(KEY_FILE);
        let text = match fs::read_to_string(&key_path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let cert_path = dir.join(CERT_FILE);
                if cert_path.exists() {
                    return Err(ca_error(
                        &cert_path,
                        format!(
                            "it exists without its key `{KEY_FILE}`, so the CA cannot sign; remove the folder to \
                             make a new CA (clients then need the new `{CERT_FILE}`)"
                        ),
                    ));
                }
                create(dir, &key_path)?
            }
            Err(error) => return Err(ca_error(&key_path, format!("cannot read it: {error}"))),
        };
        Ca::load(dir, &key_path, &text)
    }

    /// The folder holding the CA.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate (PEM) to give clients as root certificates.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert)
    }

    /// Signs a server certificate for `names` (DNS names or IP addresses) with `key`, valid from a day ago for a
    /// year (the first name is its common name).
    pub(crate) fn sign_leaf(
        &self,
        names: &[String],
        key: &KeyPair,
    ) -> Result<CertificateDer<'static>, rcgen::Error> {
        let mut params = CertificateParams::new(names.to_vec())?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, first);
        }
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(365);
        params.serial_number = Some(serial());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        Ok(params
            .signed_by(key, &self.issuer, &self.key)?
            .der()
            .clone())
    }

    fn load(dir: &Path, key_path: &Path, text: &str) -> Result<Ca, Error> {
        let corrupt = |what: String| {
            ca_error(
                key_path,
                format!(
                    "{what}; it is not a CA this tool wrote (remove the folder to make a new CA, and give clients the \
                     new `{CERT_FILE}`)"
                ),
            )
        };
        let key_der = PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|error| corrupt(format!("no readable private key ({error})")))?;
        let cert = CertificateDer::from_pem_slice(text.as_bytes())
            .map_err(|error| corrupt(format!("no readable certificate ({error})")))?;
        let key = KeyPair::try_from(&key_der)
            .map_err(|error| corrupt(format!("the private key is not usable ({error})")))?;
        let provider = rustls::crypto::ring::default_provider();
        rustls::sign::CertifiedKey::from_der(vec![cert.clone()], key_der, &provider).map_err(
            |error| {
                corrupt(format!(
                    "the key and the certificate do not belong together ({error})"
                ))
            },
        )?;
        let issuer = ca_params(&key)
            .self_signed(&key)
            .map_err(|error| corrupt(format!("the key cannot sign ({error})")))?;

        let cert_path = dir.join(CERT_FILE);
        match fs::read(&cert_path) {
            Ok(bytes) => {
                let ok = CertificateDer::from_pem_slice(&bytes).is_ok_and(|found| found == cert);
                if !ok {
                    return Err(ca_error(
                        &cert_path,
                        format!(
                            "it is not the certificate in `{KEY_FILE}`; remove `{CERT_FILE}` to have it written \
                             again from the key file"
                        ),
                    ));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // Derived data: every process writes the same bytes, so a rename over another's copy is harmless.
                write_replacing(&cert_path, pem("CERTIFICATE", &cert).as_bytes())
                    .map_err(|error| ca_error(&cert_path, format!("cannot write it: {error}")))?;
            }
            Err(error) => return Err(ca_error(&cert_path, format!("cannot read it: {error}"))),
        }
        Ok(Ca {
            dir: dir.to_path_buf(),
            cert_path,
            cert,
            issuer,
            key,
        })
    }
}

fn ca_error(path: &Path, message: String) -> Error {
    Error::Ca {
        path: path.to_path_buf(),
        message,
    }
}

/// The CA's own parameters, from its key alone: the same on every load, so the issuer name of what it signs is the
/// subject of the stored certificate.
fn ca_params(key: &KeyPair) -> CertificateParams {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(key.public_key_der());
    let fingerprint: String = digest[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{COMMON_NAME} {fingerprint}"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "yc-vcr");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Makes a new CA and links it into place as `key_path`; if another process got there first, returns its CA.
fn create(dir: &Path, key_path: &Path) -> Result<String, Error> {
    let key = KeyPair::generate()
        .map_err(|error| ca_error(dir, format!("cannot generate a key: {error}")))?;
    let mut params = ca_params(&key);
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    let cert = params
        .self_signed(&key)
        .map_err(|error| ca_error(dir, format!("cannot sign the CA certificate: {error}")))?;
    let text = format!("{}{}", key.serialize_pem(), cert.pem());

    let temp = synced_temp(dir, KEY_FILE, text.as_bytes())
        .map_err(|error| ca_error(dir, format!("cannot write a new key into it: {error}")))?;
    // Never replaces an existing file (a rename with RENAME_NOREPLACE, or a hard link where the kernel has none):
    // exactly one process's key becomes the CA. A temporary file that lost is removed when dropped.
    match temp.persist_noclobber(key_path) {
        Ok(_) => {
            tracing::info!(path = %key_path.display(), "created a new local CA");
            Ok(text)
        }
        Err(lost) if lost.error.kind() == io::ErrorKind::AlreadyExists => {
            fs::read_to_string(key_path)
                .map_err(|error| ca_error(key_path, format!("cannot read it: {error}")))
        }
        Err(failed) => Err(ca_error(
            key_path,
            format!("cannot create it: {}", failed.error),
        )),
    }
}

fn create_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|error| ca_error(dir, format!("cannot create the CA folder: {error}")))?;
    if !dir.is_dir() {
        return Err(ca_error(dir, "the CA folder is not a directory".to_owned()));
    }
    Ok(())
}

/// A temporary file in `dir` holding `bytes`, synced, readable by its owner only (tempfile's mode).
fn synced_temp(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    Ok(file)
}

/// Writes `path` atomically: a temporary file, then a rename over whatever is there.
fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("file");
    let file = synced_temp(dir, name, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // The certificate is public.
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    file.persist(path).map_err(|failed| failed.error)?;
    Ok(())
}

/// A serial number unique per certificate this process signs (time and a counter), positive, at most 16 bytes.
fn serial() -> SerialNumber {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&(nanos & 0x7fff_ffff_ffff_ffff).to_be_bytes());
    bytes.extend_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    SerialNumber::from_slice(&bytes)
}

/// DER as PEM: base64 in lines of 64 characters between the labels. By hand: `rustls-pki-types` reads PEM but does
/// not write it, and this is its one writer here.
fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests;
