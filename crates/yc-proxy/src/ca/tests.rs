//! Unit tests of `ca`.
