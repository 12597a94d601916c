"""The emulation's wire fidelity, checked against the API models AWS publishes.

Our Personalize (awsJson1_1), Pinpoint and Customer Profiles (restJson1) emulation is only worth
testing against if it speaks the services' wire format: a client that works with it must work with
AWS. botocore ships AWS's service models (`botocore/data/<service>/<version>/service-2.json`, the
models the SDKs are generated from); this module loads them from the venv and checks, for every
exchange the emulation serves itself:

- the request: for awsJson1_1 the method, path, Content-Type, X-Amz-Target and JSON body; for
  restJson1 the method and URI template (labels percent-decoded exactly once, greedy labels),
  query string, headers and the JSON body (the `payload` member, or the unbound members under
  their `locationName`) against the operation's input shape;
- the success response: HTTP status (restJson1 `http.responseCode`, default 200), Content-Type,
  header-bound members, and the body against the output shape;
- an error: its code (`__type` in the body or the `X-Amzn-Errortype` header) is one of the
  operation's modelled errors or one of the errors common to all AWS services, its status is the
  one the model (or the common-errors page) gives, and its body fits the error shape.

Shapes are checked for required members, types, enums, length and range limits, patterns and
unknown members. Problems name the operation, the member path and the rule; never a value (a
value may be a user ID), a map key, or an unusual member name.

Protocol rules followed (Smithy specifications, https://smithy.io/2.0/aws/protocols/):
- awsJson1_1: POST /, `Content-Type: application/x-amz-json-1.1`, `X-Amz-Target:
  {targetPrefix}.{operation}`; servers must accept an empty request body; errors carry the shape
  name in `__type` (or the X-Amzn-Errortype header); timestamps are epoch seconds (JSON numbers).
- restJson1: bodies are `application/json`; servers "MUST use a header field named
  X-Amzn-Errortype"; an error without `httpError` answers 400 ("client") or 500 ("server").
  Timestamps: epoch seconds in bodies, http-date in headers, date-time in query strings, unless
  the member's `timestampFormat` says otherwise (smithy.io/2.0/spec/protocol-traits.html).
- Both: an error value is sanitized by dropping anything after `:` and before `#`.
- `pattern` (smithy.io/2.0/spec/constraint-traits.html#pattern-trait): "does not implicitly add a
  leading ^ or trailing $", so a value passes if the expression matches part of it; `length`
  counts Unicode scalar values (Python's len of a str). The models' patterns are Java-flavoured:
  `\\p{L}`, `\\p{N}`, `\\p{Z}` (and other general categories) and `\\p{ASCII}` are translated into
  character ranges; a pattern Python still cannot compile is skipped and listed in the report.

Common errors ("errors common to the API actions of all AWS services", Common Errors - Amazon
Personalize, https://docs.aws.amazon.com/personalize/latest/dg/CommonErrors.html; the newer
edition of the page, e.g. https://docs.aws.amazon.com/mgn/latest/APIReference/CommonErrors.html,
adds codes and moves some statuses, so both statuses are accepted): see COMMON_ERRORS.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import botocore.loaders

# What each served service is in botocore's data folder.
SERVICES = {"personalize": "personalize", "pinpoint": "pinpoint", "customer-profiles": "customer-profiles"}

# Code -> the HTTP statuses the common-errors pages give it (older edition, newer edition).
COMMON_ERRORS: dict[str, frozenset[int]] = {
    "AccessDeniedException": frozenset({400, 403}),
    "ExpiredTokenException": frozenset({403}),
    "IncompleteSignature": frozenset({400, 403}),
    "InternalFailure": frozenset({500}),
    "InvalidAction": frozenset({400}),
    "InvalidClientTokenId": frozenset({403}),
    "MalformedHttpRequestException": frozenset({400}),
    "NotAuthorized": frozenset({400, 401}),
    "OptInRequired": frozenset({403}),
    "RequestAbortedException": frozenset({400}),
    "RequestEntityTooLargeException": frozenset({413}),
    "RequestExpired": frozenset({400}),
    "RequestTimeoutException": frozenset({408}),
    "ServiceUnavailable": frozenset({503}),
    "ThrottlingException": frozenset({400}),
    "UnknownOperationException": frozenset({404}),
    "UnrecognizedClientException": frozenset({403}),
    "ValidationError": frozenset({400}),
}
# The body members a common error may carry (it has no shape in the model).
COMMON_ERROR_MEMBERS = frozenset({"message", "Message"})

AWS_JSON_11 = "application/x-amz-json-1.1"
JSON = "application/json"
# A member name we may quote in a problem; anything else could be data.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
_ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$", re.ASCII)
_NON_NUMERIC = frozenset({"NaN", "Infinity", "-Infinity"})
_INT_RANGES = {"byte": 8, "short": 16, "integer": 32, "long": 64}

Check = Callable[[Any, str, list], None]


def _name(key: object) -> str:
    return repr(key) if isinstance(key, str) and _NAME.match(key) else "(name not shown)"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def sanitize_error_code(value: str) -> str:
    """The error shape name of an `__type` / X-Amzn-Errortype value (Smithy's two steps)."""
    value = value.split(":", 1)[0]
    return value.split("#", 1)[1] if "#" in value else value


# --- Java-flavoured patterns -------------------------------------------------------------


@lru_cache(maxsize=None)
def _category_class(prefix: str) -> str:
    """Character-class ranges (no brackets) of the Unicode general categories starting with prefix."""
    out, start, prev = [], None, None
    # Above U+323AF only tags, variation selectors and private use remain: no L, N or Z there.
    for cp in range(0x323B0):
        if unicodedata.category(chr(cp)).startswith(prefix):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            out.append((start, prev))
            start = None
    if start is not None:
        out.append((start, prev))
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in out)


_PROPERTY = re.compile(r"\\([pP])\{(?:Is)?([A-Za-z]+)\}")


def translate_pattern(pattern: str) -> str:
    """A Java regular expression's `\\p{..}` classes as ranges Python's re understands.

    Raises ValueError for a construct it does not translate (the caller skips that pattern).
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            m = _PROPERTY.match(pattern, i)
            if m:
                negate, prop = m.group(1) == "P", m.group(2)
                if prop == "ASCII":
                    ranges = "\\x00-\\x7f"
                elif prop in ("L", "Lu", "Ll", "Lt", "Lm", "Lo", "N", "Nd", "Nl", "No", "Z", "Zs", "Zl",
                              "Zp", "P", "S", "M", "C"):
                    ranges = _category_class(prop)
                else:
                    raise ValueError(f"unsupported property \\p{{{prop}}}")
                if in_class:
                    if negate:
                        raise ValueError("\\P{..} inside a character class")
                    out.append(ranges)
                else:
                    out.append(f"[{'^' if negate else ''}{ranges}]")
                i = m.end()
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


# --- shapes ------------------------------------------------------------------------------


class _Shapes:
    """Compiles a model's shapes into checking functions, once each."""

    def __init__(self, shapes: dict, skipped_patterns: list[str]):
        self.shapes = shapes
        self.skipped_patterns = skipped_patterns
        self.fns: dict[tuple, Check] = {}  # finished checkers only
        self.pending: dict[tuple, Check] = {}  # stubs of the shapes being compiled (recursion)
        self.compiling = threading.RLock()  # the emulation's threads may meet a shape first at once

    def check(self, name: str, timestamp_format: str | None = None) -> Check:
        key = (name, timestamp_format)
        fn = self.fns.get(key)
        if fn is None:
            with self.compiling:
                fn = self.fns.get(key) or self.pending.get(key)
                if fn is None:
                    # A recursive shape reaches its finished checker through the stub.
                    self.pending[key] = lambda v, p, o, k=key: self.fns[k](v, p, o)
                    fn = self.fns[key] = self._compile(name, timestamp_format)
                    del self.pending[key]
        return fn

    def _compile(self, name: str, timestamp_format: str | None) -> Check:
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure":
            return self.structure(name, shape["members"], shape.get("required", ()), union=bool(shape.get("union")))
        if kind == "string":
            return self._string(name, shape)
        if kind in _INT_RANGES:
            return self._integer(shape, kind)
        if kind in ("float", "double"):
            return self._float(shape)
        if kind == "boolean":
            return _boolean
        if kind == "blob":
            return self._blob(shape)
        if kind == "timestamp":
            return _timestamp(timestamp_format or shape.get("timestampFormat") or "unixTimestamp")
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        return lambda v, p, o: None  # document, bigInteger, bigDecimal: any JSON value

    def member_check(self, member: dict, default_timestamp: str | None = None) -> Check:
        target = self.shapes[member["shape"]]
        fmt = member.get("timestampFormat") or target.get("timestampFormat") or default_timestamp
        return self.check(member["shape"], fmt if target["type"] == "timestamp" else None)

    def structure(self, name: str, members: dict, required=(), union: bool = False) -> Check:
        """A JSON object of `members` (wire name: `locationName`, else the member name)."""
        table = {m.get("locationName", n): (n, self.member_check(m)) for n, m in members.items()}
        wanted = tuple((n, members[n].get("locationName", n)) for n in required if n in members)

        def check(value, path, out):
            if not isinstance(value, dict):
                out.append(f"{path or '(body)'}: a JSON object expected ({name}), found {_json_type(value)}")
                return
            for member, wire in wanted:
                if value.get(wire) is None:
                    out.append(f"{_join(path, member)}: required member missing")
            set_members = 0
            for wire, v in value.items():
                entry = table.get(wire)
                if entry is None:
                    if wire != "__type":  # "Deserializers MUST ignore an unrecognized __type"
                        out.append(f"{path or '(body)'}: unknown member {_name(wire)} (not in {name})")
                    continue
                if v is None:
                    out.append(f"{_join(path, entry[0])}: null (an absent member is omitted)")
                    continue
                set_members += 1
                entry[1](v, _join(path, entry[0]), out)
            if union and set_members != 1:
                out.append(f"{path or '(body)'}: a union ({name}) needs exactly one member set")

        return check

    def _string(self, name: str, shape: dict) -> Check:
        enum = frozenset(shape["enum"]) if "enum" in shape else None
        lo, hi = shape.get("min"), shape.get("max")
        regex = None
        if "pattern" in shape:
            try:
                regex = re.compile(translate_pattern(shape["pattern"]), re.ASCII)
            except (ValueError, re.error) as e:
                self.skipped_patterns.append(f"{name}: {e}")

        def plain(value, path, out):
            if not isinstance(value, str):
                out.append(f"{path}: a string expected ({name}), found {_json_type(value)}")

        if enum is None and lo is None and hi is None and regex is None:
            return plain  # most strings of these models: no constraint but the type

        def check(value, path, out):
            if not isinstance(value, str):
                out.append(f"{path}: a string expected ({name}), found {_json_type(value)}")
                return
            if enum is not None and value not in enum:
                out.append(f"{path}: not one of the enum values of {name}")
            if lo is not None and len(value) < lo:
                out.append(f"{path}: shorter than the minimum length {lo} of {name}")
            if hi is not None and len(value) > hi:
                out.append(f"{path}: longer than the maximum length {hi} of {name}")
            if regex is not None and not regex.search(value):
                out.append(f"{path}: does not match the pattern of {name}")

        return check

    def _integer(self, shape: dict, kind: str) -> Check:
        bits = _INT_RANGES[kind]
        lo = shape.get("min", -(2 ** (bits - 1)))
        hi = shape.get("max", 2 ** (bits - 1) - 1)

        def check(value, path, out):
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    out.append(f"{path}: an integer expected ({kind}), found {_json_type(value)}")
                    return
            if value < lo:
                out.append(f"{path}: below the minimum {lo}")
            elif value > hi:
                out.append(f"{path}: above the maximum {hi}")

        return check

    def _float(self, shape: dict) -> Check:
        lo, hi = shape.get("min"), shape.get("max")

        def check(value, path, out):
            if isinstance(value, str) and value in _NON_NUMERIC:
                return
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                out.append(f"{path}: a number expected, found {_json_type(value)}")
                return
            if lo is not None and value < lo:
                out.append(f"{path}: below the minimum {lo}")
            if hi is not None and value > hi:
                out.append(f"{path}: above the maximum {hi}")

        return check

    def _blob(self, shape: dict) -> Check:
        lo, hi = shape.get("min"), shape.get("max")

        def check(value, path, out):
            if not isinstance(value, str):
                out.append(f"{path}: a base64 string expected (blob), found {_json_type(value)}")
                return
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                out.append(f"{path}: not valid base64 (blob)")
                return
            if lo is not None and len(data) < lo:
                out.append(f"{path}: fewer than {lo} bytes")
            if hi is not None and len(data) > hi:
                out.append(f"{path}: more than {hi} bytes")

        return check

    def _list(self, shape: dict) -> Check:
        item = self.member_check(shape["member"])
        lo, hi = shape.get("min"), shape.get("max")

        def check(value, path, out):
            if not isinstance(value, list):
                out.append(f"{path}: a JSON array expected, found {_json_type(value)}")
                return
            if lo is not None and len(value) < lo:
                out.append(f"{path}: fewer than {lo} items")
            if hi is not None and len(value) > hi:
                out.append(f"{path}: more than {hi} items")
            for i, v in enumerate(value):
                if v is None:
                    out.append(f"{path}[{i}]: null in a list")
                else:
                    item(v, f"{path}[{i}]", out)

        return check

    def _map(self, shape: dict) -> Check:
        key = self.member_check(shape["key"])
        val = self.member_check(shape["value"])
        lo, hi = shape.get("min"), shape.get("max")

        def check(value, path, out):
            if not isinstance(value, dict):
                out.append(f"{path}: a JSON object expected (map), found {_json_type(value)}")
                return
            if lo is not None and len(value) < lo:
                out.append(f"{path}: fewer than {lo} entries")
            if hi is not None and len(value) > hi:
                out.append(f"{path}: more than {hi} entries")
            entry = f"{path}{{}}"  # keys are data: never named
            for k, v in value.items():
                key(k, entry + " (key)", out)
                if v is None:
                    out.append(f"{entry}: null value in a map")
                else:
                    val(v, entry, out)

        return check


def _boolean(value, path, out):
    if not isinstance(value, bool):
        out.append(f"{path}: a boolean expected, found {_json_type(value)}")


def _timestamp(fmt: str) -> Check:
    def check(value, path, out):
        if fmt == "unixTimestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                out.append(f"{path}: a timestamp in epoch seconds (a JSON number) expected, "
                           f"found {_json_type(value)}")
        elif fmt == "iso8601":
            if not isinstance(value, str) or not _ISO8601.match(value):
                out.append(f"{path}: a date-time (RFC 3339) timestamp expected")
        else:  # rfc822: an HTTP date
            try:
                parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                out.append(f"{path}: an http-date timestamp expected")

    return check


# --- the HTTP side of a model ------------------------------------------------------------


@dataclass
class Request:
    method: str
    raw_path: str  # still percent-encoded
    query: str
    headers: Any  # .get(lower-case name): a dict, or the environ's headers
    body: bytes


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Verdict:
    operation: str | None  # as the request identifies it (None: no operation of the model)
    request: list[str] = field(default_factory=list)
    response: list[str] = field(default_factory=list)
    error: str | None = None  # the error code answered, if it was an error


@dataclass
class _Route:
    operation: str
    method: str
    regex: re.Pattern
    labels: tuple[str, ...]
    literal_query: tuple[tuple[str, str | None], ...]


def _uri_route(op: str, method: str, uri: str) -> _Route:
    path, _, query = uri.partition("?")
    parts, labels = [], []
    for segment in path.split("/"):
        m = re.fullmatch(r"\{([^}+]+)(\+?)\}", segment)
        if m:
            labels.append(m.group(1))
            parts.append("(.+)" if m.group(2) else "([^/]+)")
        else:
            parts.append(re.escape(segment))
    literal = tuple((k, v if sep else None) for k, sep, v in (q.partition("=") for q in query.split("&") if q))
    return _Route(op, method, re.compile("/".join(parts)), tuple(labels), literal)


def _decode_label(raw: str) -> str | None:
    """A URI label decoded exactly once; None if it is not UTF-8 after decoding."""
    try:
        return unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


class ServiceModel:
    """One service's model from botocore's data folder, with its shapes compiled as needed."""

    def __init__(self, name: str, model: dict):
        self.name = name
        self.model = model
        self.metadata = model["metadata"]
        self.protocol = self.metadata["protocol"]  # "json" (awsJson1_x) or "rest-json"
        self.operations = model["operations"]
        self.skipped_patterns: list[str] = []
        self.shapes = _Shapes(model["shapes"], self.skipped_patterns)
        self._bodies: dict[tuple[str, str], Any] = {}  # compiled per-operation checks
        self._by_method: dict[tuple[str, tuple[str, ...]], list[_Route]] = {}
        self._errors: dict[str | None, frozenset[str]] = {}
        self._routes = [_uri_route(op, o["http"]["method"], o["http"]["requestUri"])
                        for op, o in self.operations.items()] if self.protocol == "rest-json" else []

    @classmethod
    @lru_cache(maxsize=None)
    def load(cls, service: str) -> ServiceModel:
        return cls(service, botocore.loaders.Loader().load_service_model(SERVICES.get(service, service), "service-2"))

    # errors

    def errors_of(self, operation: str | None) -> frozenset[str]:
        """The error codes an operation models (None: any operation of the service)."""
        operation = operation if operation in self.operations else None
        codes = self._errors.get(operation)
        if codes is None:
            ops = [self.operations[operation]] if operation else self.operations.values()
            codes = self._errors[operation] = frozenset(e["shape"] for o in ops for e in o.get("errors", ()))
        return codes

    def error_status(self, code: str) -> int:
        """The status of a modelled error: `httpStatusCode`, else 500 for a fault, 400 otherwise."""
        shape = self.model["shapes"][code]
        status = (shape.get("error") or {}).get("httpStatusCode")
        if status:
            return int(status)
        return 500 if shape.get("fault") else 400

    def _error_body(self, code: str) -> Check:
        check = self._bodies.get((code, "error"))
        if check is None:
            shape = self.model["shapes"][code]
            members = {n: m for n, m in shape.get("members", {}).items() if not m.get("location")}
            check = self._bodies[(code, "error")] = self.shapes.structure(code, members)
        return check

    # requests

    def route(self, method: str, raw_path: str, query: dict[str, list[str]],
              prefer: tuple[str, ...] = ()) -> tuple[_Route, dict[str, str]] | None:
        """(route, raw labels) whose method and URI template match; `prefer` ops are tried first."""
        routes = self._by_method.get((method, prefer))
        if routes is None:
            routes = self._by_method[(method, prefer)] = sorted(
                (r for r in self._routes if r.method == method), key=lambda r: r.operation not in prefer)
        for r in routes:
            m = r.regex.fullmatch(raw_path)
            if not m or any(k not in query or (v is not None and v not in query[k]) for k, v in r.literal_query):
                continue
            return r, dict(zip(r.labels, m.groups()))
        return None

    def check_request(self, operation: str | None, req: Request, prefer: tuple[str, ...] = ()) -> Verdict:
        if self.protocol == "json":
            return self._check_json_request(operation, req)
        return self._check_rest_request(req, prefer)

    def _check_json_request(self, operation: str | None, req: Request) -> Verdict:
        v = Verdict(operation if operation in self.operations else None)
        out = v.request
        if v.operation is None:
            out.append("X-Amz-Target names no operation of the model")
            return v
        if req.method != "POST" or req.raw_path != "/":
            out.append("awsJson1_1 requests are POST /")
        if req.headers.get("content-type", "").split(";")[0].strip() != AWS_JSON_11:
            out.append(f"Content-Type is not {AWS_JSON_11}")
        if req.headers.get("x-amz-target") != f"{self.metadata['targetPrefix']}.{operation}":
            out.append("X-Amz-Target is not {targetPrefix}.{operation}")
        check = self._json_body(operation, "input")
        if req.body:
            doc = _parse(req.body, out)
            if doc is not _BAD:
                check(doc, "", out)
        else:  # an empty body is an empty input (servers MUST accept it)
            check({}, "", out)
        return v

    def _json_body(self, operation: str, side: str) -> Check:
        """The checker of an awsJson1_1 operation's input or output document."""
        key = (operation, side)
        check = self._bodies.get(key)
        if check is None:
            ref = self.operations[operation].get(side)
            check = self._bodies[key] = (self.shapes.check(ref["shape"]) if ref else
                                         self.shapes.structure(f"{operation} {side}", {}))
        return check

    def _bindings(self, operation: str) -> list[tuple]:
        """An operation's input members bound to the URI, the query string or headers:
        (name, location, wire name, checker, target shape, required), compiled once."""
        plan = self._bodies.get((operation, "bindings"))
        if plan is None:
            op = self.operations[operation]
            shape = self.model["shapes"][op["input"]["shape"]] if "input" in op else {}
            required = set(shape.get("required", ()))
            plan = self._bodies[(operation, "bindings")] = [
                (name, m["location"], m.get("locationName", name),
                 self.shapes.member_check(m, {"querystring": "iso8601", "header": "rfc822"}.get(m["location"])),
                 self.model["shapes"][m["shape"]], name in required)
                for name, m in shape.get("members", {}).items() if m.get("location") in ("uri", "querystring", "header")]
        return plan

    def _check_rest_request(self, req: Request, prefer: tuple[str, ...]) -> Verdict:
        query: dict[str, list[str]] = {}
        if req.query:
            for k, val in parse_qsl(req.query, keep_blank_values=True):
                query.setdefault(k, []).append(val)
        found = self.route(req.method, req.raw_path, query, prefer)
        if found is None:
            return Verdict(None, [f"{req.method} on this path matches no operation's URI template"])
        route, raw_labels = found
        v = Verdict(route.operation)
        out = v.request
        bound_query = {k for k, _ in route.literal_query}
        for name, where, wire, check, target, required in self._bindings(route.operation):
            if where == "uri":
                raw = raw_labels.get(wire)
                if raw is None:
                    out.append(f"{name}: URI label {{{wire}}} missing")
                    continue
                value = _decode_label(raw)
                if value is None:
                    out.append(f"{name}: URI label is not UTF-8 once percent-decoded")
                elif value == "":
                    out.append(f"{name}: empty URI label")
                else:
                    check(_from_text(value, target), name, out)
            elif where == "querystring":
                if target["type"] == "map":  # httpQueryParams: every parameter not otherwise bound
                    bound_query.update(query)
                    continue
                bound_query.add(wire)
                values = query.get(wire)
                if values is None:
                    if required:
                        out.append(f"{name}: required query parameter {wire!r} missing")
                    continue
                if target["type"] == "list":
                    item = self.model["shapes"][target["member"]["shape"]]
                    check([_from_text(x, item) for x in values], name, out)
                elif len(values) > 1:
                    out.append(f"{name}: query parameter {wire!r} repeated")
                else:
                    check(_from_text(values[0], target), name, out)
            else:  # header
                value = req.headers.get(wire.lower())
                if value is None:
                    if required:
                        out.append(f"{name}: required header {wire!r} missing")
                    continue
                check(_from_text(value, target), name, out)
        for k in query:
            if k not in bound_query:
                out.append(f"unknown query parameter {_name(k)}")
        self._check_rest_body(route.operation, "input", req.body, req.headers, out)
        return v

    def body_check(self, operation: str) -> Check | None:
        """The checker of a restJson1 operation's JSON request body: the members bound to no URI
        label, query parameter or header (None: the operation binds no body members)."""
        plan = self._rest_body(operation, "input")
        return plan[1] if plan[0] == "members" else plan[4]

    def _rest_body(self, operation: str, side: str) -> tuple:
        """How a restJson1 input or output body is checked, compiled once:
        ("payload", member name, required, is JSON, checker) or ("members", checker or None)."""
        key = (operation, side)
        plan = self._bodies.get(key)
        if plan is None:
            ref = self.operations[operation].get(side)
            shape = self.model["shapes"][ref["shape"]] if ref else {}
            members, required = shape.get("members", {}), shape.get("required", ())
            payload = shape.get("payload")
            if payload:
                member = members[payload]
                kind = self.model["shapes"][member["shape"]]["type"]
                plan = ("payload", payload, payload in required, kind in ("structure", "union", "document"),
                        self.shapes.member_check(member))
            else:
                unbound = {n: m for n, m in members.items() if not m.get("location")}
                plan = ("members", self.shapes.structure(ref["shape"], unbound, [r for r in required if r in unbound])
                        if unbound else None)
            self._bodies[key] = plan
        return plan

    def _check_rest_body(self, operation: str, side: str, body: bytes, headers: dict, out: list[str]):
        """The JSON body of a restJson1 request or response: the `payload` member, or the
        members bound to no header, label, query parameter or status code."""
        plan = self._rest_body(operation, side)
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if plan[0] == "payload":
            _, payload, required, is_json, check = plan
            if not body:
                if required:
                    out.append(f"{payload}: required payload missing (empty body)")
                return
            if is_json:
                if ctype != JSON:
                    out.append(f"Content-Type is not {JSON}")
                doc = _parse(body, out)
                if doc is not _BAD:
                    check(doc, payload, out)
            return
        check = plan[1]
        if check is None:
            if body and body.strip() not in (b"", b"{}"):
                out.append("a body where the operation binds no body members")
            return
        if not body:
            check({}, "", out)
            return
        if ctype != JSON:
            out.append(f"Content-Type is not {JSON}")
        doc = _parse(body, out)
        if doc is not _BAD:
            check(doc, "", out)

    # responses

    def check_response(self, v: Verdict, operation: str | None, resp: Response):
        """Adds the response's problems to `v` (`operation`: what it answers for)."""
        out = v.response
        is_error = resp.status >= 300
        if not is_error and operation in self.operations:
            self._check_success(operation, resp, out)
            return
        if not is_error:
            out.append(f"a success ({resp.status}) for a request that names no operation")
            return
        self._check_error(v, operation, resp, out)

    def _check_success(self, operation: str, resp: Response, out: list[str]):
        op = self.operations[operation]
        want = int(op["http"].get("responseCode", 200))
        if resp.status != want:
            out.append(f"status {resp.status}, the model says {want}")
        if self.protocol == "json":
            if resp.headers.get("content-type", "").split(";")[0].strip() != AWS_JSON_11:
                out.append(f"Content-Type is not {AWS_JSON_11}")
            if resp.body:  # clients accept an empty body as an empty output
                doc = _parse(resp.body, out)
                if doc is not _BAD:
                    self._json_body(operation, "output")(doc, "", out)
            return
        for name, wire, check, target, required in self._response_headers(operation):
            value = resp.headers.get(wire)
            if value is None:
                if required:
                    out.append(f"{name}: required header missing")
                continue
            check(_from_text(value, target), name, out)
        self._check_rest_body(operation, "output", resp.body, resp.headers, out)

    def _response_headers(self, operation: str) -> list[tuple]:
        """An operation's output members bound to headers: (name, lower-case header, checker,
        target shape, required), compiled once."""
        plan = self._bodies.get((operation, "headers"))
        if plan is None:
            ref = self.operations[operation].get("output")
            shape = self.model["shapes"][ref["shape"]] if ref else {}
            plan = self._bodies[(operation, "headers")] = [
                (name, m.get("locationName", name).lower(), self.shapes.member_check(m, "rfc822"),
                 self.model["shapes"][m["shape"]], name in shape.get("required", ()))
                for name, m in shape.get("members", {}).items() if m.get("location") == "header"]
        return plan

    def _check_error(self, v: Verdict, operation: str | None, resp: Response, out: list[str]):
        header = resp.headers.get("x-amzn-errortype")
        doc = _parse(resp.body, out) if resp.body else {}
        if doc is _BAD:
            doc = {}
        if not isinstance(doc, dict):
            out.append(f"(body): an error body must be a JSON object, found {_json_type(doc)}")
            doc = {}
        in_body = doc.get("__type") if isinstance(doc.get("__type"), str) else None
        if self.protocol == "rest-json" and header is None:
            out.append("no X-Amzn-Errortype header (restJson1 servers MUST send it)")
        if self.protocol == "json" and header is None and in_body is None:
            out.append("no __type in the body and no X-Amzn-Errortype header")
        codes = {sanitize_error_code(c) for c in (header, in_body) if c}
        if len(codes) > 1:
            out.append("X-Amzn-Errortype and __type name different errors")
        code = next(iter(sorted(codes)), None)
        v.error = code or "(none)"
        if code is None:
            return
        modelled = self.errors_of(operation if operation in self.operations else None)
        where = f"operation {operation}" if operation in self.operations else "any operation of the service"
        if code in modelled:
            want = self.error_status(code)
            if resp.status != want:
                out.append(f"{code}: status {resp.status}, the model says {want}")
            self._error_body(code)(doc, "", out)
        elif code in COMMON_ERRORS:
            if resp.status not in COMMON_ERRORS[code]:
                out.append(f"{code}: status {resp.status}, the common-errors page says "
                           f"{' or '.join(map(str, sorted(COMMON_ERRORS[code])))}")
            for k in doc:
                if k not in COMMON_ERROR_MEMBERS and k != "__type":
                    out.append(f"(body): unknown member {_name(k)} in a common error")
        else:
            out.append(f"error code {_name(code)} is neither modelled for {where} nor a common AWS error")
        ctype = resp.headers.get("content-type", "").split(";")[0].strip()
        want_type = AWS_JSON_11 if self.protocol == "json" else JSON
        if resp.body and ctype != want_type:
            out.append(f"Content-Type is not {want_type}")


_BAD = object()


def _parse(body: bytes, out: list[str]):
    try:
        return json.loads(body)
    except ValueError:
        out.append("(body): not valid JSON")
        return _BAD


def _from_text(value: str, shape: dict):
    """A label, query or header value as the type its shape has (left a string if it is not one)."""
    kind = shape["type"]
    try:
        if kind in _INT_RANGES:
            return int(value)
        if kind in ("float", "double"):
            return value if value in _NON_NUMERIC else float(value)
        if kind == "boolean":
            return {"true": True, "false": False}.get(value, value)
    except ValueError:
        return value
    return value


# --- the tally ---------------------------------------------------------------------------


def client_of(user_agent: str) -> str:
    """Which SDK sent a request, from its User-Agent (nothing else of it is kept)."""
    ua = user_agent.lower()
    if "aws-sdk-rust" in ua:
        return "aws-sdk-rust"
    if "boto3/" in ua or "botocore/" in ua:
        return "boto3"
    return "other"


class _Tally:
    LIMIT = 500  # entries kept per list; the counts go on

    def __init__(self):
        self.validated: dict[str, dict[str, dict]] = {}
        self.violations: list[dict] = []
        self.rejected: list[dict] = []
        self.violation_count = 0
        self.rejected_count = 0
        self.rejected_by_client: dict[str, int] = {}

    def add(self, service: str, operation: str, verdict: Verdict, status: int, client: str):
        op = self.validated.setdefault(service, {}).setdefault(
            operation, {"requests": 0, "responses": 0, "errors": {}})
        op["requests"] += 1
        if verdict.error is None:
            op["responses"] += 1
        else:
            op["errors"][verdict.error] = op["errors"].get(verdict.error, 0) + 1
        base = {"service": service, "operation": operation, "status": status}
        for problem in verdict.request:
            if verdict.error is None:
                self.violation({**base, "side": "request",
                                 "problem": f"{problem}; yet the emulation answered {status} (AWS rejects it)"})
            else:
                self.rejected_count += 1
                self.rejected_by_client[client] = self.rejected_by_client.get(client, 0) + 1
                if len(self.rejected) < self.LIMIT:
                    self.rejected.append({**base, "problem": problem, "error": verdict.error, "client": client})
        side = "response" if verdict.error is None else "error"
        for problem in verdict.response:
            self.violation({**base, "side": side, "problem": problem})

    def violation(self, entry: dict):
        self.violation_count += 1
        if len(self.violations) < self.LIMIT:
            self.violations.append(entry)

    def report(self) -> dict:
        return {"validated": json.loads(json.dumps(self.validated)), "violations": list(self.violations),
                "violation_count": self.violation_count, "rejected": list(self.rejected),
                "rejected_count": self.rejected_count, "rejected_by_client": dict(self.rejected_by_client)}


class Wire:
    """Checks and counts every exchange of the Personalize, Pinpoint and Customer Profiles emulation.

    Two tallies: one since the last reset (what a test looks at), one since the emulation
    started (what the test session's final check looks at: tests reset between themselves).
    A request the model rejects is the client's doing, not the emulation's: answered with an
    error it is listed under "rejected" (with the SDK that sent it); answered with a success it
    is a violation, since AWS would have refused it.
    """

    def __init__(self):
        self.models = {s: ServiceModel.load(s) for s in SERVICES}
        self.lock = threading.Lock()
        self.since_reset = _Tally()
        self.since_start = _Tally()

    def reset(self):
        with self.lock:
            self.since_reset = _Tally()

    def report(self, scope: str = "reset") -> dict:
        with self.lock:
            out = (self.since_start if scope == "all" else self.since_reset).report()
        out["patterns_skipped"] = {s: list(m.skipped_patterns) for s, m in self.models.items()}
        return out

    def exchange(self, service: str, operation: str | None, environ: dict, body: bytes,
                 served_as: str | None = None, prefer: tuple[str, ...] = ()) -> Exchange:
        """Starts watching one exchange. `operation`: the awsJson1_1 X-Amz-Target operation;
        `served_as`: what the emulation took a restJson1 request for (compared with the model's
        reading of it); `prefer`: the operations tried first when matching URI templates."""
        return Exchange(self, service, operation, environ, body, served_as, prefer)

    def record(self, ex: Exchange, resp: Response):
        model = self.models[ex.service]
        verdict = model.check_request(ex.operation, ex.request, ex.prefer)
        if verdict.operation != ex.served_as and (ex.served_as in ex.prefer or verdict.operation in ex.prefer):
            verdict.response.append(f"the emulation served this request as {ex.served_as}, "
                                    f"but its method and URI are {verdict.operation}'s")
        model.check_response(verdict, verdict.operation or ex.operation, resp)
        operation = verdict.operation or ex.operation or ex.served_as or "(no operation)"
        with self.lock:
            for tally in (self.since_reset, self.since_start):
                tally.add(ex.service, operation, verdict, resp.status, ex.client)


class _EnvironHeaders:
    """A WSGI environ's request headers by lower-case name, looked up only when asked for."""

    __slots__ = ("environ",)

    def __init__(self, environ: dict):
        self.environ = environ

    def get(self, name: str, default=None):
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        value = self.environ.get(key)
        return default if value is None else value


class Exchange:
    """One request/response of the emulation, seen through its WSGI start_response."""

    def __init__(self, wire: Wire, service: str, operation: str | None, environ: dict, body: bytes,
                 served_as: str | None, prefer: tuple[str, ...]):
        self.wire, self.service, self.operation = wire, service, operation
        self.served_as, self.prefer = served_as, prefer
        headers = _EnvironHeaders(environ)
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        if not raw_uri.startswith("/"):  # an absolute URI
            raw_uri = "/" + raw_uri.split("://", 1)[-1].partition("/")[2]
        self.request = Request(environ.get("REQUEST_METHOD", ""), raw_uri.split("?", 1)[0],
                               environ.get("QUERY_STRING", ""), headers, body)
        self.client = client_of(headers.get("user-agent", "") + " " + headers.get("x-amz-user-agent", ""))
        self.status = 0
        self.headers: dict[str, str] = {}

    def start_response(self, start_response):
        """A start_response that notes the status and headers, then passes them on."""

        def capture(status, headers, exc_info=None):
            self.status = int(status.split(" ", 1)[0])
            self.headers = {k.lower(): v for k, v in headers}
            return start_response(status, headers, exc_info)

        return capture

    def finish(self, chunks: list[bytes]) -> list[bytes]:
        """Checks the exchange (the answer is already built) and hands the body on unchanged."""
        try:
            self.wire.record(self, Response(self.status, self.headers, b"".join(chunks)))
        except Exception as e:  # noqa: BLE001 - a checker bug must show, not break the emulation
            with self.wire.lock:
                for tally in (self.wire.since_reset, self.wire.since_start):
                    tally.violation({"service": self.service, "operation": self.operation or "(unknown)",
                                      "status": self.status, "side": "checker",
                                      "problem": f"the wire checker failed: {type(e).__name__}"})
        return chunks

