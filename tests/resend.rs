//! Sending the same message again (the retry after a lost connection) sends the
//! same bytes, or fails before `MAIL`: never a shorter message. The server here is
//! a small SMTP responder in memory (`common/responder.rs`) that keeps each
//! message's data, and can cut the connection after a number of data bytes.

mod common;

#[cfg(feature = "async")]
use common::block_on;
use common::responder::{Cut, Responder};
use common::{DRIVERS, Driver};
use embedded_smtp::error::{Field, InputErrorKind};
use embedded_smtp::message::{Attachment, Bytes, DateTime, Message, RawMessage};
use embedded_smtp::{Address, Config, Domain, Error, HeaderText, InputError, Mailbox};

fn config() -> Config<'static> {
    Config::new(Domain::try_new("client.test").unwrap())
}

/// One session: connect and send `message` over `server` with `driver`.
fn send<R: embedded_io::Read>(
    driver: Driver,
    server: &mut Responder,
    message: &mut Message<'_, R>,
) -> Result<(), Error<Cut>> {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    match driver {
        Driver::Blocking => {
            let mut c: embedded_smtp::blocking::Client<'_, _> =
                embedded_smtp::blocking::Client::new(server, config(), &mut rx, &mut tx)?;
            c.connect()?;
            c.send(message).map(drop)
        }
        #[cfg(feature = "async")]
        Driver::Async => block_on(async {
            let mut c: embedded_smtp::asynch::Client<'_, _> = embedded_smtp::asynch::Client::new(
                server,
                embedded_smtp::asynch::NoTimer,
                config(),
                &mut rx,
                &mut tx,
            )?;
            c.connect().await?;
            c.send(message).await.map(drop)
        }),
    }
}

const CSV: &[u8] = b"t,temp\n0,81.5\n60,81.9\n120,82.4\n";

/// 3 KB of binary data, so that the body takes several writes.
fn blob() -> Vec<u8> {
    (0..3000u32).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_message_cut_in_its_body_is_sent_again_byte_for_byte() {
    let blob = blob();
    let from = Mailbox::parse("Sensor 7 <sensor7@example.com>").unwrap();
    let to = [Mailbox::parse("ops@example.com").unwrap()];
    for &driver in DRIVERS {
        // A fresh message, sent once: what the server must receive.
        let fresh = {
            let mut atts = [
                Attachment::from_bytes("log.csv", "text/csv", CSV).unwrap(),
                Attachment::from_bytes("dump.bin", "application/octet-stream", &blob).unwrap(),
            ];
            let mut m = message(from, &to).attachments(&mut atts);
            let mut server = Responder::new(None);
            send(driver, &mut server, &mut m).unwrap();
            server.messages.pop().unwrap()
        };
        assert!(fresh.len() > 4000);
        let mut atts = [
            Attachment::from_bytes("log.csv", "text/csv", CSV).unwrap(),
            Attachment::from_bytes("dump.bin", "application/octet-stream", &blob).unwrap(),
        ];
        let mut m = message(from, &to).attachments(&mut atts);
        // The first attempt is cut in the middle of the second attachment.
        let mut cut = Responder::new(Some(fresh.len() * 3 / 4));
        let e = send(driver, &mut cut, &mut m).unwrap_err();
        assert_eq!(e, Error::Io(Cut));
        assert!(e.is_transient());
        assert!(cut.messages.is_empty());
        // A new connection, the same message: the same bytes, Message-ID included.
        let mut again = Responder::new(None);
        send(driver, &mut again, &mut m).unwrap();
        assert_eq!(again.messages.len(), 1);
        assert_eq!(again.messages[0], fresh, "{driver:?}");
        let id = b"Message-ID: <";
        assert!(fresh.windows(id.len()).any(|w| w == id));
        // And a third time, after a complete send.
        let mut third = Responder::new(None);
        send(driver, &mut third, &mut m).unwrap();
        assert_eq!(third.messages[0], fresh);
    }
}

fn message<'a>(from: Mailbox<'a>, to: &'a [Mailbox<'a>]) -> Message<'a> {
    Message::new(from, HeaderText::try_new("Cold room 2").unwrap())
        .to(to)
        .date(DateTime {
            unix_seconds: 1_780_000_000,
            offset_minutes: 0,
        })
        .message_id([0x42; 16])
        .text("Cold room 2 is at 81.5 \u{b0}C.\n")
}

#[test]
fn a_one_shot_reader_is_refused_before_mail_the_second_time() {
    let from = Mailbox::parse("sensor7@example.com").unwrap();
    let to = [Mailbox::parse("ops@example.com").unwrap()];
    for &driver in DRIVERS {
        let mut atts = [Attachment::new("log.csv", "text/csv", CSV).unwrap()];
        let mut m = message(from, &to).attachments(&mut atts);
        // Cut before the attachment was read: nothing spent, the retry goes out.
        let mut cut = Responder::new(Some(100));
        assert_eq!(send(driver, &mut cut, &mut m), Err(Error::Io(Cut)));
        let mut first = Responder::new(None);
        send(driver, &mut first, &mut m).unwrap();
        assert_eq!(first.messages.len(), 1);
        // Now the reader is spent.
        let mut again = Responder::new(None);
        assert_eq!(
            send(driver, &mut again, &mut m),
            Err(Error::Input(InputError::new(
                Field::Attachment(1),
                InputErrorKind::AttachmentSpent
            )))
        );
        // Nothing of the transaction was sent: EHLO only.
        assert_eq!(again.commands, ["EHLO client.test"]);
        assert!(again.messages.is_empty());
    }
}

#[test]
fn a_raw_message_is_sent_whole_every_time() {
    let a = Address::try_new("a@example.com").unwrap();
    let mut raw = RawMessage::new(b"Subject: x\r\n\r\nbody\r\n");
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut server = Responder::new(None);
    let mut c: embedded_smtp::blocking::Client<'_, _> =
        embedded_smtp::blocking::Client::new(&mut server, config(), &mut rx, &mut tx).unwrap();
    c.connect().unwrap();
    c.send_raw(a, [a], &mut raw).unwrap();
    c.send_raw(a, [a], &mut raw).unwrap();
    drop(c);
    assert_eq!(server.messages.len(), 2);
    assert_eq!(server.messages[0], b"Subject: x\r\n\r\nbody\r\n");
    assert_eq!(server.messages[1], server.messages[0]);
}

#[test]
fn bytes_seek_like_a_cursor() {
    use embedded_io::{Read, Seek, SeekFrom};
    let mut b = Bytes::new(b"abcdef");
    let mut buf = [0u8; 4];
    assert_eq!(b.read(&mut buf), Ok(4));
    assert_eq!(b.seek(SeekFrom::Current(-2)), Ok(2));
    assert_eq!(b.read(&mut buf), Ok(4));
    assert_eq!(&buf, b"cdef");
    assert_eq!(b.seek(SeekFrom::End(-1)), Ok(5));
    assert_eq!(b.seek(SeekFrom::Start(99)), Ok(6));
    assert_eq!(b.read(&mut buf), Ok(0));
    assert_eq!(b.seek(SeekFrom::Start(0)), Ok(0));
}
