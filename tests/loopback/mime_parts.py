#!/usr/bin/env python3
"""Reads a stored message with Python's `email` package and prints its structure.

    python3 tests/loopback/mime_parts.py FILE.eml

Prints one line per item, fields separated by tabs, `-` for a missing value:

    header  NAME  VALUE       a field the tests check (decoded, folding removed)
    defect  DEPTH  NAME       a defect the parser found in the part at DEPTH
    part  DEPTH  TYPE  CHARSET  DISPOSITION  FILENAME  CONTENT-ID  HEX

one `part` line per MIME part, depth first, HEX being its payload decoded from
the transfer encoding (empty for a multipart). Used by tests/message_loopback.rs to read back what the loopback
peer stored, with a parser that shares no code with the writer.
"""

import email
import email.policy
import sys

FIELDS = [
    "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "Auto-Submitted", "Importance", "X-Priority", "MIME-Version",
    "Content-Type", "X-Device-Id", "X-Site",
]


def show(v):
    return "-" if v is None else str(v)


def walk(part, depth, out):
    for d in part.defects:
        out.append(["defect", str(depth), type(d).__name__])
    data = b"" if part.is_multipart() else part.get_payload(decode=True)
    out.append(["part", str(depth), part.get_content_type(),
                show(part.get_content_charset()), show(part.get_content_disposition()),
                show(part.get_filename()), show(part.get("Content-ID")), data.hex()])
    if part.is_multipart():
        for sub in part.iter_parts():
            walk(sub, depth + 1, out)


def main():
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out = [["header", name, str(msg[name])] for name in FIELDS if msg[name] is not None]
    walk(msg, 0, out)
    for row in out:
        print("\t".join(row))


if __name__ == "__main__":
    main()
