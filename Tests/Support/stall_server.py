#!/usr/bin/env python3
"""A misbehaving HTTP endpoint for SnapOrchestrator's HTTP hang tests.  Standard library only.

    python3 stall_server.py --mode never|headers|huge|redirect [--port 0]

Prints ``LISTENING <port>`` once the socket listens (for ``redirect`` also ``TARGET <port>``, the
other listener the redirects point to).  Every ``HEAD`` request (the blob provider's SAS probe) and
every ``POST .../presnapshot`` (the host provider's availability check) is answered at once with
200, so that a run reaches its freeze window; every other request gets the fault of ``--mode``:

* ``never``     read the request, then never answer until the client hangs up;
* ``headers``   send the status line and headers (Content-Length 1 MiB), a few body bytes, then stall;
* ``huge``      answer 500 with a 4 GiB Content-Length and stream the body as fast as the client reads;
* ``redirect``  answer 307 with ``Location`` on the TARGET port, same path and query (the SAS).

Whenever the TARGET listener receives a request it prints ``TARGET-HIT <path?query>``.
Each connection is served by its own daemon thread; SIGTERM stops the server.
"""

import argparse
import signal
import socket
import sys
import threading
import time

OUT_LOCK = threading.Lock()


def say(line):
    with OUT_LOCK:
        print(line, flush=True)


def read_request(conn):
    """Reads one request head and its Content-Length body; None when the client closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target = lines[0].split(" ")[0:2]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, target


def wait_for_close(conn):
    """Holds the connection open, reading (and discarding) until the client hangs up."""
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def answer(conn, status, reason, body=b"", extra=""):
    conn.sendall(
        f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode("latin-1") + body)


def serve(conn, mode, target_port):
    try:
        while True:
            request = read_request(conn)
            if request is None:
                return
            method, target = request
            if method == "HEAD":
                answer(conn, 200, "OK", extra="x-ms-blob-type: PageBlob\r\n")
                continue
            if method == "POST" and target.split("?")[0].endswith("/presnapshot"):
                answer(conn, 200, "OK", b'{"result": "ok"}', "Content-Type: application/json\r\n")
                continue
            if mode == "never":
                wait_for_close(conn)
                return
            if mode == "headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\nx-ms-snapshot: x\r\n\r\n{\"snap")
                wait_for_close(conn)
                return
            if mode == "huge":
                conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4294967296\r\n\r\n")
                # The error text echoes the request's SAS, as a careless server would.
                echo = f"<Error><Code>InternalError</Code><Message>{target} sig=HangSecret%2Bsig</Message>"
                conn.sendall(echo.encode("latin-1"))
                piece = b"x" * 65536
                while True:
                    conn.sendall(piece)
            if mode == "redirect":
                location = f"http://127.0.0.1:{target_port}{target}"
                answer(conn, 307, "Temporary Redirect", extra=f"Location: {location}\r\n")
                continue
            answer(conn, 400, "Bad Request")
    except OSError:
        pass
    finally:
        conn.close()


def serve_target(conn):
    try:
        request = read_request(conn)
        if request is not None:
            say(f"TARGET-HIT {request[1]}")
            answer(conn, 201, "Created", extra="x-ms-snapshot: stolen\r\n")
    except OSError:
        pass
    finally:
        conn.close()


def listen(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def accept_forever(sock, handler):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=["never", "headers", "huge", "redirect"], required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    target = listen(0)
    target_port = target.getsockname()[1]
    threading.Thread(target=accept_forever, args=(target, serve_target), daemon=True).start()
    main_sock = listen(args.port)
    say(f"TARGET {target_port}")
    say(f"LISTENING {main_sock.getsockname()[1]}")
    accept_forever(main_sock, lambda conn: serve(conn, args.mode, target_port))


if __name__ == "__main__":
    main()
