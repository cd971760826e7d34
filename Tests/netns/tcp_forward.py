#!/usr/bin/env python3
"""A TCP forwarder for the several-hosts process tests (Tests/IntegrationTests/PostgresHostsTests.swift).

Usage: tcp_forward.py LISTEN_HOST:PORT TARGET_HOST:PORT

The services allow plain HTTP to loopback only (the sandbox's stand-ins for Atlassian and Microsoft
included), so on each test "host" the sandbox, which runs on another, is reached through this:
127.0.0.1:PORT on the host, forwarded over the test network. Bytes pass through unchanged, each
direction closed on its own (half-close), like a NAT hop.
"""
import asyncio
import signal
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def handle(client_reader, client_writer, target):
    try:
        target_reader, target_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(
        pipe(client_reader, target_writer), pipe(target_reader, client_writer), return_exceptions=True)
    client_writer.close()
    target_writer.close()


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


async def main():
    listen, target = address(sys.argv[1]), address(sys.argv[2])
    server = await asyncio.start_server(lambda r, w: handle(r, w, target), *listen)
    print(f"forwarding {sys.argv[1]} -> {sys.argv[2]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    # The test process that starts this may block SIGTERM in its threads (a blocked mask is inherited
    # across exec): unblock it, with the default action, so the stack's SIGTERM stops the forwarder.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    asyncio.run(main())
