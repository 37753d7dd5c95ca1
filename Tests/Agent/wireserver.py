"""A fake Azure wire server and HostGAPlugin for driving the real guest agent's code (stdlib + openssl CLI).

It serves what WALinuxAgent's WireProtocol fetches: the protocol versions, the goal state, HostingEnvironmentConfig,
SharedConfig, Certificates (the tenant certificate and key as a PFX, CMS-encrypted to the transport certificate the
agent sends), ExtensionsConfig (plugins, runtime settings, the status upload blob), a handler manifest and the
handler packages. It also stores what the agent uploads as its status (HostGAPlugin `PUT /status` or a direct
block-blob PUT), blobs written by the extension (status and log blobs), and answers the host snapshot calls of the
VMSnapshot extension (`/metadata/recsvc/snapshot/presnapshot|dosnapshot`).

The goal state is plain data on the `WireServer` object: the test changes it and bumps the incarnation.
"""
import base64
import json
import os
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

HANDLER = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
HOST_PLUGIN_PORT = 32526


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


class TenantCertificate:
    """The certificate protected settings are encrypted to (what CRP does with the VM's tenant certificate)."""

    def __init__(self, directory):
        self.directory = directory
        self.key = os.path.join(directory, "tenant.key")
        self.crt = os.path.join(directory, "tenant.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out", self.crt, "-days", "2",
                "-subj", "/CN=Windows Azure CRP Certificate Generator")
        fingerprint = openssl("x509", "-in", self.crt, "-noout", "-fingerprint", "-sha1").decode()
        self.thumbprint = fingerprint.strip().split("=", 1)[1].replace(":", "").upper()
        self.pfx = openssl("pkcs12", "-export", "-inkey", self.key, "-in", self.crt, "-passout", "pass:")

    def encrypt(self, settings, recipient=None):
        """Base64 DER CMS EnvelopedData of the JSON `settings`, as in `protectedSettings`."""
        return base64.b64encode(openssl("cms", "-encrypt", "-binary", "-outform", "DER", "-aes256",
                                        recipient or self.crt, data=json.dumps(settings).encode())).decode()

    def certificates_data(self, transport_cert_b64):
        """The `Data` of the Certificates document: the PFX, CMS-encrypted to the agent's transport certificate."""
        pem = "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n".format(
            "\n".join(transport_cert_b64[i:i + 64] for i in range(0, len(transport_cert_b64), 64)))
        with tempfile.NamedTemporaryFile("w", dir=self.directory, suffix=".pem", delete=False) as f:
            f.write(pem)
        try:
            der = openssl("cms", "-encrypt", "-binary", "-outform", "DER", "-des3", f.name, data=self.pfx)
        finally:
            os.unlink(f.name)
        return base64.encodebytes(der).decode()  # MIME base64 (wrapped lines), as openssl's S/MIME reader wants


class WireServer:
    """State and HTTP servers (wire server on port 80, HostGAPlugin on 32526) bound to one loopback address."""

    def __init__(self, address, packages, certificate):
        self.address = address
        self.packages = packages  # version -> zip bytes
        self.certificate = certificate
        self.lock = threading.Lock()
        self.incarnation = 1
        self.plugin_version = None  # None: no extension in the goal state
        self.plugin_state = "enabled"
        self.sequence = 0
        self.handler_settings = {}
        self.uploads = []  # the agent's status documents, in order
        self.blobs = {}
        self.snapshot_calls = []
        self.servers = []

    # Goal state -----------------------------------------------------------------------------------------------
    def set_goal_state(self, version, sequence, handler_settings, state="enabled"):
        with self.lock:
            self.plugin_version, self.sequence, self.handler_settings = version, sequence, handler_settings
            self.plugin_state = state
            self.incarnation += 1

    def bump(self):
        with self.lock:
            self.incarnation += 1

    def base(self):
        return "http://{}".format(self.address)

    def goal_state_xml(self):
        b = self.base()
        return """<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/windowsazure">
  <Version>2012-11-30</Version>
  <Incarnation>{inc}</Incarnation>
  <Machine><ExpectedState>Started</ExpectedState><StopRolesDeadlineHint>300000</StopRolesDeadlineHint></Machine>
  <Container>
    <ContainerId>c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        <InstanceId>b61f93d0-e1ed-40b2-b067-22c243233448.snaporch-vm</InstanceId>
        <State>Started</State>
        <Configuration>
          <HostingEnvironmentConfig>{b}/hostingenv?incarnation={inc}</HostingEnvironmentConfig>
          <SharedConfig>{b}/sharedconfig?incarnation={inc}</SharedConfig>
          <ExtensionsConfig>{b}/extensionsconfig?incarnation={inc}</ExtensionsConfig>
          <FullConfig>{b}/fullconfig?incarnation={inc}</FullConfig>
          <Certificates>{b}/certificates?incarnation={inc}</Certificates>
          <ConfigName>b61f93d0-e1ed-40b2-b067-22c243233448.1.b61f93d0-e1ed-40b2-b067-22c243233448.2.snaporch-vm.1.xml</ConfigName>
        </Configuration>
      </RoleInstance>
    </RoleInstanceList>
  </Container>
</GoalState>""".format(inc=self.incarnation, b=b)

    def extensions_config_xml(self):
        b = self.base()
        plugins, settings = "", ""
        if self.plugin_version:
            plugins = ('<Plugin name="{n}" version="{v}" location="{b}/manifest.xml" state="{s}" autoUpgrade="false" '
                       'failoverlocation="{b}/manifest.xml" runAsStartupTask="false" isJson="true" useExactVersion="true" />'
                       ).format(n=HANDLER, v=self.plugin_version, b=b, s=self.plugin_state)
            runtime = json.dumps({"runtimeSettings": [{"handlerSettings": self.handler_settings}]})
            settings = '<Plugin name="{n}" version="{v}"><RuntimeSettings seqNo="{q}">{r}</RuntimeSettings></Plugin>'.format(
                n=HANDLER, v=self.plugin_version, q=self.sequence, r=escape(runtime))
        return """<?xml version="1.0" encoding="utf-8"?>
<Extensions version="1.0.0.0" goalStateIncarnation="{inc}">
  <GuestAgentExtension xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
    <GAFamilies><GAFamily><Name>Prod</Name><Uris><Uri>{b}/ga-manifest.xml</Uri></Uris></GAFamily></GAFamilies>
  </GuestAgentExtension>
  <Plugins>{plugins}</Plugins>
  <PluginSettings>{settings}</PluginSettings>
  <StatusUploadBlob statusBlobType="BlockBlob">{b}/vmstatus?sv=2018-03-28&amp;sr=b&amp;sp=rw&amp;sig=agentstatus</StatusUploadBlob>
  <InVMGoalStateMetaData inSvdSeqNo="{inc}" createdOnTicks="637726699999999999" activityId="c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2" correlationId="{inc:08d}-0000-0000-0000-000000000000" />
</Extensions>""".format(inc=self.incarnation, b=b, plugins=plugins, settings=settings)

    def manifest_xml(self):
        b = self.base()
        items = "".join("<Plugin><Version>{v}</Version><Uris><Uri>{b}/packages/{v}.zip</Uri></Uris></Plugin>".format(v=v, b=b)
                        for v in sorted(self.packages))
        return '<?xml version="1.0" encoding="utf-8"?><PluginVersionManifest><Plugins>{}</Plugins><InternalPlugins/></PluginVersionManifest>'.format(items)

    # What the agent uploaded ----------------------------------------------------------------------------------
    def last_status(self):
        with self.lock:
            return json.loads(self.uploads[-1]) if self.uploads else None

    def store_status(self, text):
        with self.lock:
            self.uploads.append(text)

    # Serving --------------------------------------------------------------------------------------------------
    def start(self):
        for port in (80, HOST_PLUGIN_PORT):
            server = ThreadingHTTPServer((self.address, port), _handler_class(self, port))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _handler_class(wire, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", content_type="application/xml", headers=None):
            body = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def body(self):
            return self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            path = self.path.split("?")[0]
            if port == HOST_PLUGIN_PORT:
                if path == "/versions":
                    return self.reply(200, '["2015-09-01"]', "application/json")
                if path == "/health":
                    return self.reply(200)
                return self.reply(404)
            with wire.lock:
                if self.path == "/?comp=versions":
                    return self.reply(200, '<?xml version="1.0" encoding="utf-8"?><Versions><Preferred><Version>2012-11-30'
                                           '</Version></Preferred><Supported><Version>2012-11-30</Version></Supported></Versions>')
                if path == "/machine/" and "comp=goalstate" in self.path:
                    return self.reply(200, wire.goal_state_xml())
                if path == "/hostingenv":
                    return self.reply(200, '<?xml version="1.0"?><HostingEnvironmentConfig version="1.0.0.0">'
                                           '<Deployment name="snaporch-deployment" incarnation="0" guid="{e2d1d3a4-0000-4000-8000-000000000001}"/>'
                                           '<Incarnation number="1" instance="snaporch-vm" guid="{b61f93d0-e1ed-40b2-b067-22c243233448}"/>'
                                           '<Role guid="{b61f93d0-e1ed-40b2-b067-22c243233448}" name="snaporch-vm" hostingEnvironmentVersion="1"/>'
                                           '</HostingEnvironmentConfig>')
                if path in ("/sharedconfig", "/fullconfig"):
                    return self.reply(200, '<?xml version="1.0"?><SharedConfig version="1.0.0.0"/>')
                if path == "/certificates":
                    transport = self.headers.get("x-ms-guest-agent-public-x509-cert", "")
                    data = wire.certificate.certificates_data(transport)
                    return self.reply(200, '<?xml version="1.0" encoding="utf-8"?><CertificateFile><Version>2012-11-30</Version>'
                                           '<Incarnation>{}</Incarnation><Format>Pkcs7BlobWithPfxContents</Format>'
                                           '<Data>{}</Data></CertificateFile>'.format(wire.incarnation, data))
                if path == "/extensionsconfig":
                    return self.reply(200, wire.extensions_config_xml())
                if path == "/manifest.xml":
                    return self.reply(200, wire.manifest_xml())
                if path.startswith("/packages/"):
                    version = path[len("/packages/"):-len(".zip")]
                    if version in wire.packages:
                        return self.reply(200, wire.packages[version], "application/zip")
                if path.startswith("/blobs/") and path in wire.blobs:
                    return self.reply(200, wire.blobs[path], "application/octet-stream",
                                      {"x-ms-blob-type": "BlockBlob"})
            return self.reply(404)

        def do_PUT(self):
            data = self.body()
            path = self.path.split("?")[0]
            if port == HOST_PLUGIN_PORT and path == "/status":
                request = json.loads(data)
                wire.store_status(base64.b64decode(request["content"]).decode("utf-8"))
                return self.reply(201)
            if path == "/vmstatus":
                wire.store_status(data.decode("utf-8"))
                return self.reply(201)
            if path.startswith("/blobs/"):
                with wire.lock:
                    wire.blobs[path] = data
                return self.reply(201)
            return self.reply(404)

        def do_POST(self):
            data = self.body()
            path = self.path.split("?")[0]
            if path.startswith("/metadata/recsvc/snapshot/"):
                request = json.loads(data or b"{}")
                with wire.lock:
                    wire.snapshot_calls.append((path.rsplit("/", 1)[1], request))
                if path.endswith("/presnapshot"):
                    return self.reply(200, json.dumps({"result": "ok"}), "application/json")
                infos = [{"isSuccessful": "true", "errorMessage": "", "statusCode": 200,
                          "snapshotUri": "https://acct.blob.core.windows.net/vhds/lun{}.vhd?snapshot=2026-12-07T00:00:00.0000000Z".format(lun)}
                         for lun in request.get("diskIds", [])]
                return self.reply(200, json.dumps({"snapshotInfo": infos}), "application/json")
            # Health reports, role properties, telemetry: accepted.
            return self.reply(200)

    return Handler
