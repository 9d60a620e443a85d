//! Unit tests of `decode`: each layer, its way back, and its limits.

use super::*;

#[test]
fn percent_layer_maps_decoded_bytes_back() {
    let layer = percent_layer("a%2Eb%zz%41").unwrap();
    assert_eq!(layer.text, "a.b%zzA");
    assert_eq!(layer.original(1, 2), (1, 4), "`.` came from `%2E`");
    assert_eq!(layer.original(6, 7), (8, 11));
    assert_eq!(percent_layer("no escapes %zz"), None);
    let twice = percent_layer(&percent_layer("t1%252E").unwrap().text).unwrap();
    assert_eq!(twice.text, "t1.");
    assert_eq!(
        percent_layer("%FF%41").unwrap().text,
        "?A",
        "offsets survive invalid UTF-8"
    );
}

#[test]
fn form_values_decode_plus_as_space() {
    assert_eq!(form_decode("a%20b+c"), "a b c");
    assert_eq!(form_decode("%zz%2"), "%zz%2");
    assert_eq!(form_decode("%E2%9C%93"), "\u{2713}");
    assert_eq!(
        query_pairs("a=1&&b=%32+3&c"),
        [
            ("a".into(), "1".into()),
            ("b".into(), "2 3".into()),
            ("c".into(), String::new())
        ]
    );
}

#[test]
fn base64_runs_are_found_inside_longer_strings_and_written_back_alike() {
    let inner =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("a secret inside, base64url");
    let text = format!("prefix:{inner} suffix");
    let runs = base64_runs(&text);
    assert_eq!(runs.len(), 1);
    assert_eq!(&text[runs[0].start..runs[0].end], inner);
    assert_eq!(runs[0].bytes, b"a secret inside, base64url");
    assert_eq!(runs[0].encode(&runs[0].bytes), inner);
    assert!(base64_runs("short+run").is_empty());
}

#[test]
fn every_coding_round_trips() {
    let data = b"{\"iam_token\":\"t1.abc\"}".repeat(10);
    for encoding in [
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Brotli,
        Encoding::Zstd,
    ] {
        let packed = encoding.encode(&data);
        assert_eq!(
            encoding.decode(&packed, 1 << 20).unwrap(),
            data,
            "{encoding}"
        );
        assert_eq!(Encoding::parse(encoding.name()), Ok(Some(encoding)));
    }
    let both = encode_content("gzip, br", &data).unwrap();
    assert_eq!(decode_content("gzip, br", &both, 1 << 20).unwrap(), data);
    assert_eq!(Encoding::parse("identity"), Ok(None));
    assert_eq!(
        Encoding::parse("compress"),
        Err(DecodeError::Unsupported("compress".into()))
    );
}

#[test]
fn a_zip_bomb_is_an_error_not_an_allocation() {
    let zeros = vec![0u8; 8 << 20];
    for encoding in [
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Brotli,
        Encoding::Zstd,
    ] {
        let bomb = encoding.encode(&zeros);
        assert!(bomb.len() < 64 << 10, "{encoding}: {} bytes", bomb.len());
        assert_eq!(
            encoding.decode(&bomb, 1 << 20),
            Err(DecodeError::TooLarge {
                encoding: encoding.name(),
                limit: 1 << 20
            })
        );
    }
    assert_eq!(
        decode_content("gzip,gzip,gzip,gzip,gzip", b"", 10),
        Err(DecodeError::TooDeep)
    );
    let error = Encoding::Gzip.decode(b"\x1f\x8bnot gzip", 100).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid `gzip` data: "),
        "{error}"
    );
}

proptest::proptest! {
    #[test]
    fn decoders_never_panic_and_stay_within_the_limit(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        for encoding in [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli, Encoding::Zstd] {
            if let Ok(out) = encoding.decode(&bytes, 4096) {
                proptest::prop_assert!(out.len() <= 4096);
            }
            // Valid compressed data with garbage around it.
            let mut packed = encoding.encode(&bytes);
            packed.extend_from_slice(&bytes);
            let _ = encoding.decode(&packed, 4096);
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Some(layer) = percent_layer(&text) {
            proptest::prop_assert!(layer.text.len() <= text.len());
            let (start, end) = layer.original(0, layer.text.len());
            proptest::prop_assert_eq!((start, end), (0, text.len()));
        }
        for run in base64_runs(&text) {
            proptest::prop_assert!(run.end <= text.len());
        }
    }
}

#[test]
fn a_run_that_may_be_padded_is_written_back_padded() {
    // 60 bytes: no padding needed, so the run does not say which style it was written in.
    let text = STANDARD_ANY.encode([b'x'; 60]);
    let runs = base64_runs(&text);
    assert_eq!(
        runs[0].encode(b"x"),
        "eA==",
        "standard alphabet, length a multiple of 4"
    );
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfb; 30]);
    assert_eq!(base64_runs(&url)[0].encode(&[0xfb]), "-w");
}

#[test]
fn a_whole_string_decodes_in_the_alphabet_it_shows_padded_or_not() {
    // 0xfb 0xff encodes to `+/8` in the standard alphabet and `-_8` in the URL-safe one.
    for text in ["+/8=", "+/8", "-_8=", "-_8", " +/8= "] {
        assert_eq!(decode_base64(text), Some(vec![0xfb, 0xff]), "{text:?}");
    }
    assert_eq!(decode_base64("aGk"), Some(b"hi".to_vec()));
    for text in ["", "+_8", "a", "aG=k"] {
        assert_eq!(decode_base64(text), None, "{text:?}");
    }
}
