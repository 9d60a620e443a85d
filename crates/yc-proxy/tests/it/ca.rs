//! The local CA: made once, found again, never silently replaced, and every problem an error naming the path.

use std::path::Path;

use yc_proxy::{Ca, Error};

fn error_text(dir: &Path) -> String {
    match Ca::open_or_create(dir) {
        Ok(ca) => panic!("opened {ca:?}"),
        Err(error @ Error::Ca { .. }) => error.to_string(),
        Err(other) => panic!("not a CA error: {other:?}"),
    }
}

#[test]
fn a_ca_is_made_once_and_found_again() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("nested/ca");
    let first = Ca::open_or_create(&dir).unwrap();
    assert_eq!(first.cert_path(), dir.join("ca.pem"));
    let pem = std::fs::read_to_string(first.cert_path()).unwrap();
    assert_eq!(pem, first.cert_pem());
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    let again = Ca::open_or_create(&dir).unwrap();
    assert_eq!(again.cert_der(), first.cert_der());

    // `ca.pem` is derived from the key file: removed, it comes back the same.
    std::fs::remove_file(first.cert_path()).unwrap();
    let rewritten = Ca::open_or_create(&dir).unwrap();
    assert_eq!(std::fs::read_to_string(rewritten.cert_path()).unwrap(), pem);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("ca-key.pem")), 0o600);
        assert_eq!(
            mode(&dir.join("ca.pem")),
            0o644,
            "the certificate is public"
        );
    }
}

#[test]
fn processes_starting_at_once_end_with_one_ca() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ca");
    let barrier = std::sync::Barrier::new(8);
    let certs: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    Ca::open_or_create(&dir).unwrap().cert_der().to_vec()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(certs.windows(2).all(|pair| pair[0] == pair[1]), "one CA");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["ca-key.pem", "ca.pem"], "no temporary files left");
}

#[test]
fn a_corrupt_or_unreadable_ca_is_an_error_naming_the_path() {
    let root = tempfile::tempdir().unwrap();

    let corrupt = root.path().join("corrupt");
    Ca::open_or_create(&corrupt).unwrap();
    std::fs::write(
        corrupt.join("ca-key.pem"),
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n",
    )
    .unwrap();
    let text = error_text(&corrupt);
    assert!(
        text.contains(&corrupt.join("ca-key.pem").display().to_string()),
        "{text}"
    );
    assert!(text.contains("no readable private key"), "{text}");

    // Root can read anything, so "unreadable" is a directory where the file should be.
    let unreadable = root.path().join("unreadable");
    std::fs::create_dir_all(unreadable.join("ca-key.pem")).unwrap();
    let text = error_text(&unreadable);
    assert!(
        text.contains(&unreadable.join("ca-key.pem").display().to_string()),
        "{text}"
    );
    assert!(text.contains("cannot read it"), "{text}");

    // A certificate without its key: clients may trust it, so no new CA replaces it.
    let orphan = root.path().join("orphan");
    let ca = Ca::open_or_create(&orphan).unwrap();
    std::fs::remove_file(orphan.join("ca-key.pem")).unwrap();
    let text = error_text(&orphan);
    assert!(
        text.contains(&ca.cert_path().display().to_string()),
        "{text}"
    );
    assert!(text.contains("without its key"), "{text}");
    assert!(
        !orphan.join("ca-key.pem").exists(),
        "nothing was regenerated"
    );

    // A `ca.pem` that is not the key file's certificate.
    let mismatch = root.path().join("mismatch");
    Ca::open_or_create(&mismatch).unwrap();
    let other = Ca::open_or_create(&root.path().join("other")).unwrap();
    std::fs::write(mismatch.join("ca.pem"), other.cert_pem()).unwrap();
    let text = error_text(&mismatch);
    assert!(
        text.contains(&mismatch.join("ca.pem").display().to_string()),
        "{text}"
    );
    assert!(
        text.contains("is not the certificate in `ca-key.pem`"),
        "{text}"
    );

    // A key file whose key and certificate belong to different CAs.
    let swapped = root.path().join("swapped");
    Ca::open_or_create(&swapped).unwrap();
    let key = std::fs::read_to_string(swapped.join("ca-key.pem")).unwrap();
    let key_only = &key[..key.find("-----BEGIN CERTIFICATE-----").unwrap()];
    std::fs::write(
        swapped.join("ca-key.pem"),
        format!("{key_only}{}", other.cert_pem()),
    )
    .unwrap();
    let text = error_text(&swapped);
    assert!(text.contains("do not belong together"), "{text}");

    // A file where the folder should be.
    let file = root.path().join("file");
    std::fs::write(&file, "").unwrap();
    let text = error_text(&file);
    assert!(text.contains(&file.display().to_string()), "{text}");
}
