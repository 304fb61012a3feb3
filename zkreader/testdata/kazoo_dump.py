#!/usr/bin/python3
"""A peer's full dump of a ZooKeeper subtree with kazoo's async API (the
baseline zkreader's benchmark compares against). Walks the tree level by
level: for every znode of a level it issues get_async and get_children_async
at once (kazoo pipelines them on its one connection), then waits for all.
Prints one JSON line: {"znodes": N, "seconds": S, "bytes": B}.

usage: kazoo_dump.py HOSTS ROOT
"""
import json
import logging
import sys
import time

from kazoo.client import KazooClient


def main():
    hosts, root = sys.argv[1], sys.argv[2]
    logging.basicConfig(level=logging.ERROR)
    zk = KazooClient(hosts=hosts, timeout=30.0)
    zk.start(timeout=30)
    try:
        start = time.monotonic()
        znodes = 0
        nbytes = 0
        level = [root]
        while level:
            gets = [(p, zk.get_async(p), zk.get_children_async(p)) for p in level]
            nxt = []
            for p, g, c in gets:
                data, _stat = g.get(timeout=60)
                znodes += 1
                nbytes += len(data or b"")
                base = p.rstrip("/")
                nxt.extend(base + "/" + ch for ch in c.get(timeout=60))
            level = nxt
        secs = time.monotonic() - start
    finally:
        zk.stop()
        zk.close()
    print(json.dumps({"znodes": znodes, "seconds": secs, "bytes": nbytes}))


if __name__ == "__main__":
    main()
