#!/usr/bin/env python3
"""Prints a blob service SAS URI signed with an account key (stdlib only), for the Swift tests.

Usage: make_sas.py BASE_URL ACCOUNT CONTAINER BLOB [--perm racwd] [--expiry-minutes N] [--key BASE64]
The string-to-sign is the one of service SAS versions 2020-12-06 and later.
"""
import argparse, base64, datetime, hashlib, hmac, urllib.parse

DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
VERSION = "2021-08-06"


def sign(key, account, container, blob, perm, start, expiry):
    resource = f"/blob/{account}/{container}/{blob}"
    fields = [perm, start, expiry, resource, "", "", "http,https", VERSION, "b", "", "", "", "", "", "", ""]
    digest = hmac.new(base64.b64decode(key), "\n".join(fields).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base"), p.add_argument("account"), p.add_argument("container"), p.add_argument("blob")
    p.add_argument("--perm", default="racwd")
    p.add_argument("--expiry-minutes", type=int, default=60)
    p.add_argument("--key", default=DEV_KEY)
    a = p.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    start = (now - datetime.timedelta(minutes=5)).strftime(fmt)
    expiry = (now + datetime.timedelta(minutes=a.expiry_minutes)).strftime(fmt)
    sig = sign(a.key, a.account, a.container, a.blob, a.perm, start, expiry)
    query = urllib.parse.urlencode({"sv": VERSION, "st": start, "se": expiry, "sr": "b", "sp": a.perm,
                                    "spr": "http,https", "sig": sig})
    print(f"{a.base}/{a.account}/{a.container}/{a.blob}?{query}")


if __name__ == "__main__":
    main()
