"""SIA-DCS location extended data: ``[X…]`` longitude, ``[Y…]`` latitude, ``[Z…]`` altitude.

The 2013 x-data list names X/Y/Z as longitude/latitude/altitude in ASCII; the one example in
the field (reference dc09.md A1.4) writes degrees, the hemisphere letter, then decimal
minutes: ``[X006E07.7777777][Y49N06.6666666]`` is 6° 07.7777777' E, 49° 06.6666666' N, i.e.
6.12963 E, 49.11111 N. We write exactly that layout (3-digit longitude and 2-digit latitude
degrees, 7 decimals of a minute: about 2 mm). We read it tolerantly: any number of degree
digits, the letter before or after the number, or signed decimal degrees (``X-6.12963``),
each such deviation named in ``quirks``. Altitude is read as metres.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import FrameFormatError

__all__ = ["Location", "location_blocks", "location_of", "parse_latitude", "parse_longitude"]

# degrees, hemisphere letter, minutes (the field's layout)
_DEG_MIN = re.compile(r"(?P<deg>\d{1,3})(?P<hemi>[NSEW])(?P<min>\d{1,2}(?:\.\d+)?)")
# letter last: 006 07.7777777E or 00607.7777777E (NMEA-like ddmm.mmmm)
_NMEA = re.compile(r"(?P<deg>\d{1,3}?)(?P<min>\d{2}(?:\.\d+)?)(?P<hemi>[NSEW])")
_LETTER_FIRST = re.compile(r"(?P<hemi>[NSEW])(?P<deg>\d{1,3})(?P<min>\d{2}(?:\.\d+)?)")
_DECIMAL = re.compile(r"[+-]?\d{1,3}(?:\.\d+)?")
_ALTITUDE = re.compile(r"[+-]?\d{1,5}(?:\.\d+)?M?", re.IGNORECASE)


@dataclass(frozen=True)
class Location:
    """A position in decimal degrees (WGS 84): north and east positive."""

    latitude: float
    longitude: float
    altitude: float | None = None  # metres
    quirks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (-90.0 <= self.latitude <= 90.0 and -180.0 <= self.longitude <= 180.0):
            raise FrameFormatError(f"position {self.latitude}, {self.longitude} is off the globe")
        if not (math.isfinite(self.latitude) and math.isfinite(self.longitude)):
            raise FrameFormatError("position is not a number")

    def text(self) -> str:
        """``6.12963 E, 49.11111 N``: what `wachter dc09 decode` and the console print."""
        lon = f"{abs(self.longitude):.5f} {'E' if self.longitude >= 0 else 'W'}"
        lat = f"{abs(self.latitude):.5f} {'N' if self.latitude >= 0 else 'S'}"
        return f"{lon}, {lat}"


def _hemisphere_value(value: str, axis: str, quirks: list[str]) -> float:
    """Decimal degrees from one X or Y value; ``axis`` is ``"X"`` or ``"Y"``."""
    letters = "EW" if axis == "X" else "NS"
    text = value.strip().upper().replace(" ", "")
    for pattern, quirk in ((_DEG_MIN, None), (_LETTER_FIRST, "letter_first"), (_NMEA, "letter_last")):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        if match["hemi"] not in letters:
            raise FrameFormatError(f"{axis} value {value!r}: hemisphere must be {' or '.join(letters)}")
        minutes = float(match["min"])
        if minutes >= 60:
            raise FrameFormatError(f"{axis} value {value!r}: minutes must be below 60")
        if quirk:
            quirks.append(f"location_{quirk}")
        degrees = int(match["deg"]) + minutes / 60
        return -degrees if match["hemi"] in "SW" else degrees
    if _DECIMAL.fullmatch(text):
        quirks.append("location_decimal_degrees")
        return float(text)
    raise FrameFormatError(f"{axis} value {value!r} is not a position (expected e.g. 006E07.7777777)")


def parse_longitude(value: str, quirks: list[str] | None = None) -> float:
    return _hemisphere_value(value, "X", quirks if quirks is not None else [])


def parse_latitude(value: str, quirks: list[str] | None = None) -> float:
    return _hemisphere_value(value, "Y", quirks if quirks is not None else [])


def location_of(extended: Iterable[tuple[str, str]]) -> Location | None:
    """The position an event's x-data carries: None without both X and Y; FrameFormatError
    when they are there but unreadable (the caller decides whether that costs the event)."""
    blocks = dict(extended)
    if "X" not in blocks or "Y" not in blocks:
        return None
    quirks: list[str] = []
    lon = _hemisphere_value(blocks["X"], "X", quirks)
    lat = _hemisphere_value(blocks["Y"], "Y", quirks)
    altitude = None
    if "Z" in blocks:
        raw = blocks["Z"].strip()
        if not _ALTITUDE.fullmatch(raw):
            raise FrameFormatError(f"Z value {raw!r} is not an altitude in metres")
        altitude = float(raw.rstrip("mM"))
    return Location(lat, lon, altitude, tuple(quirks))


def _degrees_minutes(value: float, width: int, letters: str) -> str:
    hemi = letters[0] if value >= 0 else letters[1]
    value = abs(value)
    degrees = int(value)
    minutes = round((value - degrees) * 60, 7)
    if minutes >= 60:  # rounding carried over
        degrees, minutes = degrees + 1, 0.0
    return f"{degrees:0{width}d}{hemi}{minutes:010.7f}"


def location_blocks(location: Location) -> tuple[tuple[str, str], ...]:
    """The x-data blocks for ``location``: X and Y, and Z when the altitude is known."""
    blocks = [
        ("X", _degrees_minutes(location.longitude, 3, "EW")),
        ("Y", _degrees_minutes(location.latitude, 2, "NS")),
    ]
    if location.altitude is not None:
        blocks.append(("Z", f"{location.altitude:.0f}"))
    return tuple(blocks)
