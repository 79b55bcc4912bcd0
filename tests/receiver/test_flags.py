"""`wachter receiver` from flags alone: parsing, errors that never show a key, and a real
receiver subprocess that ACKs `wachter dc09 send` and has the event in its SQLite file."""

from __future__ import annotations

import argparse
import contextlib
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.loader import load_receiver
from receiver.flags import FlagError, add_receiver_flags, config_from_flags
from tests.broker import free_port
from tests.e2e.stack import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
KEY = "AAAAAAAAAAAAAAAA"
SECRET = "Sup3rS3cretKey!!"  # 16 characters: a valid ascii key that must never be printed


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_receiver_flags(parser)
    return parser.parse_args(list(argv))


def test_flags_alone_make_a_config(tmp_path: Path) -> None:
    cfg = config_from_flags(_args(
        "--listen", "tcp://127.0.0.1:9100", "--listen", "udp://0.0.0.0:9101",
        "--account", f"12AB:ascii:{KEY}", "--account", "0471:hex:" + "C7" * 16, "--account", "99",
        "--store", f"sqlite://{tmp_path}/r.db", "--http-port", "0",
    ), None)
    assert cfg.listen == ["tcp://127.0.0.1:9100", "udp://0.0.0.0:9101"]
    assert [(a.account, a.site) for a in cfg.accounts] == [
        ("12AB", "site-12ab"), ("0471", "site-0471"), ("99", "site-99")]
    assert [a.key.get_secret_value() if a.key else None for a in cfg.accounts] == [
        f"ascii:{KEY}", "hex:" + "C7" * 16, None]
    assert cfg.store_path == tmp_path / "r.db"
    assert cfg.http.port == 0


def test_flags_override_and_extend_a_config(tmp_path: Path) -> None:
    base = load_receiver(EXAMPLES / "receiver.yaml")
    cfg = config_from_flags(_args(
        "--listen", "tcp://127.0.0.1:9200", "--account", f"0471:ascii:{KEY}", "--account", "5555",
        "--store", f"sqlite://{tmp_path}/r.db",
    ), base)
    assert cfg.listen == ["tcp://127.0.0.1:9200"]
    demo, extra = cfg.accounts
    assert demo.site == "demo-home" and demo.contacts  # the config's account keeps its site
    assert demo.key is not None and demo.key.get_secret_value() == f"ascii:{KEY}"
    assert demo.code_word is not None and demo.code_word.get_secret_value() == "ascii-tulp"
    assert (extra.account, extra.key) == ("5555", None)
    assert cfg.http == base.http and cfg.console == base.console


def test_config_alone_is_unchanged() -> None:
    base = load_receiver(EXAMPLES / "receiver.yaml")
    assert config_from_flags(_args(), base) == base


@pytest.mark.parametrize(("argv", "expected"), [
    (["--account", f"12G4:ascii:{SECRET}"], "1 to 16 hex digits"),
    (["--account", f"1234:ascii:{SECRET}x"], "16, 24 or 32 characters"),
    (["--account", f"1234:plain:{SECRET}"], "hex:<32, 48 or 64 hex digits>"),
    (["--account", f"1234:hex:{SECRET}"], "only the digits 0-9 and A-F"),
    (["--account", f":ascii:{SECRET}"], "1 to 16 hex digits"),
    (["--account", f"1234:ascii:{SECRET}", "--account", f"1234:ascii:{SECRET}"], "given twice"),
    (["--listen", "tcp://127.0.0.1"], "write host and port"),
    (["--listen", "http://127.0.0.1:80"], "tcp:// or udp://"),
    (["--store", "/tmp/r.db"], "write sqlite:///PATH"),
    (["--http-port", "70000"], "0 to 65535"),
    ([], "--store sqlite:///PATH is needed"),
])
def test_bad_flags_are_named_and_never_show_the_key(argv: list[str], expected: str) -> None:
    store = [] if "--store" in argv or not argv else ["--store", "sqlite:///tmp/r.db"]
    with pytest.raises(FlagError) as err:
        config_from_flags(_args(*argv, *store), None)
    assert expected in str(err.value)
    assert SECRET[:8] not in str(err.value)


def _wachter(*argv: str) -> list[str]:
    return [sys.executable, "-m", "wachter.cli", *argv]


@contextlib.contextmanager
def _receiver(tmp: Path, *argv: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp / "receiver.log").open("wb")
    proc = subprocess.Popen(_wachter("receiver", *argv), cwd=ROOT, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (tmp / "receiver.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline, "receiver did not start listening"
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_receiver_from_flags_acks_dc09_send_and_stores_the_event(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "store" / "receiver.db"
    with _receiver(tmp_path, "--listen", f"tcp://127.0.0.1:{port}", "--account", f"1234:ascii:{KEY}",
                   "--store", f"sqlite://{db}", "--http-port", "0", port=port):
        sent = subprocess.run(
            _wachter("dc09", "send", "--host", "127.0.0.1", "--port", str(port), "--token", "SIA-DCS",
                     "--account", "1234", "--key-ascii", KEY, "--sequence", "42",
                     "--data", "#1234|Nri1/PA03"),
            cwd=ROOT, capture_output=True, timeout=30, check=False,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert b'"answer": "ACK"' in sent.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT site, account, sequence, code, zone, encrypted FROM events").fetchall()
    assert rows == [("site-1234", "1234", 42, "PA", "03", 1)]
    assert KEY.encode() not in (tmp_path / "receiver.log").read_bytes()


def test_malformed_flag_exits_2_without_showing_the_key(tmp_path: Path) -> None:
    done = subprocess.run(
        _wachter("receiver", "--account", f"1234:ascii:{SECRET}x", "--store", f"sqlite://{tmp_path}/r.db"),
        cwd=ROOT, capture_output=True, timeout=30, check=False,
    )
    assert done.returncode == 2
    assert b"--account 1234" in done.stderr
    assert SECRET[:8].encode() not in done.stderr + done.stdout


def test_an_account_key_from_a_file_stays_out_of_ps(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key_file = tmp_path / "0471.key"
    key_file.write_text(f"ascii:{SECRET}\n")
    cfg = config_from_flags(_args("--account", f"0471:file:{key_file}",
                                  "--store", f"sqlite://{tmp_path}/r.db"), None)
    [account] = cfg.accounts
    assert account.key is not None and account.key.get_secret_value() == f"ascii:{SECRET}"
    assert "visible to every user" not in caplog.text
    config_from_flags(_args("--account", f"0471:ascii:{SECRET}",
                            "--store", f"sqlite://{tmp_path}/r.db"), None)
    assert "visible to every user" in caplog.text and SECRET not in caplog.text
    with pytest.raises(FlagError, match="cannot read the key file"):
        config_from_flags(_args("--account", f"0471:file:{tmp_path / 'gone'}",
                                "--store", f"sqlite://{tmp_path}/r.db"), None)
