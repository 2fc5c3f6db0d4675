#!/usr/bin/env python3
"""A tiny loopback webhook receiver for Benchmarks/webhooks.sh: answers every HTTP/1.1 request
with `200` (keep-alive) and counts them. asyncio protocol, one process, no body parsing beyond
framing (Content-Length), so it costs little CPU next to the server under test.

    webhook_receiver.py PORT_FILE COUNT_FILE

Binds 127.0.0.1 on a free port, writes the port to PORT_FILE, and on SIGTERM writes
"<requests> <bytes>" to COUNT_FILE. The request count is also written every second.
"""
import asyncio
import signal
import sys

count = 0
nbytes = 0
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"


class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = bytearray()

    def data_received(self, data):
        global count, nbytes
        self.buf += data
        nbytes += len(data)
        out = 0
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            length = 0
            for line in bytes(self.buf[:end]).lower().split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
            if len(self.buf) < end + 4 + length:
                break
            del self.buf[:end + 4 + length]
            out += 1
        if out:
            count += out
            self.t.write(RESPONSE * out)


async def main(port_file, count_file):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", 0, backlog=1024)
    with open(port_file, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    while not stop.done():
        with open(count_file, "w") as f:
            f.write(f"{count} {nbytes}\n")
        await asyncio.wait([stop], timeout=1)
    with open(count_file, "w") as f:
        f.write(f"{count} {nbytes}\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
