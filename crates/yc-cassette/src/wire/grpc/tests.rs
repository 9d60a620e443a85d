use super::*;

fn frames(messages: &[&[u8]]) -> BytesMut {
    let mut out = BytesMut::new();
    for message in messages {
        encode_frame(message, &mut out);
    }
    out
}

#[test]
fn decodes_messages_split_across_chunks() {
    let body = frames(&[b"hello", b"", b"world"]);
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    let mut messages = Vec::new();
    for chunk in body.chunks(3) {
        decoder.push(chunk).unwrap();
        while let Some(message) = decoder.next_message().unwrap() {
            messages.push(message);
        }
    }
    decoder.finish().unwrap();
    assert_eq!(messages, [&b"hello"[..], b"", b"world"]);
}

#[test]
fn truncated_prefix_and_body_are_errors() {
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&[0, 0, 0]).unwrap();
    assert_eq!(decoder.next_message(), Ok(None));
    assert_eq!(decoder.finish(), Err(FrameError::Truncated { missing: 2 }));

    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&[0, 0, 0, 0, 10, 1, 2]).unwrap();
    assert_eq!(decoder.next_message(), Ok(None));
    assert_eq!(decoder.finish(), Err(FrameError::Truncated { missing: 8 }));
    assert_eq!(
        decoder.finish().unwrap_err().to_status().code,
        (Code::Internal as i32)
    );
}

#[test]
fn oversize_is_refused_before_buffering() {
    let limits = FrameLimits {
        max_message_size: 4,
        max_body_size: 100,
    };
    let mut decoder = FrameDecoder::new(limits);
    decoder.push(&[0, 0, 0, 0, 5]).unwrap();
    let error = decoder.next_message().unwrap_err();
    assert_eq!(error, FrameError::TooLarge { size: 5, limit: 4 });
    assert_eq!(error.to_status().code, (Code::ResourceExhausted as i32));
    assert_eq!(
        decoder.push(&[0; 101]),
        Err(FrameError::BodyTooLarge { limit: 100 })
    );
}

#[test]
fn flags() {
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&[1, 0, 0, 0, 0]).unwrap();
    assert_eq!(
        decoder.next_message(),
        Err(FrameError::CompressedWithoutEncoding)
    );
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&[7, 0, 0, 0, 0]).unwrap();
    assert_eq!(decoder.next_message(), Err(FrameError::InvalidFlag(7)));
}

#[test]
fn encoding() {
    let mut headers = HeaderMap::new();
    assert_eq!(check_encoding(&headers), Ok(None));
    headers.insert(GRPC_ENCODING, HeaderValue::from_static("identity"));
    assert_eq!(check_encoding(&headers), Ok(None));
    headers.insert(GRPC_ENCODING, HeaderValue::from_static("gzip"));
    assert_eq!(check_encoding(&headers), Ok(Some(Encoding::Gzip)));
    headers.insert(GRPC_ENCODING, HeaderValue::from_static("snappy"));
    let error = check_encoding(&headers).unwrap_err();
    assert_eq!(error.to_status().code, (Code::Unimplemented as i32));
}

/// One frame flagged compressed.
fn compressed_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![1];
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn compressed_frames_are_decompressed_within_the_message_limit() {
    let limits = FrameLimits {
        max_message_size: 1024,
        max_body_size: 1 << 20,
    };
    let mut decoder = FrameDecoder::with_encoding(limits, Some(Encoding::Gzip));
    decoder
        .push(&compressed_frame(&Encoding::Gzip.encode(b"hello")))
        .unwrap();
    decoder.push(&frames(&[b"plain"])).unwrap();
    assert_eq!(decoder.next_message().unwrap().unwrap(), &b"hello"[..]);
    assert_eq!(decoder.next_message().unwrap().unwrap(), &b"plain"[..]);

    // 4 KiB of zeros in a few bytes: the decompressed size is what the limit holds.
    let bomb = Encoding::Gzip.encode(&[0; 4096]);
    let mut decoder = FrameDecoder::with_encoding(limits, Some(Encoding::Gzip));
    decoder.push(&compressed_frame(&bomb)).unwrap();
    let error = decoder.next_message().unwrap_err();
    assert_eq!(error.to_status().code, (Code::ResourceExhausted as i32));

    let mut decoder = FrameDecoder::with_encoding(limits, Some(Encoding::Gzip));
    decoder.push(&compressed_frame(b"not gzip")).unwrap();
    assert!(matches!(
        decoder.next_message(),
        Err(FrameError::Decompress(_))
    ));
}

#[test]
fn status_round_trips_through_trailers() {
    let status = Status {
        code: 5,
        message: "image `fd8 ü` 100% gone\n".into(),
        details: Some(Bytes::from_static(b"\x08\x05\x12\x01x")),
    };
    let trailers = status.to_trailers();
    assert_eq!(trailers["grpc-status"], "5");
    assert_eq!(
        trailers["grpc-message"],
        "image `fd8 %C3%BC` 100%25 gone%0A"
    );
    assert_eq!(trailers["grpc-status-details-bin"], "CAUSAXg");
    assert_eq!(Status::from_headers(&trailers), Some(status));
}

#[test]
fn percent_decode_is_lenient() {
    assert_eq!(percent_decode(b"a%zzb%4"), "a%zzb%4");
    assert_eq!(percent_decode(b"%FF"), "\u{fffd}");
    assert_eq!(decode_bin(b"CAUSAXg="), Some(b"\x08\x05\x12\x01x".to_vec()));
    assert_eq!(decode_bin(b"CAUSAXg"), Some(b"\x08\x05\x12\x01x".to_vec()));
    assert_eq!(decode_bin(b"CAUSAXg-"), None, "standard alphabet only");
}

proptest::proptest! {
    /// Whatever bytes arrive, in whatever chunks, decoding ends in messages or an error, never a panic; and valid
    /// frames come back as the messages that were framed.
    #[test]
    fn decoding_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..64), split in 0usize..64) {
        let limits = FrameLimits { max_message_size: 32, max_body_size: 48 };
        let mut decoder = FrameDecoder::with_encoding(limits, Some(Encoding::Gzip));
        let split = split.min(body.len());
        let mut outcome = Ok(());
        for chunk in [&body[..split], &body[split..]] {
            outcome = outcome.and_then(|()| decoder.push(chunk));
            while outcome.is_ok() {
                match decoder.next_message() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => outcome = Err(error),
                }
            }
        }
        let _ = outcome.and_then(|()| decoder.finish());
    }

    #[test]
    fn framed_messages_round_trip(messages in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..20), 0..5)) {
        let mut body = BytesMut::new();
        for message in &messages {
            encode_frame(message, &mut body);
        }
        let mut decoder = FrameDecoder::new(FrameLimits::default());
        decoder.push(&body).unwrap();
        let mut decoded = Vec::new();
        while let Some(message) = decoder.next_message().unwrap() {
            decoded.push(message.to_vec());
        }
        decoder.finish().unwrap();
        proptest::prop_assert_eq!(decoded, messages);
    }
}
