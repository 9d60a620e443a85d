//! Real client programs the tests drive (the Python and Node.js SDKs, grpcurl), found through the environment that
//! `cargo xtask test` sets up.

/// The path in `var`, or `None` with a line saying the test is skipped; under `CI` a missing client fails the test
/// instead, so that a CI run cannot pass without having run it.
pub(crate) fn client(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(path) if !path.is_empty() => Some(path),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "{what} is not provisioned ({var} is unset) and CI is set: run `cargo xtask test`"
            )
        }
        _ => {
            eprintln!(
                "skipped: {what} is not provisioned; `cargo xtask test` provisions it and sets {var}"
            );
            None
        }
    }
}
