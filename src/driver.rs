//! What the blocking and the async client share that is not I/O: the envelope of
//! a [`Message`], and how a transport error becomes an [`Error`]. Each driver is
//! then only its loop over [`Action`](crate::engine::Action).

use embedded_io::ErrorKind;

use crate::address::Address;
use crate::engine::{Engine, MailParams, Stage};
use crate::error::{Error, Failure, Field, InputError, InputErrorKind};
use crate::message::Message;

/// Maps a transport error, telling time-outs apart (they name the stage).
pub(crate) fn io<E: embedded_io::Error>(e: E, stage: Stage) -> Error<E> {
    if e.kind() == ErrorKind::TimedOut {
        Error::TimedOut { stage }
    } else {
        Error::Io(e)
    }
}

/// Tells the engine that the transport failed with `e` (a time-out, or `what`:
/// a read, a write, the TLS upgrade), so that it stops trusting the connection,
/// and gives `e` back for the caller.
pub(crate) fn note<E, const N: usize>(
    engine: &mut Engine<'_, N>,
    e: Error<E>,
    what: Failure,
) -> Error<E> {
    engine.handle_failure(match e {
        Error::TimedOut { .. } => Failure::TimedOut,
        _ => what,
    });
    e
}

/// The envelope of a [`Message`]: its From address, its To, Cc and Bcc addresses
/// (copied out, at most `N`, so the message can then be borrowed for its body), and
/// its ESMTP parameters.
pub(crate) struct Envelope<'m, const N: usize> {
    pub(crate) from: Address<'m>,
    recipients: heapless::Vec<Address<'m>, N>,
    pub(crate) params: MailParams,
}

impl<'m, const N: usize> Envelope<'m, N> {
    /// The envelope, once the message is ready to be written (again): its
    /// attachments back at their first byte ([`Message::rewind`]).
    pub(crate) fn of<R: embedded_io::Read, E>(
        message: &mut Message<'m, R>,
    ) -> Result<Self, Error<E>> {
        message.rewind()?;
        let mut recipients = heapless::Vec::new();
        for a in message.recipients() {
            recipients.push(a).map_err(|_| {
                Error::Input(InputError::new(
                    Field::Recipients,
                    InputErrorKind::TooManyRecipients { max: N },
                ))
            })?;
        }
        let params = MailParams {
            smtputf8: message.needs_smtputf8(),
            ..MailParams::default()
        };
        Ok(Envelope {
            from: message.from_mailbox().address(),
            recipients,
            params,
        })
    }

    pub(crate) fn recipients(&self) -> impl Iterator<Item = Address<'m>> + Clone + '_ {
        self.recipients.iter().copied()
    }
}

/// The accessors both clients have, with the same names and docs.
macro_rules! client_accessors {
    () => {
        /// Gives the stream back (for example to close the socket).
        pub fn into_inner(self) -> S {
            self.stream
        }

        /// The upgrader.
        pub fn upgrader_mut(&mut self) -> &mut U {
            &mut self.upgrade
        }

        /// The engine, for its capabilities, report and state.
        pub fn engine(&self) -> &Engine<'a, N> {
            &self.engine
        }

        /// What the server's EHLO said it supports.
        pub fn capabilities(&self) -> &Capabilities {
            self.engine.capabilities()
        }

        /// The stream.
        pub fn stream_mut(&mut self) -> &mut S {
            &mut self.stream
        }
    };
}
pub(crate) use client_accessors;
