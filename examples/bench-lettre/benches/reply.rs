//! Reply parsing: embedded-smtp's parser and lettre 0.11's on the same real
//! multi-line EHLO replies (Gmail, QQ, Outlook, Postfix), in MB/s of reply bytes.
//!
//! - `embedded-smtp/parse`: `reply::parse_reply` (bytes in, a `Reply` borrowing them).
//! - `embedded-smtp/parse+ehlo`: the same plus `Capabilities::from_reply`.
//! - `lettre/parse`: lettre's `parse_response`. It is `pub(crate)` in 0.11.23; its
//!   public entry is `Response::from_str`, which calls it and only maps the error.
//!   lettre parses `&str`, so the bytes are made a `&str` once, outside the timing
//!   (lettre's reader pays for that UTF-8 check as it reads lines; not counted here).
//! - `lettre/parse+ehlo`: the same plus `ServerInfo::from_response`.
//!
//! Every iteration checks what it parsed (code 250 and the line count, or an
//! extension), so nothing is optimised away and a wrong parse fails the run.

use std::hint::black_box;

use bench_lettre::EHLO_REPLIES;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use embedded_smtp::reply::{Capabilities, Extensions, Status, parse_reply};
use lettre::transport::smtp::extension::{Extension, ServerInfo};
use lettre::transport::smtp::response::Response;

fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

fn replies(c: &mut Criterion) {
    for (name, bytes) in EHLO_REPLIES {
        let text = std::str::from_utf8(bytes).expect("the replies are ASCII");
        let want_lines = lines(bytes);
        let mut g = c.benchmark_group(format!("reply/{name}"));
        g.throughput(Throughput::BytesDecimal(bytes.len() as u64));

        g.bench_function("embedded-smtp/parse", |b| {
            b.iter(|| {
                let Ok(Status::Complete((reply, used))) = parse_reply(black_box(bytes)) else {
                    panic!("{name}: not parsed");
                };
                assert_eq!(used, bytes.len());
                assert_eq!(reply.code().get(), 250);
                assert_eq!(usize::from(reply.line_count()), want_lines);
                reply.line_count()
            })
        });
        g.bench_function("embedded-smtp/parse+ehlo", |b| {
            b.iter(|| {
                let Ok(Status::Complete((reply, _))) = parse_reply(black_box(bytes)) else {
                    panic!("{name}: not parsed");
                };
                let caps = Capabilities::from_reply(&reply);
                assert!(caps.has(Extensions::PIPELINING));
                caps
            })
        });
        g.bench_function("lettre/parse", |b| {
            b.iter(|| {
                let r: Response = black_box(text).parse().expect("lettre parses it");
                assert_eq!(u16::from(r.code()), 250);
                assert_eq!(r.message().count(), want_lines);
                r
            })
        });
        g.bench_function("lettre/parse+ehlo", |b| {
            b.iter(|| {
                let r: Response = black_box(text).parse().expect("lettre parses it");
                let info = ServerInfo::from_response(&r).expect("an EHLO reply");
                assert!(
                    info.supports_feature(Extension::EightBitMime)
                        || info.supports_feature(Extension::SmtpUtfEight)
                );
                info
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(40);
    targets = replies
}
criterion_main!(benches);
