#!/usr/bin/env python3
"""writer.py KIND OUT [--seconds N] -- CLIENT ARGV...

A continuous application writer for the stall tests and the stall benchmark: one live client
session (`mariadb --batch --unbuffered --skip-column-names ...` or `psql -X -q -A -t ...`) driven over
pipes, inserting one row at a time into `snaporch_test.t` (MariaDB) / `t` (PostgreSQL), each insert
followed by a marker SELECT so that its completion is seen at once.

Every completed insert appends one line to OUT: `START END` (CLOCK_MONOTONIC seconds, 6 decimals,
the clock snaporch uses too). A blocked writer shows as one insert whose END - START is the time it
was blocked. Runs until SIGTERM/SIGINT, or N seconds. Exits 2 when the client goes away.
KIND is `mariadb` or `postgres`. Prints `READY` on stdout after the first insert.
"""
import os
import select
import signal
import sys
import time


def main():
    argv = sys.argv[1:]
    if "--" not in argv or len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    split = argv.index("--")
    head, client = argv[:split], argv[split + 1:]
    kind, out = head[0], head[1]
    seconds = float(head[head.index("--seconds") + 1]) if "--seconds" in head else None
    table = "snaporch_test.t" if kind == "mariadb" else "t"
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    env = dict(os.environ, LANG="C.UTF-8")
    rfd, child_w = os.pipe()
    child_r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(child_r, 0)
        os.dup2(child_w, 1)
        for fd in (rfd, wfd, child_r, child_w):
            os.close(fd)
        os.execvpe(client[0], client, env)
    os.close(child_r)
    os.close(child_w)
    log = open(out, "a", buffering=1)
    buffer = b""
    end = time.monotonic() + seconds if seconds else None
    n = 0
    try:
        while not stop["now"] and (end is None or time.monotonic() < end):
            n += 1
            marker = f"writer-mark-{n}"
            start = time.monotonic()
            os.write(wfd, f"INSERT INTO {table} (v) VALUES ('w{n}'); SELECT '{marker}';\n".encode())
            while True:
                if b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.decode(errors="replace").strip() == marker:
                        break
                    continue
                try:
                    ready, _, _ = select.select([rfd], [], [], 0.5)
                except InterruptedError:
                    ready = []
                if stop["now"]:
                    return 0
                if ready:
                    chunk = os.read(rfd, 65536)
                    if not chunk:
                        return 2
                    buffer += chunk
            finished = time.monotonic()
            log.write(f"{start:.6f} {finished:.6f}\n")
            if n == 1:
                print("READY", flush=True)
    finally:
        os.close(wfd)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
