#!/usr/bin/env python3
"""Sends a bounded stream of hostile UDP datagrams to a WireGuard listen port.

Half are random bytes of random length (0..1500), half look like WireGuard messages (type 1..4, the reserved zero
bytes) with random contents, some at their exact size (so they reach MAC checks / index lookups) and some truncated
or over-long. Prints how many were sent. Deterministic for a given --seed so a failure can be replayed.
"""
import argparse
import random
import socket
import time

# Exact sizes of the four message types (initiation, response, cookie reply, transport header+tag).
SIZES = {1: 148, 2: 92, 3: 64, 4: 32}


def datagrams(rng, count):
    for i in range(count):
        if i % 2 == 0:
            yield rng.randbytes(rng.randrange(0, 1501))
            continue
        kind = rng.choice([1, 2, 3, 4])
        size = SIZES[kind]
        shape = rng.randrange(3)
        if shape == 0:
            length = size if kind != 4 else rng.randrange(32, 1501)
        elif shape == 1:
            length = rng.randrange(0, size)
        else:
            length = rng.randrange(size + 1, 1501)
        body = bytes([kind, 0, 0, 0]) + rng.randbytes(max(0, length - 4))
        yield body[:length]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    rng = random.Random(args.seed)
    sent = 0
    for i, payload in enumerate(datagrams(rng, args.count)):
        sock.sendto(payload, (args.host, args.port))
        sent += 1
        # A short pause now and then keeps the stream within the receiver's socket buffer, so the counters can be
        # compared with what was sent.
        if i % 50 == 49:
            time.sleep(0.005)
    print(sent)


if __name__ == "__main__":
    main()
