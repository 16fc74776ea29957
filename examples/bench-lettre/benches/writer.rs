//! The message writer through the crate's public API: `Message::writer()` pulled
//! with `BodySource::fill` into a buffer, then through a `DotStuffer` (CRLF
//! normalisation and dot-stuffing), as the engine does during `DATA`. MB/s are of
//! the payload (the text or attachment bytes), not of the output.
//!
//! - `text-base64/64KB`: a 64 000-byte text body with `TextEncoding::Base64`.
//! - `attachment-base64/64KB`: a short text and a 64 000-byte binary attachment
//!   (base64 at 76 columns in a multipart/mixed message).
//! - `text-7bit/64KB`: the same text sent as 7bit (copy plus CRLF and dot checks).
//! - `writer-only/text-7bit/64KB`: the same without the `DotStuffer` (the
//!   writer's own share of the case above).
//! - `dot-stuffer/64KB-text` and `dot-stuffer/64KB-dots`: the `DotStuffer` alone
//!   on the text, and on text whose every line starts with a dot (each line
//!   grows by one byte).
//! - `message-1KB`: the whole 1 KB message of the throughput benchmark, headers
//!   included (payload counted as 1 024 bytes).
//!
//! Every iteration checks the number of bytes written against a count made once
//! before timing, so a writer that skipped work would fail the run.

use std::hint::black_box;

use bench_lettre::body;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use embedded_smtp::message::{Attachment, BodySource, DateTime, DotStuffer, Message, TextEncoding};
use embedded_smtp::{HeaderText, Mailbox};

/// Raw bytes per `fill` and output buffer: the engine's proportions (the raw
/// stage is a third of the free transmit buffer, so its stuffed form always fits).
const RAW: usize = 2730;
const OUT: usize = 8192;

const DATE: DateTime = DateTime {
    unix_seconds: 1_795_850_183,
    offset_minutes: 480,
};
const ID: [u8; 16] = *b"\x3f\x2a\x91\x07\xc4\x5e\x18\xb2\x6d\x00\xfe\x83\x4b\x29\x75\xea";

/// Pulls `src` dry through a fresh `DotStuffer`; returns the bytes produced,
/// the end-of-data line included.
fn pump(src: &mut impl BodySource, raw: &mut [u8], out: &mut [u8]) -> usize {
    let mut stuffer = DotStuffer::new();
    let mut total = 0;
    loop {
        let n = src.fill(raw).expect("the sources here cannot fail");
        if n == 0 {
            break;
        }
        let mut at = 0;
        while at < n {
            let (used, made) = stuffer.encode(&raw[at..n], out);
            black_box(&out[..made]);
            at += used;
            total += made;
        }
    }
    total + stuffer.finish(out).expect("room for the end of data")
}

/// Bytes that look like a compressed file: no patterns for the encoder to exploit.
fn binary(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The message of every text case: the headers of an alert, then `text`.
fn message<'a>(
    from: Mailbox<'a>,
    to: &'a [Mailbox<'a>],
    subject: HeaderText<'a>,
    text: &'a str,
    enc: TextEncoding,
) -> Message<'a> {
    Message::new(from, subject)
        .to(to)
        .date(DATE)
        .message_id(ID)
        .text(text)
        .text_encoding(enc)
}

fn writer(c: &mut Criterion) {
    let from = Mailbox::parse("Sensor 7 <sensor7@example.com>").unwrap();
    let to = [Mailbox::parse("ops@example.com").unwrap()];
    let subject = HeaderText::try_new("Nightly log").unwrap();
    let text = body(64_000);
    let short = "The log is attached.\r\n";
    let file = binary(64_000);
    let small = body(1024);
    let dots: String = text
        .split("\r\n")
        .map(|l| format!(".{l}\r\n"))
        .take(1000)
        .collect();

    let (mut raw, mut out) = (vec![0u8; RAW], vec![0u8; OUT]);
    let message = |t, enc| message(from, &to, subject, t, enc);

    let mut g = c.benchmark_group("writer");

    let want = pump(
        &mut message(&text, TextEncoding::Base64).writer(),
        &mut raw,
        &mut out,
    );
    assert!(want > 64_000 * 4 / 3, "base64 grows the text: {want}");
    g.throughput(Throughput::BytesDecimal(64_000));
    g.bench_function("text-base64/64KB", |b| {
        b.iter(|| {
            let mut m = message(black_box(&text), TextEncoding::Base64);
            assert_eq!(pump(&mut m.writer(), &mut raw, &mut out), want);
        })
    });

    let attached = |raw: &mut [u8], out: &mut [u8]| {
        let mut atts = [Attachment::new("log.bin", "application/octet-stream", &file[..]).unwrap()];
        let mut m = Message::new(from, subject)
            .to(&to)
            .date(DATE)
            .message_id(ID)
            .text(short)
            .attachments(&mut atts);
        pump(&mut m.writer(), raw, out)
    };
    let want = attached(&mut raw, &mut out);
    assert!(want > 64_000 * 4 / 3, "base64 grows the file: {want}");
    g.bench_function("attachment-base64/64KB", |b| {
        b.iter(|| assert_eq!(attached(&mut raw, &mut out), want))
    });

    let want = pump(
        &mut message(&text, TextEncoding::SevenBit).writer(),
        &mut raw,
        &mut out,
    );
    assert!(want > 64_000, "headers and text: {want}");
    g.bench_function("text-7bit/64KB", |b| {
        b.iter(|| {
            let mut m = message(black_box(&text), TextEncoding::SevenBit);
            assert_eq!(pump(&mut m.writer(), &mut raw, &mut out), want);
        })
    });

    let writer_only = |raw: &mut [u8]| {
        let mut m = message(black_box(&text), TextEncoding::SevenBit);
        let mut w = m.writer();
        let mut total = 0;
        loop {
            let n = w.fill(raw).expect("cannot fail");
            if n == 0 {
                break total;
            }
            black_box(&raw[..n]);
            total += n;
        }
    };
    let want = writer_only(&mut raw);
    assert!(want > 64_000, "headers and text: {want}");
    g.bench_function("writer-only/text-7bit/64KB", |b| {
        b.iter(|| assert_eq!(writer_only(&mut raw), want))
    });

    let stuff = |input: &[u8], out: &mut [u8]| {
        let mut stuffer = DotStuffer::new();
        let (mut at, mut total) = (0, 0);
        while at < input.len() {
            let (used, made) = stuffer.encode(&input[at..], out);
            black_box(&out[..made]);
            at += used;
            total += made;
        }
        total
    };
    assert_eq!(stuff(text.as_bytes(), &mut out), text.len());
    g.bench_function("dot-stuffer/64KB-text", |b| {
        b.iter(|| assert_eq!(stuff(black_box(text.as_bytes()), &mut out), text.len()))
    });

    g.throughput(Throughput::BytesDecimal(dots.len() as u64));
    let lines = dots.matches("\r\n").count();
    g.bench_function("dot-stuffer/64KB-dots", |b| {
        b.iter(|| {
            assert_eq!(
                stuff(black_box(dots.as_bytes()), &mut out),
                dots.len() + lines
            )
        })
    });

    g.throughput(Throughput::BytesDecimal(1024));
    let want = pump(
        &mut message(&small, TextEncoding::Auto).writer(),
        &mut raw,
        &mut out,
    );
    g.bench_function("message-1KB", |b| {
        b.iter(|| {
            let mut m = message(black_box(&small), TextEncoding::Auto);
            assert_eq!(pump(&mut m.writer(), &mut raw, &mut out), want);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(30);
    targets = writer
}
criterion_main!(benches);
