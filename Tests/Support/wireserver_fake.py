#!/usr/bin/env python3
"""A fake wire server speaking the host snapshot calls of the VMSnapshot extension (stdlib only).

  POST /metadata/recsvc/snapshot/presnapshot?api-version=2017-12-01  -> 200 {"result": ..., "bhsVersion": ...}
  POST /metadata/recsvc/snapshot/dosnapshot?api-version=2017-12-01   -> 200 {"snapshotInfo": [...]} one per diskId

Control (JSON):
  POST /__control/config  {"presnapshot_status": 200, "dosnapshot_status": 200, "latency_ms": 0,
                           "bool_success": false (send isSuccessful as a JSON bool instead of the string),
                           "fail_disks": [LUN...], "hang": false, "empty_body": false}
  GET  /__control/requests  -> [{"path", "headers", "body"}]
Prints `LISTENING <port>` once listening on 127.0.0.1.
"""
import argparse, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"config": {"presnapshot_status": 200, "dosnapshot_status": 200, "latency_ms": 0, "bool_success": False,
                    "fail_disks": [], "hang": False, "empty_body": False}, "requests": []}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__control/requests":
            with LOCK:
                return self.reply(200, STATE["requests"])
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        path = self.path.split("?")[0]
        if path == "/__control/config":
            with LOCK:
                STATE["config"].update(json.loads(body or b"{}"))
                STATE["requests"].clear()
            return self.reply(200, STATE["config"])
        with LOCK:
            config = dict(STATE["config"])
            STATE["requests"].append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": json.loads(body or b"{}")})
        if config["latency_ms"]:
            time.sleep(config["latency_ms"] / 1000)
        if path.endswith("/presnapshot"):
            return self.reply(config["presnapshot_status"], {"result": "ok", "bhsVersion": "fake-1", "nodeId": "n1"})
        if path.endswith("/dosnapshot"):
            if config["hang"]:
                time.sleep(3600)
            if config["empty_body"]:
                return self.reply(config["dosnapshot_status"], b"")
            request = json.loads(body or b"{}")
            infos = []
            for lun in request.get("diskIds", []):
                ok = lun not in config["fail_disks"]
                success = ok if config["bool_success"] else ("true" if ok else "false")
                infos.append({"isSuccessful": success,
                              "snapshotUri": f"https://acct.blob.core.windows.net/vhds/lun{lun}.vhd?snapshot=2026-11-26T00:00:00.0000000Z" if ok else None,
                              "errorMessage": "" if ok else "disk busy", "statusCode": 200 if ok else 409})
            return self.reply(config["dosnapshot_status"], {"snapshotInfo": infos})
        self.reply(404, {"error": "not found"})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    server = ThreadingHTTPServer(("127.0.0.1", p.parse_args().port), Handler)
    server.daemon_threads = True
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
