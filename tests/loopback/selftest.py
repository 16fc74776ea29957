#!/usr/bin/env python3
"""Checks smtp_server.py itself with Python's smtplib: each mode, AUTH, the
files it writes, per-recipient refusal, sink and exits. Run by .ci/run before
the Rust loopback suite, so a broken peer is reported as such.

The TLS modes use a throwaway self-signed P-256 certificate made with the
openssl command; without openssl they are skipped.
"""

import json
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MSG = b"From: a@example.org\r\nSubject: t\r\n\r\n.dot line\r\n8bit \xc3\xa9\r\n"


def start(tmp, mode, *extra):
    cmd = [sys.executable, os.path.join(HERE, "smtp_server.py"), "--mode", mode,
           "--out", os.path.join(tmp, mode), "--idle-timeout", "30", *extra]
    if mode != "plain":
        cmd += ["--cert", os.path.join(tmp, "cert.pem"), "--key", os.path.join(tmp, "key.pem")]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    assert line.startswith("READY "), f"first line was {line!r}"
    return p, int(line.split()[1])


def stop(p):
    p.stdin.close()  # end of stdin: the server must exit promptly, with status 0
    assert p.wait(5) == 0


def check_mode(tmp, mode, tls12=False):
    extra = ["--tls12-only"] if tls12 else []
    p, port = start(tmp, mode, "--auth", "alice:s3cret", "--require-auth",
                    "--allow-plaintext-auth", "--reject-rcpt", "gone@example.org", *extra)
    ctx = ssl.create_default_context(cafile=os.path.join(tmp, "cert.pem"))
    try:
        if tls12:
            # A client that insists on TLS 1.3 gets no connection.
            only13 = ssl.create_default_context(cafile=os.path.join(tmp, "cert.pem"))
            only13.minimum_version = ssl.TLSVersion.TLSv1_3
            try:
                if mode == "implicit":
                    smtplib.SMTP_SSL("127.0.0.1", port, context=only13, timeout=10)
                else:
                    c = smtplib.SMTP("127.0.0.1", port, timeout=10)
                    c.starttls(context=only13)
                raise AssertionError("a TLS 1.3-only client connected")
            except ssl.SSLError:
                pass
        if mode == "implicit":
            s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=10)
        else:
            s = smtplib.SMTP("127.0.0.1", port, timeout=10)
            if mode == "starttls":
                s.ehlo()
                assert s.docmd("MAIL", "FROM:<a@example.org>")[0] == 530
                s.starttls(context=ctx)
        if mode != "plain":
            want = "TLSv1.2" if tls12 else "TLSv1.3"
            assert s.sock.version() == want, s.sock.version()
        s.ehlo()
        assert "pipelining" in s.esmtp_features
        assert s.docmd("MAIL", "FROM:<a@example.org>")[0] == 530  # --require-auth
        s.rset()
        try:
            s.login("alice", "wrong")
            raise AssertionError("wrong password accepted")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535
        s.login("alice", "s3cret")
        refused = s.sendmail("a@example.org", ["b@example.org", "gone@example.org"], MSG)
        assert refused == {"gone@example.org": (550, b"5.1.1 No such user")}, refused
        s.quit()
    finally:
        stop(p)
    out = os.path.join(tmp, mode)
    assert open(os.path.join(out, "0001.eml"), "rb").read() == MSG
    meta = json.load(open(os.path.join(out, "0001.json")))
    assert meta == {"mail_from": "a@example.org", "rcpt_tos": ["b@example.org"],
                    "mail_options": [f"SIZE={len(MSG)}"], "rcpt_options": [],
                    "auth_user": "alice"}, meta


def check_sink_and_exit(tmp):
    p, port = start(tmp, "plain", "--sink", "--max-messages", "2", "--no-pipelining")
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    s.ehlo()
    assert "pipelining" not in s.esmtp_features and "auth" not in s.esmtp_features
    for _ in range(2):
        s.sendmail("a@example.org", ["b@example.org"], MSG)
    s.quit()
    assert p.wait(5) == 0  # exits by itself after --max-messages
    assert open(os.path.join(tmp, "plain", "count")).read() == "2\n"


def check_chunking(tmp):
    """--chunking: BDAT chunks taken as they are (no dot-stuffing, bare LF kept),
    a refused chunk still read whole, the message stored with its chunk count."""
    p, port = start(tmp, "plain", "--chunking")
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=10)
        s.ehlo()
        assert "chunking" in s.esmtp_features
        # No RCPT yet: refused, and the 4 octets are not taken as a command.
        s.send(b"BDAT 4\r\nNOOP")
        assert s.getreply()[0] == 503
        assert s.noop()[0] == 250
        s.mail("a@example.org")
        s.rcpt("b@example.org")
        s.send(b"BDAT 7\r\n.dot\r\nx")
        assert s.getreply()[0] == 250
        s.send(b"BDAT 5 LAST\r\ny\nz\r\n")
        assert s.getreply()[0] == 250
        s.quit()
    finally:
        stop(p)
    out = os.path.join(tmp, "plain")
    assert open(os.path.join(out, "0001.eml"), "rb").read() == b".dot\r\nxy\nz\r\n"
    meta = json.load(open(os.path.join(out, "0001.json")))
    assert meta["bdat_chunks"] == 2 and meta["rcpt_tos"] == ["b@example.org"], meta


def check_idle_exit(tmp):
    t = time.monotonic()
    p, _ = start(tmp, "plain", "--idle-timeout", "0.5")
    assert p.wait(5) == 0 and time.monotonic() - t < 5


def main():
    tmp = tempfile.mkdtemp(prefix="smtp-selftest-")
    passed = failed = skipped = 0
    have_openssl = shutil.which("openssl") is not None
    if have_openssl:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", os.path.join(tmp, "key.pem"),
                        "-out", os.path.join(tmp, "cert.pem")],
                       check=True, capture_output=True)
    checks = [("plain", lambda d: check_mode(d, "plain"), True),
              ("starttls", lambda d: check_mode(d, "starttls"), have_openssl),
              ("implicit", lambda d: check_mode(d, "implicit"), have_openssl),
              ("starttls --tls12-only",
               lambda d: check_mode(d, "starttls", tls12=True), have_openssl),
              ("implicit --tls12-only",
               lambda d: check_mode(d, "implicit", tls12=True), have_openssl),
              ("sink and --max-messages", check_sink_and_exit, True),
              ("--chunking (BDAT)", check_chunking, True),
              ("idle timeout", check_idle_exit, True)]
    for name, check, runnable in checks:
        if not runnable:
            print(f"skip {name} (no openssl command)")
            skipped += 1
            continue
        d = tempfile.mkdtemp(dir=tmp)
        if have_openssl:
            for f in ("cert.pem", "key.pem"):
                shutil.copy(os.path.join(tmp, f), d)
        try:
            check(d)
            print(f"ok   {name}")
            passed += 1
        except Exception as e:  # report and go on with the other checks
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            failed += 1
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"smtp_server: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
