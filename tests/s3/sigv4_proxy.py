#!/usr/bin/env python3
"""sigv4_proxy.py - an HTTP proxy between strata and the S3 test server that
checks every request's Signature Version 4 with botocore and can make a
share of requests fail.

s3rver accepts any well-formed signature from a known key, so the proxy is
what proves strata's signatures: it rebuilds each request for botocore from
the decoded path and query (so botocore, not strata, does the encoding),
recomputes the signature with the secret, and answers 403
SignatureDoesNotMatch on any difference.  It also checks that
x-amz-content-sha256 is the SHA-256 of the body and Content-MD5 its MD5.

With --fail-rate P a share P of requests meets one of: 500, 503 SlowDown,
a dropped connection, a stall longer than the client's timeout, a
truncated response body, or a response lost after the server acted.

With --rules FILE, read again for every request, chosen requests meet
chosen faults: each line "METHOD PATH-REGEX FAULT [TIMES]" applies FAULT
(one of the above; an HTTP status answered with an S3 <Error> document;
"short-length" or "long-length": the whole body under a Content-Length
one byte off; "late": the server's answer held back for the stall time;
for ranged GETs, "short-range": the first half of the range asked for, a
206 whose Content-Range and Content-Length say so, "shifted-range": the
range one byte further on, a 206 saying so, "whole": a 200 with the whole
object, as a server ignoring Range sends)
to the requests whose method and path (query included, then " bytes=A-B"
for a ranged GET) match, the first TIMES of them (default: all) since the
file was last written.

One line per request goes to --log: "METHOD PATH STATUS FAULT SIG", where
SIG is "ok" or "BAD"; the tests count them.  Each GET answered in full
also adds "PATH BYTES" (the body's length) to the file --log + ".bytes",
what the client was sent.
"""
import argparse
import base64
import hashlib
import os
import http.client
import random
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")
FAULTS = ["500", "503", "drop", "stall", "truncate", "lost"]
RANGE_RE = re.compile(r"bytes=(\d+)-(\d+)$")
ERROR_CODES = {"403": "AccessDenied", "404": "NoSuchKey", "500": "InternalError", "503": "SlowDown"}


def expected_signature(method, raw_path, headers, secret, token):
    """The signature botocore computes for the request, or an error text."""
    auth = headers.get("Authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        return None, None, "malformed Authorization header: %r" % auth
    access, date, region, service, signed, signature = m.groups()
    names = signed.split(";")
    for required in ("host", "x-amz-date", "x-amz-content-sha256"):
        if required not in names:
            return None, None, "%s is not signed" % required
    if not headers.get("x-amz-date", "").startswith(date):
        return None, None, "credential date differs from x-amz-date"
    parts = urlsplit(raw_path)
    path = percent_encode(unquote(parts.path), safe="/~")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = "&".join("%s=%s" % (percent_encode(k), percent_encode(v)) for k, v in pairs)
    url = "http://%s%s%s" % (headers["Host"], path, "?" + query if query else "")
    signed_headers = {n: headers[n] for n in names if n in headers}
    if len(signed_headers) != len(names):
        return None, None, "a signed header is missing from the request"
    req = AWSRequest(method=method, url=url, headers=signed_headers)
    req.context["timestamp"] = headers["x-amz-date"]
    signer = S3SigV4Auth(Credentials(access, secret, token), service, region)
    canonical = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, canonical), req)
    return want, signature, None


def first_half(data, headers):
    """A 206 answer cut to its first half, its Content-Range saying so."""
    first, total = re.match(r"bytes (\d+)-\d+/(\d+)", dict(
        (k.lower(), v) for k, v in headers)["content-range"]).groups()
    half = data[:len(data) // 2]
    headers = [(k, v) for k, v in headers if k.lower() != "content-range"]
    headers.append(("Content-Range", "bytes %s-%d/%s" % (first, int(first) + len(half) - 1, total)))
    return half, headers


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status, fault, sig):
        with self.server.log_lock:
            self.server.log.write("%s %s %s %s %s\n" % (self.command, self.path, status, fault, sig))
            self.server.log.flush()

    def send_plain(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error_xml(self, status, code, message):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                "<Message>%s</Message></Error>" % (code, message)).encode()
        self.send_plain(status, body, [("Content-Type", "application/xml")])

    def check(self, body):
        token = self.headers.get("x-amz-security-token")
        want, got, problem = expected_signature(self.command, self.path, self.headers,
                                                self.server.secret, token)
        if problem is None and got != want:
            problem = "signature %s, botocore computes %s" % (got, want)
        sha = self.headers.get("x-amz-content-sha256", "")
        if problem is None and sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
            problem = "x-amz-content-sha256 is not the body's SHA-256"
        md5 = self.headers.get("Content-MD5")
        if problem is None and md5 is not None and \
                md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
            problem = "Content-MD5 is not the body's MD5"
        return problem

    def upstream(self):
        conn = getattr(self.server.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port,
                                              timeout=60)
            self.server.local.conn = conn
        return conn

    def forward(self, body, fault):
        headers = {k: v for k, v in self.headers.items() if k.lower() != "range"}
        asked = RANGE_RE.match(self.headers.get("Range", ""))
        if asked and fault == "shifted-range":
            headers["Range"] = "bytes=%d-%d" % (int(asked.group(1)) + 1, int(asked.group(2)) + 1)
        elif asked and fault != "whole":
            headers["Range"] = asked.group(0)
        for attempt in range(2):
            conn = self.upstream()
            try:
                conn.request(self.command, self.path, body=body if body else None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self.server.local.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        problem = self.check(body)
        if problem:
            sys.stderr.write("sigv4_proxy: %s %s: %s\n" % (self.command, self.path, problem))
            self.record(403, "-", "BAD")
            self.error_xml(403, "SignatureDoesNotMatch", problem)
            return
        fault = self.ruled_fault()
        with self.server.rng_lock:
            if fault == "-" and self.server.rng.random() < self.server.fail_rate:
                fault = self.server.rng.choice(FAULTS)
        self.record("-" if fault != "-" else "fwd", fault, "ok")
        if fault == "500":
            return self.error_xml(500, "InternalError", "injected failure")
        if fault == "503":
            return self.error_xml(503, "SlowDown", "injected throttling")
        if fault.isdigit():
            return self.error_xml(int(fault), ERROR_CODES.get(fault, "InjectedError"), "injected failure")
        if fault == "drop":
            return self.drop()
        if fault == "stall":
            time.sleep(self.server.stall_seconds)
            return self.drop()
        status, headers, data = self.forward(body, fault)
        if fault == "short-range" and status == 206 and len(data) > 1:
            data, headers = first_half(data, headers)
        if fault == "lost":
            return self.drop()
        if fault == "late":
            time.sleep(self.server.stall_seconds)
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        length = dict((k.lower(), v) for k, v in headers).get("content-length", str(len(data)))
        if self.command != "HEAD":
            length = str(len(data) + {"short-length": -1, "long-length": 1}.get(fault, 0))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "truncate" and len(data) > 1:
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            return self.drop()
        self.wfile.write(data)
        if fault in ("short-length", "long-length"):
            return self.drop()
        if self.command == "GET":
            with self.server.log_lock:
                self.server.bytes_log.write("%s %d\n" % (self.path, len(data)))
                self.server.bytes_log.flush()

    def ruled_fault(self):
        if not self.server.rules:
            return "-"
        asked = RANGE_RE.match(self.headers.get("Range", ""))
        target = self.path + (" " + asked.group(0) if asked else "")
        try:
            with open(self.server.rules) as f:
                lines = [line.split() for line in f if line.strip()]
                written = os.fstat(f.fileno()).st_mtime_ns
        except FileNotFoundError:
            return "-"
        with self.server.rng_lock:
            if written != self.server.rules_written:
                self.server.rules_written = written
                self.server.rule_uses = {}
            for rule in lines:
                method, pattern, fault = rule[:3]
                if method != self.command or not re.search(pattern, target):
                    continue
                key = " ".join(rule)
                used = self.server.rule_uses.get(key, 0)
                if len(rule) > 3 and used >= int(rule[3]):
                    continue
                self.server.rule_uses[key] = used + 1
                return fault
        return "-"

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the S3 server")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--secret", default="S3RVER")
    ap.add_argument("--fail-rate", type=float, default=0.0)
    ap.add_argument("--stall-seconds", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rules", help="a file of faults for chosen requests (see above)")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    up = urlsplit(args.upstream)
    server.upstream_host, server.upstream_port = up.hostname, up.port
    server.secret = args.secret
    server.fail_rate = args.fail_rate
    server.stall_seconds = args.stall_seconds
    server.rng = random.Random(args.seed)
    server.rng_lock = threading.Lock()
    server.rules = args.rules
    server.rule_uses = {}
    server.rules_written = None
    server.local = threading.local()
    server.log = open(args.log, "a")
    server.bytes_log = open(args.log + ".bytes", "a")
    server.log_lock = threading.Lock()
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
