"""The handler package driven by the real Linux guest agent's code (Debian's `waagent`, WALinuxAgent).

The agent's own modules — `azurelinuxagent.common.protocol.wire.WireProtocol` and
`azurelinuxagent.ga.exthandlers.ExtHandlersHandler` — talk to our fake wire server (wireserver.py) on a
loopback address: they fetch the goal state, decrypt the certificates, download the handler zip built by
`make package` through a manifest offering two versions, write HandlerEnvironment and the settings (protected
settings encrypted to the tenant certificate), run install/enable/disable/update/uninstall, collect the status
files and upload the aggregated VM status — which is what the assertions read.

Root only (it freezes a loop mount it creates, under /tmp/snaporch-frz-*). Run with Debian's interpreter:
    /usr/bin/python3 -m unittest -v Tests/Agent/test_waagent.py
The zip: $SNAPORCH_HANDLER_ZIP, else .build/package/snaporch-handler-*.zip (built by `make package`).
Outside CI (CI unset) it skips when not root or when waagent or the zip is missing; with CI=true it fails.
"""
import base64
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append("/usr/lib/python3/dist-packages")  # Debian's waagent, when run by another python3

import wireserver  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CI = os.environ.get("CI") == "true"
HANDLER = wireserver.HANDLER
RESULTS = []  # (scenario, what the agent reported)


def find_zip():
    explicit = os.environ.get("SNAPORCH_HANDLER_ZIP")
    if explicit:
        return explicit
    found = sorted(glob.glob(os.path.join(REPO, ".build", "package", "snaporch-handler-*.zip")))
    return found[-1] if found else None


def missing_prerequisite():
    if os.geteuid() != 0:
        return "needs root (loop mount, freeze, /tmp/snaporch-frz-*)"
    try:
        import azurelinuxagent.ga.exthandlers  # noqa: F401
    except ImportError:
        return "needs Debian's waagent package (apt-get install waagent; scripts/setup does it)"
    if not find_zip():
        return "needs the handler zip (make package)"
    return None


def ticks(minutes_ago=1.0):
    return str(int((time.time() - minutes_ago * 60) * 10_000_000) + 621_355_968_000_000_000)


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


class LoopMount:
    """An ext4 image mounted on /tmp/snaporch-frz-agent-*: the only thing the backups freeze."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="snaporch-frz-agent-", dir="/tmp")
        self.image = self.dir + ".img"
        sh("truncate", "-s", "32M", self.image)
        sh("mkfs.ext4", "-q", "-F", self.image)
        sh("mount", "-o", "loop", self.image, self.dir)

    def remove(self):
        subprocess.run(["fsfreeze", "-u", self.dir], capture_output=True)
        subprocess.run(["umount", self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        if os.path.exists(self.image):
            os.unlink(self.image)


@unittest.skipIf(not CI and missing_prerequisite() is not None, missing_prerequisite() or "")
class GuestAgentDrivesTheHandler(unittest.TestCase):
    """Scenarios in order, on one VM whose guest agent is the real agent's code."""

    @classmethod
    def setUpClass(cls):
        problem = missing_prerequisite()
        if problem:
            raise AssertionError("CI=true: " + problem)
        cls.root = tempfile.mkdtemp(prefix="snaporch-agent-", dir="/tmp")
        os.chmod(cls.root, 0o755)
        cls.mount = LoopMount()
        cls.lib = os.path.join(cls.root, "var/lib/waagent")
        cls.logs = os.path.join(cls.root, "var/log/azure")
        os.makedirs(cls.lib, mode=0o700)
        os.makedirs(cls.logs)
        cls.write_config()
        with open(find_zip(), "rb") as f:
            zip_bytes = f.read()
        base = os.path.basename(find_zip())[len("snaporch-handler-"):-len(".zip")]
        major, minor = base.split(".")[:2]
        cls.v1, cls.v2 = base, "{}.{}.0".format(major, int(minor) + 1)
        cls.certificate = wireserver.TenantCertificate(cls.root)
        cls.other = wireserver.TenantCertificate(tempfile.mkdtemp(dir=cls.root))
        cls.wire = None
        for _ in range(20):  # a free loopback address for ports 80 and 32526
            address = "127.0.{}.{}".format(random.randint(1, 254), random.randint(2, 254))
            try:
                cls.wire = wireserver.WireServer(address, {cls.v1: zip_bytes, cls.v2: zip_bytes}, cls.certificate)
                cls.wire.start()
                break
            except OSError:
                cls.wire.stop()
                cls.wire = None
        assert cls.wire is not None, "no free loopback address"
        for key in [k for k in os.environ if k.lower().endswith("_proxy")]:
            del os.environ[key]
        os.environ["SNAPORCH_ROOT"] = cls.root
        os.environ["SNAPORCH_FREEZE_ALLOW"] = cls.mount.dir
        os.environ.pop("AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS", None)

        from azurelinuxagent.common import conf, logger
        conf_file = os.path.join(cls.root, "waagent.conf")
        with open(conf_file, "w") as f:
            f.write("Lib.Dir={}\nExtension.LogDir={}\nDebug.EnableFastTrack=n\nLogs.Verbose=n\nOS.EnableFirewall=n\n"
                    .format(cls.lib, cls.logs))
        conf.load_conf_from_file(conf_file)
        logger.reset_periodic()
        logger.add_logger_appender(logger.AppenderType.FILE, logger.LogLevel.INFO,
                                   path=os.path.join(cls.root, "waagent.log"))
        from azurelinuxagent.common.protocol.wire import WireProtocol
        from azurelinuxagent.ga.exthandlers import ExtHandlersHandler
        cls.protocol = WireProtocol(cls.wire.address)
        cls.protocol.detect()
        cls.agent = ExtHandlersHandler(cls.protocol)

    @classmethod
    def tearDownClass(cls):
        release = os.path.join(getattr(cls, "root", "/nonexistent"), "release")
        if hasattr(cls, "root"):
            open(release, "w").close()
            deadline = time.time() + 30
            while time.time() < deadline and cls.daemons():
                time.sleep(0.2)
        if getattr(cls, "wire", None):
            cls.wire.stop()
        if hasattr(cls, "mount"):
            cls.mount.remove()
        if hasattr(cls, "root"):
            shutil.rmtree(cls.root, ignore_errors=True)
        print("\nWhat the guest agent reported, per scenario:")
        for scenario, reported in RESULTS:
            print("  {:<44} {}".format(scenario, reported))

    # The VM's configuration ----------------------------------------------------------------------------------
    @classmethod
    def write_config(cls):
        prepost = os.path.join(cls.root, "etc/azure/prepost")
        os.makedirs(prepost)
        for d in ("etc", "etc/azure", "etc/azure/prepost"):
            os.chmod(os.path.join(cls.root, d), 0o755)
        r = cls.root
        gate = ('if [ -e {r}/gate ]; then i=0; while [ ! -e {r}/release ] && [ $i -lt 1200 ]; do sleep 0.05; '
                'i=$((i+1)); done; fi\n').format(r=r)
        noise = "if [ -e {r}/noise ]; then yes o | head -c 61440; yes e | head -c 61440 >&2; fi\n".format(r=r)
        scripts = {"pre.sh": "echo pre >> {r}/order.log\n".format(r=r) + gate + noise,
                   "pre2.sh": noise,
                   "post.sh": "echo post >> {r}/order.log\n".format(r=r) + noise}
        for name, body in scripts.items():
            path = os.path.join(prepost, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n" + body)
            os.chmod(path, 0o755)
        with open(os.path.join(prepost, "prepost.yaml"), "w") as f:
            f.write("""version: 1
freeze:
  timeout: 10s
  mounts: [{m}]
snapshot:
  provider: host
  timeout: 5s
plugins:
  - name: app
    pre: {p}/pre.sh
    post: {p}/post.sh
    timeout: 90s
  - name: app2
    pre: {p}/pre2.sh
    post: {p}/post.sh
""".format(m=cls.mount.dir, p="/etc/azure/prepost"))

    @classmethod
    def daemons(cls):
        """Pids of `snaporch handler daemon` processes of this test's VM."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/{}/cmdline".format(pid), "rb") as f:
                    cmdline = f.read()
                with open("/proc/{}/environ".format(pid), "rb") as f:
                    environ = f.read()
            except OSError:
                continue
            if b"handler\0daemon" in cmdline and ("SNAPORCH_ROOT=" + cls.root).encode() + b"\0" in environ:
                found.append(int(pid))
        return found

    def settings(self, task, minutes_ago=1.0, command="snapshot", recipient=None, seq_tag=""):
        objects = {"backupMetadata": [{"Key": "TaskId", "Value": task}],
                   "includedDisks": {"dataDiskLunList": [0], "isOSDiskIncluded": True}}
        public = {"taskId": task, "commandStartTimeUTCTicks": ticks(minutes_ago), "locale": "en-us",
                  "vmType": "microsoft.compute/virtualmachines",
                  "objectStr": base64.b64encode(json.dumps(objects).encode()).decode(),
                  "customSettings": json.dumps({"takeSnapshotFrom": "onlyHost"}),
                  "statusBlobUri": "{}/blobs/status-{}{}?sv=2018-03-28&sr=b&sp=rw&sig=statussig".format(
                      self.wire.base(), task, seq_tag),
                  "logsBlobUri": "{}/blobs/log-{}?sv=2018-03-28&sr=b&sp=rw&sig=logsig".format(self.wire.base(), task)}
        if command is not None:
            public["commandToExecute"] = command
        protected = {"objectStr": base64.b64encode(json.dumps({"blobSASUri": []}).encode()).decode()}
        return {"publicSettings": public, "protectedSettingsCertThumbprint": self.certificate.thumbprint,
                "protectedSettings": self.certificate.encrypt(protected, recipient)}

    # Driving the agent -----------------------------------------------------------------------------------------
    def process(self):
        """One pass of the agent's loop on a new goal state: fetch it, handle extensions, report status."""
        self.protocol.client.update_goal_state()
        self.agent.run()
        return self.report()

    def report(self):
        self.agent.report_ext_handlers_status()
        return self.wire.last_status()

    @staticmethod
    def handler_status(document):
        for handler in document["aggregateStatus"].get("handlerAggregateStatus", []):
            if handler["handlerName"] == HANDLER:
                return handler
        return None

    @classmethod
    def extension_status(cls, document):
        handler = cls.handler_status(document)
        if handler is None or "runtimeSettingsStatus" not in handler:
            return None, None
        settings = handler["runtimeSettingsStatus"]
        return settings.get("sequenceNumber"), settings["settingsStatus"]["status"]

    def wait_terminal(self, sequence, timeout=90):
        """Reports until the agent uploads a final (code != 4) status of `sequence`; returns (handler, status)."""
        deadline = time.time() + timeout
        document = None
        while time.time() < deadline:
            document = self.report()
            seq, status = self.extension_status(document)
            if seq == sequence and status and status.get("code") not in (4, "4"):
                if "transitioning" not in status["formattedMessage"]["message"] or status["status"] == "error":
                    return self.handler_status(document), status
            time.sleep(0.5)
        self.fail("no final status of seq {} from the agent: {}".format(sequence, json.dumps(document)[:3000]))

    @staticmethod
    def message(status):
        return json.loads(status["formattedMessage"]["message"])

    def pre_count(self):
        try:
            with open(os.path.join(self.root, "order.log")) as f:
                return f.read().count("pre\n")
        except FileNotFoundError:
            return 0

    def wait_for(self, what, condition, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def record(self, scenario, handler, status):
        message = self.message(status) if status else {}
        RESULTS.append((scenario, "handler {} {} | ext {} code {} | {} | consistency {}".format(
            handler.get("handlerVersion") if handler else "-", handler.get("status") if handler else "-",
            status.get("status") if status else "-", status.get("code") if status else "-",
            str(message.get("messageStr", ""))[:70], message.get("snapshotConsistency"))))

    def base_dir(self, version):
        return os.path.join(self.lib, "{}-{}".format(HANDLER, version))

    def gate(self, on):
        for name in ("gate", "release"):
            path = os.path.join(self.root, name)
            if os.path.exists(path):
                os.unlink(path)
        if on:
            open(os.path.join(self.root, "gate"), "w").close()

    def release(self):
        open(os.path.join(self.root, "release"), "w").close()

    # Scenarios ---------------------------------------------------------------------------------------------------
    def test_01_first_backup(self):
        self.wire.set_goal_state(self.v1, 0, self.settings("task-a"))
        self.process()
        handler, status = self.wait_terminal(0)
        self.record("first backup (install + enable, seq 0)", handler, status)
        self.assertEqual(handler["status"], "Ready")
        self.assertEqual(handler["handlerVersion"], self.v1)
        self.assertEqual((status["status"], str(status["code"])), ("success", "0"), self.message(status)["messageStr"])
        self.assertEqual(self.message(status)["snapshotConsistency"], 2)
        substatus = status["substatus"][0]
        self.assertEqual((substatus["status"], str(substatus["code"])), ("success", "0"))
        self.assertIn('"taskId": "task-a"', substatus["name"])
        self.assertEqual(self.pre_count(), 1)
        # The host snapshot went to the wire server address the agent gave the extension
        # (AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS), with the task's id.
        calls = [(name, body.get("taskId")) for name, body in self.wire.snapshot_calls]
        self.assertEqual(calls, [("presnapshot", "task-a"), ("dosnapshot", "task-a")])
        self.assertIn('"snapshotInfo": [{"isSuccessful": "true"', substatus["name"])
        # The protected settings were decrypted with the certificate the agent extracted, then removed.
        self.assertNoProtectedSettings(self.v1, 0)

    def assertNoProtectedSettings(self, version, sequence):
        with open(os.path.join(self.base_dir(version), "config", "%d.settings" % sequence)) as f:
            self.assertNotIn('"protectedSettings":', f.read())

    def test_02_same_sequence_reenabled_idle(self):
        before = self.extension_status(self.report())[1]
        self.wire.bump()
        self.process()
        handler, status = self.wait_terminal(0)
        self.record("same sequence re-enabled (idle)", handler, status)
        self.assertEqual(str(status["code"]), str(before["code"]))
        self.assertEqual(self.message(status)["messageStr"], self.message(before)["messageStr"])
        self.assertEqual(self.pre_count(), 1, "a re-run of enable took a second backup")
        # The agent wrote the settings again, protected settings included; enable removed them.
        self.assertNoProtectedSettings(self.v1, 0)

    def test_03_same_sequence_reenabled_while_running(self):
        self.gate(True)
        self.wire.set_goal_state(self.v1, 1, self.settings("task-b"))
        self.process()
        self.wait_for("the backup's pre step", lambda: self.pre_count() == 2)
        self.wire.bump()
        document = self.process()
        _, running = self.extension_status(document)
        self.assertEqual((running["status"], str(running["code"])), ("success", "4"))
        self.release()
        handler, status = self.wait_terminal(1)
        final = self.message(status)
        time.sleep(3)  # a second daemon (the bug) would now overwrite the result
        self.wire.bump()
        self.process()
        handler, status = self.wait_terminal(1)
        self.record("same sequence re-enabled while running", handler, status)
        self.assertEqual(self.message(status)["messageStr"], final["messageStr"])
        self.assertNotIn("AlreadyProcessed", final["messageStr"])
        self.assertEqual(self.message(status)["snapshotConsistency"], 2)
        self.assertEqual(self.pre_count(), 2)
        self.assertNoProtectedSettings(self.v1, 1)
        self.gate(False)

    def test_04_new_sequence(self):
        self.wire.set_goal_state(self.v1, 2, self.settings("task-c"))
        self.process()
        handler, status = self.wait_terminal(2)
        self.record("new sequence", handler, status)
        self.assertEqual(str(status["code"]), "0")
        self.assertEqual(self.pre_count(), 3)

    def test_05_duplicate_task(self):
        original = self.message(self.extension_status(self.report())[1])
        self.wire.set_goal_state(self.v1, 3, self.settings("task-c", seq_tag="-dup"))
        self.process()
        handler, status = self.wait_terminal(3)
        self.record("duplicate task (new sequence, same taskId)", handler, status)
        message = self.message(status)
        self.assertEqual(str(status["code"]), "0")
        self.assertIn("AlreadyProcessed", message["messageStr"])
        self.assertIn(original["messageStr"], message["messageStr"])
        self.assertEqual(message["snapshotConsistency"], original["snapshotConsistency"])
        self.assertEqual(self.pre_count(), 3, "a duplicate task took a second backup")

    def test_06_stale_command(self):
        self.wire.set_goal_state(self.v1, 4, self.settings("task-stale", minutes_ago=150))
        self.process()
        handler, status = self.wait_terminal(4)
        self.record("stale command (150 min old)", handler, status)
        self.assertEqual(str(status["code"]), "402")
        self.assertEqual(status["status"], "success")  # the original's semantics: the code carries the error
        self.assertIn("CRP timeout limit", self.message(status)["messageStr"])

    def test_07_undecryptable_settings(self):
        self.wire.set_goal_state(self.v1, 5, self.settings("task-undecryptable", recipient=self.other.crt))
        self.process()
        handler, status = self.wait_terminal(5)
        self.record("undecryptable protected settings", handler, status)
        self.assertNotEqual(str(status["code"]), "0")
        self.assertIn("protected settings unreadable", self.message(status)["messageStr"])

    def test_08_missing_command(self):
        self.wire.set_goal_state(self.v1, 6, self.settings("task-nocommand", command=None))
        self.process()
        handler, status = self.wait_terminal(6)
        self.record("missing commandToExecute", handler, status)
        self.assertEqual(str(status["code"]), "11")

    def test_09_plugins_printing_2x60KiB(self):
        open(os.path.join(self.root, "noise"), "w").close()
        try:
            self.wire.set_goal_state(self.v1, 7, self.settings("task-noise"))
            self.process()
            handler, status = self.wait_terminal(7)
        finally:
            os.unlink(os.path.join(self.root, "noise"))
        status_file = os.path.join(self.base_dir(self.v1), "status", "7.status")
        size = os.path.getsize(status_file)
        self.record("plugins printing 2 x 60 KiB ({} B status file)".format(size), handler, status)
        self.assertEqual(str(status["code"]), "0")
        self.assertLessEqual(size, 128 * 1024)
        # The agent uploaded the whole status, untruncated, substatus included.
        self.assertTrue(status["substatus"], "the agent dropped the substatus")
        self.assertNotIn("[TRUNCATED]", json.dumps(status))
        self.assertIn("statusTrimmed", status["substatus"][0]["name"])

    def test_10_upgrade_idle(self):
        before = self.extension_status(self.report())[1]
        backups = self.pre_count()
        self.wire.set_goal_state(self.v2, 7, self.wire.handler_settings)
        self.process()
        handler, status = self.wait_terminal(7)
        self.record("upgrade {} -> {} (idle)".format(self.v1, self.v2), handler, status)
        self.assertEqual(handler["handlerVersion"], self.v2)
        self.assertEqual(handler["status"], "Ready")
        self.assertFalse(os.path.exists(self.base_dir(self.v1)))
        self.assertEqual(str(status["code"]), str(before["code"]))
        self.assertEqual(self.pre_count(), backups, "the upgrade took another backup")

    def test_11_uninstall_during_a_backup(self):
        self.gate(True)
        backups = self.pre_count()
        self.wire.set_goal_state(self.v2, 8, self.settings("task-uninstall"))
        self.process()
        self.wait_for("the backup's pre step", lambda: self.pre_count() == backups + 1)
        self.wire.set_goal_state(self.v2, 8, self.wire.handler_settings, state="uninstall")
        document = self.process()
        self.assertFalse(os.path.exists(self.base_dir(self.v2)), "the agent did not remove the extension")
        self.release()
        blob = "/blobs/status-task-uninstall"

        def final_blob():
            text = self.wire.blobs.get(blob, b"").decode()
            return text and '"code": "4"' not in text

        self.wait_for("the final status blob", final_blob)
        body = json.loads(self.wire.blobs[blob].decode())[0]["status"]
        time.sleep(1)
        self.assertFalse(os.path.exists(self.base_dir(self.v2)), "the removed extension directory came back")
        # The binary was deleted under the running backup; the guard runs from /proc/self/exe.
        self.assertEqual(str(body["code"]), "0")
        self.assertEqual(json.loads(body["formattedMessage"]["message"])["snapshotConsistency"], 2)
        RESULTS.append(("uninstall during a backup",
                        "handler listed: {} | status blob code {} consistency {}".format(
                            self.handler_status(document) is not None, body["code"],
                            json.loads(body["formattedMessage"]["message"])["snapshotConsistency"])))
        self.gate(False)

    def test_12_reinstall_twice_with_sequence_0(self):
        backups = self.pre_count()
        for round_ in (1, 2):
            self.wire.set_goal_state(self.v1, 0, self.settings("task-reinstall-{}".format(round_)))
            self.process()
            handler, status = self.wait_terminal(0)
            self.record("re-install #{} with seq 0".format(round_), handler, status)
            self.assertEqual((status["status"], str(status["code"])), ("success", "0"))
            self.assertIn("task-reinstall-{}".format(round_), status["substatus"][0]["name"])
            self.wire.set_goal_state(self.v1, 0, self.wire.handler_settings, state="uninstall")
            self.process()
            self.assertFalse(os.path.exists(self.base_dir(self.v1)))
        self.assertEqual(self.pre_count(), backups + 2)

    def test_13_upgrade_during_a_backup(self):
        self.wire.set_goal_state(self.v1, 0, self.settings("task-before-upgrade"))
        self.process()
        self.wait_terminal(0)
        self.gate(True)
        backups = self.pre_count()
        self.wire.set_goal_state(self.v1, 1, self.settings("task-upgrade"))
        self.process()
        self.wait_for("the backup's pre step", lambda: self.pre_count() == backups + 1)
        self.wire.set_goal_state(self.v2, 1, self.wire.handler_settings)
        self.process()
        self.assertFalse(os.path.exists(self.base_dir(self.v1)))
        self.release()
        handler, status = self.wait_terminal(1)
        self.record("upgrade {} -> {} during a backup".format(self.v1, self.v2), handler, status)
        self.assertEqual(handler["handlerVersion"], self.v2)
        # The guard runs from /proc/self/exe: deleting the old version's binary does not degrade the run.
        self.assertEqual(str(status["code"]), "0")
        self.assertEqual(json.loads(status["formattedMessage"]["message"])["snapshotConsistency"], 2)
        self.assertIn("task-upgrade", status["substatus"][0]["name"])
        self.assertEqual(self.pre_count(), backups + 1, "the upgrade started a second backup")

    def test_14_extension_events_collected_by_the_agent(self):
        # The agent's own collector reads our events folder: Warning+ events, none dropped.
        from azurelinuxagent.ga.collect_telemetry_events import _ProcessExtensionEvents

        class Sink:
            events = []

            def stopped(self):
                return False

            def get_thread_name(self):
                return "test-sink"

            def enqueue_event(self, event):
                self.events.append({p.name: p.value for p in event.parameters})

        folder = os.path.join(self.logs, HANDLER, "events")
        files = [f for f in os.listdir(folder) if f.endswith(".json")]
        self.assertTrue(files, "no extension event was written to " + folder)
        sink = Sink()
        _ProcessExtensionEvents(sink)._operation()
        messages = [e.get("Context1", "") for e in sink.events]
        RESULTS.append(("extension events (agent's collector)", "{} files -> {} events: {}".format(
            len(files), len(sink.events), sorted({e.get("CapabilityUsed") for e in sink.events}))))
        self.assertGreaterEqual(len(sink.events), len(files), "the agent dropped events")
        self.assertTrue(any("CRP timeout limit" in m for m in messages), messages)
        self.assertTrue(any("protected settings unreadable" in m for m in messages), messages)
        self.assertTrue(all(e.get("EventName", "").startswith(HANDLER + "-") for e in sink.events))
        self.assertTrue(all(e.get("CapabilityUsed") in ("Warning", "Error") for e in sink.events))


if __name__ == "__main__":
    unittest.main(verbosity=2)
