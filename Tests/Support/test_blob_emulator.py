"""Tests for blob_emulator.py.

Run:  python3 -m unittest discover -s Tests/Support -p 'test_*.py' -v

The functional tests drive the emulator with the official ``azure-storage-blob`` SDK
(``pip install azure-storage-blob``) through SAS URLs produced by the SDK's own
``generate_*_sas`` helpers; the fault-injection and wire-level tests use ``http.client``
so that status codes, headers and timing are observed directly.  Each test class starts
one emulator subprocess on an OS-chosen port and resets it between tests.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "blob_emulator.py")
sys.path.insert(0, HERE)

import blob_emulator  # noqa: E402  (the module under test, for its pure SAS helpers)

try:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
    from azure.storage.blob import (BlobClient, BlobSasPermissions, BlobServiceClient, ContainerClient,
                                    ContainerSasPermissions, generate_blob_sas, generate_container_sas)
    HAVE_SDK = True
except ImportError:  # pragma: no cover - CI installs the SDK
    HAVE_SDK = False

ACCOUNT = "devstoreaccount1"
KEY = blob_emulator.DEFAULT_KEY
WRONG_KEY = base64.b64encode(b"not the account key, 32 bytes!!!" * 2).decode()
SNAPSHOT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$")
NO_RETRY = {"retry_total": 0}


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def start_emulator(*extra_args):
    """Start the emulator on port 0; return (process, port)."""
    proc = subprocess.Popen([sys.executable, EMULATOR, "--port", "0", *extra_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.fullmatch(r"LISTENING (\d+)\n", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"emulator did not start: {line!r} {proc.stderr.read()}")
    return proc, int(match.group(1))


def stop_emulator(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    finally:
        proc.stdout.close()
        proc.stderr.close()


class EmulatorTestCase(unittest.TestCase):
    """Starts one emulator per class; resets its state before each test."""

    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port = start_emulator()
        cls.base = f"http://127.0.0.1:{cls.port}/{ACCOUNT}"

    @classmethod
    def tearDownClass(cls):
        stop_emulator(cls.proc)

    def setUp(self):
        status, _ = self.control("POST", "/__control/reset")
        self.assertEqual(status, 200)

    # -- helpers ----------------------------------------------------------------------

    def connection(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def control(self, method, path, body=None):
        conn = self.connection()
        try:
            data = None if body is None else json.dumps(body)
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def add_fault(self, **spec):
        status, value = self.control("POST", "/__control/faults", spec)
        self.assertEqual(status, 201, value)
        return value["faults"][0]

    def requests_log(self):
        return self.control("GET", "/__control/requests")[1]

    def blob_sas(self, blob, container="cont1", key=KEY, expiry=None, **kwargs):
        permission = kwargs.pop("permission", BlobSasPermissions(read=True, write=True, create=True, delete=True))
        return generate_blob_sas(ACCOUNT, container, blob, account_key=key, permission=permission,
                                 expiry=expiry or utcnow() + datetime.timedelta(hours=1), **kwargs)

    def container_sas(self, container="cont1", key=KEY, **kwargs):
        permission = kwargs.pop("permission", ContainerSasPermissions(read=True, write=True, create=True,
                                                                      delete=True, list=True))
        return generate_container_sas(ACCOUNT, container, account_key=key, permission=permission,
                                      expiry=utcnow() + datetime.timedelta(hours=1), **kwargs)

    def blob_client(self, blob, container="cont1", sas=None, **kwargs):
        sas = sas or self.blob_sas(blob, container)
        quoted = urllib.parse.quote(blob)
        return BlobClient.from_blob_url(f"{self.base}/{container}/{quoted}?{sas}", **NO_RETRY, **kwargs)

    def container_client(self, container="cont1", sas=None):
        sas = sas or self.container_sas(container)
        return ContainerClient.from_container_url(f"{self.base}/{container}?{sas}", **NO_RETRY)

    def raw(self, method, blob, query="", headers=None, body=None, container="cont1", sas=None, conn=None):
        """One raw request to a blob URL with a SAS; returns (status, headers dict, body)."""
        sas = self.blob_sas(blob, container) if sas is None else sas
        target = f"/{ACCOUNT}/{container}/{urllib.parse.quote(blob)}?{sas}" + (f"&{query}" if query else "")
        own = conn is None
        conn = conn or self.connection()
        try:
            headers = dict(headers or {})
            if method == "PUT" and body is None:
                body = b""
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            if own:
                conn.close()

    def put_block_blob(self, blob, data=b"content", container="cont1", metadata=None):
        headers = {"x-ms-blob-type": "BlockBlob"}
        headers.update({f"x-ms-meta-{k}": v for k, v in (metadata or {}).items()})
        status, _, body = self.raw("PUT", blob, headers=headers, body=data, container=container)
        self.assertEqual(status, 201, body)


@unittest.skipUnless(HAVE_SDK, "pip install azure-storage-blob")
class SdkFunctionalTests(EmulatorTestCase):

    def test_block_blob_upload_properties_download(self):
        self.assertTrue(self.container_client().create_container())
        client = self.blob_client("status/0.status")
        client.upload_blob(b'[{"status": "ok"}]', metadata={"Origin": "snap", "seq": "0"})
        props = client.get_blob_properties()
        self.assertEqual(props.size, 18)
        self.assertEqual(props.blob_type, "BlockBlob")
        self.assertEqual(props.metadata, {"Origin": "snap", "seq": "0"})
        self.assertTrue(props.etag)
        self.assertIsNotNone(props.creation_time)
        self.assertEqual(props.lease.state, "available")
        self.assertEqual(client.download_blob().readall(), b'[{"status": "ok"}]')
        status, info = self.control("GET", f"/__control/blob?path=/{ACCOUNT}/cont1/status/0.status&content=1")
        self.assertEqual(status, 200)
        self.assertEqual(info["blob_type"], "BlockBlob")
        self.assertEqual(info["length"], 18)
        self.assertEqual(info["metadata"], {"Origin": "snap", "seq": "0"})
        self.assertEqual(info["content_utf8"], '[{"status": "ok"}]')

    def test_blob_names_with_spaces_and_unicode(self):
        name = "dir/sub dir/blob name \u00fc+%.vhd"
        client = self.blob_client(name)
        client.upload_blob(b"odd name")
        self.assertEqual(client.download_blob().readall(), b"odd name")
        self.assertRegex(client.create_snapshot()["snapshot"], SNAPSHOT_RE)
        status, info = self.control("GET", "/__control/blob?path=" + urllib.parse.quote(f"/{ACCOUNT}/cont1/{name}"))
        self.assertEqual((status, info["name"], len(info["snapshots"])), (200, name, 1))

    def test_upload_overwrites_and_range_download(self):
        client = self.blob_client("log.txt")       # container auto-created
        client.upload_blob(b"first version")
        client.upload_blob(b"0123456789", overwrite=True)
        self.assertEqual(client.download_blob(offset=2, length=3).readall(), b"234")
        self.assertEqual(client.download_blob().readall(), b"0123456789")
        client.upload_blob(b"", overwrite=True)     # empty blob: SDK's ranged GET gets 416, then retries
        self.assertEqual(client.download_blob().readall(), b"")

    def test_snapshot_create_and_read_back(self):
        client = self.blob_client("disk0.vhd")
        client.upload_blob(b"before", metadata={"base": "1"})
        snap = client.create_snapshot(metadata={"backup": "job-1"})
        self.assertRegex(snap["snapshot"], SNAPSHOT_RE)
        plain = client.create_snapshot()               # no metadata: copied from the base blob
        self.assertNotEqual(snap["snapshot"], plain["snapshot"])
        client.upload_blob(b"after", overwrite=True)

        snap_client = self.blob_client("disk0.vhd", snapshot=snap["snapshot"])
        self.assertEqual(snap_client.download_blob().readall(), b"before")
        self.assertEqual(snap_client.get_blob_properties().metadata, {"backup": "job-1"})
        plain_client = self.blob_client("disk0.vhd", snapshot=plain["snapshot"])
        self.assertEqual(plain_client.get_blob_properties().metadata, {"base": "1"})
        self.assertEqual(client.download_blob().readall(), b"after")

        # A snapshot-scoped SAS (sr=bs) reads that snapshot.
        bs_sas = self.blob_sas("disk0.vhd", snapshot=snap["snapshot"], permission=BlobSasPermissions(read=True))
        self.assertIn("sr=bs", bs_sas)
        bs_client = self.blob_client("disk0.vhd", sas=bs_sas, snapshot=snap["snapshot"])
        self.assertEqual(bs_client.download_blob().readall(), b"before")

        _, info = self.control("GET", f"/__control/blob?path=/{ACCOUNT}/cont1/disk0.vhd")
        self.assertEqual([s["id"] for s in info["snapshots"]], [snap["snapshot"], plain["snapshot"]])
        self.assertEqual(info["snapshots"][0]["metadata"], {"backup": "job-1"})

    def test_snapshot_ids_unique_under_burst(self):
        client = self.blob_client("burst.vhd")
        client.upload_blob(b"x")
        ids = [client.create_snapshot()["snapshot"] for _ in range(20)]
        self.assertEqual(len(set(ids)), 20)
        self.assertTrue(all(SNAPSHOT_RE.match(i) for i in ids))

    def test_snapshot_of_missing_blob_is_404(self):
        self.container_client().create_container()
        with self.assertRaises(ResourceNotFoundError) as ctx:
            self.blob_client("missing.vhd").create_snapshot()
        self.assertEqual(ctx.exception.error_code, "BlobNotFound")
        with self.assertRaises(ResourceNotFoundError) as ctx:
            self.blob_client("x", container="nocontainer").get_blob_properties()
        self.assertEqual(ctx.exception.error_code, "ContainerNotFound")

    def test_page_blob_create_upload_clear(self):
        client = self.blob_client("page.vhd")
        client.create_page_blob(4096, metadata={"disk": "os"})
        client.upload_page(b"a" * 512, offset=512, length=512)
        client.upload_page(b"b" * 1024, offset=2048, length=1024)
        data = client.download_blob().readall()
        self.assertEqual(len(data), 4096)
        self.assertEqual(data, b"\0" * 512 + b"a" * 512 + b"\0" * 1024 + b"b" * 1024 + b"\0" * 1024)
        props = client.get_blob_properties()
        self.assertEqual(props.blob_type, "PageBlob")
        self.assertEqual(props.size, 4096)
        self.assertEqual(props.metadata, {"disk": "os"})
        ranges, _ = client.get_page_ranges()
        self.assertEqual(ranges, [{"start": 512, "end": 1023}, {"start": 2048, "end": 3071}])

        snap = client.create_snapshot()
        client.clear_page(offset=0, length=4096)
        self.assertEqual(client.download_blob().readall(), b"\0" * 4096)
        old = self.blob_client("page.vhd", snapshot=snap["snapshot"]).download_blob().readall()
        self.assertEqual(old, data)

        client.resize_blob(8192)
        self.assertEqual(client.get_blob_properties().size, 8192)

    def test_page_blob_rejects_misaligned(self):
        client = self.blob_client("page2.vhd")
        with self.assertRaises(HttpResponseError) as ctx:
            client.create_page_blob(1000)
        self.assertEqual(ctx.exception.status_code, 400)
        client.create_page_blob(1024)
        status, headers, _ = self.raw("PUT", "page2.vhd", "comp=page", body=b"z" * 100,
                                      headers={"x-ms-range": "bytes=0-99", "x-ms-page-write": "update"})
        self.assertEqual((status, headers["x-ms-error-code"]), (416, "InvalidPageRange"))
        status, headers, _ = self.raw("PUT", "page2.vhd", "comp=page", body=b"z" * 512,
                                      headers={"x-ms-range": "bytes=1024-1535", "x-ms-page-write": "update"})
        self.assertEqual((status, headers["x-ms-error-code"]), (416, "InvalidPageRange"))
        self.blob_client("block").upload_blob(b"x")
        status, headers, _ = self.raw("PUT", "block", "comp=page", body=b"z" * 512,
                                      headers={"x-ms-range": "bytes=0-511", "x-ms-page-write": "update"})
        self.assertEqual((status, headers["x-ms-error-code"]), (409, "InvalidBlobType"))

    def test_set_and_get_metadata(self):
        client = self.blob_client("meta")
        client.upload_blob(b"x", metadata={"one": "1"})
        client.set_blob_metadata({"Two": "2", "three": "3"})
        self.assertEqual(client.get_blob_properties().metadata, {"Two": "2", "three": "3"})
        status, headers, body = self.raw("GET", "meta", "comp=metadata")
        self.assertEqual(status, 200)
        self.assertEqual((headers["x-ms-meta-two"], headers["x-ms-meta-three"], body), ("2", "3", b""))
        self.assertNotIn("x-ms-meta-one", headers)
        client.set_blob_metadata({})
        self.assertEqual(client.get_blob_properties().metadata, {})
        with self.assertRaises(HttpResponseError) as ctx:
            client.set_blob_metadata({"not-an-identifier": "x"})
        self.assertEqual(ctx.exception.error_code, "InvalidMetadata")

    def test_container_create_conflict_and_list(self):
        container = self.container_client("cont2")
        container.create_container()
        with self.assertRaises(HttpResponseError) as ctx:
            container.create_container()
        self.assertEqual((ctx.exception.status_code, ctx.exception.error_code), (409, "ContainerAlreadyExists"))
        container.get_blob_client("a/b.txt").upload_blob(b"1")
        container.get_blob_client("c.txt").upload_blob(b"22", metadata={"k": "v"})
        blobs = {b.name: b for b in container.list_blobs(include=["metadata"])}
        self.assertEqual(sorted(blobs), ["a/b.txt", "c.txt"])
        self.assertEqual((blobs["c.txt"].size, blobs["c.txt"].metadata), (2, {"k": "v"}))

    def test_delete_blob_with_snapshots(self):
        client = self.blob_client("del")
        client.upload_blob(b"x")
        client.create_snapshot()
        with self.assertRaises(HttpResponseError) as ctx:
            client.delete_blob()
        self.assertEqual(ctx.exception.error_code, "SnapshotsPresent")
        client.delete_blob(delete_snapshots="include")
        self.assertFalse(client.exists())

    def test_shared_key_client(self):
        service = BlobServiceClient(self.base, credential={"account_name": ACCOUNT, "account_key": KEY}, **NO_RETRY)
        blob = service.get_blob_client("skc", "dir/x.bin")
        blob.upload_blob(b"shared key", metadata={"m": "1"})
        self.assertEqual(blob.download_blob().readall(), b"shared key")
        self.assertRegex(blob.create_snapshot()["snapshot"], SNAPSHOT_RE)
        bad = BlobServiceClient(self.base, credential={"account_name": ACCOUNT, "account_key": WRONG_KEY}, **NO_RETRY)
        with self.assertRaises(ClientAuthenticationError) as ctx:
            bad.get_blob_client("skc", "dir/x.bin").get_blob_properties()
        self.assertEqual(ctx.exception.status_code, 403)


@unittest.skipUnless(HAVE_SDK, "pip install azure-storage-blob")
class SasAuthTests(EmulatorTestCase):

    def setUp(self):
        super().setUp()
        self.put_block_blob("target", b"data")

    def assert_auth_error(self, status_code, code, call):
        with self.assertRaises(HttpResponseError) as ctx:
            call()
        self.assertEqual((ctx.exception.status_code, ctx.exception.error_code), (status_code, code))
        return ctx.exception

    def test_wrong_key_is_403(self):
        client = self.blob_client("target", sas=self.blob_sas("target", key=WRONG_KEY))
        error = self.assert_auth_error(403, "AuthenticationFailed", client.download_blob)
        self.assertIn("Signature did not match", str(error))

    def test_expired_sas_is_403(self):
        sas = self.blob_sas("target", expiry=utcnow() - datetime.timedelta(minutes=5))
        error = self.assert_auth_error(403, "AuthenticationFailed", self.blob_client("target", sas=sas).download_blob)
        self.assertIn("Signature not valid in the specified time frame", str(error))

    def test_not_yet_valid_sas_is_403(self):
        sas = self.blob_sas("target", start=utcnow() + datetime.timedelta(minutes=10))
        error = self.assert_auth_error(403, "AuthenticationFailed", self.blob_client("target", sas=sas).download_blob)
        self.assertIn("Signature not valid in the specified time frame", str(error))

    def test_missing_permission_is_403(self):
        read_only = self.blob_sas("target", permission=BlobSasPermissions(read=True))
        client = self.blob_client("target", sas=read_only)
        self.assertEqual(client.download_blob().readall(), b"data")
        self.assert_auth_error(403, "AuthorizationPermissionMismatch", client.create_snapshot)
        write_only = self.blob_client("target", sas=self.blob_sas("target", permission=BlobSasPermissions(write=True)))
        self.assert_auth_error(403, "AuthorizationPermissionMismatch", write_only.get_blob_properties)

    def test_create_only_sas_cannot_overwrite(self):
        create_only = BlobSasPermissions(create=True)
        fresh = self.blob_client("fresh", sas=self.blob_sas("fresh", permission=create_only))
        fresh.upload_blob(b"1")
        self.assert_auth_error(403, "UnauthorizedBlobOverwrite", lambda: fresh.upload_blob(b"2", overwrite=True))

    def test_sas_is_bound_to_its_blob_and_container(self):
        other = self.blob_client("other", sas=self.blob_sas("target"))
        self.assert_auth_error(403, "AuthenticationFailed", lambda: other.upload_blob(b"x"))
        container_sas = self.container_sas("cont1")
        self.assertEqual(self.blob_client("target", sas=container_sas).download_blob().readall(), b"data")
        wrong_container = self.blob_client("target", container="cont9", sas=self.container_sas("cont1"))
        self.assert_auth_error(403, "AuthenticationFailed", wrong_container.get_blob_properties)

    def test_missing_sig_is_403(self):
        sas = re.sub(r"&?sig=[^&]*", "", self.blob_sas("target"))
        status, headers, body = self.raw("GET", "target", sas=sas)
        self.assertEqual((status, headers["x-ms-error-code"]), (403, "AuthenticationFailed"))
        self.assertIn(b"<Code>AuthenticationFailed</Code>", body)
        status, headers, _ = self.raw("GET", "target", sas="")
        self.assertEqual((status, headers["x-ms-error-code"]), (403, "AuthenticationFailed"))

    def test_unencoded_plus_in_sig_is_rejected(self):
        # Azure form-decodes the query, so a raw '+' in sig turns into a space.
        for minutes in range(60, 400):
            sas = self.blob_sas("target", expiry=utcnow().replace(microsecond=0) + datetime.timedelta(minutes=minutes))
            if "%2B" in sas:
                break
        else:
            self.skipTest("no signature with '+' found")
        self.assertEqual(self.raw("GET", "target", sas=sas)[0], 200)
        status, headers, body = self.raw("GET", "target", sas=sas.replace("%2B", "+"))
        self.assertEqual((status, headers["x-ms-error-code"]), (403, "AuthenticationFailed"))
        self.assertIn(b"Signature fields not well formed", body)

    def test_protocol_and_ip_restrictions(self):
        https_only = self.blob_sas("target", protocol="https")
        self.assertEqual(self.raw("GET", "target", sas=https_only)[1].get("x-ms-error-code"),
                         "AuthorizationProtocolMismatch")
        self.assertEqual(self.raw("GET", "target", sas=self.blob_sas("target", protocol="https,http"))[0], 200)
        self.assertEqual(self.raw("GET", "target", sas=self.blob_sas("target", ip="127.0.0.1"))[0], 200)
        self.assertEqual(self.raw("GET", "target", sas=self.blob_sas("target", ip="127.0.0.0-127.0.0.9"))[0], 200)
        self.assertEqual(self.raw("GET", "target", sas=self.blob_sas("target", ip="10.0.0.1"))[1].get("x-ms-error-code"),
                         "AuthorizationSourceIPMismatch")
        status, config = self.control("POST", "/__control/config", {"enforce_protocol": False})
        self.assertEqual((status, config["enforce_protocol"]), (200, False))
        self.assertEqual(self.raw("GET", "target", sas=https_only)[0], 200)

    def test_response_header_overrides(self):
        sas = self.blob_sas("target", content_type="text/plain", cache_control="no-cache",
                            content_disposition="attachment")
        status, headers, _ = self.raw("GET", "target", sas=sas)
        self.assertEqual(status, 200)
        self.assertEqual((headers["content-type"], headers["cache-control"], headers["content-disposition"]),
                         ("text/plain", "no-cache", "attachment"))

    def test_emulator_string_to_sign_matches_sdk(self):
        """The SDK's string-to-sign, captured with sts_hook, equals the emulator's."""
        cases = [
            dict(),
            dict(start=utcnow() - datetime.timedelta(minutes=1), ip="127.0.0.1", protocol="https,http"),
            dict(cache_control="no-cache", content_disposition="inline", content_encoding="gzip",
                 content_language="en", content_type="text/plain"),
            dict(snapshot="2026-01-02T03:04:05.1234567Z"),
            dict(encryption_scope="scope1"),
        ]
        for case in cases:
            captured = []
            sas = self.blob_sas("dir/blob name.vhd", sts_hook=captured.append, **case)
            query = dict(urllib.parse.parse_qsl(sas, keep_blank_values=True))
            if "snapshot" in case:
                query["snapshot"] = case["snapshot"]
            resource = blob_emulator.sas_canonical_resource(ACCOUNT, "cont1", "dir/blob name.vhd")
            with self.subTest(case=sorted(case)):
                self.assertEqual(blob_emulator.sas_string_to_sign(query, resource), captured[0])
        captured = []
        sas = self.container_sas("cont1", sts_hook=captured.append)
        query = dict(urllib.parse.parse_qsl(sas))
        resource = blob_emulator.sas_canonical_resource(ACCOUNT, "cont1", None)
        self.assertEqual(blob_emulator.sas_string_to_sign(query, resource), captured[0])

    def test_reference_vectors_by_version(self):
        """Signatures from the shared reference doc (azure-protocols.md §A.6)."""
        key = base64.b64decode(KEY)
        resource = "/blob/devstoreaccount1/vhds/disk0.vhd"
        base = {"sp": "rcw", "se": "2030-01-01T00:00:00Z", "spr": "https,http", "sr": "b"}
        for sv, expected in (("2020-12-06", "VoAMNDENfc0AicQOllpotRyVJKOcg4GV41PB5rxikfc="),
                             ("2026-10-06", "BRcrP9+SMgvVbkECOVrZe04wyeC4RoQFFfWpL77oIB0="),
                             ("2019-02-02", "Q9bm4wkQJh2PDCsv/kXMoYPgOarqFpItX06OegPViJY=")):
            with self.subTest(sv=sv):
                text = blob_emulator.sas_string_to_sign(dict(base, sv=sv), resource)
                self.assertEqual(base64.b64encode(blob_emulator.sign(key, text)).decode(), expected)

    def test_older_signed_versions_accepted_on_the_wire(self):
        """Hand-signed tokens in the 13-field (2017-11-09) and 15-field (2019-02-02, 2020-10-02)
        layouts verify; the same token signed over the 16-field layout does not (Azure picks
        the layout from sv)."""
        key = base64.b64decode(KEY)
        resource = "/blob/devstoreaccount1/cont1/target"
        expiry = (utcnow() + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for sv in ("2017-11-09", "2019-02-02", "2020-10-02"):
            fields = {"sp": "rw", "se": expiry, "sv": sv, "sr": "b"}
            text = blob_emulator.sas_string_to_sign(fields, resource)
            good = dict(fields, sig=base64.b64encode(blob_emulator.sign(key, text)).decode())
            text_16 = blob_emulator.sas_string_to_sign(dict(fields, sv="2099-01-01"), resource)
            text_16 = text_16.replace("2099-01-01", sv)
            wrong_layout = dict(fields, sig=base64.b64encode(blob_emulator.sign(key, text_16)).decode())
            with self.subTest(sv=sv):
                self.assertEqual(len(text.split("\n")), 13 if sv < "2018-11-09" else 15)
                status, headers, body = self.raw("GET", "target", sas=urllib.parse.urlencode(good))
                self.assertEqual((status, body), (200, b"data"))
                self.assertEqual(headers["x-ms-version"], sv)
                status, headers, _ = self.raw("GET", "target", sas=urllib.parse.urlencode(wrong_layout))
                self.assertEqual((status, headers["x-ms-error-code"]), (403, "AuthenticationFailed"))


class FaultInjectionTests(EmulatorTestCase):
    """Control endpoints and wire behaviour, observed with http.client."""

    def setUp(self):
        super().setUp()
        if HAVE_SDK:
            self.put_block_blob("disk.vhd", b"0123456789" * 4)
        self.control("DELETE", "/__control/requests")

    def sas(self, blob="disk.vhd"):
        if not HAVE_SDK:
            self.skipTest("pip install azure-storage-blob")
        return self.blob_sas(blob)

    def test_503_with_retry_after_then_recovers(self):
        self.add_fault(match="/cont1/disk.vhd", method="PUT", comp="snapshot", status=503, retry_after=1, times=1)
        status, headers, body = self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas())
        self.assertEqual(status, 503)
        self.assertEqual(headers["retry-after"], "1")
        self.assertEqual(headers["x-ms-error-code"], "ServerBusy")
        self.assertIn(b"<Code>ServerBusy</Code>", body)
        self.assertEqual(int(headers["content-length"]), len(body))
        status, headers, _ = self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas())
        self.assertEqual(status, 201)
        self.assertRegex(headers["x-ms-snapshot"], SNAPSHOT_RE)
        self.assertEqual(self.control("GET", "/__control/faults")[1], {"faults": []})

    def test_fault_matching_by_method_and_comp(self):
        self.add_fault(match="disk.vhd", comp="snapshot", status=500)
        self.assertEqual(self.raw("GET", "disk.vhd", sas=self.sas())[0], 200)
        status, headers, _ = self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas())
        self.assertEqual((status, headers["x-ms-error-code"]), (500, "InternalError"))
        self.assertEqual(self.control("DELETE", "/__control/faults")[1], {"cleared": 1})
        self.assertEqual(self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas())[0], 201)

    def test_custom_fault_body_and_code(self):
        body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>SnapshotOperationRateExceeded</Code>'
                '<Message>The rate of snapshot blob calls is exceeded.</Message></Error>')
        self.add_fault(match="disk.vhd", status=409, body=body, headers={"x-test": "yes"})
        status, headers, data = self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas())
        self.assertEqual((status, data.decode()), (409, body))
        self.assertEqual((headers["x-ms-error-code"], headers["x-test"]), ("SnapshotOperationRateExceeded", "yes"))

    def test_drop_closes_connection_without_response(self):
        fault = self.add_fault(match="disk.vhd", drop=True, times=1)
        conn = self.connection()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas(), conn=conn)
        conn.close()
        self.add_fault(match="disk.vhd", drop="reset", times=1)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.raw("GET", "disk.vhd", sas=self.sas())
        entries = self.requests_log()
        self.assertEqual([e["outcome"] for e in entries], ["dropped", "dropped"])
        self.assertEqual(entries[0]["fault"], fault["id"])
        self.assertIsNone(entries[0]["status"])

    def test_latency_is_applied(self):
        self.add_fault(match="disk.vhd", latency_ms=250)
        started = time.monotonic()
        status, _, body = self.raw("GET", "disk.vhd", sas=self.sas())
        elapsed = time.monotonic() - started
        self.assertEqual((status, len(body)), (200, 40))
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 1.5)

    def test_64_parallel_snapshots_with_latency_overlap(self):
        self.add_fault(match="disk.vhd", comp="snapshot", latency_ms=200)
        sas = self.sas()
        count = 64
        barrier = threading.Barrier(count + 1)
        results = [None] * count

        def snapshot(index):
            conn = self.connection(timeout=10)
            conn.connect()
            barrier.wait()
            results[index] = self.raw("PUT", "disk.vhd", "comp=snapshot", sas=sas, conn=conn)
            conn.close()

        threads = [threading.Thread(target=snapshot, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.monotonic()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        self.assertTrue(all(r[0] == 201 for r in results), [r[0] for r in results])
        self.assertEqual(len({r[1]["x-ms-snapshot"] for r in results}), count)
        self.assertLess(elapsed, 1.0, f"64 parallel snapshots took {elapsed:.3f}s")
        if os.environ.get("BLOB_EMULATOR_TIMING"):
            print(f"\n64 parallel snapshots: {elapsed:.3f}s", file=sys.stderr)
        entries = [e for e in self.requests_log() if e["query"].get("comp") == "snapshot"]
        self.assertEqual(len(entries), count)
        # All 64 were in flight together: the last start precedes the first end.
        self.assertLess(max(e["start"] for e in entries), min(e["end"] for e in entries))
        _, info = self.control("GET", f"/__control/blob?path=/{ACCOUNT}/cont1/disk.vhd")
        self.assertEqual(len(info["snapshots"]), count)

    def test_hang_until_client_gives_up(self):
        self.add_fault(match="disk.vhd", hang=True, times=1)
        conn = self.connection(timeout=0.3)
        with self.assertRaises(socket.timeout):
            self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas(), conn=conn)
        conn.close()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            entry = self.requests_log()[0]
            if entry["outcome"] != "in_flight":
                break
            time.sleep(0.05)
        self.assertEqual(entry["outcome"], "hung")
        self.assertEqual(self.raw("GET", "disk.vhd", sas=self.sas())[0], 200)

    def test_slow_body(self):
        self.add_fault(match="disk.vhd", slow_body_ms=30, slow_body_chunk=8)
        started = time.monotonic()
        status, _, body = self.raw("GET", "disk.vhd", sas=self.sas())
        self.assertEqual((status, body), (200, b"0123456789" * 4))
        self.assertGreaterEqual(time.monotonic() - started, 4 * 0.03)

    def test_request_log_redacts_signature(self):
        sas = self.sas()
        signature = urllib.parse.parse_qs(sas)["sig"][0]
        self.raw("GET", "disk.vhd", sas=sas, headers={"x-ms-client-request-id": "abc"})
        self.raw("PUT", "disk.vhd", "comp=snapshot", sas=sas, headers={"x-ms-meta-job": "1"})
        self.raw("PUT", "disk.vhd", "comp=snapshot", sas=sas.replace("sig=", "sig=X"))
        log_text = json.dumps(self.requests_log())
        for form in (signature, urllib.parse.quote(signature, safe=""), signature[:20]):
            self.assertNotIn(form, log_text)
        entries = self.requests_log()
        self.assertEqual(len(entries), 3)
        get, snap = entries[0], entries[1]
        self.assertEqual(get["query"]["sig"], "REDACTED")
        self.assertIn("sig=REDACTED", get["raw_query"])
        self.assertEqual((get["method"], get["path"], get["status"]), ("GET", f"/{ACCOUNT}/cont1/disk.vhd", 200))
        self.assertEqual(get["headers"]["x-ms-client-request-id"], "abc")
        self.assertEqual((snap["query"]["comp"], snap["headers"]["x-ms-meta-job"], snap["body_length"]),
                         ("snapshot", "1", 0))
        self.assertFalse(snap["chunked"])
        self.assertLessEqual(snap["start"], snap["end"])
        self.assertEqual(entries[2]["error_code"], "AuthenticationFailed")
        self.assertEqual(self.control("DELETE", "/__control/requests")[1], {"cleared": 3})
        self.assertEqual(self.requests_log(), [])

    def test_shared_key_authorization_is_redacted(self):
        if not HAVE_SDK:
            self.skipTest("pip install azure-storage-blob")
        service = BlobServiceClient(self.base, credential={"account_name": ACCOUNT, "account_key": KEY}, **NO_RETRY)
        service.get_blob_client("cont1", "disk.vhd").get_blob_properties()
        entry = self.requests_log()[-1]
        self.assertEqual(entry["headers"]["authorization"], f"SharedKey {ACCOUNT}:REDACTED")

    def test_chunked_and_missing_content_length(self):
        sas = self.sas("chunked.txt")
        target = f"/{ACCOUNT}/cont1/chunked.txt?{sas}"
        conn = self.connection()
        conn.request("PUT", target, body=iter([b"abc", b"def"]), headers={"x-ms-blob-type": "BlockBlob"},
                     encode_chunked=True)
        response = conn.getresponse()
        response.read()
        self.assertEqual((response.status, response.getheader("x-ms-error-code")),
                         (411, "MissingContentLengthHeader"))
        # Same keep-alive connection, no Content-Length at all.
        conn.putrequest("PUT", target)
        conn.putheader("x-ms-blob-type", "BlockBlob")
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        self.assertEqual(response.status, 411)
        self.control("POST", "/__control/config", {"allow_chunked": True})
        conn.request("PUT", target, body=iter([b"abc", b"def"]), headers={"x-ms-blob-type": "BlockBlob"},
                     encode_chunked=True)
        response = conn.getresponse()
        response.read()
        self.assertEqual(response.status, 201)
        conn.close()
        entries = self.requests_log()
        self.assertEqual([(e["chunked"], e["body_length"], e["status"]) for e in entries],
                         [(True, 6, 411), (False, 0, 411), (True, 6, 201)])
        _, info = self.control("GET", f"/__control/blob?path=/{ACCOUNT}/cont1/chunked.txt&content=1")
        self.assertEqual(info["content_utf8"], "abcdef")

    def test_keep_alive_across_success_error_and_head(self):
        sas = self.sas()
        conn = self.connection()
        for method, blob, expected in (("GET", "disk.vhd", 200), ("HEAD", "disk.vhd", 200),
                                       ("HEAD", "nope", 404), ("GET", "nope", 404), ("GET", "disk.vhd", 200)):
            status, headers, body = self.raw(method, blob, sas=sas if blob == "disk.vhd" else self.sas(blob),
                                             conn=conn)
            self.assertEqual(status, expected)
            self.assertIn("content-length", headers)
            self.assertIn("x-ms-request-id", headers)
            if method == "HEAD":
                self.assertEqual(body, b"")
            if expected == 404:
                self.assertEqual(headers["x-ms-error-code"], "BlobNotFound")
                self.assertEqual(body == b"", method == "HEAD")
            else:
                self.assertEqual(headers["content-length"], "40")
                self.assertEqual(headers["x-ms-blob-type"], "BlockBlob")
        conn.close()
        clients = {e["client"] for e in self.requests_log()}
        self.assertEqual(len(clients), 1)                  # one TCP connection served all five

    def test_control_validation_and_blob_view(self):
        status, value = self.control("POST", "/__control/faults", {"match": "x", "latncy_ms": 5})
        self.assertEqual(status, 400)
        self.assertIn("latncy_ms", value["error"])
        status, value = self.control("POST", "/__control/faults", [{"match": "a", "status": 500},
                                                                    {"match": "b", "latency_ms": 1, "times": 2}])
        self.assertEqual((status, [f["id"] for f in value["faults"]]), (201, [1, 2]))
        self.assertEqual(self.control("DELETE", "/__control/faults/1"), (200, {"cleared": 1}))
        self.assertEqual([f["id"] for f in self.control("GET", "/__control/faults")[1]["faults"]], [2])
        self.assertEqual(self.control("GET", f"/__control/blob?path=/{ACCOUNT}/cont1/none")[0], 404)
        self.assertEqual(self.control("GET", "/__control/nothing")[0], 404)
        status, health = self.control("GET", "/__control/health")
        self.assertEqual((status, health["ok"], health["port"]), (200, True, self.port))
        self.control("POST", "/__control/config", {"snapshot_limit": 1})
        self.assertEqual(self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas())[0], 201)
        status, headers, _ = self.raw("PUT", "disk.vhd", "comp=snapshot", sas=self.sas())
        self.assertEqual((status, headers["x-ms-error-code"]), (409, "SnapshotCountExceeded"))
        self.assertEqual(self.control("GET", "/__control/blobs")[1], {"blobs": [f"/{ACCOUNT}/cont1/disk.vhd"]})


class ProcessTests(unittest.TestCase):

    def test_sigterm_and_sigint_exit_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            proc, port = start_emulator()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/__control/health")
                self.assertEqual(conn.getresponse().status, 200)
                conn.close()
                proc.send_signal(sig)
                self.assertEqual(proc.wait(timeout=5), 0)
                self.assertEqual(proc.stdout.read(), "")   # nothing after the LISTENING line
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()
                proc.stderr.close()

    def test_stop_releases_hung_request(self):
        proc, port = start_emulator()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", "/__control/faults", body=json.dumps({"hang": True}))
            self.assertEqual(conn.getresponse().status, 201)
            conn.close()
            hung = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            hung.request("GET", f"/{ACCOUNT}/cont1/b")
            time.sleep(0.2)
            proc.terminate()
            self.assertEqual(proc.wait(timeout=5), 0)
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
                hung.getresponse()
            hung.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_custom_account_and_key(self):
        key = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
        proc, port = start_emulator("--account", "acct2", "--key", key)
        try:
            expiry = (utcnow() + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            fields = {"sp": "rcw", "se": expiry, "sv": "2026-10-06", "sr": "c"}
            text = blob_emulator.sas_string_to_sign(fields, "/blob/acct2/box")
            fields["sig"] = base64.b64encode(hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256)
                                             .digest()).decode()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("PUT", f"/acct2/box/file?{urllib.parse.urlencode(fields)}", body=b"hi",
                         headers={"x-ms-blob-type": "BlockBlob"})
            response = conn.getresponse()
            response.read()
            self.assertEqual(response.status, 201)
            conn.close()
        finally:
            stop_emulator(proc)


if __name__ == "__main__":
    unittest.main()
