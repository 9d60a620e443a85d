//! Unit tests of the dynamic codec.
