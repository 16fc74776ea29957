//! What the blocking and the async client share that is not I/O: a [`Message`]'s
//! transaction begun, and how a transport error becomes an [`Error`]. Each driver is
//! then only its loop over [`Action`](crate::engine::Action).

use embedded_io::ErrorKind;

use crate::engine::{Engine, MailParams, Stage};
use crate::error::{Error, Failure};
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

/// Starts the transaction of `message` on `engine`, `QUIT` after it when `quit`:
/// the message made ready to be written (again), its attachments back at their
/// first byte ([`Message::rewind`]). The recipients are read straight from the
/// message ([`Message::recipients`]) by the engine, which copies nothing out of
/// them: no envelope is kept beside the message. The driver then runs the body
/// from [`Message::writer`].
///
/// SMTPUTF8 is asked for here only for a non-ASCII `Reply-To` address: every other
/// address the message writes is also an envelope address, and the engine asks for
/// SMTPUTF8 for any non-ASCII one.
pub(crate) fn begin<R: embedded_io::Read, E, const N: usize>(
    engine: &mut Engine<'_, N>,
    message: &mut Message<'_, R>,
    quit: bool,
) -> Result<(), Error<E>> {
    message.rewind()?;
    let params = MailParams {
        smtputf8: message.reply_to_needs_smtputf8(),
        ..MailParams::default()
    };
    let from = message.from_mailbox().address();
    engine
        .begin_transaction(Some(from), message.recipients(), params)
        .and_then(|()| {
            if quit {
                engine.quit_after_transaction()
            } else {
                Ok(())
            }
        })
        .map_err(|e| e.widened())
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
