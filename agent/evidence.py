"""Evidence relay: intercom snapshots are spooled to disk, then uploaded to the alarm centre.

Snapshots arrive as binary JPEG on ``…/device/<id>/snapshot`` with MQTT v5 user properties
(``alarm_id``, ``trigger``, ``index``, ``ts``), or with the same pairs in a JPEG comment on an
MQTT 3.1.1 link (protocol/snapshot.py). Each is committed to a spool (SQLite) first and
leaves it only when the receiver has stored it (HTTP 201), retried with backoff like events.
An alarm is never held back for its evidence; the receiver links evidence to the alarm by
site, time and ``ref``, and later reports carry the newest URL as DC-09 extended data ``V``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import aiomqtt
import aiosqlite
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from config.site import Site
from protocol import mqtt
from protocol.mqtt_client import bounded, still_wanted
from protocol.snapshot import comment_meta

__all__ = ["EvidenceRelay"]

log = logging.getLogger(__name__)

SPOOL_LIMIT = 200  # snapshots kept while the alarm centre is unreachable (oldest dropped)
FRESH = timedelta(minutes=5)  # how long an uploaded snapshot is "the evidence" for new reports
_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, ref TEXT NOT NULL,
    received_at TEXT NOT NULL, data BLOB NOT NULL
);
"""


def _ref(message: aiomqtt.Message, device: str, payload: bytes) -> str:
    props = getattr(message.properties, "UserProperty", None) or []
    meta = dict(props) or comment_meta(payload)  # MQTT v5, else the JPEG's comment (3.1.1)
    alarm = meta.get("alarm_id") or "unsolicited"
    return f"{device}:{alarm}:{meta.get('trigger', '')}:{meta.get('index', '0')}"[:200]


class EvidenceRelay:
    """Runs with the agent; does nothing when the site has no ``evidence_url``."""

    def __init__(self, site: Site, clock: Callable[[], datetime]) -> None:
        self.site = site
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self.latest: tuple[datetime, str] | None = None  # (uploaded at, URL)
        self._db: aiosqlite.Connection | None = None
        self._queued = asyncio.Event()

    @property
    def enabled(self) -> bool:
        centre = self.site.alarm_centre
        return bool(centre.evidence_url and centre.evidence_token)

    def current_url(self) -> str | None:
        if self.latest and self.clock() - self.latest[0] <= FRESH:
            return self.latest[1]
        return None

    async def run(self) -> None:
        if not self.enabled:
            return
        async with aiosqlite.connect(self.site.state_dir / "evidence.db") as db:
            self._db = db
            await db.executescript(_SCHEMA)
            (self.site.state_dir / "evidence.db").chmod(0o600)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._collect(), name="evidence-collect")
                tg.create_task(self._upload(), name="evidence-upload")

    # -- from the broker to the spool -------------------------------------------------
    def _client(self) -> aiomqtt.Client:
        url = urlsplit(self.site.mqtt.url)
        # a stored session, so that snapshots sent while we restart still arrive
        if self.site.mqtt.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
            session: dict[str, Any] = {"protocol": aiomqtt.ProtocolVersion.V5, "clean_start": False,
                                       "properties": props}
        else:
            session = {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": False}
        return aiomqtt.Client(
            url.hostname or "127.0.0.1", url.port or 1883,
            identifier=f"wachter-agent-evidence-{self.site.id}",
            **session,
            username=self.site.mqtt.username,
            password=self.site.mqtt.password_file.read_text().strip()
            if self.site.mqtt.password_file else None,
            timeout=10,
        )

    async def _collect(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with bounded(self._client()) as client:
                    await client.subscribe(mqtt.site_filter(self.site.id, mqtt.Channel.SNAPSHOT), qos=1)
                    backoff = 0.5
                    async for message in client.messages:
                        await self._spool(message)
            except aiomqtt.MqttError as exc:
                still_wanted()  # the disconnect may have swallowed our cancellation (Python 3.11)
                log.warning("evidence: broker connection lost (%s)", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    async def _spool(self, message: aiomqtt.Message) -> None:
        if not message.topic.matches(mqtt.site_filter(self.site.id, mqtt.Channel.SNAPSHOT)):
            self.counters["not_subscribed"] += 1  # a broker that sends what we did not ask for
            return
        payload = message.payload
        device = message.topic.value.split("/")[-2]
        if not isinstance(payload, bytes | bytearray) or bytes(payload[:2]) != b"\xff\xd8":
            self.counters["bad_snapshot"] += 1
            log.warning("evidence: %s sent a snapshot that is not a JPEG", device)
            return
        assert self._db is not None
        await self._db.execute(
            "INSERT INTO spool (device, ref, received_at, data) VALUES (?,?,?,?)",
            (device, _ref(message, device, bytes(payload)), self.clock().isoformat(), bytes(payload)),
        )
        await self._db.execute(
            "DELETE FROM spool WHERE id <= (SELECT MAX(id) FROM spool) - ?", (SPOOL_LIMIT,)
        )
        await self._db.commit()
        self.counters["spooled"] += 1
        self._queued.set()

    # -- from the spool to the alarm centre -------------------------------------------
    async def _upload(self) -> None:
        centre = self.site.alarm_centre
        assert centre.evidence_url and centre.evidence_token and self._db is not None
        headers = {"Authorization": f"Bearer {centre.evidence_token.get_secret_value()}",
                   "Content-Type": "image/jpeg"}
        backoff = 1.0
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            while True:
                still_wanted()
                async with self._db.execute(
                    "SELECT id, ref, data FROM spool ORDER BY id LIMIT 1"
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    self._queued.clear()
                    await self._queued.wait()
                    continue
                if await self._send(http, centre.evidence_url, row[1], row[2]):
                    await self._db.execute("DELETE FROM spool WHERE id = ?", (row[0],))
                    await self._db.commit()
                    backoff = 1.0
                else:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 60)

    async def _send(self, http: aiohttp.ClientSession, base: str, ref: str, data: bytes) -> bool:
        try:
            async with http.post(f"{base.rstrip('/')}/api/evidence", params={"ref": ref},
                                 data=data) as resp:
                if resp.status == 201:
                    body = await resp.json()
                    self.latest = (self.clock(), f"{base.rstrip('/')}{body['url']}")
                    self.counters["uploaded"] += 1
                    return True
                self.counters[f"http_{resp.status}"] += 1
                log.warning("evidence upload refused: HTTP %d", resp.status)
                # a snapshot the centre calls malformed will never pass: drop it, loudly;
                # anything else (401 after a token change, 5xx) is retried
                return resp.status in (400, 413, 415)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.counters["upload_failed"] += 1
            log.info("evidence upload failed (%s); will retry", exc.__class__.__name__)
            return False
