"""The mobile tables, next to the console's (SQLite and PostgreSQL alike)."""

from __future__ import annotations

__all__ = ["MOBILE_SCHEMA"]

MOBILE_SCHEMA = """
CREATE TABLE IF NOT EXISTS mobile_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person TEXT NOT NULL,
    site TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    silent INTEGER NOT NULL DEFAULT 0,
    token TEXT UNIQUE,
    enrol TEXT UNIQUE,
    enrol_expires TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    enrolled_at TEXT,
    revoked_at TEXT,
    revoked_by TEXT,
    last_seen_at TEXT
);
CREATE TABLE IF NOT EXISTS mobile_presses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device INTEGER NOT NULL,
    press_key TEXT NOT NULL,
    site TEXT NOT NULL,
    code TEXT NOT NULL,
    event INTEGER NOT NULL,
    alarm INTEGER,
    pressed_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    battery DOUBLE PRECISION,
    mic_until TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT,
    UNIQUE (device, press_key)
);
CREATE INDEX IF NOT EXISTS mobile_presses_alarm ON mobile_presses(alarm);
CREATE INDEX IF NOT EXISTS mobile_presses_unresolved ON mobile_presses(site) WHERE alarm IS NULL;
CREATE TABLE IF NOT EXISTS mobile_positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    press INTEGER NOT NULL,
    position_key TEXT NOT NULL,
    at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    accuracy DOUBLE PRECISION,
    battery DOUBLE PRECISION,
    UNIQUE (press, position_key)
);
CREATE INDEX IF NOT EXISTS mobile_positions_press ON mobile_positions(press, at);
CREATE TABLE IF NOT EXISTS mobile_recordings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    press INTEGER NOT NULL,
    file TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    deleted_at TEXT
);
CREATE INDEX IF NOT EXISTS mobile_recordings_press ON mobile_recordings(press, id);
"""
