"""Writes the request-file corpus and its manifest (run once; the files are committed).

Each entry: the file, and what the rules must say of it: ACCEPTED with its counts, or REJECTED
with the file-level code (and, for BAD_ROWS, the first bad row's line and reason).
"""

import json
from pathlib import Path

HERE = Path(__file__).parent
BOM = b"\xef\xbb\xbf"
LONG = "L" * 257
EXACT = "é" * 256

A = "ACCEPTED"
R = "REJECTED"
cases = [
    # --- accepted: what people really upload ----------------------------------------------
    ("plain.csv", b"USER_ID\nu1\nu2\nu3\n", A, dict(validUsers=3)),
    ("no-final-newline.csv", b"USER_ID\nu1\nu2", A, dict(validUsers=2)),
    ("crlf.csv", b"USER_ID\r\nu1\r\nu2\r\n", A, dict(validUsers=2)),
    ("cr-only.csv", b"USER_ID\ru1\ru2\r", A, dict(validUsers=2)),
    ("bom.csv", BOM + b"USER_ID\nu1\n", A, dict(validUsers=1)),
    ("bom-crlf-excel.csv", BOM + b"USER_ID\r\nu1\r\nu2\r\n\r\n", A, dict(validUsers=2)),
    ("lowercase-header.csv", b"user_id\nu1\n", A, dict(validUsers=1)),
    ("header-with-blanks.csv", b"  USER_ID \t\nu1\n", A, dict(validUsers=1)),
    ("quoted-header.csv", b'"USER_ID"\n"u1"\n', A, dict(validUsers=1)),
    ("quoted-comma.csv", b'USER_ID\n"smith, john"\nu2\n', A, dict(validUsers=2)),
    ("quoted-escaped-quote.csv", b'USER_ID\n"say ""hi"""\n', A, dict(validUsers=1)),
    ("blank-lines.csv", b"USER_ID\n\nu1\n\n\nu2\n\n", A, dict(validUsers=2, blankLines=4)),
    ("whitespace-lines.csv", b"USER_ID\n   \nu1\n\t\n", A, dict(validUsers=1, blankLines=2)),
    ("leading-blank-lines.csv", b"\n\nUSER_ID\nu1\n", A, dict(validUsers=1)),
    ("surrounding-blanks.csv", b"USER_ID\n  u1  \n\tu2\t\n", A, dict(validUsers=2)),
    ("duplicates.csv", b"USER_ID\nu1\nu2\nu1\n u1 \n\"u1\"\n", A, dict(validUsers=2, duplicates=3)),
    ("unicode-ids.csv", "USER_ID\nüser\n用户\n😀\n".encode(), A, dict(validUsers=3)),
    ("id-256-chars.csv", f"USER_ID\n{EXACT}\n".encode(), A, dict(validUsers=1)),
    ("emails.csv", b"USER_ID\nann@example.com\nbob+x@example.org\n", A, dict(validUsers=2)),
    ("uuids.csv", b"USER_ID\n0d6c1a2e-7f61-4b7e-9a51-1f0c6d8f2a11\n6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\n", A, dict(validUsers=2)),
    ("numeric-ids.csv", b"USER_ID\n0001\n1\n1.0\n", A, dict(validUsers=3)),
    ("percent-and-plus.csv", b"USER_ID\n50%off\na+b\n#hash\n", A, dict(validUsers=3)),
    ("quoted-with-blanks.csv", b'USER_ID\n  "u1"  \n" u2 "\n', A, dict(validUsers=2)),
    ("sql-export.csv", b"USER_ID\r\n'u1'\r\nu2\r\n", A, dict(validUsers=2)),
    ("many-users.csv", ("USER_ID\n" + "".join(f"user-{i:05d}\n" for i in range(2500))).encode(), A, dict(validUsers=2500)),
    # --- rejected: the whole file ---------------------------------------------------------
    ("empty.csv", b"", R, dict(code="EMPTY")),
    ("only-blank-lines.csv", b"\n\n  \n", R, dict(code="EMPTY")),
    ("header-only.csv", b"USER_ID\n", R, dict(code="NO_IDS")),
    ("header-and-blanks.csv", b"USER_ID\n\n\n", R, dict(code="NO_IDS")),
    ("no-header.csv", b"u1\nu2\n", R, dict(code="WRONG_HEADER")),
    ("wrong-header.csv", b"EMAIL\nann@example.com\n", R, dict(code="WRONG_HEADER")),
    ("header-typo.csv", b"USERID\nu1\n", R, dict(code="WRONG_HEADER")),
    ("header-with-bom-twice.csv", BOM + BOM + b"USER_ID\nu1\n", R, dict(code="WRONG_HEADER")),
    ("two-columns.csv", b"USER_ID,EMAIL\nu1,a@x\n", R, dict(code="EXTRA_COLUMNS")),
    ("trailing-comma.csv", b"USER_ID\nu1,\n", R, dict(code="EXTRA_COLUMNS")),
    ("semicolon-excel-is-one-column.csv", b"USER_ID;NAME\nu1;x\n", R, dict(code="WRONG_HEADER")),
    ("invalid-utf8.csv", b"USER_ID\nu1\n\xff\xfeu2\n", R, dict(code="INVALID_UTF8")),
    ("latin1.csv", "USER_ID\nJosé\n".encode("latin-1"), R, dict(code="INVALID_UTF8")),
    ("utf16.csv", "USER_ID\nu1\n".encode("utf-16"), R, dict(code="INVALID_UTF8")),
    ("unterminated-quote.csv", b'USER_ID\nu1\n"u2\nu3\n', R, dict(code="UNTERMINATED_QUOTE")),
    # --- rejected: bad rows (default policy: one bad row rejects the file) -----------------
    ("id-too-long.csv", f"USER_ID\nu1\n{LONG}\n".encode(), R, dict(code="BAD_ROWS", line=3, problem="TOO_LONG")),
    ("empty-quoted.csv", b'USER_ID\nu1\n""\n', R, dict(code="BAD_ROWS", line=3, problem="EMPTY_AFTER_TRIM")),
    ("blank-quoted.csv", b'USER_ID\n"   "\nu1\n', R, dict(code="BAD_ROWS", line=2, problem="EMPTY_AFTER_TRIM")),
    ("tab-inside.csv", b"USER_ID\nu\t1\n", R, dict(code="BAD_ROWS", line=2, problem="CONTROL_CHARACTER")),
    ("nul-byte.csv", b"USER_ID\nu\x001\n", R, dict(code="BAD_ROWS", line=2, problem="CONTROL_CHARACTER")),
    ("newline-in-quotes.csv", b'USER_ID\n"u\n1"\nu2\n', R, dict(code="BAD_ROWS", line=2, problem="CONTROL_CHARACTER")),
    ("stray-quote.csv", b'USER_ID\nab"c\n', R, dict(code="BAD_ROWS", line=2, problem="MALFORMED_QUOTING")),
    ("text-after-quote.csv", b'USER_ID\n"ab"c\n', R, dict(code="BAD_ROWS", line=2, problem="MALFORMED_QUOTING")),
    ("many-bad-rows.csv", ("USER_ID\n" + "ok\n" + '""\n' * 150).encode(), R, dict(code="BAD_ROWS", line=3, problem="EMPTY_AFTER_TRIM", rejectedRows=150)),
]

manifest = []
for name, body, verdict, extra in cases:
    (HERE / name).write_bytes(body)
    manifest.append({"file": name, "verdict": verdict, **extra})
(HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
print(f"{len(cases)} files")
