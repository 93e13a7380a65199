from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.services.usage_worker import UsageWorker
from weatherapi.redis import metering_store_connect, metering_store_url


class Command(BaseCommand):
    help = "Move buffered usage events from the Redis stream into the database (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain what is there now, then exit")
        parser.add_argument("--consumer", help="consumer name in the group (default: host-pid)")
        parser.add_argument("--batch", type=int, default=None, help="entries per batch")
        parser.add_argument("--reclaim-idle-ms", type=int, default=None,
                            help="take over entries another consumer left pending this long")

    def handle(self, *args: Any, **options: Any) -> None:
        url = metering_store_url()
        if not url:
            # Without Redis, events are written straight to the database at the request.
            self.stderr.write("USAGE_REDIS_URL and REDIS_URL are not set: usage goes straight to the "
                              "database, nothing to do.")
            return

        # The worker's own client, not django-redis's pool: its blocking XREADGROUP waits up
        # to 2 s, and the request path's 0.25 s socket timeout (CACHES) would end every quiet
        # wait in TimeoutError: a warning each time and a back-off of up to 10 s before the
        # next events move (found by scripts/drills.py).
        client = metering_store_connect(url, socket_timeout=10)
        worker = UsageWorker(
            client=client, consumer=options["consumer"], batch=options["batch"],
            reclaim_idle_ms=options["reclaim_idle_ms"],
        )
        if options["once"]:
            try:
                stored = worker.run_once()
            except Exception as e:
                raise CommandError(f"usage worker failed: {type(e).__name__}: {e}") from e
            self.stdout.write(f"stored {stored} new usage events")
            return
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stderr.write(f"usage worker {worker.consumer} reading {worker.stream}")
        worker.run_forever(should_stop=lambda: stopping)
