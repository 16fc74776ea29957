//! Unit tests of the record guard: record sequences in, verdicts out.

use super::*;

/// A ServerHello record of `len` body bytes (message type 2, whole).
fn server_hello(len: usize) -> std::vec::Vec<u8> {
    let msg = len - 4;
    let mut r = std::vec![
        22,
        3,
        3,
        (len >> 8) as u8,
        len as u8,
        2,
        0,
        (msg >> 8) as u8,
        msg as u8
    ];
    r.resize(5 + len, 0xaa);
    r
}

fn encrypted(len: usize) -> std::vec::Vec<u8> {
    let mut r = std::vec![23, 3, 3, (len >> 8) as u8, len as u8];
    r.resize(5 + len, 0x55);
    r
}

const CCS: [u8; 6] = [20, 3, 3, 0, 1, 1];

/// Feeds `bytes` one at a time and whole; both must agree.
fn check(bytes: &[u8]) -> Result<(), RecordError> {
    let mut whole = RecordCheck::new(16_640);
    let mut bytewise = RecordCheck::new(16_640);
    let a = whole.check(bytes);
    let b = bytes
        .iter()
        .try_for_each(|b| bytewise.check(core::slice::from_ref(b)));
    assert_eq!(a, b);
    a
}

fn session(parts: &[&[u8]]) -> std::vec::Vec<u8> {
    parts.concat()
}

#[test]
fn a_normal_handshake_passes() {
    let s = session(&[&server_hello(90), &CCS, &encrypted(17), &encrypted(16_640)]);
    assert_eq!(check(&s), Ok(()));
    // Without the middlebox ChangeCipherSpec too, and with an alert first.
    assert_eq!(
        check(&session(&[&server_hello(90), &encrypted(40)])),
        Ok(())
    );
    assert_eq!(check(&[21, 3, 3, 0, 2, 2, 70]), Ok(()));
    // An old server's ServerHello, coalesced with more messages, reaches
    // embedded-tls, which names the version.
    let mut old = server_hello(200);
    old[1..3].copy_from_slice(&[3, 1]);
    old[7..9].copy_from_slice(&[0, 90]);
    assert_eq!(check(&old), Ok(()));
}

#[test]
fn empty_encrypted_records_are_refused() {
    for len in [0, 1, 16] {
        let s = session(&[&server_hello(90), &encrypted(len)]);
        assert_eq!(
            check(&s),
            Err(RecordError::Length {
                content_type: 23,
                len: len as u16
            })
        );
    }
    let s = session(&[&server_hello(90), &encrypted(16_641)]);
    assert_eq!(
        check(&s),
        Err(RecordError::Length {
            content_type: 23,
            len: 16_641
        })
    );
    // A smaller read buffer lowers the limit.
    let mut c = RecordCheck::new(4_096 + 256);
    assert_eq!(
        c.check(&session(&[&server_hello(90), &encrypted(4_353)])),
        Err(RecordError::Length {
            content_type: 23,
            len: 4_353
        })
    );
}

#[test]
fn plaintext_after_the_server_hello_is_refused() {
    // The 11 bytes of a plaintext EncryptedExtensions after the handshake.
    let ee = [22, 3, 3, 0, 6, 8, 0, 0, 2, 0, 0];
    let close_notify = [21, 3, 3, 0, 2, 1, 0];
    let ticket = [22, 3, 3, 0, 4, 4, 0, 0, 0];
    for bad in [&ee[..], &close_notify, &ticket] {
        let s = session(&[&server_hello(90), &encrypted(30), bad]);
        assert_eq!(
            check(&s),
            Err(RecordError::UnexpectedType {
                content_type: bad[0],
                after_server_hello: true
            })
        );
    }
    let s = session(&[&server_hello(90), &encrypted(30), &[24, 3, 3, 0, 1, 0]]);
    assert_eq!(
        check(&s),
        Err(RecordError::UnexpectedType {
            content_type: 24,
            after_server_hello: true
        })
    );
}

#[test]
fn change_cipher_spec_once_and_early() {
    let twice = session(&[&server_hello(90), &CCS, &CCS]);
    assert_eq!(check(&twice), Err(RecordError::ChangeCipherSpec));
    let late = session(&[&server_hello(90), &encrypted(20), &CCS]);
    assert_eq!(check(&late), Err(RecordError::ChangeCipherSpec));
    let long = session(&[&server_hello(90), &[20, 3, 3, 0, 2, 1, 1]]);
    assert_eq!(check(&long), Err(RecordError::ChangeCipherSpec));
    let wrong = session(&[&server_hello(90), &[20, 3, 3, 0, 1, 2]]);
    assert_eq!(check(&wrong), Err(RecordError::ChangeCipherSpec));
    let before = [20, 3, 3, 0, 1, 1];
    assert_eq!(
        check(&before),
        Err(RecordError::UnexpectedType {
            content_type: 20,
            after_server_hello: false
        })
    );
}

#[test]
fn the_server_hello_comes_whole_and_first() {
    // Split across two records.
    let mut split = server_hello(90);
    split[7..9].copy_from_slice(&[0, 100]);
    assert_eq!(check(&split), Err(RecordError::ServerHello { msg_type: 2 }));
    // Another message first.
    let mut ee = server_hello(90);
    ee[5] = 8;
    assert_eq!(check(&ee), Err(RecordError::ServerHello { msg_type: 8 }));
    // Encrypted data before it, a plaintext SMTP greeting, a huge record.
    assert_eq!(
        check(&encrypted(40)),
        Err(RecordError::UnexpectedType {
            content_type: 23,
            after_server_hello: false
        })
    );
    assert_eq!(
        check(b"220 mail.example.com ESMTP\r\n"),
        Err(RecordError::UnexpectedType {
            content_type: b'2',
            after_server_hello: false
        })
    );
    assert_eq!(
        check(&[22, 3, 3, 0xff, 0xff]),
        Err(RecordError::Length {
            content_type: 22,
            len: 65_535
        })
    );
    assert_eq!(
        check(&[22, 0x7f, 0, 0, 90]),
        Err(RecordError::Version(0x7f00))
    );
    assert_eq!(
        check(&session(&[&server_hello(90), &[23, 3, 1, 0, 20]])),
        Err(RecordError::Version(0x0301))
    );
}

#[test]
fn verdicts_round_trip() {
    let mut bytes = [0xffu8; VERDICT_LEN];
    let v = Verdict::new(&mut bytes);
    assert_eq!(v.get(), None);
    assert_eq!(v.posted(), (0, None));
    v.post_wait(Some(Duration::from_millis(300_000)));
    assert_eq!(v.posted(), (1, Some(Duration::from_secs(300))));
    v.post_wait(None);
    assert_eq!(v.posted(), (2, None));
    v.post_wait(Some(Duration::MAX));
    assert_eq!(v.posted(), (3, Some(Duration::from_millis(u64::MAX))));
    for e in [
        RecordError::UnexpectedType {
            content_type: 22,
            after_server_hello: true,
        },
        RecordError::Length {
            content_type: 23,
            len: 65_535,
        },
        RecordError::ChangeCipherSpec,
        RecordError::ServerHello { msg_type: 8 },
        RecordError::Version(0x0301),
    ] {
        v.set(e);
        assert_eq!(v.get(), Some(e));
    }
}
