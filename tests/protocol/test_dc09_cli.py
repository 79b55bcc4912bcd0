"""`wachter dc09 decode|encode|send` driven through argparse, output captured with capsys."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from protocol.dc09 import FrameSplitter, ack, decode, nak
from wachter.dc09_cli import add_parser

SIA_05BB = (
    '05BB0076"*SIA-DCS"7654L0#1111[C07DA1EB73C617857476EE5D79436CEE5E0084485E79EC56B0D5D1F3F'
    "6E648B278050BBCCBC8FE5DCA7E3C80DBDD4945"
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="wachter")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr().out


def test_decode_plain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["dc09", "decode", 'CDA80026"NULL"0000L0#AAA[]_19:08:35,04-29-2021'], capsys)
    assert code == 0
    assert json.loads(out) == {
        "valid": True,
        "token": "NULL",
        "encrypted": False,
        "sequence": 0,
        "receiver": None,
        "prefix": "0",
        "account": "AAA",
        "data": "",
        "extended": [],
        "timestamp": "2021-04-29T19:08:35+00:00",
        "quirks": [],
    }


def test_decode_encrypted_with_ascii_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["dc09", "decode", SIA_05BB, "--key-ascii", "A" * 16], capsys)
    result = json.loads(out)
    assert code == 0 and result["data"] == "Nri1/WA000" and result["encrypted"] is True


def test_a_key_on_the_command_line_is_warned_about(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="wachter")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dc09", "decode", SIA_05BB, "--key-ascii", "A" * 16])
    assert args.func(args) == 0
    assert "visible to every user" in capsys.readouterr().err


def test_the_key_from_a_file_or_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys kept out of the command line, where `ps` shows them to every user."""
    key_file = tmp_path / "dc09.key"
    key_file.write_text("ascii:" + "A" * 16 + "\n")
    code, out = run(["dc09", "decode", SIA_05BB, "--key-file", str(key_file)], capsys)
    assert code == 0 and json.loads(out)["data"] == "Nri1/WA000"
    monkeypatch.setenv("WACHTER_DC09_KEY", "ascii:" + "A" * 16)
    code, out = run(["dc09", "decode", SIA_05BB], capsys)
    assert code == 0 and json.loads(out)["data"] == "Nri1/WA000"
    code, out = run(["dc09", "decode", SIA_05BB, "--key-file", str(tmp_path / "missing")], capsys)
    assert code == 1 and "--key-file" in json.loads(out)["error"]


def test_decode_encrypted_without_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["dc09", "decode", SIA_05BB], capsys)
    assert code == 1 and json.loads(out)["valid"] is False


def test_decode_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["dc09", "decode", 'C4160279"SIA-DCS"5268L0#AAA[Nri1/WA000]'], capsys)
    result = json.loads(out)
    assert code == 1 and result["valid"] is False and "CRC" in result["error"]


def test_decode_bad_key_reports_without_echo(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["dc09", "decode", SIA_05BB, "--key-hex", "SECRETSECRET"], capsys)
    assert code == 1 and "SECRET" not in out


def test_decode_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = 'B2C20046"ADM-CID"0008L0#777[#777|1401 02 501][SУлица]_09:15:28,07-03-2025'
    raw = b"\n" + text.encode("utf-8") + b"\r"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code, out = run(["dc09", "decode", "-"], capsys)
    result = json.loads(out)
    assert code == 0 and result["extended"] == [{"id": "S", "value": "Улица"}]
    assert result["quirks"] == ["utf8_text"]


def test_encode_byte_exact(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "dc09",
        "encode",
        "--token",
        "SIA-DCS",
        "--sequence",
        "7654",
        "--account",
        "1111",
        "--data",
        "Nri1/WA000",
        "--timestamp",
        "2020-07-09T16:04:02+00:00",
        "--key-ascii",
        "A" * 16,
        "--pad-hex",
        "30" * 16,
    ]
    code, out = run(argv, capsys)
    assert code == 0 and out == SIA_05BB + "\n"


def test_encode_then_decode(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "dc09",
        "encode",
        "--token",
        "ADM-CID",
        "--sequence",
        "5",
        "--account",
        "1234",
        "--receiver",
        "12",
        "--data",
        "#1234|1120 00 001",
        "--extended",
        "RHall",
        "--timestamp",
        "none",
    ]
    assert run(argv, capsys)[0] == 1  # ID=VALUE required
    argv[-3] = "R=Hall"
    code, frame = run(argv, capsys)
    assert code == 0 and "_" not in frame
    code, out = run(["dc09", "decode", frame.strip()], capsys)
    result = json.loads(out)
    assert (result["receiver"], result["extended"], result["timestamp"]) == (
        "12",
        [{"id": "R", "value": "Hall"}],
        None,
    )


def test_encode_default_timestamp_is_now(capsys: pytest.CaptureFixture[str]) -> None:
    code, frame = run(["dc09", "encode", "--token", "NULL", "--sequence", "0", "--account", "AAA"], capsys)
    stamp = datetime.fromisoformat(json.loads(run(["dc09", "decode", frame.strip()], capsys)[1])["timestamp"])
    assert code == 0 and abs((datetime.now(UTC) - stamp).total_seconds()) < 5


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP receiver in a thread (the CLI runs its own event loop)."""
    loop = asyncio.new_event_loop()
    seen: list[bytes] = []
    now = datetime.now(UTC)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter()
        while chunk := await reader.read(100):
            for item in splitter.feed(chunk):
                assert isinstance(item, bytes)
                seen.append(item)
                msg = decode(item)
                writer.write(nak(now) if msg.account == "BAD" else ack(msg, None, now))
                await writer.drain()

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


def test_send_ack(capsys: pytest.CaptureFixture[str], receiver: tuple[int, list[bytes]]) -> None:
    port, seen = receiver
    code, out = run(
        [
            "dc09",
            "send",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--token",
            "SIA-DCS",
            "--account",
            "1234",
            "--sequence",
            "9",
        ],
        capsys,
    )
    result = json.loads(out)
    assert code == 0 and result["answer"] == "ACK" and result["matches"] is True
    assert decode(seen[0]).data == "#1234|NRP"


def test_send_nak(capsys: pytest.CaptureFixture[str], receiver: tuple[int, list[bytes]]) -> None:
    port, _ = receiver
    code, out = run(
        ["dc09", "send", "--host", "127.0.0.1", "--port", str(port), "--token", "NULL", "--account", "BAD"],
        capsys,
    )
    assert code == 1 and json.loads(out)["answer"] == "NAK"


def test_send_nobody_listening(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        [
            "dc09",
            "send",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
            "--token",
            "NULL",
            "--account",
            "AAA",
            "--timeout",
            "1",
        ],
        capsys,
    )
    assert code == 1 and json.loads(out)["answer"] == "error"
