"""A loopback SMTP sink that answers every message only after a delay.

    .venv/bin/python bench/smtp_delay.py --port 8025 --delay 2 --log out.jsonl

For bench/orders.py: each message is held ``--delay`` seconds (an
``asyncio.sleep``, so concurrent deliveries overlap) before the 250, then one
JSON line is appended to ``--log``: recipients, subject, Message-ID, time.
Runs until SIGTERM or SIGINT.
"""

import argparse
import asyncio
import json
import signal
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any, TextIO

from aiosmtpd.smtp import SMTP


class DelayedSink:
    def __init__(self, delay: float, log: TextIO) -> None:
        self.delay = delay
        self.log = log
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content)
        record = {
            "to": list(envelope.rcpt_tos),
            "subject": str(make_header(decode_header(message.get("Subject", "")))),
            "message_id": message.get("Message-ID", ""),
            "at": time.time(),
        }
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()
        self.received += 1
        return "250 OK"


async def serve(host: str, port: int, delay: float, log_path: str) -> None:
    loop = asyncio.get_running_loop()
    with open(log_path, "a") as log:
        sink = DelayedSink(delay, log)
        server = await loop.create_server(
            lambda: SMTP(sink, hostname="bench-sink", data_size_limit=None),
            host=host,
            port=port,
        )
        stopped = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopped.set)
        await stopped.wait()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--log", required=True, help="JSON lines, one per message")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.delay, args.log))


if __name__ == "__main__":
    main()
