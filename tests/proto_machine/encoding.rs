//! Encoding: frames, masking, the output buffer, refusals, close frames.

use super::*;

#[test]
fn server_encodes_rfc_examples() {
    let mut s = server();
    s.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    s.output().clear();

    s.encode_data(DataKind::Text, b"Hel", true, false).unwrap();
    s.encode_data(DataKind::Text, b"lo", false, true).unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]
    );
    s.output().clear();

    s.encode_ping(b"Hello").unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    s.output().clear();
    s.encode_pong(b"Hello").unwrap();
    assert_eq!(
        s.output().to_vec(),
        [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    s.output().clear();

    let payload: Vec<u8> = (0..256).map(|i| i as u8).collect();
    s.encode_data(DataKind::Binary, &payload, true, true)
        .unwrap();
    assert_eq!(s.output().to_vec(), sf(0x82, &payload));
    assert_eq!(&s.output()[..4], &[0x82, 0x7E, 0x01, 0x00]);
    s.output().clear();

    let payload = vec![0xA5u8; 65536];
    s.encode_data(DataKind::Binary, &payload, true, true)
        .unwrap();
    assert_eq!(&s.output()[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(s.output().to_vec(), sf(0x82, &payload));
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let mut c = client();
    let big: Vec<u8> = (0..70000).map(|i| (i % 253) as u8).collect();
    c.encode_data(DataKind::Text, b"Hello", true, true).unwrap();
    c.encode_data(DataKind::Binary, &big, true, false).unwrap();
    c.encode_data(DataKind::Binary, b"", false, false).unwrap();
    c.encode_data(DataKind::Binary, &big[..300], false, true)
        .unwrap();
    c.encode_ping(b"p").unwrap();
    c.encode_pong(&[9; 125]).unwrap();
    let expected: [(u8, &[u8]); 6] = [
        (0x81, b"Hello"),
        (0x02, &big),
        (0x00, b""),
        (0x80, &big[..300]),
        (0x89, b"p"),
        (0x8a, &[9; 125]),
    ];
    let out = c.output().to_vec();
    let mut at = 0;
    let mut keys = Vec::new();
    for (b0, payload) in expected {
        let (got_b0, got, used) = unmask_client_frame(&out[at..]);
        assert_eq!((got_b0, &got[..]), (b0, payload));
        keys.push(
            FrameHeader::parse(&out[at..])
                .unwrap()
                .unwrap()
                .0
                .mask
                .unwrap(),
        );
        at += used;
    }
    assert_eq!(at, out.len());
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 6, "a fresh key per frame");

    // What the client encodes, a server decodes.
    let mut s = server();
    let (events, err) = decode_all(&mut s, &out);
    assert_eq!(err, None);
    assert_eq!(events.len(), 6);
    assert_eq!(events[0], text(b"Hello"));
    assert_eq!(events[1], data(DataKind::Binary, &big, true, false));
    assert_eq!(events[3], data(DataKind::Binary, &big[..300], false, true));
}

#[test]
fn output_is_drained_by_advance() {
    let mut s = server();
    assert!(!s.wants_write());
    s.encode_ping(b"").unwrap();
    assert!(s.wants_write());
    s.output().advance(1);
    assert!(s.wants_write());
    assert_eq!(s.output().to_vec(), [0x00]);
    s.output().advance(1);
    assert!(!s.wants_write());
}

#[test]
fn encode_refusals() {
    let mut s = server();
    let invalid = |r: Result<(), ProtocolError>| matches!(r, Err(ProtocolError::InvalidSend(_)));
    assert!(invalid(s.encode_data(DataKind::Text, b"x", false, true)));
    assert!(invalid(s.encode_data(DataKind::Text, b"x", false, false)));
    s.encode_data(DataKind::Text, b"a", true, false).unwrap();
    assert!(invalid(s.encode_data(DataKind::Text, b"x", true, true)));
    assert!(invalid(s.encode_data(DataKind::Binary, b"x", true, false)));
    // Control frames may go between fragments.
    s.encode_ping(b"").unwrap();
    s.encode_data(DataKind::Text, b"b", false, true).unwrap();
    assert!(invalid(s.encode_ping(&[0; 126])));
    assert!(invalid(s.encode_pong(&[0; 126])));
    s.encode_pong(&[0; 125]).unwrap();
    // RSV bits need an extension.
    assert!(invalid(s.encode_data_rsv(
        DataKind::Text,
        b"x",
        true,
        true,
        0x4
    )));
    assert!(!invalid(s.encode_data(DataKind::Text, b"x", true, true)));
    // Nothing was written by the refused calls.
    let mut expect = sf(0x01, b"a");
    expect.extend(sf(0x89, b""));
    expect.extend(sf(0x80, b"b"));
    expect.extend(sf(0x8a, &[0; 125]));
    expect.extend(sf(0x81, b"x"));
    assert_eq!(s.output().to_vec(), expect);
}

#[test]
fn encode_close() {
    let mut s = server();
    let invalid = |r: Result<(), ProtocolError>| matches!(r, Err(ProtocolError::InvalidSend(_)));
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        assert!(invalid(s.encode_close(Some(&CloseFrame {
            code,
            reason: String::new()
        }))));
    }
    let long = CloseFrame {
        code: 1000,
        reason: "x".repeat(124),
    };
    assert!(invalid(s.encode_close(Some(&long))));
    assert_eq!(s.state(), State::Open);
    assert!(!s.wants_write());

    s.encode_close(Some(&CloseFrame::new(1000, "bye").unwrap()))
        .unwrap();
    assert_eq!(s.state(), State::CloseSent);
    assert_eq!(
        s.output().to_vec(),
        [0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e']
    );
    // A second call does nothing.
    s.encode_close(None).unwrap();
    assert_eq!(s.output().len(), 7);
    // Nothing else may follow.
    assert!(invalid(s.encode_data(DataKind::Text, b"x", true, true)));
    assert!(invalid(s.encode_ping(b"")));
    assert!(invalid(s.encode_pong(b"")));
    assert_eq!(s.output().len(), 7);

    let mut s = server();
    s.encode_close(None).unwrap();
    assert_eq!(s.output().to_vec(), [0x88, 0x00]);

    let mut s = server();
    let max = CloseFrame::new(4999, "r".repeat(123)).unwrap();
    s.encode_close(Some(&max)).unwrap();
    assert_eq!(&s.output()[..4], &[0x88, 0x7D, 0x13, 0x87]);
    assert_eq!(s.output().len(), 127);

    let mut c = client();
    c.encode_close(Some(&CloseFrame::new(3000, "").unwrap()))
        .unwrap();
    let out = c.output().to_vec();
    assert_eq!(unmask_client_frame(&out), (0x88, vec![0x0B, 0xB8], 8));
}
