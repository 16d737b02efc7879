#!/usr/bin/python3
"""bench_idle_memory: wardgate's own memory per idle proxied connection.

With wardgate running, a client in the ct namespace opens CONNECTIONS connections to pacs:104,
where a server in the pacs namespace accepts and holds them. Each connection first carries one byte
each way, so every session is fully established and has relayed data once; then all sit idle.
wardgate's VmRSS (/proc/PID/status) before and after gives the per-connection figure the target
applies to (DESIGN.md: <= 32 KiB per idle connection). The kernel's socket buffers held by the
gw namespace's sockets (`ss -tm`) are reported beside it, for information only.

The same file is the peer: `bench_idle_memory.py serve PORT` and
`bench_idle_memory.py hold HOST PORT COUNT [--close]` run inside the lab's namespaces.
"""

import asyncio
import os
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402

BENCH = "idle_memory"
LAB = "bnidle"
PORT = 104
CONNECTIONS = int(os.environ.get("WARDGATE_BENCH_CONNECTIONS", "1000"))
WARMUP = 20
BATCH = 100
IO_TIMEOUT = 20.0
SETTLE_S = 1.0


# -- peers (run inside the lab's namespaces) ------------------------------------------------------
def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(port):
    async def session(reader, writer):
        try:
            data = await reader.read(1)
            if data:
                writer.write(data)
                await writer.drain()
                await reader.read(1)  # held until the client closes
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(session, "0.0.0.0", port, backlog=4096)
    print(f"serving on {port}", flush=True)
    async with server:
        await server.serve_forever()


async def hold(host, port, count, close):
    async def one():
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"x")
        await writer.drain()
        if await reader.readexactly(1) != b"x":
            raise ConnectionError("echo mismatch")
        return reader, writer

    conns = []
    for start in range(0, count, BATCH):
        n = min(BATCH, count - start)
        conns += await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), IO_TIMEOUT)
    print(f"established {len(conns)}", flush=True)
    if close:
        for _, writer in conns:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for _, w in conns), return_exceptions=True)
        return
    await asyncio.Event().wait()  # idle until stopped (SIGTERM by the lab)


def peer_main(argv):
    raise_nofile()
    if argv[0] == "serve":
        asyncio.run(serve(int(argv[1])))
    elif argv[0] == "hold":
        asyncio.run(hold(argv[1], int(argv[2]), int(argv[3]), "--close" in argv[4:]))
    else:
        sys.exit(f"unknown peer command {argv[0]!r}")


# -- the benchmark --------------------------------------------------------------------------------
SKMEM = re.compile(r"skmem:\(([^)]*)\)")


def gw_sockets(lab):
    """Established TCP sockets in the gw namespace (all wardgate's) and their skmem byte total."""
    out = lab.run("gw", ["ss", "-Htnm", "state", "established"]).stdout.decode()
    count, total = 0, 0
    for m in SKMEM.finditer(out):
        count += 1
        fields = dict(re.match(r"([a-z]+)(\d+)", f).groups() for f in m.group(1).split(","))
        # Memory charged to the socket: receive queue, send queue, forward allocation, options,
        # backlog. rb/tb are limits, d is a drop count.
        total += sum(int(fields.get(k, 0)) for k in ("r", "t", "f", "w", "o", "bl"))
    return count, total


def kernel_objects_bytes():
    """Slab objects a socket costs the kernel beyond its buffers (struct tcp_sock, inode, file,
    dentry, epoll item), from /proc/slabinfo object sizes; 0 where slabinfo is unreadable."""
    sizes = {}
    try:
        for line in Path("/proc/slabinfo").read_text().splitlines()[2:]:
            f = line.split()
            sizes[f[0]] = int(f[3])
    except (OSError, IndexError, ValueError):
        return 0
    return sum(sizes.get(k, 0) for k in ("TCP", "sock_inode_cache", "filp", "dentry",
                                          "eventpoll_epi"))


def peer(*args):
    return [sys.executable, str(Path(__file__).resolve()), *map(str, args)]


def settled_rss(pid):
    time.sleep(SETTLE_S)
    return benchlib.proc_status_kib(pid, "VmRSS")


def run():
    from labkit import Lab

    machine = benchlib.machine_note()
    report = benchlib.Report(BENCH)
    with Lab(LAB) as lab:
        config = lab.plain_tcp_config(proxy={"max_connections_per_device": max(256, 2 * CONNECTIONS),
                                            "max_connections": max(10000, 4 * CONNECTIONS)})
        wardgate = lab.start_wardgate(config)
        pid = benchlib.wardgate_pid(wardgate)
        lab.start("pacs", peer("serve", PORT), ready_port=PORT)
        pacs = lab.ip("pacs")

        # Warm-up: the first sessions touch code and allocator arenas once per worker thread.
        lab.run("ct", peer("hold", pacs, PORT, WARMUP, "--close"), timeout=60)
        if not benchlib.wait_until(lambda: benchlib.sessions_closed(wardgate) >= WARMUP, 10):
            raise BenchFailure(f"warm-up: wardgate relayed {benchlib.sessions_closed(wardgate)} "
                               f"of {WARMUP} sessions:\n{wardgate.log()[-2000:]}")
        rss_before = settled_rss(pid)

        client = lab.start("ct", peer("hold", pacs, PORT, CONNECTIONS),
                           ready_text=f"established {CONNECTIONS}", timeout=120)
        # Every connection is relayed by wardgate: two established sockets each in gw.
        if not benchlib.wait_until(lambda: gw_sockets(lab)[0] >= 2 * CONNECTIONS, 10, 0.2):
            raise BenchFailure(f"{gw_sockets(lab)[0]} established sockets in gw, expected "
                               f"{2 * CONNECTIONS}: connections not proxied")
        rss_after = settled_rss(pid)
        sockets, skmem = gw_sockets(lab)
        if not client.running():
            raise BenchFailure(f"client exited early:\n{client.log()[-2000:]}")

        closed_before = benchlib.sessions_closed(wardgate)
        client.stop()
        benchlib.wait_until(
            lambda: benchlib.sessions_closed(wardgate) >= closed_before + CONNECTIONS, 20, 0.1)
        rss_closed = settled_rss(pid)
        hwm = benchlib.proc_status_kib(pid, "VmHWM")

    per_conn = (rss_after - rss_before) / CONNECTIONS
    report.add("idle_connection_kib", round(per_conn, 2), "KiB", "<= 32",
               note="wardgate VmRSS growth / connection (the target's figure)")
    report.add("rss_before_kib", rss_before, "KiB", note=f"after {WARMUP} warm-up sessions")
    report.add("rss_idle_kib", rss_after, "KiB", note=f"{CONNECTIONS} idle proxied connections")
    report.add("rss_after_close_kib", rss_closed, "KiB", note=f"all closed; VmHWM {hwm} KiB")
    report.add("idle_connection_kernel_skmem_kib", round(skmem / 1024 / CONNECTIONS, 2), "KiB",
               note=f"kernel, not wardgate: ss -tm buffers over {sockets} gw sockets")
    report.add("idle_connection_kernel_objects_kib", round(2 * kernel_objects_bytes() / 1024, 2),
               "KiB", note="kernel, not wardgate: estimate, 2 sockets x slab object sizes")
    report.print(notes=[machine,
                        "The target applies to wardgate's own memory (VmRSS); the kernel figures "
                        "are socket buffers and socket objects, for information."])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        peer_main(sys.argv[1:])
    else:
        benchlib.main(run)
