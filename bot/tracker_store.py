"""Rasa's SQL tracker store with every event encrypted at rest (issue 21, docs/security.md).

Rasa 3.6's SQLTrackerStore keeps each event as clear JSON, so every message a patient typed
(one-time codes and birth dates in the identity form included) and every slot value would sit
in its database. This store keeps Rasa's table and queries (sessions are still found by the
`type_name` and `timestamp` columns) and changes only what is written and read back: `data` is
sealed (bot/sealed_events.py) under the message log's ENCRYPTION_KEY, and the `intent_name` and
`action_name` columns, which Rasa never reads back, stay empty because an intent name says what
a patient asked about. Configured in endpoints.yml (and in the scaled profile's endpoints,
scripts/stack_scaled.py) as `type: bot.tracker_store.EncryptedSQLTrackerStore`.

Rasa falls back to its in-memory store, with only a warning, when it cannot import a custom
store; `tests/bot/test_tracker_store.py` loads this one through Rasa's own factory to catch that.
A missing or weak ENCRYPTION_KEY stops Rasa at start-up instead (shared_secret.WeakSecret).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from backend.core.crypto import Cipher
from bot.sealed_events import cipher_from_env, seal, unseal

logger = logging.getLogger(__name__)


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose events are stored encrypted; same table, same queries."""

    def __init__(
        self, domain: Domain | None = None, cipher: Cipher | None = None, **kwargs: Any
    ) -> None:
        # Before Rasa connects: a bad key must stop the process before anything is stored.
        self.cipher = cipher or cipher_from_env()
        super().__init__(domain, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events Rasa has not stored yet, sealed (as SQLTrackerStore.save, which
        writes `json.dumps(event)` in clear)."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        data=seal(self.cipher, data),
                    )
                )
            session.commit()
        logger.debug("tracker %s stored (encrypted)", tracker.sender_id)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """The tracker from its unsealed events (as SQLTrackerStore._retrieve)."""
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [unseal(self.cipher, row.data) for row in rows]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
