#!/usr/bin/env python3
"""The container health check: exits 0 when the API's /healthz answers 200
within the timeout, 1 otherwise (with the reason on stderr). It needs only the
Python standard library, which the image has.

    python3 /app/scripts/healthcheck.py   # PORT (default 8000), HEALTH_PATH (default /healthz)
"""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("PORT", "8000")
    path = os.environ.get("HEALTH_PATH", "/healthz")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            if resp.status == 200:
                return 0
            print(f"healthcheck: GET {url}: {resp.status}", file=sys.stderr)
    except urllib.error.HTTPError as exc:
        body = exc.read(500).decode("utf-8", "replace")
        print(f"healthcheck: GET {url}: {exc.code} {body}", file=sys.stderr)
    except (OSError, urllib.error.URLError) as exc:
        print(f"healthcheck: GET {url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
