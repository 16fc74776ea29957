//! The message builder: [`Message`], built from validated parts, with its
//! attachments ([`Attachment`]) and its envelope (sender and recipients).

use super::attachment::Attachment;
use super::fields::{self, AutoSubmitted, Extras, Header, Importance, MsgId};
use super::writer::{self, MessageWriter};
use super::{DateTime, TextEncoding};
use crate::address::{Address, HeaderText, Mailbox};
use crate::error::{Field, InputError, InputErrorKind};

/// A message to write, built from validated parts so that writing it cannot fail on
/// content.
///
/// `R` is the attachments' reader type; it defaults to `&[u8]`, which also serves
/// messages without attachments.
#[derive(Debug)]
pub struct Message<'a, R = &'a [u8]> {
    pub(super) from: Mailbox<'a>,
    pub(super) subject: HeaderText<'a>,
    pub(super) to: &'a [Mailbox<'a>],
    pub(super) cc: &'a [Mailbox<'a>],
    pub(super) bcc: &'a [Mailbox<'a>],
    pub(super) date: Option<DateTime>,
    pub(super) id: Option<[u8; 16]>,
    pub(super) text: &'a str,
    pub(super) encoding: TextEncoding,
    pub(super) attachments: &'a mut [Attachment<'a, R>],
    /// The message has no `Date` on purpose (the submission server adds it).
    pub(super) no_date: bool,
    /// The optional header fields and their renderer, set only when one is added.
    pub(super) extras: Extras<'a>,
    pub(super) extras_fn: Option<fields::RenderFn>,
    /// The HTML alternative of the text.
    pub(super) html: Option<&'a str>,
    pub(super) html_encoding: TextEncoding,
    /// The body renderer for HTML and inline parts, set only when there are some.
    pub(super) rich: Option<writer::RichFn<R>>,
}

impl<'a> Message<'a> {
    /// A message from `from` with subject `subject`, no recipients, an empty text and
    /// no attachments.
    ///
    /// `From` is required by RFC 5322 §3.6 and by providers that check it against the
    /// authenticated sender (e.g. QQ Mail's `550 The "From" header is missing or
    /// invalid`).
    pub fn new(from: Mailbox<'a>, subject: HeaderText<'a>) -> Self {
        Message {
            from,
            subject,
            to: &[],
            cc: &[],
            bcc: &[],
            date: None,
            id: None,
            text: "",
            encoding: TextEncoding::Auto,
            attachments: &mut [],
            no_date: false,
            extras: Extras {
                reply_to: &[],
                in_reply_to: None,
                references: &[],
                auto: None,
                importance: None,
                headers: &[],
            },
            extras_fn: None,
            html: None,
            html_encoding: TextEncoding::Auto,
            rich: None,
        }
    }
}

impl<'a, R: embedded_io::Read> Message<'a, R> {
    /// Sets the `To` recipients (also envelope recipients).
    pub fn to(self, to: &'a [Mailbox<'a>]) -> Self {
        Message { to, ..self }
    }

    /// Sets the `Cc` recipients (also envelope recipients).
    pub fn cc(self, cc: &'a [Mailbox<'a>]) -> Self {
        Message { cc, ..self }
    }

    /// Sets the blind-copy recipients. They are never written into the header; they
    /// are only envelope recipients ([`recipients`](Self::recipients)).
    pub fn bcc(self, bcc: &'a [Mailbox<'a>]) -> Self {
        Message { bcc, ..self }
    }

    /// Adds a `Date` field.
    ///
    /// RFC 5322 §3.6 requires one. A message with neither a date nor
    /// [`without_date`](Self::without_date) is refused before `MAIL`
    /// ([`InputErrorKind::MissingDate`]).
    pub fn date(self, date: DateTime) -> Self {
        Message {
            date: Some(date),
            ..self
        }
    }

    /// Sends the message without a `Date` field, on purpose: the submission server
    /// adds its own (RFC 6409 §8.3), which is the right choice for a device with no
    /// trustworthy clock.
    pub fn without_date(self) -> Self {
        Message {
            no_date: true,
            ..self
        }
    }

    /// Fills `Date` from the system clock (in UTC: `std` does not know the local
    /// time zone) and `Message-ID` from the operating system's random number
    /// generator: a message complete in one call (feature `std`).
    ///
    /// # Errors
    /// The RNG's failure, as an I/O error (the message is dropped; make it again).
    #[cfg(feature = "std")]
    pub fn stamp(self) -> std::io::Result<Self> {
        let mut random = [0u8; 16];
        getrandom::getrandom(&mut random)?;
        let unix_seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(self
            .date(DateTime {
                unix_seconds,
                offset_minutes: 0,
            })
            .message_id(random))
    }

    fn with_extras(self, extras: Extras<'a>) -> Self {
        Message {
            extras,
            extras_fn: Some(fields::render),
            ..self
        }
    }

    /// Sets `Reply-To` (RFC 5322 §3.6.2): where answers should go.
    pub fn reply_to(self, reply_to: &'a [Mailbox<'a>]) -> Self {
        let extras = Extras {
            reply_to,
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `In-Reply-To: <id>` (RFC 5322 §3.6.4): the message this one answers.
    pub fn in_reply_to(self, id: MsgId<'a>) -> Self {
        let extras = Extras {
            in_reply_to: Some(id),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `References` (RFC 5322 §3.6.4): the identifiers of the thread, oldest
    /// first, folded at 78 characters.
    pub fn references(self, ids: &'a [MsgId<'a>]) -> Self {
        let extras = Extras {
            references: ids,
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Threads the message under `root`: `In-Reply-To: <root>` and
    /// `References: <root>`. Give every alert of one device the same root (say
    /// `panel-7.alerts@panel.example`) and mail readers show them as one
    /// conversation, even though no message with that identifier was ever sent.
    pub fn thread(self, root: &'a MsgId<'a>) -> Self {
        let extras = Extras {
            in_reply_to: Some(*root),
            references: core::slice::from_ref(root),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `Auto-Submitted` (RFC 3834 §5), e.g.
    /// [`AutoSubmitted::AutoGenerated`] for alerts, so that auto-responders do not
    /// answer them.
    pub fn auto_submitted(self, value: AutoSubmitted) -> Self {
        let extras = Extras {
            auto: Some(value),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Sets `Importance` and `X-Priority`.
    pub fn importance(self, importance: Importance) -> Self {
        let extras = Extras {
            importance: Some(importance),
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Adds the caller's own header fields, written after the others in the order
    /// given.
    pub fn headers(self, headers: &'a [Header<'a>]) -> Self {
        let extras = Extras {
            headers,
            ..self.extras
        };
        self.with_extras(extras)
    }

    /// Adds an HTML alternative of the text: the body becomes
    /// `multipart/alternative` (RFC 2046 §5.1.4) with the text first and
    /// `text/html; charset=utf-8` second, encoded as
    /// [`html_encoding`](Self::html_encoding) says. Inline images it shows are
    /// attachments made [`inline`](Attachment::inline).
    pub fn html(self, html: &'a str) -> Self {
        Message {
            html: Some(html),
            rich: Some(writer::render_rich::<R>),
            ..self
        }
    }

    /// Chooses the HTML body's transfer encoding (default: [`TextEncoding::Auto`]).
    pub fn html_encoding(self, enc: TextEncoding) -> Self {
        Message {
            html_encoding: enc,
            ..self
        }
    }

    /// Adds `Message-ID: <32 lowercase hex digits of random@domain of From>`; `random`
    /// should come from the caller's RNG. Without it there is no `Message-ID` (servers
    /// usually add one).
    ///
    /// With attachments, the MIME boundary is also derived from these bytes.
    pub fn message_id(self, random: [u8; 16]) -> Self {
        Message {
            id: Some(random),
            ..self
        }
    }

    /// Sets the text body (default: empty).
    pub fn text(self, body: &'a str) -> Self {
        Message { text: body, ..self }
    }

    /// Chooses the text body's transfer encoding (default: [`TextEncoding::Auto`]).
    pub fn text_encoding(self, enc: TextEncoding) -> Self {
        Message {
            encoding: enc,
            ..self
        }
    }

    /// Sets the attachments; when there is at least one that is not
    /// [`inline`](Attachment::inline) the message becomes `multipart/mixed` with the
    /// text (or its alternatives, or the related inline parts) as its first part.
    ///
    /// The attachments' reader type becomes the message's `R`. Each send reads
    /// them; to send the message again they must be able to start again (see
    /// [`Attachment`], "Sending again").
    pub fn attachments<S: embedded_io::Read>(
        self,
        attachments: &'a mut [Attachment<'a, S>],
    ) -> Message<'a, S> {
        Message {
            from: self.from,
            subject: self.subject,
            to: self.to,
            cc: self.cc,
            bcc: self.bcc,
            date: self.date,
            id: self.id,
            text: self.text,
            encoding: self.encoding,
            // Only a message with HTML or an inline part names the renderer for them.
            rich: match self.rich {
                Some(_) => Some(writer::render_rich::<S>),
                None => attachments.iter().find_map(|a| a.rich),
            },
            attachments,
            no_date: self.no_date,
            extras: self.extras,
            extras_fn: self.extras_fn,
            html: self.html,
            html_encoding: self.html_encoding,
        }
    }

    /// Checks that the message is complete and makes it ready to be written again:
    /// every attachment that was read is put back at its first byte. The clients
    /// call it before `MAIL`.
    ///
    /// # Errors
    /// - [`InputErrorKind::MissingDate`] when the message has neither a
    ///   [`date`](Self::date) nor [`without_date`](Self::without_date);
    /// - [`InputErrorKind::AttachmentSpent`] when an attachment was read and its reader
    ///   cannot start again (made with [`Attachment::new`]): sending would send a
    ///   shorter message.
    pub fn rewind(&mut self) -> Result<(), InputError> {
        if self.date.is_none() && !self.no_date {
            return Err(InputError::new(Field::Date, InputErrorKind::MissingDate));
        }
        for (index, att) in self.attachments.iter_mut().enumerate() {
            if att.started {
                match att.rewind {
                    Some(rewind) if rewind(&mut att.reader) => att.started = false,
                    _ => {
                        let n = u16::try_from(index + 1).unwrap_or(u16::MAX);
                        let kind = InputErrorKind::AttachmentSpent;
                        return Err(InputError::new(Field::Attachment(n), kind));
                    }
                }
            }
        }
        Ok(())
    }

    /// A writer that streams the whole message. It borrows the message mutably because
    /// attachment readers are read; call [`rewind`](Self::rewind) before writing a
    /// message a second time.
    pub fn writer(&mut self) -> MessageWriter<'_, 'a, R> {
        MessageWriter::new(self)
    }
}

impl<'a, R> Message<'a, R> {
    /// The `From` mailbox (also the usual envelope sender).
    pub fn from_mailbox(&self) -> &Mailbox<'a> {
        &self.from
    }

    /// Every envelope recipient, in the order To, Cc, Bcc (addresses only).
    pub fn recipients(&self) -> impl Iterator<Item = Address<'a>> + Clone + '_ {
        Recipients {
            lists: [self.to, self.cc, self.bcc],
        }
    }

    /// Whether the written message needs `SMTPUTF8` (RFC 6531): only when an address
    /// in `From`, `To`, `Cc` or `Reply-To` is non-ASCII. Display names and the subject
    /// never need it (they become RFC 2047 encoded words) and the body is always 7-bit.
    ///
    /// Bcc addresses are not written, so they are not counted here; a non-ASCII
    /// envelope address needs `SMTPUTF8` on its own ([`Address::is_ascii`]).
    pub fn needs_smtputf8(&self) -> bool {
        let mut written = core::iter::once(&self.from).chain(self.to).chain(self.cc);
        written.any(|m| !m.address().is_ascii()) || self.reply_to_needs_smtputf8()
    }

    /// Whether a `Reply-To` address is non-ASCII: the one address the message writes
    /// that is not also an envelope address (whose own need the engine sees).
    pub(crate) fn reply_to_needs_smtputf8(&self) -> bool {
        self.extras.reply_to.iter().any(|m| !m.address().is_ascii())
    }
}

/// The envelope recipients of a message: the addresses of its To, Cc and Bcc
/// mailboxes, one list after the other. One small loop over the three lists,
/// where chained slice iterators compile to a state machine in every function
/// that walks them (the engine walks the recipients three times).
#[derive(Clone)]
struct Recipients<'a> {
    lists: [&'a [Mailbox<'a>]; 3],
}

impl<'a> Iterator for Recipients<'a> {
    type Item = Address<'a>;

    fn next(&mut self) -> Option<Address<'a>> {
        for list in &mut self.lists {
            if let Some((m, rest)) = list.split_first() {
                *list = rest;
                return Some(m.address());
            }
        }
        None
    }
}
