"""gunicorn's gthread worker, with a pool thread that stays on a busy keep-alive connection.

Stock gthread hands every request of a kept-alive connection across two threads: the
main thread polls the socket, hands it to a pool thread, and after the answer the pool
thread hands it back (a queue, a byte down a pipe, the socket registered with the poller
again). Each hand-off is a wake-up and a turn at the GIL, for which the worker's busy
threads queue; on two cores that was a third of the voluntary context switches of a
cached answer (docs/performance.md).

``KeepAliveThreadWorker`` lets the pool thread that has just answered wait up to
``KEEPALIVE_LINGER_SECONDS`` for the connection's next request and serve it itself. The
connection goes back to the main thread, exactly as in stock gthread, when:

* no request arrives in time (an idle client holds no thread for longer than that);
* another connection is waiting for a pool thread (checked before each wait, so a
  connection queued meanwhile waits at most one linger, 5 ms, behind a busy one);
* the worker is stopping, or the answer closed the connection.

Everything else (parsing, keep-alive limits, timeouts, graceful stop, HTTP/2) is
gthread's own code, called unchanged.
"""

from __future__ import annotations

import select
import ssl
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# A client on the same connection sends its next request within a round trip of the
# answer; behind the ALB a busy connection carries the next request sooner still.
KEEPALIVE_LINGER_SECONDS = 0.005


class KeepAliveThreadWorker(ThreadWorker):
    def handle(self, conn: Any) -> Any:
        keepalive = super().handle(conn)
        while keepalive is True and self.alive and self._next_request_here(conn):
            keepalive = super().handle(conn)
        return keepalive

    def _next_request_here(self, conn: Any) -> bool:
        """Whether this thread should serve the connection's next request (module docstring)."""
        if self.tpool._work_queue.qsize():  # noqa: SLF001 - the executor's queue of waiting connections
            return False
        sock = conn.sock
        if conn.parser.unreader.buf.getvalue() or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            return True  # already read (ahead with the last body, or decrypted): no poll would see it
        waiting = select.poll()  # not select(): descriptors above 1023
        try:
            waiting.register(sock, select.POLLIN)
            return bool(waiting.poll(KEEPALIVE_LINGER_SECONDS * 1000))
        except (OSError, ValueError):  # closed meanwhile: gthread's own path cleans up
            return False
