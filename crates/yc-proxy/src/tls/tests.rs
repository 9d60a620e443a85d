//! Unit tests of `tls`: which certificate a name gets, without sockets.

use super::*;

fn leaves(names: &[&str]) -> (tempfile::TempDir, Leaves) {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::open_or_create(&dir.path().join("ca")).unwrap();
    let names: Vec<String> = names.iter().map(|&name| name.to_owned()).collect();
    (dir, Leaves::new(ca, &names).unwrap())
}

fn names_in(leaf: &CertifiedKey) -> String {
    String::from_utf8_lossy(leaf.cert[0].as_ref()).into_owned()
}

#[test]
fn local_names_and_given_names_share_the_default_certificate() {
    let (_dir, leaves) = leaves(&["[10.1.2.3]", "Proxy.Example"]);
    assert_eq!(
        leaves.default_names,
        ["127.0.0.1", "::1", "localhost", "10.1.2.3", "proxy.example"]
    );
    for name in ["localhost", "LOCALHOST", "proxy.example"] {
        let leaf = leaves.for_name(name).unwrap();
        assert!(Arc::ptr_eq(&leaf, &leaves.default), "{name}");
    }
    assert!(names_in(&leaves.default).contains("proxy.example"));
}

#[test]
fn another_name_is_minted_once_and_cached() {
    let (_dir, leaves) = leaves(&[]);
    let first = leaves.for_name("compute.api.cloud.yandex.net").unwrap();
    let again = leaves.for_name("Compute.Api.Cloud.Yandex.Net").unwrap();
    assert!(Arc::ptr_eq(&first, &again), "cached, whatever the case");
    assert!(!Arc::ptr_eq(&first, &leaves.default));
    let text = names_in(&first);
    assert!(text.contains("compute.api.cloud.yandex.net") && text.contains("localhost"));
}

#[test]
fn past_the_cache_limit_names_still_get_a_certificate() {
    let (_dir, leaves) = leaves(&[]);
    {
        let mut minted = leaves.minted.lock().unwrap();
        for i in 0..MAX_CACHED_NAMES {
            minted.insert(format!("n{i}.example"), Arc::clone(&leaves.default));
        }
    }
    let leaf = leaves.for_name("one-more.example").unwrap();
    assert!(names_in(&leaf).contains("one-more.example"));
    assert_eq!(leaves.minted.lock().unwrap().len(), MAX_CACHED_NAMES);
}
