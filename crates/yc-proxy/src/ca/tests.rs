//! Unit tests of `ca`: the PEM writer and serial numbers.

use rustls::pki_types::pem::PemObject as _;

use super::*;

#[test]
fn pem_is_read_back_by_rustls_pki_types() {
    let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let text = pem("CERTIFICATE", &der);
    assert!(
        text.lines()
            .all(|line| line.len() <= 64 || line.starts_with("-----"))
    );
    let back = CertificateDer::from_pem_slice(text.as_bytes()).unwrap();
    assert_eq!(back.as_ref(), &der[..]);
}

#[test]
fn serial_numbers_differ() {
    let a = serial();
    let b = serial();
    assert_ne!(a, b);
    assert!(a.as_ref().len() <= 20);
}
