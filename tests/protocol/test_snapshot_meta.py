"""Snapshot metadata in a JPEG comment (MQTT 3.1.1 links): round trip, and what it refuses."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.snapshot import MAX_META, comment_meta, with_comment


def _jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((24, 32, 3), 120, np.uint8))
    assert ok
    return bytes(data)


JPEG = _jpeg()
META = (("alarm_id", "a1"), ("trigger", "doorbell"), ("index", "3"), ("count", "5"),
        ("ts", "2026-12-03T09:00:00+00:00"), ("device", "intercom-front"))


def test_the_metadata_rides_in_a_jpeg_that_still_decodes() -> None:
    payload = with_comment(JPEG, META)
    assert comment_meta(payload) == dict(META)
    image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (24, 32, 3)


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=8))
def test_any_small_metadata_round_trips(meta: dict[str, str]) -> None:
    assert comment_meta(with_comment(JPEG, meta.items())) == meta


def test_a_jpeg_without_our_comment_has_no_metadata() -> None:
    assert comment_meta(JPEG) == {}
    foreign = JPEG[:2] + b"\xff\xfe\x00\x07hello" + JPEG[2:]
    assert comment_meta(foreign) == {}
    assert comment_meta(b"not a jpeg") == {}
    assert with_comment(b"not a jpeg", META) == b"not a jpeg"


def test_a_truncated_comment_is_no_metadata() -> None:
    payload = with_comment(JPEG, META)
    assert comment_meta(payload[:30]) == {}


def test_oversized_metadata_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        with_comment(JPEG, [("x", "y" * MAX_META)])
