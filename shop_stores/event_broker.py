"""Rasa's SQL event broker, writing in batches from a background thread.

Rasa 3.6's `SQLEventBroker.publish` opens a session, inserts one row and commits,
synchronously, for every event: about ten commits per turn inside the event loop,
a tenth of a replica's time under load (`make bench`, py-spy). This broker queues
the event and returns; one thread writes what has queued up every `flush_seconds`
(default 0.2 s) in one transaction, into the same `events` table, so
tools/analytics_report.py reads it unchanged.

The event log feeds analytics only; conversations live in the tracker store. On a
crash, at most the last `flush_seconds` of events miss the log; a clean shutdown
(`close`, and at interpreter exit) writes everything queued.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
import threading
from asyncio import AbstractEventLoop
from typing import Any, Dict, List, Optional, Text

from rasa.core.brokers.sql import SQLEventBroker
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

MAX_BATCH = 1000


class BatchingSQLEventBroker(SQLEventBroker):
    """SQLEventBroker whose `publish` never waits for the database (see the module docstring)."""

    def __init__(self, flush_seconds: Any = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flush_seconds = float(flush_seconds)
        self._queue: "queue.Queue[Optional[Dict[Text, Any]]]" = queue.Queue()
        self._writer = threading.Thread(target=self._write_forever, name="event-log-writer", daemon=True)
        self._writer.start()
        atexit.register(self._stop)

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[AbstractEventLoop] = None
    ) -> "BatchingSQLEventBroker":
        return cls(host=broker_config.url, **broker_config.kwargs)

    def publish(self, event: Dict[Text, Any]) -> None:
        self._queue.put(event)

    def _write_forever(self) -> None:
        stopping = False
        while not stopping:
            batch: List[Dict[Text, Any]] = []
            try:
                first = self._queue.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            threading.Event().wait(self.flush_seconds)  # let a batch gather
            for item in [first] + self._drain():
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            self._write(batch)

    def _drain(self) -> List[Optional[Dict[Text, Any]]]:
        items = []
        while len(items) < MAX_BATCH:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _write(self, batch: List[Dict[Text, Any]]) -> None:
        if not batch:
            return
        rows = [{"sender_id": event.get("sender_id"), "data": json.dumps(event)} for event in batch]
        try:
            with self.session_scope() as session:
                session.bulk_insert_mappings(self.SQLBrokerEvent, rows)
                session.commit()
        except Exception:  # noqa: BLE001 - the event log must never stop a conversation
            logger.exception("Could not write %d events to the event log", len(rows))

    def _stop(self) -> None:
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout=10)

    async def close(self) -> None:
        self._stop()

    def is_ready(self) -> bool:
        return self._writer.is_alive()
