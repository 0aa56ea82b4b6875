#!/usr/bin/env python3
"""sigv4_vectors.py - prints the botocore-computed expectations embedded in
tests/unit/test_s3_sigv4.c for requests the published AWS examples do not
cover (spaces, unicode and reserved characters in keys, repeated and empty
query parameters, signed and unsigned payloads, session tokens, header
values with odd blanks).  Run it again to regenerate them:

    python3 tests/s3/sigv4_vectors.py
"""
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DATE = "20150830T123600Z"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

# name, method, key, query, extra headers, payload hash, session token
CASES = [
    ("spaces", "GET", "bucket/a b/c  d.txt", "", {}, EMPTY, None),
    ("unicode", "GET", "bucket/ü/日本語.db", "", {}, EMPTY, None),
    ("reserved", "PUT", "bucket/a+b=c&d$e@f:g,h;i!j*k'l(m)n~o%p#q?r", "", {}, HELLO, None),
    ("repeated_empty_query", "GET", "bucket", "b=2&a=&a=1&c&prefix=x%2Fy", {}, EMPTY, None),
    ("list_v2", "GET", "strata", "list-type=2&prefix=backups%2Fr%20%C3%BC%2Fpacks%2F&max-keys=1000",
     {}, EMPTY, None),
    ("unsigned_payload", "PUT", "bucket/k", "partNumber=3&uploadId=a%2Bb%3D", {}, "UNSIGNED-PAYLOAD", None),
    ("session_token", "GET", "bucket/k", "", {"range": "bytes=5-9"}, EMPTY, "FQoGZXIvYXdzE//token+/="),
    ("header_blanks", "PUT", "bucket/k", "", {"content-md5": "  XUFAKrxLKna5cZ2REBfFkg==  ",
                                              "x-amz-meta-note": "a   b \t c"}, HELLO, None),
]


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'


for name, method, key, query, extra, payload, token in CASES:
    path = "/" + percent_encode(key, safe="/~")
    url = "https://example.amazonaws.com" + path + ("?" + query if query else "")
    headers = {"host": "example.amazonaws.com", "x-amz-date": DATE, "x-amz-content-sha256": payload}
    if token:
        headers["x-amz-security-token"] = token
    headers.update(extra)
    req = AWSRequest(method=method, url=url, headers=headers)
    req.context["timestamp"] = DATE
    signer = S3SigV4Auth(Credentials(AK, SK, token), "s3", "us-east-1")
    sig = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    hdrs = ", ".join("{%s, %s}" % (c_string(k), c_string(v)) for k, v in headers.items())
    print("    {%s, %s, %s, %s, %s, %s,\n     {%s}, %d,\n     %s}," % (
        c_string(name), c_string(method), c_string(key), c_string(path), c_string(query),
        c_string(payload), hdrs, len(headers), c_string(sig)))
