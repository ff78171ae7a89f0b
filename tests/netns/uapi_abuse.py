#!/usr/bin/env python3
"""Sends malformed requests to a WireGuard UAPI socket and checks each answer.

Every request must get a non-zero `errno=N` answer (negative with --negative) or a closed connection, within a few seconds (a bad client
must not wedge the daemon). Prints one line per case; exits 1 if any case got `errno=0`, hung, or anything else.
--hold N keeps N silent connections open for the duration (to check the daemon still serves others).
"""
import argparse
import re
import socket
import sys

TIMEOUT_S = 8.0


def cases(new_key):
    return [
        ("garbage line", b"garbage\n\n"),
        ("unknown get version", b"get=2\n\n"),
        ("unknown set version", b"set=7\n\n"),
        ("unknown key", b"set=1\nbogus_key=1\n\n"),
        ("bad private key", b"set=1\nprivate_key=zz\n\n"),
        ("listen port out of range", b"set=1\nlisten_port=70000\n\n"),
        ("peer key not base64/hex", b"set=1\npublic_key=not-a-key\n\n"),
        ("allowed_ip before any peer", b"set=1\nallowed_ip=100.64.7.0/24\n\n"),
        ("bad allowed ip", b"set=1\npublic_key=" + new_key + b"\nallowed_ip=300.1.1.1/33\n\n"),
        ("bad endpoint", b"set=1\nlisten_port=51999\npublic_key=" + new_key + b"\nendpoint=nowhere\n\n"),
        ("missing value", b"set=1\nfwmark\n\n"),
        ("truncated, then EOF", b"set=1\npublic_key="),
        ("binary noise", bytes(range(256)) * 8),
        ("overlong line", b"set=1\nprivate_key=" + b"a" * 200000 + b"\n\n"),
    ]


def exchange(path, payload):
    """Returns (answer, how it ended)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    s.connect(path)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass  # The daemon may close as soon as it has seen enough garbage: fine.
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data, "closed"
            data += chunk
    except socket.timeout:
        return data, "timeout"
    except ConnectionResetError:
        return data, "reset"
    finally:
        s.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("socket_path")
    parser.add_argument("new_public_key", help="a key that is not a peer: must not be added by a failed set")
    parser.add_argument("--hold", type=int, default=0)
    parser.add_argument(
        "--negative",
        action="store_true",
        help="require errno < 0, as wireguard-go answers a refused set and `wg set` expects (it negates what it reads)",
    )
    args = parser.parse_args()
    held = []
    for _ in range(args.hold):
        h = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        h.connect(args.socket_path)
        held.append(h)
    bad = 0
    for name, payload in cases(args.new_public_key.encode()):
        answer, ended = exchange(args.socket_path, payload)
        text = answer.decode(errors="replace")
        m = re.search(r"errno=(-?\d+)", text)
        errno_ok = m is not None and (int(m.group(1)) < 0 if args.negative else int(m.group(1)) != 0)
        ok = ended != "timeout" and (errno_ok or (m is None and answer == b""))
        verdict = "ok" if ok else "BAD"
        bad += not ok
        print(f"{verdict}: {name}: {ended}, answer {text.strip()!r:.80}")
    for h in held:
        h.close()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
