//! Unit tests of the error types: texts, permanence, codes and widening.

use super::*;
use std::format;

type E = Error<Infallible>;

#[test]
fn blame_variants_print_and_classify() {
    let cases: [(E, &str); 6] = [
        (
            Error::Misuse(Misuse::NoTransaction),
            "misuse: no transaction is under way",
        ),
        (
            Error::Misuse(Misuse::NotPlain),
            "misuse: the stream is not plain (TLS is up already, or it failed)",
        ),
        (
            Error::Contract(Contract::SentTooMuch),
            "the driver broke the engine's contract: more bytes reported written than the engine gave",
        ),
        (
            Error::Invariant(Invariant::Room),
            "internal error (a bug in embedded-smtp): the room reserved in tx was too small",
        ),
        (
            Error::Capacity {
                buffer: Buffer::TlsRead,
                required: 768,
            },
            "TLS read buffer too small: 768 bytes needed",
        ),
        (
            Error::Protocol(ProtocolError::UnexpectedReply {
                stage: Stage::Greeting,
                code: ReplyCode::new(250).unwrap(),
            }),
            "protocol error: unexpected reply 250 to greeting",
        ),
    ];
    for (e, text) in cases {
        assert_eq!(format!("{e}"), text);
        // None of these goes away by trying again later.
        assert!(!e.is_transient() && e.is_permanent(), "{e:?}");
    }
    assert_eq!(
        Error::<Infallible>::Protocol(ProtocolError::UnexpectedReply {
            stage: Stage::Mail,
            code: ReplyCode::new(354).unwrap(),
        })
        .code(),
        ReplyCode::new(354)
    );
    assert_eq!(Error::<Infallible>::Misuse(Misuse::NotIdle).code(), None);
    // widen keeps the blame.
    let wide: Error<u8> = Error::<Infallible>::Contract(Contract::UnaskedBody).widen();
    assert_eq!(wide, Error::Contract(Contract::UnaskedBody));
}
