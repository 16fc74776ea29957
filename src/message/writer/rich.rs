//! The rich body: HTML alternatives and inline parts in their multipart
//! nesting, reached only through the pointer the builder sets.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Renders the body steps of a message with HTML or inline parts:
///
/// ```text
/// multipart/mixed            (when there are attachments that are not inline)
///   multipart/related        (when there are inline parts)
///     multipart/alternative  (when there is HTML)
///       text/plain
///       text/html
///     inline parts
///   attachments
/// ```
///
/// Only [`Message::html`] and [`Message::attachments`] with an inline part make a
/// pointer to it, so a program that sends neither links none of it.
#[inline(never)]
pub(in crate::message) fn render_rich<R>(
    w: &MessageWriter<'_, '_, R>,
    sink: &mut Sink<'_>,
) -> Step {
    let msg = &*w.msg;
    let atts = &*msg.attachments;
    let mixed = atts.iter().any(|a| a.content_id.is_none());
    let related = atts.iter().any(|a| a.content_id.is_some());
    let alternative = msg.html.is_some();
    let is_inline = |k: usize| atts.get(k).is_some_and(|a| a.content_id.is_some());
    let level_of = |inline: bool| if inline { Level::Related } else { Level::Mixed };
    // The first part at or after `from` that is (or is not) inline.
    let next_part = |from: usize, inline: bool| {
        (from..atts.len())
            .find(|&k| is_inline(k) == inline)
            .map_or(Step::Close(level_of(inline)), |k| Step::AttHead { k })
    };
    let after_related = || {
        if mixed {
            next_part(0, false)
        } else {
            Step::Done
        }
    };
    let after_alternative = || {
        if related {
            next_part(0, true)
        } else {
            after_related()
        }
    };
    match w.step {
        Step::Mime => {
            sink.put(b"MIME-Version: 1.0\r\n");
            let levels = [
                (Level::Mixed, mixed, &b"mixed"[..]),
                (Level::Related, related, b"related"),
                (Level::Alternative, alternative, b"alternative"),
            ];
            let mut parent = None;
            for (level, present, name) in levels {
                if !present {
                    continue;
                }
                if let Some(p) = parent {
                    w.delimiter(sink, p);
                }
                sink.put(b"Content-Type: multipart/");
                sink.put(name);
                sink.put(b";\r\n boundary=\"");
                w.boundary(sink, level, false, b"\"");
                if level == Level::Related {
                    // RFC 2387 §3.1: the type of the root part.
                    sink.put(b";\r\n type=\"");
                    sink.put(if alternative {
                        &b"multipart/alternative"[..]
                    } else {
                        b"text/plain"
                    });
                    sink.put(b"\"");
                }
                sink.put(b"\r\n\r\n");
                parent = Some(level);
            }
            if let Some(p) = parent {
                w.delimiter(sink, p);
            }
            w.text_part_header(sink);
            Step::Text {
                at: base64::Canon::START,
            }
        }
        Step::Text { at } => match text_body(sink, msg.text.as_bytes(), w.cte, at, true) {
            Some(at) => Step::Text { at },
            None if alternative => Step::HtmlHead,
            None => after_alternative(),
        },
        Step::HtmlHead => {
            let html = msg.html.unwrap_or_default().as_bytes();
            let cte = resolve(html, msg.html_encoding, true);
            w.delimiter(sink, Level::Alternative);
            sink.put(b"Content-Type: text/html; charset=utf-8\r\n");
            transfer_encoding(sink, cte);
            Step::Html {
                at: base64::Canon::START,
                cte,
            }
        }
        Step::Html { at, cte } => {
            let html = msg.html.unwrap_or_default().as_bytes();
            match text_body(sink, html, cte, at, true) {
                Some(at) => Step::Html { at, cte },
                None => Step::Close(Level::Alternative),
            }
        }
        Step::Close(level) => {
            w.close(sink, level);
            match level {
                Level::Alternative => after_alternative(),
                Level::Related => after_related(),
                Level::Mixed => Step::Done,
            }
        }
        Step::AttHead { k } => {
            w.part_head(sink, k, level_of(is_inline(k)));
            Step::AttBody { k, lines: false }
        }
        Step::AttBody { k, lines } => {
            if w.part_line(sink, lines) {
                next_part(k + 1, is_inline(k))
            } else {
                Step::AttBody { k, lines: true }
            }
        }
        _ => Step::Done,
    }
}
