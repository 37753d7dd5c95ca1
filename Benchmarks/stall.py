#!/usr/bin/env python3
"""Stall benchmark: how long an application's writes are blocked by a run, against the freeze window.

A private MariaDB and a private PostgreSQL server (Tests/Support/db/*-start.sh), each on its own
loop-mounted ext4 filesystem, each with a writer (Tests/Support/db/writer.py) inserting one row at a
time through its own live client session, timestamping the start and end of every insert on
CLOCK_MONOTONIC. Real runs (`snaporch run --json`) freeze both filesystems; the snapshot is a
`command` provider sleeping 50 ms inside the window. Per run:

  blocked = the longest insert that overlapped the run (its end - its start)
  window  = freeze.windowUs of the run's report
  ratio   = blocked / window          target <= 1.2 (plus the lock's own acquisition)

Scenarios: both plugin orders, and each with a slow script (pre and post `sleep 0.5`) between the
two databases. Medians over STALL_RUNS runs (default: BENCH_RUNS, else 3), each started cold.

The MariaDB lock is taken in the plugin's hold step right before the first FIFREEZE and released
right after the thaw (the hold stage, issue #16 item 1), so no other plugin's pre or post is inside
it. A miss fails `make bench` like any other target. Root only; touches only the loop images it
creates; always thaws, stops the servers and unmounts.

Standalone: python3 Benchmarks/stall.py [--bin PATH]   (bench.py imports bench_stall and rows)
"""
import json, os, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = os.path.join(ROOT, "Tests", "Support", "db")
TARGET = 1.2
SLOW = 0.5


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, capture_output=True, text=True, **kw)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_db(kind, directory):
    out = sh([os.path.join(DB, f"{kind}-start.sh"), directory, str(free_port())], timeout=300).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class Writer:
    """writer.py in the background; `inserts()` reads what it completed so far."""

    def __init__(self, kind, server, log):
        self.log = log
        if kind == "mariadb":
            client = ["mariadb", f"--defaults-extra-file={server['APP_DEFAULTS_FILE']}", "--batch", "--unbuffered",
                      "--skip-column-names"]
            env = dict(os.environ)
        else:
            client = ["psql", "-X", "-q", "-A", "-t", "-w", "-h", server["SOCKET_DIR"], "-p", server["PORT"], "-U",
                      "snaporch_app", "-d", "snaporch_test"]
            env = dict(os.environ, PGPASSFILE=server["PGPASSFILE"])
        self.proc = subprocess.Popen([sys.executable, os.path.join(DB, "writer.py"), kind, log, "--"] + client,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "READY":
            self.stop()
            raise RuntimeError(f"the {kind} writer did not start")

    def inserts(self):
        with open(self.log) as f:
            return [tuple(map(float, line.split())) for line in f if len(line.split()) == 2]

    def blocked_during(self, start, end):
        """The longest insert that overlapped [start, end], in seconds."""
        return max((e - s for s, e in self.inserts() if s < end and e > start), default=0.0)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def plugin_yaml(name, server):
    if name == "mariadb":
        return f"  - name: mariadb\n    type: mysql\n    defaults_file: {server['DEFAULTS_FILE']}\n"
    if name == "postgres":
        return (f"  - name: postgres\n    type: postgres\n    host: {server['SOCKET_DIR']}\n"
                f"    port: {server['PORT']}\n    user: snaporch\n    password_file: {server['PGPASSFILE']}\n")
    return f"  - name: slow\n    pre: {server}\n    post: {server}\n    timeout: 10s\n"


def bench_stall(tmp, binary, runs=None):
    runs = runs or int(os.environ.get("STALL_RUNS", os.environ.get("BENCH_RUNS", "3")))
    tree = os.path.join(tmp, "stall")
    os.makedirs(tree, mode=0o755)
    mounts, images, servers, writers = [], [], {}, {}
    try:
        for kind in ("mariadb", "postgres"):
            img, mnt = os.path.join(tree, f"{kind}.img"), os.path.join(tree, kind)
            os.makedirs(mnt)
            sh(f"truncate -s 384M {img} && mkfs.ext4 -q -F {img} && mount -o loop {img} {mnt}")
            mounts.append(mnt)
            images.append(img)
            servers[kind] = start_db(kind, os.path.join(mnt, "db"))
        slow = os.path.join(tree, "slow.sh")
        with open(slow, "w") as f:
            f.write(f"#!/bin/sh\nsleep {SLOW}\n")
        os.chmod(slow, 0o755)
        for kind in servers:
            writers[kind] = Writer(kind, servers[kind], os.path.join(tree, f"{kind}.writes"))
        env = dict(os.environ, SNAPORCH_ROOT=tree, SNAPORCH_FREEZE_ALLOW=":".join(mounts))
        scenarios = {"mariadb, postgres": ["mariadb", "postgres"],
                     "postgres, mariadb": ["postgres", "mariadb"],
                     "mariadb, slow script, postgres": ["mariadb", "slow", "postgres"],
                     "postgres, slow script, mariadb": ["postgres", "slow", "mariadb"]}
        out = {}
        for label, order in scenarios.items():
            config = os.path.join(tree, "c.yaml")
            with open(config, "w") as f:
                f.write("version: 1\nfreeze:\n  timeout: 10s\n  mounts: [" + ", ".join(mounts) + "]\n"
                        "snapshot:\n  provider: command\n  command: [/bin/sleep, '0.05']\n  timeout: 5s\nplugins:\n"
                        + "".join(plugin_yaml(p, servers.get(p, slow)) for p in order))
            samples = {"mariadb": [], "postgres": [], "window": []}
            for _ in range(runs):
                time.sleep(1.5)  # cold, as in real life (see bench_window)
                start = time.monotonic()
                report = json.loads(subprocess.run([binary, "run", "--config", config, "--json"], env=env,
                                                   capture_output=True, text=True, timeout=120).stdout)
                end = time.monotonic()
                time.sleep(0.3)  # let the blocked inserts report their end
                if report.get("consistency") != "application":
                    raise RuntimeError(f"{label}: run not application-consistent: {report.get('reasons')}")
                samples["window"].append(report["freeze"]["windowUs"] / 1000)
                for kind in writers:
                    samples[kind].append(writers[kind].blocked_during(start, end) * 1000)
            window = statistics.median(samples["window"])
            out[label] = {"windowMs": round(window, 1)}
            for kind in writers:
                ratios = [b / w for b, w in zip(samples[kind], samples["window"]) if w > 0]
                out[label][kind] = {"blockedMs": round(statistics.median(samples[kind]), 1),
                                    "blockedMaxMs": round(max(samples[kind]), 1),
                                    "ratio": round(statistics.median(ratios), 2)}
        return out
    finally:
        for w in writers.values():
            w.stop()
        for kind, server in servers.items():
            subprocess.run([os.path.join(DB, f"{kind}-stop.sh"), os.path.join(tree, kind, "db")],
                           capture_output=True, timeout=120)
        for m in reversed(mounts):
            subprocess.run(f"fsfreeze -u {m} 2>/dev/null; umount {m} || umount -l {m}", shell=True)
        for img in images:
            subprocess.run(f"for d in $(losetup -j {img} -O NAME -n); do losetup -d $d; done; rm -f {img}", shell=True)


def rows(results):
    """bench.py rows: (figure, value, target, number, bound)."""
    out = []
    for label, r in results.items():
        for kind, name in (("mariadb", "MariaDB"), ("postgres", "PostgreSQL")):
            v = r[kind]
            target = f"<= {TARGET} (blocked {v['blockedMs']} ms, window {r['windowMs']} ms)"
            out.append((f"blocked writes / window, {name} ({label})", f"{v['ratio']}", target, v["ratio"], TARGET))
    return out


def main():
    binary = sys.argv[sys.argv.index("--bin") + 1] if "--bin" in sys.argv else os.path.join(ROOT, ".build",
                                                                                               "release", "snaporch")
    if os.geteuid() != 0 or not os.path.exists("/dev/loop-control"):
        print("stall: needs root and loop devices", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="snaporch-stall-")
    os.chmod(tmp, 0o755)
    try:
        results = bench_stall(tmp, binary)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    print(json.dumps(results, indent=2))
    for row in rows(results):
        print(f"{row[0]:<70} {row[1]:>6}  {row[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
