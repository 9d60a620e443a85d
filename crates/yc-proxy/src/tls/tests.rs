//! Unit tests of `tls`.
