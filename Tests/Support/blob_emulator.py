#!/usr/bin/env python3
"""In-memory Azure Blob Storage REST emulator for SnapOrchestrator's tests.

Standard library only.  Run:

    python3 blob_emulator.py [--host 127.0.0.1] [--port 0] [--account devstoreaccount1]
                             [--key BASE64KEY] [--allow-chunked] [--no-enforce-protocol]
                             [--no-auto-create-container] [--watch-stdin] [--verbose]

Once the socket listens the emulator prints exactly one line, ``LISTENING <port>``, to
stdout and flushes it.  SIGTERM or SIGINT stops it cleanly (exit status 0).  With
``--watch-stdin`` it also stops when its stdin reaches end-of-file (so an emulator started
by a test process that crashes does not linger).

Addressing is path style, as with Azurite:
``http://127.0.0.1:PORT/<account>/<container>/<blob path...>?<query>``.  HTTP/1.1
keep-alive is supported; every response carries Content-Length (HEAD responses carry the
length the GET would have).

Blob operations implemented (Azure semantics, subset)
----------------------------------------------------
Container (``?restype=container``):
  PUT create (201; 409 ContainerAlreadyExists), GET/HEAD properties (200), DELETE (202),
  GET ``&comp=list`` List Blobs (``prefix``, ``include=metadata,snapshots``; no paging).
Blob:
  PUT                   Put Blob.  ``x-ms-blob-type: BlockBlob`` (body = content) or
                        ``PageBlob`` (``x-ms-blob-content-length``, multiple of 512, empty
                        body).  ``x-ms-meta-*`` become metadata.  A missing container is
                        created on the fly unless --no-auto-create-container.
  PUT ?comp=snapshot    Snapshot Blob -> 201 + ``x-ms-snapshot`` (UTC, 7 fractional digits,
                        unique).  Request ``x-ms-meta-*`` replace the metadata; with none,
                        the base blob's metadata is copied.
  PUT ?comp=page        Put Page, ``x-ms-range``/``Range`` 512-aligned,
                        ``x-ms-page-write: update|clear``.
  PUT ?comp=metadata    Set Blob Metadata (replaces all metadata).
  PUT ?comp=properties  Set Blob Properties (page blob resize, x-ms-blob-content-*).
  GET / HEAD            Get Blob (``Range``/``x-ms-range``, 206) / Get Blob Properties.
                        ``?snapshot=<id>`` addresses a snapshot.
  GET/HEAD ?comp=metadata  Get Blob Metadata.
  GET ?comp=pagelist    Get Page Ranges.
  DELETE                Delete Blob (``x-ms-delete-snapshots: include|only``) or, with
                        ``?snapshot=``, one snapshot.
Conditional headers If-Match / If-None-Match / If-(Un)Modified-Since are honoured.
Every response carries x-ms-request-id, x-ms-version (the request's x-ms-version, else
the SAS ``sv``, else 2026-10-06), Date, and x-ms-client-request-id when one was sent.
Errors use Azure's XML body and the ``x-ms-error-code`` header (HEAD errors: no body).

Authentication
--------------
Every blob request needs either a service SAS in the query or Shared Key
(``Authorization: SharedKey <account>:<sig>`` with x-ms-date or Date).

* Service SAS, account-key signed, ``sr`` = ``b``, ``bs`` (snapshot) or ``c``; ``sv``
  from 2015-04-05 on, string-to-sign layout chosen by ``sv`` (13 fields before 2018-11-09,
  15 fields up to 2020-10-02, 16 fields with ``ses`` from 2020-12-06 -- see
  ``sas_string_to_sign``).  Query values are form-decoded like Azure does, so a raw ``+``
  in ``sig`` becomes a space and fails ("Signature fields not well formed").
  Failures: bad/missing signature, expired, not yet valid -> 403 AuthenticationFailed with
  an ``AuthenticationErrorDetail``; missing permission -> 403
  AuthorizationPermissionMismatch; ``sr=b`` on a container operation -> 403
  AuthorizationResourceTypeMismatch; ``sip`` not matching the client -> 403
  AuthorizationSourceIPMismatch; ``spr=https`` over this plain-HTTP emulator -> 403
  AuthorizationProtocolMismatch (like Azurite; disable with --no-enforce-protocol or the
  config endpoint).  Stored access policies (``si``) and user-delegation SAS are not
  supported (403).
* Permissions: GET/HEAD need ``r``; Put Blob and Snapshot need ``c`` or ``w`` (overwriting
  an existing blob needs ``w``: 403 UnauthorizedBlobOverwrite); Put Page, Set Metadata,
  Set Properties need ``w``; DELETE needs ``d``; List Blobs needs ``l``; container create
  needs ``c`` or ``w``.
* A PUT without Content-Length gets 411 MissingContentLengthHeader.  A chunked body is
  decoded and logged (``chunked: true``) and then rejected the same way, unless
  --allow-chunked / config ``allow_chunked``.

Control API (same port, no auth, JSON in and out, never logged)
---------------------------------------------------------------
GET    /__control/health    -> 200 {"ok": true, "account": ..., "port": ...}
POST   /__control/faults    body: one fault object or a list of them -> 201
                            {"faults": [<fault with "id">...]}.  Fault fields (all optional):
        match         substring of the request path (decoded or as sent); "" = any
        method        HTTP method to match (case-insensitive)
        comp          value of the ``comp`` query parameter to match
        latency_ms    sleep this long before answering (no lock held)
        status        answer with this status instead of running the operation
        retry_after   value of a Retry-After header added to the fault response
        body          body text of the fault response (default: Azure error XML)
        error_code    x-ms-error-code / <Code> of the fault response (default by status,
                      e.g. 503 ServerBusy, 500 InternalError; or taken from ``body``)
        message       <Message> text of the default XML body
        headers       object of extra response headers for the fault response
        drop          true: read the request, close the connection without answering;
                      "reset": the same with a TCP RST
        hang          true: read the request, never answer until the client hangs up or
                      the emulator stops
        slow_body_ms  send the response body (fault or real) in small pieces with this
                      delay between pieces
        slow_body_chunk  piece size in bytes for slow_body_ms (default 16)
        times         apply to the next N matching requests only (default: unlimited)
        The first matching active fault applies; unknown keys -> 400.
GET    /__control/faults    -> 200 {"faults": [...]} (active faults with "remaining", "hits")
DELETE /__control/faults    -> 200 {"cleared": N}
DELETE /__control/faults/<id> -> 200 {"cleared": 1} or 404
GET    /__control/requests  -> 200 JSON list, oldest first, of
        {"seq", "method", "path" (decoded), "raw_path", "raw_query" (sig redacted),
         "query" {name: value, sig -> "REDACTED"}, "headers" {lower-case name: value,
         Authorization signature redacted}, "body_length", "chunked", "client",
         "start", "end" (time.monotonic() seconds; end null while in flight),
         "start_wall", "end_wall" (Unix seconds), "status" (null if none sent),
         "outcome" ("in_flight"|"responded"|"dropped"|"hung"|"client_closed"),
         "fault" (fault id or null), "error_code" (x-ms-error-code sent, or null)}
DELETE /__control/requests  -> 200 {"cleared": N}
GET    /__control/blob?path=/<account>/<container>/<blob>[&snapshot=<id>][&content=1]
        -> 200 {"account", "container", "name", "path", "blob_type", "length",
                "content_type", "metadata", "etag", "last_modified", "creation_time",
                "sequence_number", "snapshots": [{"id", "metadata", "length", "etag"}],
                ["content_base64", "content_utf8" (null if not UTF-8)]}
        -> 404 {"error": "..."}.  With snapshot=, the object describes that snapshot.
GET    /__control/blobs     -> 200 {"blobs": ["/<account>/<container>/<blob>", ...]}
GET    /__control/config    -> 200 {"allow_chunked", "enforce_protocol",
                                    "auto_create_container", "snapshot_limit"}
POST   /__control/config    body: any of those keys -> 200 new config.  snapshot_limit
                            (int or null): Snapshot Blob beyond it gives 409
                            SnapshotCountExceeded.
POST   /__control/reset     clear blobs, containers, faults, request log, config -> 200
"""

import argparse
import base64
import email.utils
import hashlib
import hmac
import ipaddress
import json
import re
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape as xml_escape

DEFAULT_ACCOUNT = "devstoreaccount1"
# The published, well-known Azurite / Storage Emulator development key (not a secret).
DEFAULT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
DEFAULT_API_VERSION = "2026-10-06"

PAGE_SIZE = 512
MAX_PAGE_WRITE = 4 * 1024 * 1024
MAX_METADATA_BYTES = 8 * 1024
SHARED_KEY_MAX_SKEW = 15 * 60

METADATA_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SNAPSHOT_ID_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")
CONTAINER_NAME_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]$|^\$root$")
SAS_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?Z)?$")
SIG_IN_TEXT_RE = re.compile(r"(?i)(\bsig=)[^&\s]*")

# Query keys that only appear in a user-delegation SAS (Entra-signed key).
USER_DELEGATION_KEYS = ("skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid",
                        "sduoid", "skdutid")
VALID_SAS_PERMISSIONS = set("racwdxytmeilfop")

# Default code and message of a fault response by status when the fault gives none.
FAULT_DEFAULT_CODES = {
    400: ("InvalidInput", "One of the request inputs is not valid."),
    403: ("AuthenticationFailed", "Server failed to authenticate the request."),
    404: ("ResourceNotFound", "The specified resource does not exist."),
    408: ("OperationTimedOut", "The operation could not be completed within the permitted time."),
    409: ("Conflict", "The request conflicts with the current state of the resource."),
    412: ("ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("InternalError", "The server encountered an internal error. Please retry the request."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServerBusy", "The server is currently unable to receive requests. Please retry your request."),
    504: ("GatewayTimeout", "The operation timed out."),
}

AUTH_FAILED_MESSAGE = ("Server failed to authenticate the request. Make sure the value of "
                       "Authorization header is formed correctly including the signature.")


# --------------------------------------------------------------------------- errors

class AzureError(Exception):
    """An Azure-shaped failure: HTTP status, error code, message, optional XML details."""

    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}      # extra XML children, e.g. AuthenticationErrorDetail
        self.headers = headers or []


def auth_failed(detail):
    return AzureError(403, "AuthenticationFailed", AUTH_FAILED_MESSAGE,
                      {"AuthenticationErrorDetail": detail})


def permission_mismatch():
    return AzureError(403, "AuthorizationPermissionMismatch",
                      "This request is not authorized to perform this operation using this permission.")


def blob_not_found():
    return AzureError(404, "BlobNotFound", "The specified blob does not exist.")


def container_not_found():
    return AzureError(404, "ContainerNotFound", "The specified container does not exist.")


def invalid_header(name, value, message="The value for one of the HTTP headers is not in the correct format."):
    return AzureError(400, "InvalidHeaderValue", message,
                      {"HeaderName": name, "HeaderValue": value or ""})


def invalid_query(name, value, reason=None):
    details = {"QueryParameterName": name, "QueryParameterValue": value or ""}
    if reason:
        details["Reason"] = reason
    return AzureError(400, "InvalidQueryParameterValue",
                      "Value for one of the query parameters specified in the request URI is invalid.",
                      details)


def missing_header(name):
    return AzureError(400, "MissingRequiredHeader",
                      "An HTTP header that's mandatory for this request is not specified.",
                      {"HeaderName": name})


def condition_not_met():
    return AzureError(412, "ConditionNotMet",
                      "The condition specified using HTTP conditional header(s) is not met.")


# --------------------------------------------------------------------------- time helpers

class TickClock:
    """Strictly increasing 100-ns ticks since the Unix epoch.

    Azure's snapshot ids have 7 fractional digits, i.e. 100-ns resolution; handing out
    strictly increasing ticks makes every snapshot id (and ETag) unique even when many
    snapshots are taken in the same instant.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._last = 0

    def next(self):
        with self._lock:
            tick = max(time.time_ns() // 100, self._last + 1)
            self._last = tick
            return tick


def format_snapshot_id(tick):
    seconds, fraction = divmod(tick, 10_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%07dZ" % fraction


def http_date(timestamp=None):
    return email.utils.formatdate(timestamp, usegmt=True)


def parse_http_date(value):
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def parse_sas_time(value):
    """Parse a SAS st/se value (ISO 8601 UTC, date-only or minute/second precision)."""
    match = SAS_TIME_RE.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0), tzinfo=timezone.utc)
    except ValueError:
        return None
    return parsed.timestamp() + (int(fraction.ljust(7, "0")) / 1e7 if fraction else 0.0)


# --------------------------------------------------------------------------- store

class BlobData:
    """Content and properties of a blob or of one of its snapshots.

    Block blobs keep their bytes in ``content``.  Page blobs are sparse: ``pages`` maps a
    512-byte page index to its bytes, and absent pages read as zeros, so a large "disk"
    costs only the pages written.
    """

    def __init__(self, blob_type, tick):
        self.blob_type = blob_type
        self.content = b""
        self.pages = {}
        self.size = 0
        self.metadata = {}
        self.content_type = "application/octet-stream"
        self.content_encoding = None
        self.content_language = None
        self.content_disposition = None
        self.cache_control = None
        self.content_md5 = None          # base64 text, or None
        self.sequence_number = 0
        now = tick / 1e7
        self.creation_time = now
        self.touch(tick)

    def touch(self, tick):
        """Give the blob a new ETag and Last-Modified after a write."""
        self.etag = '"0x%X"' % tick
        self.last_modified = tick / 1e7

    def copy(self):
        clone = BlobData.__new__(BlobData)
        clone.__dict__.update(self.__dict__)
        clone.pages = dict(self.pages)
        clone.metadata = dict(self.metadata)
        return clone

    def read(self, start, end):
        """Bytes start..end inclusive (caller has clamped the range)."""
        if end < start:
            return b""
        if self.blob_type != "PageBlob":
            return self.content[start:end + 1]
        out = bytearray(end - start + 1)
        first, last = start // PAGE_SIZE, end // PAGE_SIZE
        if len(self.pages) < last - first + 1:
            indices = (i for i in self.pages if first <= i <= last)
        else:
            indices = (i for i in range(first, last + 1) if i in self.pages)
        for index in indices:
            page = self.pages[index]
            page_start = index * PAGE_SIZE
            lo = max(start, page_start)
            hi = min(end + 1, page_start + PAGE_SIZE)
            out[lo - start:hi - start] = page[lo - page_start:hi - page_start]
        return bytes(out)

    def write_pages(self, start, data):
        for offset in range(0, len(data), PAGE_SIZE):
            chunk = bytes(data[offset:offset + PAGE_SIZE])
            index = (start + offset) // PAGE_SIZE
            if chunk.count(0) == PAGE_SIZE:
                self.pages.pop(index, None)      # all-zero page: keep the store sparse
            else:
                self.pages[index] = chunk

    def clear_pages(self, start, end):
        for index in range(start // PAGE_SIZE, end // PAGE_SIZE + 1):
            self.pages.pop(index, None)

    def resize(self, new_size):
        if new_size < self.size:
            self.pages = {i: p for i, p in self.pages.items() if i * PAGE_SIZE < new_size}
        self.size = new_size

    def page_ranges(self):
        ranges = []
        for index in sorted(self.pages):
            if ranges and ranges[-1][1] == index - 1:
                ranges[-1][1] = index
            else:
                ranges.append([index, index])
        return [(a * PAGE_SIZE, b * PAGE_SIZE + PAGE_SIZE - 1) for a, b in ranges]


class Blob:
    def __init__(self, data):
        self.data = data
        self.snapshots = {}          # snapshot id -> BlobData, in creation order


class Container:
    def __init__(self, name, tick, metadata=None):
        self.name = name
        self.blobs = {}
        self.metadata = metadata or {}
        self.etag = '"0x%X"' % tick
        self.last_modified = tick / 1e7


class Store:
    """All containers of the single emulated account.  ``lock`` guards every access;
    it is only ever held for in-memory work, never while sleeping or doing I/O."""

    def __init__(self):
        self.lock = threading.Lock()
        self.containers = {}

    def reset(self):
        with self.lock:
            self.containers.clear()


# --------------------------------------------------------------------------- request model

class Request:
    """A parsed HTTP request to the blob endpoint."""

    def __init__(self, method, raw_target, headers, body, chunked, client):
        self.method = method
        self.headers = headers
        self.body = body
        self.chunked = chunked
        self.client = client
        raw_path, _, raw_query = raw_target.partition("?")
        self.raw_path = raw_path
        self.raw_query = raw_query
        self.path = unquote(raw_path)
        # Azure form-decodes query values (a literal '+' means a space).  Keep the first
        # value of each name.
        self.query = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            self.query.setdefault(name, value)
        parts = self.path.split("/", 3)
        self.account = parts[1] if len(parts) > 1 else ""
        self.container = parts[2] if len(parts) > 2 else ""
        self.blob = parts[3] if len(parts) > 3 else ""

    def header(self, name, default=None):
        value = self.headers.get(name)
        return default if value is None else value

    @property
    def comp(self):
        return self.query.get("comp")

    @property
    def snapshot(self):
        return self.query.get("snapshot")


class Response:
    def __init__(self, status, headers=None, body=b"", content_length=None):
        self.status = status
        self.headers = list(headers or [])
        self.body = body
        # HEAD responses declare the GET length without sending a body.
        self.content_length = len(body) if content_length is None else content_length

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class AuthResult:
    """Outcome of authentication: which SAS permissions apply (None = all, Shared Key)."""

    def __init__(self, kind, permissions=None, overrides=None, sas_version=None):
        self.kind = kind
        self.permissions = permissions
        self.overrides = overrides or {}
        self.sas_version = sas_version

    def allows(self, letter):
        return self.permissions is None or letter in self.permissions


# --------------------------------------------------------------------------- SAS

def sas_canonical_resource(account, container, blob):
    """``/blob/<account>/<container>[/<blob>]`` with the blob name unencoded.

    Path-style requests do not repeat the account segment here (same as Azurite)."""
    resource = f"/blob/{account}/{container}"
    return resource + "/" + blob if blob is not None else resource


def sas_string_to_sign(query, canonical_resource):
    """Service-SAS string-to-sign for the layout selected by ``sv``.

    Fields are joined by newlines with no trailing newline; absent fields are empty.
      2015-04-05 .. 2018-03-28: sp st se res si sip spr sv rscc rscd rsce rscl rsct
      2018-11-09 .. 2020-10-02: ... sv sr snapshotTime rscc rscd rsce rscl rsct
      2020-12-06 and later:     ... sv sr snapshotTime ses rscc rscd rsce rscl rsct
    The signed snapshot time is the request's ``snapshot`` value for ``sr=bs`` (and the
    ``versionid`` for ``sr=bv``); for other resource types it is empty.
    """
    q = query.get
    sv = q("sv", "")
    sr = q("sr", "")
    fields = [q("sp", ""), q("st", ""), q("se", ""), canonical_resource, q("si", ""),
              q("sip", ""), q("spr", ""), sv]
    if sv >= "2018-11-09":
        snapshot_time = {"bs": q("snapshot", ""), "bv": q("versionid", "")}.get(sr, "")
        fields += [sr, snapshot_time]
        if sv >= "2020-12-06":
            fields.append(q("ses", ""))
    fields += [q("rscc", ""), q("rscd", ""), q("rsce", ""), q("rscl", ""), q("rsct", "")]
    return "\n".join(fields)


def sign(key_bytes, text):
    return hmac.new(key_bytes, text.encode("utf-8"), hashlib.sha256).digest()


def ip_allowed(sip, client_ip):
    """``sip`` is one IPv4 address or an inclusive range ``a.b.c.d-e.f.g.h``."""
    try:
        client = ipaddress.ip_address(client_ip)
        low, _, high = sip.partition("-")
        low_ip = ipaddress.ip_address(low.strip())
        high_ip = ipaddress.ip_address(high.strip()) if high else low_ip
        return low_ip <= client <= high_ip
    except ValueError:
        return False


def verify_service_sas(req, key_bytes, config):
    q = req.query
    if any(name in q for name in USER_DELEGATION_KEYS):
        raise auth_failed("User delegation SAS is not supported by this emulator.")
    sv, sr, sp, se, st = (q.get(k, "") for k in ("sv", "sr", "sp", "se", "st"))
    try:
        signature = base64.b64decode(q.get("sig", ""), validate=True)
    except ValueError:
        signature = b""
    if (not VERSION_RE.match(sv) or sr not in ("b", "bs", "c") or len(signature) != 32
            or not set(sp) <= VALID_SAS_PERMISSIONS):
        raise auth_failed("Signature fields not well formed.")
    if sv < "2015-04-05":
        raise auth_failed(f"Signed version {sv} is not supported by this emulator (2015-04-05 or later).")
    if not q.get("si") and (not sp or not se):
        raise auth_failed("Signature fields not well formed.")
    if sr in ("b", "bs") and not req.blob:
        raise AzureError(403, "AuthorizationResourceTypeMismatch",
                         "This request is not authorized to perform this operation using this resource type.")

    resource = sas_canonical_resource(req.account, req.container, req.blob if sr != "c" else None)
    string_to_sign = sas_string_to_sign(q, resource)
    if not hmac.compare_digest(sign(key_bytes, string_to_sign), signature):
        raise auth_failed(f"Signature did not match. String to sign used was {string_to_sign}")
    if q.get("si"):
        raise auth_failed(f"Stored access policy '{q['si']}' was not found (the emulator has none).")

    check_sas_times(st, se)
    if q.get("sip") and not ip_allowed(q["sip"], req.client[0]):
        raise AzureError(403, "AuthorizationSourceIPMismatch",
                         "This request is not authorized to perform this operation using this source IP "
                         f"{req.client[0]}.")
    spr = q.get("spr", "")
    if config["enforce_protocol"] and spr and "http" not in [p.strip() for p in spr.split(",")]:
        raise AzureError(403, "AuthorizationProtocolMismatch",
                         "This request is not authorized to perform this operation using this protocol.")
    overrides = {header: q[key] for key, header in (
        ("rscc", "Cache-Control"), ("rscd", "Content-Disposition"), ("rsce", "Content-Encoding"),
        ("rscl", "Content-Language"), ("rsct", "Content-Type")) if q.get(key)}
    return AuthResult("sas", set(sp), overrides, sv)


def check_sas_times(st, se):
    start = parse_sas_time(st) if st else None
    expiry = parse_sas_time(se) if se else None
    if (st and start is None) or (se and expiry is None):
        raise auth_failed("Signature fields not well formed.")
    if start is not None and expiry is not None and expiry <= start:
        raise auth_failed(f"Signed expiry time [{http_date(expiry)}] has to be after signed start time "
                          f"[{http_date(start)}]")
    now = time.time()
    if (expiry is not None and now > expiry) or (start is not None and now < start):
        start_text = http_date(start) if start is not None else "Mon, 01 Jan 0001 00:00:00 GMT"
        expiry_text = http_date(expiry) if expiry is not None else "Fri, 31 Dec 9999 23:59:59 GMT"
        raise auth_failed("Signature not valid in the specified time frame: "
                          f"Start [{start_text}] - Expiry [{expiry_text}] - Current [{http_date(now)}]")


# --------------------------------------------------------------------------- Shared Key

def shared_key_strings_to_sign(req, account):
    """Candidate Shared Key strings-to-sign (2009-09-19+ layout).

    Azure sorts the canonical x-ms-* headers with a culture-aware comparison that mostly
    ignores '-'; we accept either that approximation or a plain sort.  The Date line is
    the Date header, accepted empty when x-ms-date is used.  Path-style requests are
    accepted with the canonical resource ``/<account><path as sent>`` (what the SDKs
    produce) or without the repeated account segment (what Azurite also accepts)."""
    def header(name):
        return (req.header(name) or "").strip()

    length = header("Content-Length")
    fixed = [req.method, header("Content-Encoding"), header("Content-Language"),
             "" if length == "0" else length, header("Content-MD5"), header("Content-Type")]
    tail_fixed = [header("If-Modified-Since"), header("If-Match"), header("If-None-Match"),
                  header("If-Unmodified-Since"), header("Range")]

    x_ms = {}
    for name, value in req.headers.items():
        lower = name.lower()
        if lower.startswith("x-ms-"):
            value = " ".join(value.split())
            x_ms[lower] = x_ms[lower] + "," + value if lower in x_ms else value
    orders = [sorted(x_ms), sorted(x_ms, key=lambda n: (n.replace("-", ""), n))]

    query_pairs = {}
    for part in req.raw_query.split("&") if req.raw_query else []:
        name, _, value = part.partition("=")
        query_pairs.setdefault(unquote(name).lower(), []).append(unquote(value))
    query_text = "".join(f"\n{name}:{','.join(sorted(values))}"
                         for name, values in sorted(query_pairs.items()))
    without_account = req.raw_path[len("/" + req.account):] if req.raw_path.startswith(
        "/" + req.account) else req.raw_path
    resources = {f"/{account}{req.raw_path}", f"/{account}{without_account}"}

    dates = {header("Date"), ""} if header("x-ms-date") else {header("Date")}
    candidates = []
    for order in orders:
        canonical_headers = "".join(f"{name}:{x_ms[name]}\n" for name in order)
        for date in dates:
            for resource in resources:
                lines = fixed + [date] + tail_fixed
                candidates.append("\n".join(lines) + "\n" + canonical_headers + resource + query_text)
    return list(dict.fromkeys(candidates))


def verify_shared_key(req, account, key_bytes):
    scheme, _, credential = req.header("Authorization", "").partition(" ")
    name, _, signature_text = credential.strip().rpartition(":")
    if scheme != "SharedKey" or not name:
        raise auth_failed("Only SharedKey authorization is supported by this emulator.")
    if name != account:
        raise auth_failed(f"The account '{name}' in the Authorization header is unknown.")
    date_text = req.header("x-ms-date") or req.header("Date")
    if not date_text:
        raise auth_failed("Request date header (x-ms-date or Date) not specified.")
    sent = parse_http_date(date_text)
    if sent is None or abs(time.time() - sent) > SHARED_KEY_MAX_SKEW:
        raise auth_failed("Request date header too old or invalid: " + date_text)
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except ValueError:
        signature = b""
    candidates = shared_key_strings_to_sign(req, account)
    if not any(hmac.compare_digest(sign(key_bytes, text), signature) for text in candidates):
        raise auth_failed("The MAC signature found in the HTTP request is not the same as any computed "
                          f"signature. Server used following string to sign: '{candidates[0]}'.")
    return AuthResult("sharedkey")


# --------------------------------------------------------------------------- faults

FAULT_FIELDS = {"match": str, "method": str, "comp": str, "latency_ms": (int, float),
                "status": int, "retry_after": (int, float, str), "body": str, "error_code": str,
                "message": str, "headers": dict, "drop": (bool, str), "hang": bool,
                "slow_body_ms": (int, float), "slow_body_chunk": int, "times": int}


class Fault:
    def __init__(self, fault_id, spec):
        self.id = fault_id
        self.spec = spec
        self.remaining = spec.get("times")      # None = unlimited
        self.hits = 0

    def get(self, key, default=None):
        value = self.spec.get(key)
        return default if value is None else value

    def matches(self, req):
        match = self.spec.get("match") or ""
        if match and match not in req.path and match not in req.raw_path:
            return False
        method = self.spec.get("method")
        if method and method.upper() != req.method:
            return False
        comp = self.spec.get("comp")
        return not comp or comp == req.comp

    def describe(self):
        return dict(self.spec, id=self.id, remaining=self.remaining, hits=self.hits)


def validate_fault(spec):
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    for key, value in spec.items():
        if key not in FAULT_FIELDS:
            raise ValueError(f"unknown fault field {key!r}")
        if value is not None and (not isinstance(value, FAULT_FIELDS[key])
                                  or (isinstance(value, bool) and FAULT_FIELDS[key] is int)):
            raise ValueError(f"fault field {key!r} has the wrong type")
    if spec.get("drop") not in (None, True, False, "reset"):
        raise ValueError("drop must be true, false or \"reset\"")
    if spec.get("times") is not None and spec["times"] < 1:
        raise ValueError("times must be at least 1")
    if spec.get("status") is not None and not 100 <= spec["status"] <= 599:
        raise ValueError("status must be an HTTP status code")


class FaultRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._next_id = 1

    def add(self, spec):
        validate_fault(spec)
        with self._lock:
            fault = Fault(self._next_id, spec)
            self._next_id += 1
            self._faults.append(fault)
            return fault.describe()

    def take(self, req):
        """The first active fault matching ``req``, consuming one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(req):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def remove(self, fault_id):
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return before - len(self._faults)

    def clear(self):
        with self._lock:
            count = len(self._faults)
            self._faults = []
            return count

    def describe(self):
        with self._lock:
            return [fault.describe() for fault in self._faults]


# --------------------------------------------------------------------------- request log

def redact_text(text):
    return SIG_IN_TEXT_RE.sub(r"\1REDACTED", text)


def redact_headers(headers):
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower == "authorization":
            scheme, _, credential = value.partition(" ")
            account = credential.rpartition(":")[0]
            value = f"{scheme} {account}:REDACTED" if account else f"{scheme} REDACTED"
        else:
            value = redact_text(value)
        out[lower] = out[lower] + ", " + value if lower in out else value
    return out


class RequestLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0

    def start(self, req, start_monotonic, start_wall):
        query = {name: ("REDACTED" if name == "sig" else value) for name, value in req.query.items()}
        entry = {
            "method": req.method, "path": req.path, "raw_path": req.raw_path,
            "raw_query": redact_text(req.raw_query), "query": query,
            "headers": redact_headers(req.headers), "body_length": len(req.body),
            "chunked": req.chunked, "client": f"{req.client[0]}:{req.client[1]}",
            "start": start_monotonic, "end": None, "start_wall": start_wall, "end_wall": None,
            "status": None, "outcome": "in_flight", "fault": None, "error_code": None,
        }
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)
        return entry

    def finish(self, entry, outcome, status=None, error_code=None):
        with self._lock:
            entry.update(end=time.monotonic(), end_wall=time.time(), outcome=outcome,
                         status=status, error_code=error_code)

    def set_fault(self, entry, fault_id):
        with self._lock:
            entry["fault"] = fault_id

    def entries(self):
        with self._lock:
            return json.loads(json.dumps(self._entries))

    def clear(self):
        with self._lock:
            count = len(self._entries)
            self._entries = []
            return count


# --------------------------------------------------------------------------- helpers

def parse_metadata(req):
    """x-ms-meta-* request headers -> dict (names case-preserving, C# identifiers)."""
    metadata, seen, total = {}, set(), 0
    for name, value in req.headers.items():
        if not name.lower().startswith("x-ms-meta-"):
            continue
        key = name[len("x-ms-meta-"):]
        if not METADATA_NAME_RE.match(key):
            raise AzureError(400, "InvalidMetadata",
                             "The metadata specified is invalid. It has characters that are not permitted.")
        if key.lower() in seen:
            raise AzureError(400, "InvalidMetadata", f"The metadata key '{key}' is specified more than once.")
        seen.add(key.lower())
        metadata[key] = value.strip()
        total += len(key) + len(value.strip())
    if total > MAX_METADATA_BYTES:
        raise AzureError(400, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted.")
    return metadata


def metadata_headers(metadata):
    return [(f"x-ms-meta-{name}", value) for name, value in metadata.items()]


def parse_byte_range(text, header_name):
    """``bytes=START-END`` or ``bytes=START-`` -> (start, end or None)."""
    match = re.fullmatch(r"\s*bytes=(\d+)-(\d*)\s*", text or "")
    if not match:
        raise invalid_header(header_name, text)
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        raise invalid_header(header_name, text)
    return start, end


def requested_range(req):
    """x-ms-range wins over Range (Azure)."""
    if req.header("x-ms-range") is not None:
        return parse_byte_range(req.header("x-ms-range"), "x-ms-range")
    if req.header("Range") is not None:
        return parse_byte_range(req.header("Range"), "Range")
    return None


def etag_list(value):
    return [item.strip() for item in value.split(",")]


def check_conditions(req, data, is_read, create_only_code=False):
    """Apply If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since.

    Returns "not_modified" for a read that should get 304; raises for failures."""
    if_match = req.header("If-Match")
    if_none_match = req.header("If-None-Match")
    if if_match is not None:
        if data is None or (if_match.strip() != "*" and data.etag not in etag_list(if_match)):
            raise condition_not_met()
    if if_none_match is not None and data is not None:
        if if_none_match.strip() == "*" or data.etag in etag_list(if_none_match):
            if is_read:
                return "not_modified"
            if create_only_code:
                raise AzureError(409, "BlobAlreadyExists", "The specified blob already exists.")
            raise condition_not_met()
    if data is not None:
        since = parse_http_date(req.header("If-Modified-Since") or "")
        if since is not None and int(data.last_modified) <= since:
            if is_read:
                return "not_modified"
            raise condition_not_met()
        until = parse_http_date(req.header("If-Unmodified-Since") or "")
        if until is not None and int(data.last_modified) > until:
            raise condition_not_met()
    return None


def validate_container_name(name):
    """3-63 characters: lower-case letters, digits, single hyphens (not at either end)."""
    if not CONTAINER_NAME_RE.match(name):
        raise AzureError(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")


def content_md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def int_header(req, name, required=False):
    value = req.header(name)
    if value is None:
        if required:
            raise missing_header(name)
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid_header(name, value) from None
    if number < 0:
        raise invalid_header(name, value)
    return number


# --------------------------------------------------------------------------- the emulator

class BlobEmulator:
    """Store, auth and blob operations.  Thread-safe; called from handler threads."""

    DEFAULT_CONFIG = {"allow_chunked": False, "enforce_protocol": True,
                      "auto_create_container": True, "snapshot_limit": None}

    def __init__(self, account=DEFAULT_ACCOUNT, key=DEFAULT_KEY, **config):
        self.account = account
        self.key_bytes = base64.b64decode(key)
        self.store = Store()
        self.clock = TickClock()
        self.faults = FaultRegistry()
        self.log = RequestLog()
        self.config = dict(self.DEFAULT_CONFIG)
        self.config.update({k: v for k, v in config.items() if v is not None})
        self._initial_config = dict(self.config)

    # -- dispatch -----------------------------------------------------------------

    def handle(self, req):
        """Run one blob request; always returns a Response (errors included)."""
        request_id = str(uuid.uuid4())
        try:
            response = self._handle(req)
        except AzureError as error:
            response = self.error_response(req, error, request_id)
        except Exception as error:  # an emulator bug: answer 500 rather than drop the connection
            traceback.print_exc(file=sys.stderr)
            response = self.error_response(req, AzureError(
                500, "InternalError", f"Emulator failure: {type(error).__name__}: {error}"), request_id)
        self.add_common_headers(req, response, request_id)
        return response

    def _handle(self, req):
        if req.method == "PUT" and req.header("Content-Length") is None:
            # A chunked body has no Content-Length (see allow_chunked).
            if not (req.chunked and self.config["allow_chunked"]):
                raise AzureError(411, "MissingContentLengthHeader", "The Content-Length header was not specified.")
        if req.account != self.account:
            raise AzureError(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
        if not req.container:
            raise AzureError(400, "InvalidUri", "Service-level operations are not supported by this emulator.")
        operation = self.classify(req)
        auth = self.authenticate(req)
        required = OPERATION_PERMISSIONS[operation]
        if not any(auth.allows(letter) for letter in required):
            raise permission_mismatch()
        return getattr(self, "op_" + operation)(req, auth)

    def classify(self, req):
        method, comp = req.method, req.comp
        if req.query.get("restype") == "container" and not req.blob:
            table = {("PUT", None): "create_container", ("GET", None): "container_properties",
                     ("HEAD", None): "container_properties", ("DELETE", None): "delete_container",
                     ("GET", "list"): "list_blobs"}
        elif req.blob:
            table = {("PUT", None): "put_blob", ("PUT", "snapshot"): "snapshot_blob",
                     ("PUT", "page"): "put_page", ("PUT", "metadata"): "set_metadata",
                     ("PUT", "properties"): "set_properties", ("GET", None): "get_blob",
                     ("HEAD", None): "get_blob", ("GET", "metadata"): "get_metadata",
                     ("HEAD", "metadata"): "get_metadata", ("GET", "pagelist"): "page_ranges",
                     ("DELETE", None): "delete_blob"}
        else:
            raise invalid_query("restype", req.query.get("restype"), "restype=container is required here.")
        operation = table.get((method, comp))
        if operation:
            return operation
        if any(m == method for m, _ in table):
            raise invalid_query("comp", comp)
        raise AzureError(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")

    def authenticate(self, req):
        if "sig" in req.query:
            return verify_service_sas(req, self.key_bytes, self.config)
        if req.header("Authorization"):
            return verify_shared_key(req, self.account, self.key_bytes)
        raise auth_failed("The request carries neither a SAS signature (sig) nor an Authorization header.")

    # -- responses ----------------------------------------------------------------

    def api_version(self, req):
        return req.header("x-ms-version") or req.query.get("sv") or DEFAULT_API_VERSION

    def add_common_headers(self, req, response, request_id):
        response.headers += [("x-ms-request-id", request_id), ("x-ms-version", self.api_version(req))]
        if req.header("x-ms-client-request-id"):
            response.headers.append(("x-ms-client-request-id", req.header("x-ms-client-request-id")))

    @staticmethod
    def error_response(req, error, request_id):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%07dZ" % int((now % 1) * 1e7)
        message = f"{error.message}\nRequestId:{request_id}\nTime:{stamp}"
        extra = "".join(f"<{name}>{xml_escape(str(value))}</{name}>" for name, value in error.details.items())
        body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message>%s</Error>'
                % (xml_escape(error.code), xml_escape(message), extra)).encode("utf-8")
        headers = [("x-ms-error-code", error.code)] + list(error.headers)
        if req.method == "HEAD":
            # Azure sends no body for HEAD errors: only the status and x-ms-error-code.
            return Response(error.status, headers, b"", content_length=0)
        return Response(error.status, headers + [("Content-Type", "application/xml")], body)

    @staticmethod
    def write_headers(data):
        return [("ETag", data.etag), ("Last-Modified", http_date(data.last_modified))]

    # -- lookup helpers (call with the store lock held) -----------------------------

    def _container(self, req, create=False):
        container = self.store.containers.get(req.container)
        if container is None:
            if not create:
                raise container_not_found()
            validate_container_name(req.container)
            container = Container(req.container, self.clock.next())
            self.store.containers[req.container] = container
        return container

    def _blob(self, req):
        blob = self._container(req).blobs.get(req.blob)
        if blob is None:
            raise blob_not_found()
        return blob

    def _blob_data(self, req):
        """The base blob's data, or a snapshot's when ``?snapshot=`` is given."""
        blob = self._blob(req)
        snapshot = req.snapshot
        if snapshot is None:
            return blob.data
        if not SNAPSHOT_ID_RE.match(snapshot):
            raise invalid_query("snapshot", snapshot, "Not a valid snapshot timestamp.")
        data = blob.snapshots.get(snapshot)
        if data is None:
            raise blob_not_found()
        return data

    @staticmethod
    def _reject_snapshot_target(req):
        if req.snapshot is not None:
            raise invalid_query("snapshot", req.snapshot, "This operation cannot target a snapshot.")

    # -- container operations --------------------------------------------------------

    def op_create_container(self, req, auth):
        validate_container_name(req.container)
        metadata = parse_metadata(req)
        with self.store.lock:
            if req.container in self.store.containers:
                raise AzureError(409, "ContainerAlreadyExists", "The specified container already exists.")
            container = Container(req.container, self.clock.next(), metadata)
            self.store.containers[req.container] = container
            return Response(201, [("ETag", container.etag), ("Last-Modified", http_date(container.last_modified))])

    def op_container_properties(self, req, auth):
        with self.store.lock:
            container = self._container(req)
            headers = [("ETag", container.etag), ("Last-Modified", http_date(container.last_modified)),
                       ("x-ms-lease-state", "available"), ("x-ms-lease-status", "unlocked"),
                       ("x-ms-has-immutability-policy", "false"), ("x-ms-has-legal-hold", "false")]
            return Response(200, headers + metadata_headers(container.metadata))

    def op_delete_container(self, req, auth):
        with self.store.lock:
            self._container(req)
            del self.store.containers[req.container]
        return Response(202)

    def op_list_blobs(self, req, auth):
        prefix = req.query.get("prefix", "")
        include = set(filter(None, req.query.get("include", "").split(",")))
        with self.store.lock:
            container = self._container(req)
            items = []
            for name in sorted(container.blobs):
                if not name.startswith(prefix):
                    continue
                blob = container.blobs[name]
                if "snapshots" in include:
                    items += [(name, sid, data) for sid, data in blob.snapshots.items()]
                items.append((name, None, blob.data))
            xml = [f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint='
                   f'"http://127.0.0.1/{xml_escape(self.account)}/" ContainerName="{xml_escape(container.name)}">']
            if prefix:
                xml.append(f"<Prefix>{xml_escape(prefix)}</Prefix>")
            xml.append("<Blobs>")
            for name, snapshot_id, data in items:
                xml.append(self._blob_list_item(name, snapshot_id, data, "metadata" in include))
            xml.append("</Blobs><NextMarker /></EnumerationResults>")
        return Response(200, [("Content-Type", "application/xml")], "".join(xml).encode("utf-8"))

    @staticmethod
    def _blob_list_item(name, snapshot_id, data, with_metadata):
        parts = [f"<Blob><Name>{xml_escape(name)}</Name>"]
        if snapshot_id:
            parts.append(f"<Snapshot>{snapshot_id}</Snapshot>")
        parts.append(
            f"<Properties><Creation-Time>{http_date(data.creation_time)}</Creation-Time>"
            f"<Last-Modified>{http_date(data.last_modified)}</Last-Modified>"
            f"<Etag>{xml_escape(data.etag)}</Etag><Content-Length>{data.size}</Content-Length>"
            f"<Content-Type>{xml_escape(data.content_type or '')}</Content-Type>"
            f"<Content-MD5>{data.content_md5 or ''}</Content-MD5>"
            f"<BlobType>{data.blob_type}</BlobType><LeaseStatus>unlocked</LeaseStatus>"
            f"<LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties>")
        if with_metadata:
            parts.append("<Metadata>" + "".join(
                f"<{k}>{xml_escape(v)}</{k}>" for k, v in data.metadata.items()) + "</Metadata>")
        parts.append("</Blob>")
        return "".join(parts)

    # -- blob writes ----------------------------------------------------------------

    def op_put_blob(self, req, auth):
        self._reject_snapshot_target(req)
        blob_type = req.header("x-ms-blob-type")
        if blob_type is None:
            raise missing_header("x-ms-blob-type")
        if blob_type not in ("BlockBlob", "PageBlob"):
            raise invalid_header("x-ms-blob-type", blob_type,
                                 "Only BlockBlob and PageBlob are supported by this emulator.")
        metadata = parse_metadata(req)
        data = self._new_block_data(req) if blob_type == "BlockBlob" else self._new_page_data(req)
        data.metadata = metadata
        with self.store.lock:
            container = self._container(req, create=self.config["auto_create_container"])
            existing = container.blobs.get(req.blob)
            if existing is not None and not auth.allows("w"):
                raise AzureError(403, "UnauthorizedBlobOverwrite",
                                 "This request is not authorized to perform blob overwrites.")
            check_conditions(req, existing.data if existing else None, is_read=False, create_only_code=True)
            data.touch(self.clock.next())
            data.creation_time = existing.data.creation_time if existing else data.last_modified
            if existing is None:
                container.blobs[req.blob] = Blob(data)
            else:
                existing.data = data          # snapshots of the old content survive
        headers = self.write_headers(data) + [("x-ms-request-server-encrypted", "true")]
        if blob_type == "BlockBlob":
            headers.append(("Content-MD5", data.content_md5))
        return Response(201, headers)

    def _new_block_data(self, req):
        data = BlobData("BlockBlob", self.clock.next())
        data.content = bytes(req.body)
        data.size = len(data.content)
        sent_md5 = req.header("Content-MD5")
        actual_md5 = content_md5(data.content)
        if sent_md5 is not None and sent_md5.strip() != actual_md5:
            raise AzureError(400, "Md5Mismatch",
                             "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
                             {"UserSpecifiedMd5": sent_md5, "ServerCalculatedMd5": actual_md5})
        data.content_md5 = req.header("x-ms-blob-content-md5") or actual_md5
        self._apply_content_headers(req, data, plain_headers=True)
        return data

    def _new_page_data(self, req):
        if req.body:
            raise invalid_header("Content-Length", str(len(req.body)),
                                 "A page blob is created with an empty body (Content-Length: 0).")
        size = int_header(req, "x-ms-blob-content-length", required=True)
        if size % PAGE_SIZE:
            raise invalid_header("x-ms-blob-content-length", str(size),
                                 "The page blob size must be aligned to a 512-byte boundary.")
        data = BlobData("PageBlob", self.clock.next())
        data.size = size
        data.sequence_number = int_header(req, "x-ms-blob-sequence-number") or 0
        data.content_md5 = req.header("x-ms-blob-content-md5")
        self._apply_content_headers(req, data, plain_headers=True)
        return data

    @staticmethod
    def _apply_content_headers(req, data, plain_headers):
        """Store x-ms-blob-content-* (and, for Put Blob, the plain Content-* headers)."""
        for attribute, blob_header, plain_header in (
                ("content_type", "x-ms-blob-content-type", "Content-Type"),
                ("content_encoding", "x-ms-blob-content-encoding", "Content-Encoding"),
                ("content_language", "x-ms-blob-content-language", "Content-Language"),
                ("content_disposition", "x-ms-blob-content-disposition", None),
                ("cache_control", "x-ms-blob-cache-control", "Cache-Control")):
            value = req.header(blob_header)
            if value is None and plain_headers and plain_header:
                value = req.header(plain_header)
            if value is not None:
                setattr(data, attribute, value)

    def op_snapshot_blob(self, req, auth):
        self._reject_snapshot_target(req)
        metadata = parse_metadata(req)
        with self.store.lock:
            blob = self._blob(req)
            check_conditions(req, blob.data, is_read=False)
            limit = self.config["snapshot_limit"]
            if limit is not None and len(blob.snapshots) >= limit:
                raise AzureError(409, "SnapshotCountExceeded",
                                 "The snapshot count against this blob has been exceeded.")
            snapshot_id = format_snapshot_id(self.clock.next())
            snapshot = blob.data.copy()
            # Any x-ms-meta-* header replaces the metadata wholesale; none copies the base's.
            if metadata:
                snapshot.metadata = metadata
            blob.snapshots[snapshot_id] = snapshot
            headers = [("x-ms-snapshot", snapshot_id)] + self.write_headers(blob.data)
        return Response(201, headers + [("x-ms-request-server-encrypted", "false")])

    def op_put_page(self, req, auth):
        self._reject_snapshot_target(req)
        write = (req.header("x-ms-page-write") or "").lower()
        if write not in ("update", "clear"):
            if req.header("x-ms-page-write") is None:
                raise missing_header("x-ms-page-write")
            raise invalid_header("x-ms-page-write", req.header("x-ms-page-write"))
        start, end = self._page_range(req)
        length = end - start + 1
        if write == "update":
            if len(req.body) != length:
                raise invalid_header("Content-Length", str(len(req.body)),
                                     "The body length does not match the page range.")
            if length > MAX_PAGE_WRITE:
                raise AzureError(413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
            sent_md5 = req.header("Content-MD5")
            if sent_md5 is not None and sent_md5.strip() != content_md5(req.body):
                raise AzureError(400, "Md5Mismatch",
                                 "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
        elif req.body:
            raise invalid_header("Content-Length", str(len(req.body)), "Clearing pages requires Content-Length: 0.")
        with self.store.lock:
            blob = self._blob(req)
            data = blob.data
            if data.blob_type != "PageBlob":
                raise AzureError(409, "InvalidBlobType", "The blob type is invalid for this operation.")
            check_conditions(req, data, is_read=False)
            if end >= data.size:
                raise AzureError(416, "InvalidPageRange", "The page range specified is invalid.")
            if write == "update":
                data.write_pages(start, req.body)
            else:
                data.clear_pages(start, end)
            data.touch(self.clock.next())
            headers = self.write_headers(data) + [("x-ms-blob-sequence-number", str(data.sequence_number))]
        if write == "update":
            headers += [("Content-MD5", content_md5(req.body)), ("x-ms-request-server-encrypted", "true")]
        return Response(201, headers)

    @staticmethod
    def _page_range(req):
        header_name = "x-ms-range" if req.header("x-ms-range") is not None else "Range"
        text = req.header(header_name)
        if text is None:
            raise missing_header("x-ms-range")
        match = re.fullmatch(r"\s*bytes=(\d+)-(\d+)\s*", text)
        if not match:
            raise AzureError(416, "InvalidPageRange", "The page range specified is invalid.")
        start, end = int(match.group(1)), int(match.group(2))
        # Both ends are inclusive and must sit on 512-byte page boundaries.
        if end < start or start % PAGE_SIZE or (end + 1) % PAGE_SIZE:
            raise AzureError(416, "InvalidPageRange", "The page range specified is invalid.")
        return start, end

    def op_set_metadata(self, req, auth):
        self._reject_snapshot_target(req)
        metadata = parse_metadata(req)
        with self.store.lock:
            data = self._blob(req).data
            check_conditions(req, data, is_read=False)
            data.metadata = metadata           # replaces everything; none clears it
            data.touch(self.clock.next())
            headers = self.write_headers(data)
        return Response(200, headers + [("x-ms-request-server-encrypted", "true")])

    def op_set_properties(self, req, auth):
        self._reject_snapshot_target(req)
        new_size = int_header(req, "x-ms-blob-content-length")
        with self.store.lock:
            data = self._blob(req).data
            check_conditions(req, data, is_read=False)
            if new_size is not None:
                if data.blob_type != "PageBlob":
                    raise AzureError(409, "InvalidBlobType", "The blob type is invalid for this operation.")
                if new_size % PAGE_SIZE:
                    raise invalid_header("x-ms-blob-content-length", str(new_size),
                                         "The page blob size must be aligned to a 512-byte boundary.")
                data.resize(new_size)
            self._apply_content_headers(req, data, plain_headers=False)
            data.touch(self.clock.next())
            headers = self.write_headers(data)
            if data.blob_type == "PageBlob":
                headers.append(("x-ms-blob-sequence-number", str(data.sequence_number)))
        return Response(200, headers)

    def op_delete_blob(self, req, auth):
        with self.store.lock:
            container = self._container(req)
            blob = self._blob(req)
            if req.snapshot is not None:
                self._blob_data(req)
                del blob.snapshots[req.snapshot]
                return Response(202)
            check_conditions(req, blob.data, is_read=False)
            option = req.header("x-ms-delete-snapshots")
            if option == "only":
                blob.snapshots.clear()
            elif option == "include" or not blob.snapshots:
                del container.blobs[req.blob]
            else:
                raise AzureError(409, "SnapshotsPresent", "This operation is not permitted because the blob has snapshots.")
        return Response(202)

    # -- blob reads -----------------------------------------------------------------

    def property_headers(self, data, auth):
        headers = [
            ("Last-Modified", http_date(data.last_modified)), ("ETag", data.etag),
            ("x-ms-creation-time", http_date(data.creation_time)), ("x-ms-blob-type", data.blob_type),
            ("x-ms-lease-state", "available"), ("x-ms-lease-status", "unlocked"),
            ("x-ms-server-encrypted", "true"), ("Accept-Ranges", "bytes"),
        ]
        if data.blob_type == "PageBlob":
            headers.append(("x-ms-blob-sequence-number", str(data.sequence_number)))
        else:
            headers.append(("x-ms-access-tier", "Hot"))
            headers.append(("x-ms-access-tier-inferred", "true"))
        content = {"Content-Type": data.content_type, "Content-Encoding": data.content_encoding,
                   "Content-Language": data.content_language, "Content-Disposition": data.content_disposition,
                   "Cache-Control": data.cache_control}
        content.update(auth.overrides)           # SAS rscc/rscd/rsce/rscl/rsct
        headers += [(name, value) for name, value in content.items() if value]
        return headers + metadata_headers(data.metadata)

    def op_get_blob(self, req, auth):
        with self.store.lock:
            data = self._blob_data(req)
            if check_conditions(req, data, is_read=True) == "not_modified":
                return Response(304, self.write_headers(data))
            byte_range = requested_range(req) if req.method == "GET" else None
            headers = self.property_headers(data, auth)
            if byte_range is None:
                if data.content_md5:
                    headers.append(("Content-MD5", data.content_md5))
                if req.method == "HEAD":
                    return Response(200, headers, b"", content_length=data.size)
                return Response(200, headers, data.read(0, data.size - 1))
            start, end = byte_range
            if start >= data.size:
                raise AzureError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.",
                                 headers=[("Content-Range", f"bytes */{data.size}")])
            end = data.size - 1 if end is None else min(end, data.size - 1)
            body = data.read(start, end)
        headers.append(("Content-Range", f"bytes {start}-{end}/{data.size}"))
        if data.content_md5:
            headers.append(("x-ms-blob-content-md5", data.content_md5))
        if (req.header("x-ms-range-get-content-md5") or "").lower() == "true":
            if len(body) > MAX_PAGE_WRITE:
                raise invalid_header("x-ms-range-get-content-md5", "true",
                                     "Content-MD5 can only be returned for ranges of up to 4 MiB.")
            headers.append(("Content-MD5", content_md5(body)))
        return Response(206, headers, body)

    def op_get_metadata(self, req, auth):
        with self.store.lock:
            data = self._blob_data(req)
            if check_conditions(req, data, is_read=True) == "not_modified":
                return Response(304, self.write_headers(data))
            headers = self.write_headers(data) + metadata_headers(data.metadata)
        return Response(200, headers)

    def op_page_ranges(self, req, auth):
        with self.store.lock:
            data = self._blob_data(req)
            if data.blob_type != "PageBlob":
                raise AzureError(409, "InvalidBlobType", "The blob type is invalid for this operation.")
            ranges = data.page_ranges()
            headers = self.write_headers(data) + [("x-ms-blob-content-length", str(data.size)),
                                                  ("Content-Type", "application/xml")]
        limit = requested_range(req)
        if limit is not None:
            low, high = limit[0], limit[1] if limit[1] is not None else data.size - 1
            ranges = [(max(a, low), min(b, high)) for a, b in ranges if b >= low and a <= high]
        body = ('<?xml version="1.0" encoding="utf-8"?><PageList>' + "".join(
            f"<PageRange><Start>{a}</Start><End>{b}</End></PageRange>" for a, b in ranges) + "</PageList>")
        return Response(200, headers, body.encode("utf-8"))

    # -- control-API views ----------------------------------------------------------

    def describe_blob(self, path, snapshot=None, with_content=False):
        parts = path.split("/", 3)          # already decoded from the control query string
        if len(parts) != 4 or parts[0] != "" or not parts[3]:
            raise KeyError("path must be /<account>/<container>/<blob>")
        _, account, container_name, name = parts
        with self.store.lock:
            container = self.store.containers.get(container_name) if account == self.account else None
            blob = container.blobs.get(name) if container else None
            if blob is None:
                raise KeyError(f"no blob at {path}")
            data = blob.data if snapshot is None else blob.snapshots.get(snapshot)
            if data is None:
                raise KeyError(f"no snapshot {snapshot} of {path}")
            info = {
                "account": account, "container": container_name, "name": name, "path": path,
                "blob_type": data.blob_type, "length": data.size, "content_type": data.content_type,
                "metadata": dict(data.metadata), "etag": data.etag,
                "last_modified": http_date(data.last_modified), "creation_time": http_date(data.creation_time),
                "sequence_number": data.sequence_number,
                "snapshots": [{"id": sid, "metadata": dict(s.metadata), "length": s.size, "etag": s.etag}
                              for sid, s in blob.snapshots.items()],
            }
            if snapshot is not None:
                info["snapshot"] = snapshot
            content = data.read(0, data.size - 1) if with_content else None
        if content is not None:
            info["content_base64"] = base64.b64encode(content).decode("ascii")
            try:
                info["content_utf8"] = content.decode("utf-8")
            except UnicodeDecodeError:
                info["content_utf8"] = None
        return info

    def list_blob_paths(self):
        with self.store.lock:
            return [f"/{self.account}/{c}/{b}" for c in sorted(self.store.containers)
                    for b in sorted(self.store.containers[c].blobs)]

    def reset(self):
        self.store.reset()
        self.faults = FaultRegistry()      # fault ids restart at 1
        self.log = RequestLog()
        self.config = dict(self._initial_config)


# Any one of the letters grants the operation (Put Blob overwrite needs 'w', checked in op).
OPERATION_PERMISSIONS = {
    "create_container": "cw", "container_properties": "r", "delete_container": "d", "list_blobs": "l",
    "put_blob": "cw", "snapshot_blob": "cw", "put_page": "w", "set_metadata": "w",
    "set_properties": "w", "get_blob": "r", "get_metadata": "r", "page_ranges": "r", "delete_blob": "d",
}


# --------------------------------------------------------------------------- HTTP layer

class BadRequestBody(Exception):
    pass


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256      # many parallel connects (e.g. 64 snapshot calls) at once
    allow_reuse_address = True

    def __init__(self, address, emulator, verbose=False):
        self.emulator = emulator
        self.verbose = verbose
        self.stopping = threading.Event()
        super().__init__(address, EmulatorHandler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (getfqdn); skip that slow lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Windows-Azure-Blob/1.0"
    sys_version = "Microsoft-HTTPAPI/2.0"

    # BaseHTTPRequestHandler calls do_<METHOD>; route them all through one entry point.
    def do_GET(self):
        self.dispatch()

    do_PUT = do_HEAD = do_DELETE = do_POST = do_OPTIONS = do_PATCH = do_GET

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        if self.server.verbose:
            sys.stderr.write("blob_emulator: %s - %s\n" % (self.address_string(), redact_text(format % args)))

    @property
    def emulator(self):
        return self.server.emulator

    # -- entry ----------------------------------------------------------------------

    def dispatch(self):
        start_monotonic, start_wall = time.monotonic(), time.time()
        try:
            body, chunked = self.read_body()
        except BadRequestBody as error:
            self.close_connection = True
            self.send_plain(400, str(error))
            return
        if self.path.startswith("/__control/") or self.path == "/__control":
            ControlAPI(self).handle(body)
            return
        req = Request(self.command, self.path, self.headers, body, chunked, self.client_address)
        entry = self.emulator.log.start(req, start_monotonic, start_wall)
        fault = self.emulator.faults.take(req)
        if fault is not None:
            self.emulator.log.set_fault(entry, fault.id)
        try:
            self.serve_blob_request(req, entry, fault)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout):
            self.close_connection = True
            self.emulator.log.finish(entry, "client_closed")

    def serve_blob_request(self, req, entry, fault):
        slow_ms, slow_chunk = 0, 16
        if fault is not None:
            if fault.get("latency_ms"):
                time.sleep(fault.get("latency_ms") / 1000.0)
            if fault.get("hang"):
                outcome = self.hang()
                self.emulator.log.finish(entry, outcome)
                return
            if fault.get("drop"):
                self.drop(reset=fault.get("drop") == "reset")
                self.emulator.log.finish(entry, "dropped")
                return
            slow_ms, slow_chunk = fault.get("slow_body_ms", 0), max(1, fault.get("slow_body_chunk", 16))
        if fault is not None and fault.get("status"):
            response = self.fault_response(req, fault)
        else:
            response = self.emulator.handle(req)
        # Record the status before the bytes go out: a client that reads the log right after its
        # response must already see it (the end time is updated once the body is sent).
        self.emulator.log.finish(entry, "responded", response.status, response.header("x-ms-error-code"))
        self.send(response, slow_ms, slow_chunk)
        self.emulator.log.finish(entry, "responded", response.status, response.header("x-ms-error-code"))

    # -- body -----------------------------------------------------------------------

    def read_body(self):
        """Read the whole request body (Content-Length or chunked) so keep-alive stays in sync."""
        transfer_encoding = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in transfer_encoding:
            return self.read_chunked(), True
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b"", False
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            raise BadRequestBody("invalid Content-Length") from None
        return self.read_exact(length), False

    def read_exact(self, length):
        chunks, remaining = [], length
        while remaining > 0:
            chunk = self.rfile.read(remaining)
            if not chunk:
                raise BadRequestBody("request body shorter than Content-Length")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def read_chunked(self):
        chunks = []
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequestBody("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass                              # skip trailers
                return b"".join(chunks)
            chunks.append(self.read_exact(size))
            self.rfile.readline(65537)                # CRLF after each chunk

    # -- fault behaviours -------------------------------------------------------------

    def hang(self):
        """Never answer: wait until the client hangs up or the emulator stops."""
        self.close_connection = True
        sock = self.connection
        while not self.server.stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return "hung"
                if not data:
                    return "hung"           # client closed its side
        return "hung"

    def drop(self, reset=False):
        self.close_connection = True
        try:
            if reset:
                # SO_LINGER with a zero timeout makes close() send a TCP RST.  The fd is
                # really closed once the handler's rfile is closed at the end of the request.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def fault_response(self, req, fault):
        status = fault.get("status")
        default_code, default_message = FAULT_DEFAULT_CODES.get(status, ("InjectedFault", "Injected fault."))
        body_text = fault.get("body")
        if body_text is None:
            error = AzureError(status, fault.get("error_code", default_code), fault.get("message", default_message))
            response = BlobEmulator.error_response(req, error, str(uuid.uuid4()))
        else:
            code = fault.get("error_code")
            if code is None:
                found = re.search(r"<Code>\s*([^<]*?)\s*</Code>", body_text)
                code = found.group(1) if found else (default_code if status >= 400 else None)
            content_type = "application/xml" if body_text.lstrip().startswith("<") else "text/plain; charset=utf-8"
            headers = [("Content-Type", content_type)] + ([("x-ms-error-code", code)] if code else [])
            body = b"" if req.method == "HEAD" else body_text.encode("utf-8")
            response = Response(status, headers, body)
        if fault.get("retry_after") is not None:
            response.headers.append(("Retry-After", str(fault.get("retry_after"))))
        response.headers += [(str(k), str(v)) for k, v in fault.get("headers", {}).items()]
        response.headers += [("x-ms-request-id", str(uuid.uuid4())),
                             ("x-ms-version", self.emulator.api_version(req))]
        return response

    # -- writing --------------------------------------------------------------------

    def send(self, response, slow_ms=0, slow_chunk=16):
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(response.content_length))
        self.end_headers()
        if self.command == "HEAD" or response.status in (204, 304) or not response.body:
            return
        if not slow_ms:
            self.wfile.write(response.body)
            return
        for offset in range(0, len(response.body), slow_chunk):
            self.wfile.write(response.body[offset:offset + slow_chunk])
            self.wfile.flush()
            if offset + slow_chunk < len(response.body):
                time.sleep(slow_ms / 1000.0)

    def send_plain(self, status, text):
        self.send(Response(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode("utf-8")))

    def send_json(self, status, value):
        body = json.dumps(value, indent=None).encode("utf-8")
        self.send(Response(status, [("Content-Type", "application/json")], body))


class ControlAPI:
    """``/__control/...`` endpoints (see the module docstring)."""

    def __init__(self, handler):
        self.handler = handler
        self.emulator = handler.emulator
        path, _, raw_query = handler.path.partition("?")
        self.path = path.rstrip("/")
        self.query = dict(parse_qsl(raw_query, keep_blank_values=True))

    def handle(self, body):
        method = self.handler.command
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError:
            self.handler.send_json(400, {"error": "body is not valid JSON"})
            return
        routes = {
            ("GET", "/__control/health"): self.health,
            ("GET", "/__control/faults"): self.list_faults,
            ("POST", "/__control/faults"): self.add_faults,
            ("DELETE", "/__control/faults"): self.clear_faults,
            ("GET", "/__control/requests"): self.list_requests,
            ("DELETE", "/__control/requests"): self.clear_requests,
            ("GET", "/__control/blob"): self.blob,
            ("GET", "/__control/blobs"): self.blobs,
            ("GET", "/__control/config"): self.get_config,
            ("POST", "/__control/config"): self.set_config,
            ("POST", "/__control/reset"): self.reset,
        }
        route = routes.get((method, self.path))
        if route is None and method == "DELETE" and self.path.startswith("/__control/faults/"):
            route = self.remove_fault
        if route is None:
            self.handler.send_json(404, {"error": f"no control endpoint {method} {self.path}"})
            return
        try:
            status, value = route(payload)
        except (ValueError, KeyError, TypeError) as error:
            status, value = 400, {"error": str(error)}
        self.handler.send_json(status, value)

    def health(self, _):
        return 200, {"ok": True, "account": self.emulator.account,
                     "port": self.handler.server.server_address[1]}

    def list_faults(self, _):
        return 200, {"faults": self.emulator.faults.describe()}

    def add_faults(self, payload):
        specs = payload if isinstance(payload, list) else [payload]
        for spec in specs:
            validate_fault(spec)            # all-or-nothing
        return 201, {"faults": [self.emulator.faults.add(spec) for spec in specs]}

    def clear_faults(self, _):
        return 200, {"cleared": self.emulator.faults.clear()}

    def remove_fault(self, _):
        fault_id = int(self.path.rsplit("/", 1)[1])
        removed = self.emulator.faults.remove(fault_id)
        return (200, {"cleared": removed}) if removed else (404, {"error": f"no fault {fault_id}"})

    def list_requests(self, _):
        return 200, self.emulator.log.entries()

    def clear_requests(self, _):
        return 200, {"cleared": self.emulator.log.clear()}

    def blob(self, _):
        path = self.query.get("path")
        if not path:
            return 400, {"error": "missing ?path=/<account>/<container>/<blob>"}
        try:
            info = self.emulator.describe_blob(path, self.query.get("snapshot"),
                                               self.query.get("content") in ("1", "true"))
        except KeyError as error:
            return 404, {"error": error.args[0]}
        return 200, info

    def blobs(self, _):
        return 200, {"blobs": self.emulator.list_blob_paths()}

    def get_config(self, _):
        return 200, dict(self.emulator.config)

    def set_config(self, payload):
        if not isinstance(payload, dict):
            raise ValueError("config body must be a JSON object")
        for key, value in payload.items():
            if key not in BlobEmulator.DEFAULT_CONFIG:
                raise ValueError(f"unknown config key {key!r}")
            if key == "snapshot_limit":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                    raise ValueError("snapshot_limit must be a non-negative integer or null")
            elif not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        self.emulator.config.update(payload)
        return 200, dict(self.emulator.config)

    def reset(self, _):
        self.emulator.reset()
        return 200, {"ok": True}


# --------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description="In-memory Azure Blob REST emulator (tests only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 lets the OS choose")
    parser.add_argument("--account", default=DEFAULT_ACCOUNT)
    parser.add_argument("--key", default=DEFAULT_KEY, help="base64 account key")
    parser.add_argument("--allow-chunked", action="store_true", help="accept chunked PUT bodies")
    parser.add_argument("--no-enforce-protocol", action="store_true", help="accept spr=https over plain HTTP")
    parser.add_argument("--no-auto-create-container", action="store_true",
                        help="Put Blob into a missing container gives 404 ContainerNotFound")
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin reaches EOF")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    try:
        base64.b64decode(args.key, validate=True)
    except ValueError:
        parser.error("--key must be base64")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the emulator only listens on the loopback interface")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    emulator = BlobEmulator(args.account, args.key, allow_chunked=args.allow_chunked,
                            enforce_protocol=not args.no_enforce_protocol,
                            auto_create_container=not args.no_auto_create_container)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    if ":" in host:
        EmulatorHTTPServer.address_family = socket.AF_INET6
    server = EmulatorHTTPServer((host, args.port), emulator, verbose=args.verbose)
    stop = threading.Event()

    def request_stop(*_):
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.watch_stdin:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            stop.set()
        threading.Thread(target=watch, daemon=True).start()

    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    serving.start()
    sys.stdout.write(f"LISTENING {server.server_address[1]}\n")
    sys.stdout.flush()
    while not stop.wait(0.2):
        pass
    server.stopping.set()          # releases "hang" faults
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
