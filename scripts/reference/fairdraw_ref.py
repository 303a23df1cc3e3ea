#!/usr/bin/env python3
"""An independent reference implementation of the fairdraw protocol, versions 1 and 2.

Written from engine/PROTOCOL.md alone, in Python with the standard library
only (Ed25519 is the RFC 8032 section 6 reference code, ChaCha20 is RFC 8439
section 2.3), so that the frozen vectors are not the engine's word about
itself. It recomputes a whole draw from its inputs and writes every
intermediate value of the protocol:

    entry hashes -> collection hashes -> rule verdicts -> eligible leaves
    -> Merkle root -> lock payload (JCS bytes) -> lock hash -> seed
    -> stream words -> picks -> execution payload -> signatures

Usage:

    fairdraw_ref.py draw PROTOCOL INPUT.json          # intermediate values, JSON on stdout
    fairdraw_ref.py check PROTOCOL INPUT.json BUNDLE.json INTERMEDIATE.json
        # exit 0 when (1) the recomputed receipts equal the bundle's
        # (JCS payloads, keys and signatures) and (2) the recomputed
        # intermediate values equal INTERMEDIATE.json; otherwise print the
        # first difference and exit 1
    fairdraw_ref.py rfc3797 RFC3797.json COMMIT_REVEAL.json
        # the RFC 3797 and commit-reveal known answers

Limits, stated rather than hidden: the drand BLS pairing check (PROTOCOL.md
§7.2 step 4) is not re-implemented here (the beacon in the vector is a real
drand beacon; the script checks randomness = SHA-256(signature) and the round
time); Unicode tables are Python's `unicodedata` (version printed in the
output), which agree with §5.3/§5.4's for every character the vectors use —
the script refuses input holding a code point that Python's tables leave
unassigned rather than guess. Of protocol 2's input checks it implements the
time grammar and range, the entry grammar, visible strings and the lock-time
bounds; not the one-script-per-keyword check (§5.1), which needs UTS #39
tables Python does not ship.
"""

import hashlib
import json
import re
import sys
import unicodedata

# --------------------------------------------------------------------------
# §2 Encodings


def u16be(n):
    return n.to_bytes(2, "big")


def u32be(n):
    return n.to_bytes(4, "big")


def u64be(n):
    return n.to_bytes(8, "big")


def lp(x):
    if isinstance(x, str):
        x = x.encode("utf-8")
    return u32be(len(x)) + x


def opt_str(x):
    return b"\x00" if x is None else b"\x01" + lp(x)


def opt_int(x):
    return b"\x00" if x is None else b"\x01" + u64be(x)


def sha256(b):
    return hashlib.sha256(b).digest()


def H(domain, *fields):
    return sha256(lp(domain) + b"".join(fields))


# --------------------------------------------------------------------------
# RFC 8785 (JCS) for the JSON this protocol uses: objects, arrays, strings,
# integers, booleans.


def jcs(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        if not 0 <= value <= 2**53 - 1:
            raise ValueError(f"integer {value} outside 0..2^53-1")
        return str(value)
    if isinstance(value, str):
        return jcs_string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        # Members sorted by their names as UTF-16 code units (RFC 8785 §3.2.3).
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs_string(k) + ":" + jcs(value[k]) for k in keys) + "}"
    raise TypeError(f"not JSON: {value!r}")


_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def jcs_string(s):
    out = []
    for c in s:
        if c in _SHORT:
            out.append(_SHORT[c])
        elif ord(c) < 0x20:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


# --------------------------------------------------------------------------
# §3 Time: canonical receipt times and exact entry instants.

_CANONICAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")
# Protocol 1 as the engine has always read it: any one character between the
# date and the time, lowercase `z`, any number of fraction digits (truncated
# to nanoseconds). Protocol 2 narrows this to one form (below).
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2}).(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.DOTALL
)


def days_from_civil(y, m, d):
    # Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _check_date(y, mo, d, h, mi, s):
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= mo <= 12 and 1 <= d <= days[mo - 1] and h <= 23 and mi <= 59 and s <= 59):
        raise ValueError("invalid date or time (a leap second :60 is refused)")


# §9.4 visible strings (v2): no Cc, bidi control or default-ignorable code
# point, and in NFKC. The default-ignorable ranges are PROTOCOL.md's list.
_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]


def invisible(c):
    o = ord(c)
    return (
        unicodedata.category(c) == "Cc"
        or o in _BIDI
        or any(lo <= o <= hi for lo, hi in _IGNORABLE)
    )


def check_visible(what, s):
    for c in s:
        if invisible(c):
            raise ValueError(f"{what} holds the invisible code point U+{ord(c):04X} (§9.4)")
    if unicodedata.normalize("NFKC", s) != s:
        raise ValueError(f"{what} is not in NFKC (§9.4)")


def canonical_seconds(text):
    m = _CANONICAL.match(text)
    if not m:
        raise ValueError(f"{text!r} is not YYYY-MM-DDTHH:MM:SSZ")
    y, mo, d, h, mi, s = map(int, m.groups())
    _check_date(y, mo, d, h, mi, s)
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


_V2_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_V2_RANGE = (0, days_from_civil(2100, 1, 1) * 86400 * 10**9)


def instant_ns(text, protocol=1):
    """An RFC 3339 date-time as exact nanoseconds since the Unix epoch.

    Protocol 2 takes exactly one form (§3) within 1970–2099."""
    if protocol >= 2:
        if not _V2_TIME.match(text):
            raise ValueError(f"{text!r} is not in protocol 2's time form (§3)")
        ns = instant_ns(text)
        if not _V2_RANGE[0] <= ns < _V2_RANGE[1]:
            raise ValueError(f"{text!r} is outside 1970–2099 (§3)")
        return ns
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    y, mo, d, h, mi, s = map(int, m.groups()[:6])
    _check_date(y, mo, d, h, mi, s)
    frac = m.group(7)
    # Nanosecond precision: further digits are truncated (v1 behaviour).
    ns = int((frac[1:] + "000000000")[:9]) if frac else 0
    offset = 0
    tz = m.group(8)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        offset = sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
    return seconds * 10**9 + ns


# --------------------------------------------------------------------------
# §4 Entries and collections

ENTRY_MEMBERS = {
    "platform", "user_id", "handle", "display_name", "text",
    "created_at", "followers", "account_created_at",
}


def check_entry(e, protocol, locked_at_ns):
    unknown = set(e) - ENTRY_MEMBERS
    if unknown:
        raise ValueError(f"entry has unknown members {sorted(unknown)}")
    for k in ("platform", "user_id", "handle"):
        if not isinstance(e.get(k), str) or not e[k]:
            raise ValueError(f"entry member {k} must be a non-empty string")
    times = [instant_ns(e["created_at"], protocol)]
    if "account_created_at" in e:
        times.append(instant_ns(e["account_created_at"], protocol))
    if protocol >= 2:
        # §4.1 grammar and §4.4: no entry after the lock.
        if not re.fullmatch(r"[a-z0-9_-]{1,32}", e["platform"]):
            raise ValueError(f"platform {e['platform']!r} does not match [a-z0-9_-]{{1,32}} (§4.1)")
        for c in e["user_id"]:
            if c.isspace() or invisible(c):
                raise ValueError(f"user_id {e['user_id']!r} holds U+{ord(c):04X} (§4.1)")
        if any(t > locked_at_ns for t in times):
            raise ValueError(f"an entry of {e['user_id']!r} is dated after the lock (§4.4)")


def canonical_entry(e):
    """§9.3: an entry as written in a bundle or receipt."""
    out = {k: e[k] for k in ("platform", "user_id", "handle")}
    out["display_name"] = e.get("display_name", "")
    out["text"] = e.get("text", "")
    out["created_at"] = e["created_at"]
    for k in ("followers", "account_created_at"):
        if k in e:
            out[k] = e[k]
    return out


def entry_hash(e):
    return H(
        "fairdraw/v1/entry",
        lp(e["platform"]), lp(e["user_id"]), lp(e["handle"]),
        lp(e.get("display_name", "")), lp(e.get("text", "")), lp(e["created_at"]),
        opt_int(e.get("followers")), opt_str(e.get("account_created_at")),
    )


def collection_hash(name, hashes):
    return sha256(lp("fairdraw/v1/collection") + lp(name) + b"".join(hashes) + u64be(len(hashes)))


# --------------------------------------------------------------------------
# §5 Rules


def refuse_unassigned(s):
    for c in s:
        if unicodedata.category(c) == "Cn" and not 0xE000 <= ord(c) <= 0x10FFFF:
            raise ValueError(
                f"U+{ord(c):04X} is unassigned in Unicode {unicodedata.unidata_version}: "
                "this script cannot reproduce §5.3 for it"
            )


def lower_char(c):
    # §5.3 step 2: unconditional SpecialCasing mapping (only U+0130), else the
    # simple lowercase mapping. Python's str.lower() applies the full
    # unconditional mappings, which for a single code point equal these.
    if c == "\u0130":
        return "i\u0307"
    lowered = c.lower()
    return lowered


def normalize(s):
    refuse_unassigned(s)
    return "".join(lower_char(c) for c in unicodedata.normalize("NFKC", s))


def handle_key(h):
    n = normalize(h)
    return n[1:] if n.startswith("@") else n


def is_word(c):
    # Rust's char::is_alphanumeric: Alphabetic or Nd/Nl/No. Python's isalpha
    # is categories L*, which differs from Alphabetic for a few marks and
    # symbols (Other_Alphabetic); the vectors use none of them.
    return c == "_" or c.isalpha() or unicodedata.category(c) in ("Nd", "Nl", "No")


def mentions(text):
    t = text
    found = []
    for i, c in enumerate(t):
        if c != "@" or (i > 0 and is_word(t[i - 1])):
            continue
        j = i + 1
        while j < len(t) and (is_word(t[j]) or t[j] in ".-"):
            j += 1
        run = t[i + 1 : j].rstrip(".-")
        if run:
            found.append(run)
    return found


def account_ref(value):
    """§5.1 (v2): an account reference, ("handle", P, handle_key) or ("user_id", P, id)."""
    if ":" not in value:
        raise ValueError(f"account reference {value!r} has no platform")
    platform, account = value.split(":", 1)
    if not re.fullmatch(r"[a-z0-9_-]{1,32}", platform):
        raise ValueError(f"account reference {value!r}: bad platform")
    if account.startswith("@"):
        if handle_key(account) == "":
            raise ValueError(f"account reference {value!r}: empty handle")
        return ("handle", platform, handle_key(account))
    if account == "" or any(c.isspace() for c in account):
        raise ValueError(f"account reference {value!r}: bad user id")
    return ("user_id", platform, account)


def names_account(value, entry, protocol, ids=True):
    """§5.5 rules 1 and 2: whether an organizer / exclude_users value names the entry's account."""
    if protocol < 2:
        return handle_key(value) == handle_key(entry["handle"]) or (ids and value == entry["user_id"])
    kind, platform, key = account_ref(value)
    if platform != entry["platform"]:
        return False
    if kind == "handle":
        return key == handle_key(entry["handle"])
    return key == entry["user_id"]


def mention_count(entry, rules, protocol):
    excluded = {handle_key(entry["handle"])}
    if "organizer" in rules:
        if protocol < 2:
            excluded.add(handle_key(rules["organizer"]))
        else:
            kind, platform, key = account_ref(rules["organizer"])
            if kind == "handle" and platform == entry["platform"]:
                excluded.add(key)
    return len({m for m in mentions(normalize(entry.get("text", ""))) if m not in excluded})


def check_rules(rules):
    allowed = {
        "winners", "alternates", "collection", "entries_per_user", "min_mentions", "keywords",
        "exclude_users", "organizer", "window", "min_followers", "min_account_age_days",
        "require_in", "bonus",
    }
    unknown = set(rules) - allowed
    if unknown:
        raise ValueError(f"rules have unknown members {sorted(unknown)}")
    if rules.get("winners", 0) < 1:
        raise ValueError("rules: winners must be at least 1")


def first_failure(entry, rules, collections, protocol):
    """§5.5: the first rule the entry fails (its name), or None."""
    if "organizer" in rules and names_account(rules["organizer"], entry, protocol, ids=False):
        return "organizer"
    for v in rules.get("exclude_users", []):
        if names_account(v, entry, protocol):
            return "exclude_users"
    if "window" in rules:
        t = instant_ns(entry["created_at"])
        w = rules["window"]
        if "from" in w and t < canonical_seconds(w["from"]) * 10**9:
            return "window"
        if "until" in w and t >= canonical_seconds(w["until"]) * 10**9:
            return "window"
    if "keywords" in rules:
        x = normalize(entry.get("text", ""))
        any_ = rules["keywords"].get("any", [])
        if any_ and not any(normalize(k) in x for k in any_):
            return "keywords"
        if any(normalize(k) not in x for k in rules["keywords"].get("all", [])):
            return "keywords"
    if mention_count(entry, rules, protocol) < rules.get("min_mentions", 0):
        return "min_mentions"
    if "min_followers" in rules:
        if "followers" not in entry or entry["followers"] < rules["min_followers"]:
            return "min_followers"
    if "min_account_age_days" in rules:
        if "account_created_at" not in entry:
            return "min_account_age_days"
        age = instant_ns(entry["created_at"]) - instant_ns(entry["account_created_at"])
        if age < rules["min_account_age_days"] * 86400 * 10**9:
            return "min_account_age_days"
    for name in rules.get("require_in", []):
        users = {(e["platform"], e["user_id"]) for e in collections[name]}
        if (entry["platform"], entry["user_id"]) not in users:
            return "require_in"
    return None


def evaluate(rules, collections, protocol):
    """§5.5–5.6: the verdict of every primary entry and the eligible list."""
    check_rules(rules)
    primary = collections[rules.get("collection", "comments")]
    per_user = rules.get("entries_per_user", 1)
    bonus = rules.get("bonus")
    users = {}  # (platform, user_id) -> [counted, bonus sum, first handle]
    verdicts = []
    for entry in primary:
        rule = first_failure(entry, rules, collections, protocol)
        key = (entry["platform"], entry["user_id"])
        if rule is None:
            record = users.setdefault(key, [0, 0, entry["handle"]])
            if record[0] >= per_user:
                rule = "entries_per_user"
            else:
                record[0] += 1
                if bonus:
                    extra = max(0, mention_count(entry, rules, protocol) - rules.get("min_mentions", 0))
                    record[1] += bonus["per_extra_mention"] * extra
        verdicts.append(rule or "counted")
    eligible = []
    for (platform, user_id), (counted, bonus_sum, handle) in users.items():
        tickets = counted + (min(bonus["max"], bonus_sum) if bonus else 0)
        eligible.append({"platform": platform, "user_id": user_id, "handle": handle, "tickets": tickets})
    eligible.sort(key=lambda r: (r["platform"].encode(), r["user_id"].encode()))
    return verdicts, eligible


# --------------------------------------------------------------------------
# §6 Commitment


def leaf_hash(r):
    data = lp("fairdraw/v1/leaf") + lp(r["platform"]) + lp(r["user_id"]) + lp(r["handle"]) + u64be(r["tickets"])
    return sha256(b"\x00" + data)


def mth(leaves):
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


# --------------------------------------------------------------------------
# §7 Randomness (drand round time, commit-reveal, RFC 3797)

DRAND = {
    "default": {
        "chain_hash": "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
        "period": 30, "genesis_time": 1595431050, "signature_len": 96,
    },
    "quicknet": {
        "chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
        "period": 3, "genesis_time": 1692803367, "signature_len": 48,
    },
}


def round_time(chain, r):
    c = DRAND[chain]
    return c["genesis_time"] + (r - 1) * c["period"]


def commitment(secret):
    return sha256(lp("fairdraw/v1/commit-reveal") + lp(secret))


def rfc3797_key(values):
    key = ""
    for value in values:
        tokens = value.split()
        if not tokens:
            raise ValueError("empty RFC 3797 source")
        if all(re.fullmatch(r"[0-9]+", t) for t in tokens):
            numbers = sorted((t.lstrip("0") or "0" for t in tokens), key=lambda t: (len(t), t))
            key += "".join(n + "." for n in numbers) + "/"
        else:
            kept = []
            for c in unicodedata.normalize("NFD", value):
                if c.isascii():
                    if c.isalnum():
                        kept.append(c.upper())
                elif unicodedata.category(c).startswith("M") or not c.isalnum():
                    continue
                else:
                    raise ValueError(f"non-ASCII letter or digit {c!r} in an RFC 3797 source")
            segment = "".join(kept)
            if not segment or not any(c.isalpha() for c in segment):
                raise ValueError(f"RFC 3797 source {value!r} has no letter")
            key += segment + "./"
    return key


def rfc3797_value(key, i):
    return int.from_bytes(hashlib.md5(u16be(i) + key.encode("ascii") + u16be(i)).digest(), "big")


# --------------------------------------------------------------------------
# §8 Seed, ChaCha20 stream (RFC 8439 §2.3), selection


def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter, nonce=b"\x00" * 12):
    consts = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state = consts + [int.from_bytes(key[i : i + 4], "little") for i in range(0, 32, 4)]
    state += [counter] + [int.from_bytes(nonce[i : i + 4], "little") for i in range(0, 12, 4)]
    w = list(state)
    for _ in range(10):
        _quarter(w, 0, 4, 8, 12); _quarter(w, 1, 5, 9, 13); _quarter(w, 2, 6, 10, 14); _quarter(w, 3, 7, 11, 15)
        _quarter(w, 0, 5, 10, 15); _quarter(w, 1, 6, 11, 12); _quarter(w, 2, 7, 8, 13); _quarter(w, 3, 4, 9, 14)
    return b"".join(((w[i] + state[i]) & 0xFFFFFFFF).to_bytes(4, "little") for i in range(16))


class Stream:
    """§8.2: 64-bit little-endian words of the ChaCha20 keystream."""

    def __init__(self, seed):
        self.seed, self.counter, self.buffer = seed, 0, b""
        self.words = []

    def next_word(self):
        if len(self.buffer) < 8:
            self.buffer += chacha20_block(self.seed, self.counter)
            self.counter += 1
        w, self.buffer = int.from_bytes(self.buffer[:8], "little"), self.buffer[8:]
        self.words.append(w)
        return w

    def uniform(self, n):
        r = 2**64 % n
        while True:
            w = self.next_word()
            if r == 0 or w <= 2**64 - 1 - r:
                return w % n


def select(tickets, m, ticket_number):
    """§8.3, written as the plain linear scan (the engine uses a Fenwick tree)."""
    live = [True] * len(tickets)
    remaining = sum(tickets)
    picks = []
    for j in range(m):
        x = ticket_number(j, remaining)
        acc = 0
        for s, t in enumerate(tickets):
            if not live[s]:
                continue
            if acc <= x < acc + t:
                break
            acc += t
        live[s] = False
        remaining -= tickets[s]
        picks.append({"draw": j, "ticket_number": x, "leaf_index": s})
    return picks


# --------------------------------------------------------------------------
# Ed25519: the RFC 8032 §6 reference code (verbatim in substance).

_p = 2**255 - 19
_d = -121665 * pow(121666, _p - 2, _p) % _p
_q = 2**252 + 27742317777372353535851937790883648493


def _sha512_modq(s):
    return int.from_bytes(hashlib.sha512(s).digest(), "little") % _q


def _point_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % _p, (P[1] + P[0]) * (Q[1] + Q[0]) % _p
    C, D = 2 * P[3] * Q[3] * _d % _p, 2 * P[2] * Q[2] % _p
    E, F, G, H_ = B - A, D - C, D + C, B + A
    return (E * F, G * H_, F * G, E * H_)


def _point_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = _point_add(Q, P)
        P = _point_add(P, P)
        s >>= 1
    return Q


def _point_equal(P, Q):
    if (P[0] * Q[2] - Q[0] * P[2]) % _p != 0:
        return False
    return (P[1] * Q[2] - Q[1] * P[2]) % _p == 0


_modp_sqrt_m1 = pow(2, (_p - 1) // 4, _p)


def _recover_x(y, sign):
    if y >= _p:
        return None
    x2 = (y * y - 1) * pow(_d * y * y + 1, _p - 2, _p)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_p + 3) // 8, _p)
    if (x * x - x2) % _p != 0:
        x = x * _modp_sqrt_m1 % _p
    if (x * x - x2) % _p != 0:
        return None
    if (x & 1) != sign:
        x = _p - x
    return x


_g_y = 4 * pow(5, _p - 2, _p) % _p
_g_x = _recover_x(_g_y, 0)
_G = (_g_x, _g_y, 1, _g_x * _g_y % _p)


def _point_compress(P):
    zinv = pow(P[2], _p - 2, _p)
    x, y = P[0] * zinv % _p, P[1] * zinv % _p
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _point_decompress(s):
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _p)


def _secret_expand(secret):
    h = hashlib.sha512(secret).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed25519_public(secret):
    a, _ = _secret_expand(secret)
    return _point_compress(_point_mul(a, _G))


def ed25519_sign(secret, msg):
    a, prefix = _secret_expand(secret)
    A = _point_compress(_point_mul(a, _G))
    r = _sha512_modq(prefix + msg)
    R = _point_compress(_point_mul(r, _G))
    s = (r + _sha512_modq(R + A + msg) * a) % _q
    return R + int.to_bytes(s, 32, "little")


def ed25519_verify(public, msg, signature):
    A = _point_decompress(public)
    R = _point_decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if A is None or R is None or s >= _q:
        return False
    h = _sha512_modq(signature[:32] + public + msg)
    return _point_equal(_point_mul(s, _G), _point_add(R, _point_mul(h, A)))


# --------------------------------------------------------------------------
# §9 Receipts, §10 bundle: the whole draw


def receipt(payload, context, secret):
    message = context.encode() + b"\x00" + jcs(payload).encode("utf-8")
    public = ed25519_public(secret)
    signature = ed25519_sign(secret, message)
    assert ed25519_verify(public, message, signature)
    return {
        "payload": payload,
        "key_id": sha256(public).hex(),
        "public_key": public.hex(),
        "signature": signature.hex(),
    }, sha256(message)


def check_v2_inputs(inp, locked_at):
    """Protocol 2's checks of the title and rules values (§9.4, §5.1)."""
    check_visible("title", inp["title"])
    rules = inp["rules"]
    for k in rules.get("keywords", {}).get("any", []) + rules.get("keywords", {}).get("all", []):
        check_visible(f"keyword {k!r}", k)
    if "organizer" in rules:
        check_visible("organizer", rules["organizer"])
        account_ref(rules["organizer"])
    for v in rules.get("exclude_users", []):
        check_visible(f"exclude_users value {v!r}", v)
        account_ref(v)
    for bound in rules.get("window", {}).values():
        if canonical_seconds(bound) > locked_at:
            raise ValueError(f"window bound {bound} is after the lock (§5.1)")


def draw(inp, protocol):
    """Every intermediate value of one draw, from its inputs."""
    if protocol not in (1, 2):
        raise ValueError(f"protocol {protocol} is not 1 or 2")
    collections = inp["collections"]
    rules = inp["rules"]
    locked_at = canonical_seconds(inp["locked_at"])
    if protocol >= 2:
        check_v2_inputs(inp, locked_at)
    out = {
        "_note": (
            "Intermediate values of the frozen draw beside this file, computed by "
            "scripts/reference/fairdraw_ref.py (Python, standard library only, written from "
            "PROTOCOL.md) and checked against the engine by engine/tests/all/intermediate.rs. "
            "FROZEN with the draw: a difference means the protocol changed."
        ),
        "entries": {},
        "collections": {},
    }
    for name in sorted(collections):
        hashes = []
        for e in collections[name]:
            check_entry(e, protocol, locked_at * 10**9)
            hashes.append(entry_hash(e))
        out["entries"][name] = [h.hex() for h in hashes]
        out["collections"][name] = {"entries": len(hashes), "sha256": collection_hash(name, hashes).hex()}

    verdicts, eligible = evaluate(rules, collections, protocol)
    out["verdicts"] = verdicts
    leaves = [leaf_hash(r) for r in eligible]
    out["leaves"] = [dict(r, leaf_hash=h.hex()) for r, h in zip(eligible, leaves)]
    root = mth(leaves)
    out["merkle_root"] = root.hex()
    total = sum(r["tickets"] for r in eligible)

    declared = inp["randomness"]
    lock_payload = {
        "protocol": protocol,
        "draw_id": inp["draw_id"],
        "title": inp["title"],
        "rules": rules,
        "collections": out["collections"],
        "eligible": len(eligible),
        "total_tickets": total,
        "merkle_root": root.hex(),
        "winners": rules["winners"],
        "alternates": rules.get("alternates", 0),
        "randomness": declared,
        "locked_at": inp["locked_at"],
    }
    secret = bytes.fromhex(inp["signer_secret"])
    lock, lock_hash = receipt(lock_payload, "fairdraw/v1/lock", secret)
    out["lock_payload_jcs"] = jcs(lock_payload)
    out["lock_hash"] = lock_hash.hex()
    out["lock_signature"] = lock["signature"]

    # §7.5 and §8.1: the frozen draws use drand, and (v2) secret+drand.
    kind = declared["kind"]
    if kind not in ("drand", "secret_drand") or (kind == "secret_drand" and protocol < 2):
        raise ValueError(f"the reference script draws drand and (protocol 2) secret_drand vectors, not {kind}")
    chain = declared["chain"]
    if DRAND[chain]["chain_hash"] != declared["chain_hash"]:
        raise ValueError("chain hash does not match the chain table")
    beacon = inp["beacon"]
    if beacon["round"] != declared["round"]:
        raise ValueError("beacon round differs from the declared round")
    if round_time(chain, declared["round"]) <= locked_at:
        raise ValueError("declared round is not after locked_at")
    signature = bytes.fromhex(beacon["signature"])
    if len(signature) != DRAND[chain]["signature_len"]:
        raise ValueError("beacon signature has the wrong length")
    material = sha256(signature)
    if beacon.get("randomness") and beacon["randomness"] != material.hex():
        raise ValueError("beacon randomness is not SHA-256(signature)")
    realised = {"kind": kind}
    if kind == "secret_drand":
        secret_bytes = bytes.fromhex(inp["secret"])
        if len(secret_bytes) != 32 or commitment(secret_bytes).hex() != declared["commitment"]:
            raise ValueError("the secret does not open the declared commitment")
        realised["secret"] = inp["secret"]
        material = secret_bytes + material
    seed = H("fairdraw/v1/seed", lp(lock_hash), lp(kind), lp(material))
    out["seed"] = seed.hex()

    stream = Stream(seed)
    m = rules["winners"] + rules.get("alternates", 0)
    picks = select([r["tickets"] for r in eligible], m, lambda j, remaining: stream.uniform(remaining))
    out["stream_words"] = [str(w) for w in stream.words]
    out["picks"] = picks

    primary = collections[rules.get("collection", "comments")]
    first_counted = {}
    for e, v in zip(primary, verdicts):
        if v == "counted":
            first_counted.setdefault((e["platform"], e["user_id"]), e)

    def pick(p):
        r = eligible[p["leaf_index"]]
        return {"leaf_index": p["leaf_index"], "tickets": r["tickets"], "entry": canonical_entry(first_counted[(r["platform"], r["user_id"])])}

    realised.update({"chain": chain, "round": beacon["round"], "signature": beacon["signature"]})
    if beacon.get("previous_signature"):
        realised["previous_signature"] = beacon["previous_signature"]
    realised["randomness"] = sha256(signature).hex()
    executed_at = canonical_seconds(inp["executed_at"])
    if executed_at < locked_at or executed_at < round_time(chain, declared["round"]):
        raise ValueError("executed_at is before the lock or the round")
    execution_payload = {
        "protocol": protocol,
        "draw_id": inp["draw_id"],
        "lock_hash": lock_hash.hex(),
        "randomness": realised,
        "selection": {"algorithm": "chacha20", "seed": seed.hex()},
        "winners": [pick(p) for p in picks[: rules["winners"]]],
        "alternates": [pick(p) for p in picks[rules["winners"] :]],
        "executed_at": inp["executed_at"],
    }
    execution, execution_hash = receipt(execution_payload, "fairdraw/v1/execution", secret)
    out["execution_payload_jcs"] = jcs(execution_payload)
    out["execution_hash"] = execution_hash.hex()
    out["execution_signature"] = execution["signature"]
    out["public_key"] = lock["public_key"]
    canonical = {name: [canonical_entry(e) for e in entries] for name, entries in collections.items()}
    bundle = {"fairdraw_bundle": 1, "lock": lock, "execution": execution, "collections": canonical}
    return out, bundle


# --------------------------------------------------------------------------
# Commands


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: present on one side only"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"


def load(path):
    def no_duplicates(pairs):
        obj = {}
        for k, v in pairs:
            if k in obj:
                raise ValueError(f"{path}: duplicate member {k!r}")
            obj[k] = v
        return obj

    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_duplicates)


def cmd_check(protocol, input_path, bundle_path, intermediate_path):
    values, bundle = draw(load(input_path), int(protocol))
    frozen = load(bundle_path)
    for part in ("lock", "execution"):
        mine, theirs = bundle[part], frozen[part]
        if jcs(mine["payload"]) != jcs(theirs["payload"]):
            print(f"{part} payload differs: {first_difference(mine['payload'], theirs['payload'], part)}")
            return 1
        for k in ("key_id", "public_key", "signature"):
            if mine[k] != theirs[k]:
                print(f"{part}.{k} differs: {mine[k]} != {theirs[k]}")
                return 1
    if jcs(bundle["collections"]) != jcs(frozen["collections"]) or frozen.get("fairdraw_bundle") != 1:
        print("bundle collections or format differ")
        return 1
    expected = load(intermediate_path)
    d = first_difference(values, expected)
    if d:
        print(f"intermediate values differ from {intermediate_path}: {d}")
        return 1
    print(
        f"reference: {bundle_path} (protocol {protocol}) reproduced from {input_path} "
        f"(lock {values['lock_hash'][:16]}…, {len(values['leaves'])} leaves, "
        f"{len(values['picks'])} picks, Python {sys.version.split()[0]}, Unicode {unicodedata.unidata_version})"
    )
    return 0


def cmd_rfc3797(rfc_path, commit_path):
    v = load(rfc_path)
    key = rfc3797_key(v["sources_as_given"])
    if key != v["key_string"]:
        print(f"RFC 3797 key string {key!r} != {v['key_string']!r}")
        return 1
    pool = v["pool_size"]
    picks = select([1] * pool, 11, lambda j, remaining: rfc3797_value(key, j) % remaining)
    chosen = [p["leaf_index"] + 1 for p in picks]
    if chosen[:10] != v["selected_first_10"] or chosen[10] != v["alternate_11th"]:
        print(f"RFC 3797 selection {chosen} differs from the RFC's")
        return 1
    for row in v["rows"]:
        md5 = hashlib.md5(u16be(row["index"] - 1) + key.encode() + u16be(row["index"] - 1)).hexdigest().upper()
        if md5 != row["md5"]:
            print(f"RFC 3797 row {row['index']}: {md5} != {row['md5']}")
            return 1
    for case in load(commit_path)["cases"]:
        if commitment(bytes.fromhex(case["secret"])).hex() != case["commitment"]:
            print(f"commitment of {case['secret']} differs")
            return 1
    # RFC 8439 §2.3.2 block function test vector.
    key32 = bytes(range(32))
    block = chacha20_block(key32, 1, bytes.fromhex("000000090000004a00000000"))
    if block[:16].hex() != "10f1e7e4d13b5915500fdd1fa32071c4":
        print("ChaCha20 block function differs from RFC 8439 §2.3.2")
        return 1
    print(f"reference: RFC 3797 §6 key and selection, {len(load(commit_path)['cases'])} commit-reveal cases, RFC 8439 block: all match")
    return 0


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "draw":
            values, _ = draw(load(argv[3]), int(argv[2]))
            print(json.dumps(values, indent=2, ensure_ascii=False))
            return 0
        if len(argv) == 6 and argv[1] == "check":
            return cmd_check(*argv[2:])
        if len(argv) == 4 and argv[1] == "rfc3797":
            return cmd_rfc3797(*argv[2:])
    except (ValueError, KeyError, OSError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
