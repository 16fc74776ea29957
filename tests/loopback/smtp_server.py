#!/usr/bin/env python3
"""A real SMTP peer on 127.0.0.1 for the loopback tests (aiosmtpd 1.4.6).

Started as a child process by the Rust tests (see README.md beside this file):

    python3 tests/loopback/smtp_server.py --mode plain|starttls|implicit \
        [--cert PEM --key PEM] [--auth USER:PASSWORD] [--require-auth] \
        [--allow-plaintext-auth] [--no-pipelining] [--chunking] [--reject-rcpt ADDR ...] \
        [--tls12-only] \
        --out DIR [--sink] [--max-messages N] [--idle-timeout SECS]

Once listening it prints exactly one line, `READY <port>`, on stdout and
nothing else there afterwards (diagnostics go to stderr). Each message is
stored as DIR/NNNN.eml (the DATA bytes) and DIR/NNNN.json (the envelope)
before the server answers 250 to the final dot, so a client that has seen its
250 can read the files at once.

It exits by itself, so it never outlives the test that started it:
  * when its stdin reaches end of file (the parent closed the pipe or died);
  * after --idle-timeout seconds with no connection open or opened;
  * with --max-messages N, once N messages are stored and no connection is open.
"""

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import ssl
import sys
import threading
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"  # never anything else: these tests must not be reachable


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", required=True, choices=["plain", "starttls", "implicit"])
    p.add_argument("--cert", help="PEM certificate chain (leaf first); starttls/implicit")
    p.add_argument("--key", help="PEM private key for --cert")
    p.add_argument("--tls12-only", action="store_true",
                   help="speak TLS 1.2 and nothing newer (starttls/implicit): a server "
                        "embedded-tls cannot reach")
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help="accept AUTH PLAIN and LOGIN with these credentials only")
    p.add_argument("--require-auth", action="store_true",
                   help="answer 530 to MAIL/RCPT/DATA until AUTH succeeded")
    p.add_argument("--allow-plaintext-auth", action="store_true",
                   help="offer and accept AUTH without TLS")
    p.add_argument("--chunking", action="store_true",
                   help="advertise CHUNKING and take messages in BDAT chunks (RFC 3030)")
    p.add_argument("--no-pipelining", action="store_true",
                   help="do not advertise PIPELINING in the EHLO reply")
    p.add_argument("--reject-rcpt", metavar="ADDR", action="append", default=[],
                   help="answer '550 5.1.1 No such user' to RCPT TO this address (repeatable)")
    p.add_argument("--out", required=True, metavar="DIR", help="where messages are written")
    p.add_argument("--sink", action="store_true",
                   help="store nothing; only count messages into DIR/count")
    p.add_argument("--max-messages", type=int, metavar="N",
                   help="exit after N messages, once no connection is open")
    p.add_argument("--idle-timeout", type=float, default=60.0, metavar="SECS",
                   help="exit after SECS without any connection (default 60)")
    p.add_argument("--no-stdin-watch", action="store_true",
                   help="do not exit on end of stdin (for runs by hand)")
    p.add_argument("-v", "--verbose", action="store_true", help="log the dialogue on stderr")
    a = p.parse_args(argv)
    if a.mode != "plain" and not (a.cert and a.key):
        p.error(f"--mode {a.mode} needs --cert and --key")
    if a.tls12_only and a.mode == "plain":
        p.error("--tls12-only needs --mode starttls or implicit")
    if a.require_auth and not a.auth:
        p.error("--require-auth needs --auth")
    if a.auth and ":" not in a.auth:
        p.error("--auth takes USER:PASSWORD")
    return a


def tls_context(cert, key, tls12_only=False):
    """Server context: TLS 1.3 only (embedded-tls speaks nothing else), or with
    --tls12-only TLS 1.2 only (the desktop example falls back to rustls there)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if tls12_only:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    return ctx


def send_handshake_alerts():
    """Make asyncio send the TLS alert of a failed handshake, as a server on
    OpenSSL's own sockets does (a TLS 1.2-only server answers a TLS 1.3-only
    ClientHello with a protocol_version alert). asyncio's SSL protocol closes the
    connection at once and drops the alert waiting in its buffer; this writes it
    out first. Only for --tls12-only, whose clients must see that alert."""
    import asyncio.sslproto as sslproto
    original = sslproto.SSLProtocol._on_handshake_complete
    if not hasattr(sslproto.SSLProtocol, "_process_outgoing"):
        return

    def on_handshake_complete(self, handshake_exc):
        if handshake_exc is not None:
            try:
                self._process_outgoing()
            except Exception:  # the alert is a courtesy; the close goes on
                pass
        return original(self, handshake_exc)

    sslproto.SSLProtocol._on_handshake_complete = on_handshake_complete


def write_atomic(path, data: bytes):
    """Write to a temporary name in the same folder, then rename over `path`."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Handler:
    """aiosmtpd hooks: EHLO capabilities, recipient refusals, message storage."""

    def __init__(self, args):
        self.args = args
        self.reject = {r.lower() for r in args.reject_rcpt}
        self.delivered = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # With this (5-argument) hook aiosmtpd leaves the bookkeeping to us.
        session.host_name = hostname
        out = []
        for line in responses:
            # Without --auth there is nothing to log in to: do not offer AUTH.
            if line.startswith("250-AUTH") and not self.args.auth:
                continue
            if line == "250 HELP" and not self.args.no_pipelining:
                # aiosmtpd reads one command at a time from a buffered stream and
                # answers in order, which is all RFC 2920 asks of a server.
                out.append("250-PIPELINING")
            if line == "250 HELP" and self.args.chunking:
                out.append("250-CHUNKING")
            out.append(line)
        return out

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return self.store(session, envelope, None)

    def store(self, session, envelope, chunks):
        """Stores a message (from DATA, or from `chunks` BDAT chunks); the reply."""
        self.delivered += 1
        n, out = self.delivered, self.args.out
        if self.args.sink:
            write_atomic(os.path.join(out, "count"), b"%d\n" % n)
            return "250 OK"
        # original_content: the DATA bytes exactly as received, CRLFs kept, with
        # only the transparency dots removed (RFC 5321 4.5.2) and without the
        # final ".\r\n".
        write_atomic(os.path.join(out, "%04d.eml" % n), envelope.original_content)
        user = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,  # upper-cased by aiosmtpd
            "rcpt_options": envelope.rcpt_options,
            "auth_user": user.decode("utf-8", "surrogateescape") if user is not None else None,
        }
        if chunks is not None:
            meta["bdat_chunks"] = chunks
        # The .json is written last: when it exists, the .eml is complete too.
        write_atomic(os.path.join(out, "%04d.json" % n), json.dumps(meta).encode() + b"\n")
        return "250 OK"


def make_authenticator(creds):
    user, _, password = creds.partition(":")
    user, password = user.encode(), password.encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (mechanism in ("PLAIN", "LOGIN")
              and isinstance(auth_data, LoginPassword)
              and hmac.compare_digest(auth_data.login, user)
              and hmac.compare_digest(auth_data.password, password))
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: aiosmtpd answers "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)

    return authenticator


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = Handler(args)
    ctx = tls_context(args.cert, args.key, args.tls12_only) if args.mode != "plain" else None
    open_conns = set()  # SMTP protocol objects with a live connection
    last_activity = time.monotonic()
    stop = asyncio.Event()

    class Smtp(SMTP):
        # Counts connections for the idle and --max-messages exits.
        # (connection_made runs again after STARTTLS; the set absorbs that.)
        def connection_made(self, transport):
            nonlocal last_activity
            open_conns.add(self)
            last_activity = time.monotonic()
            super().connection_made(transport)

        def connection_lost(self, error):
            nonlocal last_activity
            open_conns.discard(self)
            last_activity = time.monotonic()
            super().connection_lost(error)

        async def smtp_BDAT(self, arg):
            """CHUNKING (RFC 3030, with --chunking): `BDAT size [LAST]`, then exactly
            `size` octets of the message, taken as they are (no dot-stuffing, no
            terminator). The chunk is read before anything is judged, so a refused
            chunk never desynchronises the stream."""
            m = re.fullmatch(r"([0-9]{1,9})(?: +(LAST))?", arg or "", re.IGNORECASE)
            if not args.chunking or m is None:
                await self.push("501 5.5.4 Syntax: BDAT chunk-size [LAST]")
                return
            chunk = await self._reader.readexactly(int(m.group(1)))
            if await self.check_helo_needed() or await self.check_auth_needed("BDAT"):
                return
            if self.envelope is None or not self.envelope.rcpt_tos:
                await self.push("503 5.5.1 Error: need RCPT command")
                return
            parts = self.envelope.__dict__.setdefault("bdat_parts", [])
            parts.append(chunk)
            if m.group(2) is None:
                await self.push(f"250 2.0.0 {len(chunk)} octets received")
                return
            self.envelope.original_content = b"".join(parts)
            self.envelope.content = self.envelope.original_content
            status = handler.store(self.session, self.envelope, len(parts))
            self._set_post_data_state()
            await self.push(status)

    def factory():
        return Smtp(
            handler,
            hostname="localhost",           # not getfqdn(): no DNS lookups
            enable_SMTPUTF8=True,           # as aiosmtpd's Controller defaults
            tls_context=ctx if args.mode == "starttls" else None,
            require_starttls=args.mode == "starttls",
            authenticator=make_authenticator(args.auth) if args.auth else None,
            # aiosmtpd only counts STARTTLS as TLS; under implicit TLS every
            # byte is encrypted already, so AUTH is safe there too.
            auth_require_tls=args.mode == "starttls" or (
                args.mode == "plain" and not args.allow_plaintext_auth),
            auth_required=args.require_auth,
            timeout=max(args.idle_timeout, 1.0),  # a stuck client cannot pin us
            loop=loop,
        )

    # aiosmtpd's Controller does exactly this create_server(ssl=...) call for
    # implicit TLS, but its readiness probe cannot cope with port 0 and it runs
    # a second thread; one event loop in the main thread is simpler.
    server = await loop.create_server(
        factory, host=HOST, port=0, ssl=ctx if args.mode == "implicit" else None)
    port = server.sockets[0].getsockname()[1]

    if not args.no_stdin_watch:
        def watch_stdin():
            # os.read on the raw descriptor, not sys.stdin: a daemon thread
            # blocked inside a buffered reader aborts interpreter shutdown.
            try:
                while os.read(0, 4096):
                    pass
            except OSError:
                pass
            print("smtp_server: stdin closed, exiting", file=sys.stderr)
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, daemon=True).start()

    print(f"READY {port}", flush=True)

    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass
        if open_conns:
            continue
        if args.max_messages is not None and handler.delivered >= args.max_messages:
            print(f"smtp_server: {handler.delivered} messages, exiting", file=sys.stderr)
            break
        if time.monotonic() - last_activity > args.idle_timeout:
            print("smtp_server: idle timeout, exiting", file=sys.stderr)
            break

    server.close()
    for conn in list(open_conns):
        if conn.transport is not None:
            conn.transport.close()
    await server.wait_closed()


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.tls12_only:
        send_handshake_alerts()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr, format="smtp_server: %(message)s")
    # aiosmtpd warns (via warnings and logging) about AUTH without TLS; that is
    # exactly what --allow-plaintext-auth asked for.
    warnings.simplefilter("ignore")
    if not args.verbose:
        logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
