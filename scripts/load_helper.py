#!/usr/bin/env python3
"""Helper of scripts/load.sh (standard library only).

  load_helper.py gen N FILE                      N entries as JSON Lines
  load_helper.py draw BASE KEY FILE              draft, upload, lock, execute
                                                 (commit-reveal); prints JSON
  load_helper.py rss PID URL CLIENTS             CLIENTS concurrent downloads of
                                                 URL while sampling the RSS of PID
  load_helper.py median X...                     the median of numbers
"""

import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

RULES = {
    "winners": 3,
    "alternates": 2,
    "organizer": "youtube:@acme",
    "keywords": {"any": ["#giveaway"]},
    "min_mentions": 1,
}


def gen(n, path):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            # One in ten misses the keyword, so the rules exclude something.
            tag = "nice product" if i % 10 == 9 else "#giveaway count me in"
            f.write(
                json.dumps(
                    {
                        "platform": "youtube",
                        "user_id": f"UC{i:08d}",
                        "handle": f"@user{i}",
                        "text": f"{tag} @friend{i % 997} @pal{i % 991}",
                        "created_at": "2024-03-%02dT10:%02d:%02dZ"
                        % (1 + i % 28, i % 60, (i * 7) % 60),
                        "followers": i % 5000,
                    },
                    separators=(",", ":"),
                )
            )
            f.write("\n")


def request(base, method, path, key=None, body=None, ctype="application/json"):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    headers = {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if body is not None:
        headers["Content-Type"] = ctype
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:500]!r}")
    return json.loads(data) if data else None


def draw(base, key, path):
    with open(path, "rb") as f:
        entries = f.read()
    t0 = time.monotonic()
    d = request(
        base,
        "POST",
        "/v1/draws",
        key,
        {"title": "load test", "rules": RULES, "randomness": "secret"},
    )
    did = d["id"]
    t1 = time.monotonic()
    up = request(
        base, "POST", f"/v1/draws/{did}/entries", key, entries, "application/jsonl"
    )
    t2 = time.monotonic()
    lock = request(base, "POST", f"/v1/draws/{did}/lock", key, {})
    t3 = time.monotonic()
    # Commit-reveal: the server kept the secret, so no network is needed.
    ex = request(base, "POST", f"/v1/draws/{did}/execute", key, {})
    t4 = time.monotonic()
    print(
        json.dumps(
            {
                "id": did,
                "entries": up["entries"],
                "eligible": lock["draw"].get("eligible"),
                "bundle_sha256": ex["bundle_sha256"],
                "create_s": round(t1 - t0, 3),
                "upload_s": round(t2 - t1, 3),
                "lock_s": round(t3 - t2, 3),
                "execute_s": round(t4 - t3, 3),
                "total_s": round(t4 - t0, 3),
            }
        )
    )


def status_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def rss(pid, url, clients):
    u = urllib.parse.urlsplit(url)
    sizes, errors = [], []
    start = threading.Barrier(clients + 1)

    def client():
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
            start.wait()
            conn.request("GET", u.path)
            r = conn.getresponse()
            n = 0
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                n += len(chunk)
            conn.close()
            if r.status != 200:
                errors.append(r.status)
            sizes.append(n)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            errors.append(repr(e))

    before = status_kb(pid)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.monotonic()
    peak = before["VmRSS"]
    while any(t.is_alive() for t in threads):
        peak = max(peak, status_kb(pid)["VmRSS"])
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    time.sleep(1.0)
    after = status_kb(pid)
    print(
        json.dumps(
            {
                "clients": clients,
                "ok": len(sizes) - len([e for e in errors if isinstance(e, int)]),
                "errors": errors[:5],
                "bundle_bytes": max(sizes) if sizes else 0,
                "seconds": round(elapsed, 2),
                "rss_before_kb": before["VmRSS"],
                "rss_peak_kb": peak,
                "rss_after_kb": after["VmRSS"],
                "hwm_before_kb": before["VmHWM"],
                "hwm_after_kb": after["VmHWM"],
            }
        )
    )


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(int(args[0]), args[1])
    elif cmd == "draw":
        draw(*args)
    elif cmd == "rss":
        rss(int(args[0]), args[1], int(args[2]))
    elif cmd == "median":
        m = statistics.median(float(x) for x in args)
        print(f"{m:.0f}" if m >= 100 else f"{m:.2f}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
