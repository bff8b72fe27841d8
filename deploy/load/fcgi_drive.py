#!/usr/bin/env python3
"""Sends N requests straight to a FastCGI socket, with the params nginx sends (nginx/snippets/
fastcgi.conf), one connection per request as nginx does. For profiling one worker without nginx,
TLS or wrk in the picture: deploy/load/profile-worker runs it against a worker under callgrind.

    fcgi_drive.py SOCKET COUNT [--path P ...] [--token T]

Paths are used in turn. Exits non-zero if any answer is not a 2xx."""
import argparse
import socket
import struct
import sys

BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7


def record(kind, body, request_id=1):
    return struct.pack(">BBHHBB", 1, kind, request_id, len(body), 0, 0) + body


def pair(name, value):
    def length(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def params(path, token, n):
    document, _, query = path.partition("?")
    values = {
        "REQUEST_METHOD": "GET", "QUERY_STRING": query, "CONTENT_TYPE": "", "CONTENT_LENGTH": "",
        "REQUEST_URI": path, "DOCUMENT_URI": document, "SCRIPT_NAME": document, "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "https", "HTTPS": "on", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000",
        "SERVER_NAME": "localhost", "SERVER_PORT": "8443", "REQUEST_ID": "%032x" % n,
        "HTTP_HOST": "localhost:8443", "HTTP_USER_AGENT": "fcgi_drive", "HTTP_ACCEPT": "*/*",
    }
    if token:
        values["HTTP_AUTHORIZATION"] = "Bearer " + token
    return b"".join(pair(k, v) for k, v in values.items())


def one(sock_path, path, token, n):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        body = params(path, token, n)
        s.sendall(record(BEGIN, struct.pack(">HB5x", 1, 0)) + record(PARAMS, body) + record(PARAMS, b"") + record(STDIN, b""))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    out, i = b"", 0
    while i + 8 <= len(data):
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", data[i:i + 8])
        if kind == STDOUT:
            out += data[i + 8:i + 8 + length]
        i += 8 + length + padding
    head = out.split(b"\r\n", 1)[0]
    return head.startswith(b"Status: 2") or (not head.startswith(b"Status:") and out != b"")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("count", type=int)
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    if not 0 < args.count <= 1_000_000:
        sys.exit("count must be 1..1000000")
    paths = args.path or ["/"]
    failed = sum(not one(args.socket, paths[n % len(paths)], args.token, n) for n in range(args.count))
    if failed:
        sys.exit(f"{failed} of {args.count} answers were not 2xx")


if __name__ == "__main__":
    main()
