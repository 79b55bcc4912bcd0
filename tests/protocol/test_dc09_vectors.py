"""Reference Part B (B1-B3, B7) as tables: valid frames decode to the fields given, invalid
ones fail for the reason given; plus synthesized frames for every tolerated quirk (A4.3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from protocol.dc09 import (
    CrcError,
    Dc09Error,
    Dc09Key,
    DecryptError,
    FrameFormatError,
    LengthError,
    Message,
    UnknownAccountError,
    crc16_arc,
    decode,
    encode,
)

ASCII_KEY = Dc09Key.from_ascii("AAAAAAAAAAAAAAAA")


def ascii_key(_account: str) -> list[Dc09Key]:
    return [ASCII_KEY]


def no_key(_account: str) -> list[Dc09Key]:
    return []


def frame(body: str | bytes) -> bytes:
    """Reference B1 `frame()`: correct CRC and length around a body."""
    raw = body.encode() if isinstance(body, str) else body
    return b"\n" + f"{crc16_arc(raw):04X}{len(raw):04X}".encode() + raw + b"\r"


def ts(text: str) -> datetime:
    return datetime.strptime(text, "%H:%M:%S,%m-%d-%Y").replace(tzinfo=UTC)


# ---- B1 -------------------------------------------------------------------------------


def reference_crc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D
    assert crc16_arc(b"") == 0


def test_crc_matches_reference_loop() -> None:
    for data in (b"\x00", b"\xff" * 40, b'"SIA-DCS"0001L0#1234[]', bytes(range(256))):
        assert crc16_arc(data) == reference_crc(data)


# ---- valid frames: (frame text, expected fields) ---------------------------------------

VALID = [
    # A1 examples (pysiaalarm case_dc04 / case_adm_cid without the appended timestamp)
    (
        'CE110032"SIA-DCS"9876R579BDFL789ABC#12345A[#12345A|NFA129]',
        dict(
            token="SIA-DCS",
            sequence=9876,
            receiver="579BDF",
            prefix="789ABC",
            account="12345A",
            data="#12345A|NFA129",
            timestamp=None,
            quirks=(),
        ),
    ),
    (
        '87CD0037"ADM-CID"9876R579BDFL789ABC#12345A[#12345A|1110 00 129]',
        dict(
            token="ADM-CID",
            sequence=9876,
            receiver="579BDF",
            account="12345A",
            data="#12345A|1110 00 129",
            quirks=(),
        ),
    ),
    # B2 Ajax
    (
        '54230012"NULL"0000L0#AAA[]',
        dict(
            token="NULL",
            sequence=0,
            receiver=None,
            prefix="0",
            account="AAA",
            data="",
            timestamp=None,
            quirks=(),
        ),
    ),
    (
        'CDA80026"NULL"0000L0#AAA[]_19:08:35,04-29-2021',
        dict(token="NULL", account="AAA", timestamp=ts("19:08:35,04-29-2021")),
    ),
    ('53350022"SIA-DCS"0001L0#AAA[#AAA|Nri0/ZY0]', dict(token="SIA-DCS", sequence=1, data="#AAA|Nri0/ZY0")),
    (
        '12CE0026"NULL"0000L0#CCC[]_02:48:01,03-10-2026',
        dict(account="CCC", timestamp=ts("02:48:01,03-10-2026")),
    ),
    ('ECFA0012"NULL"0000L0#CCC[]', dict(account="CCC", timestamp=None)),
    (
        'A2350038"SIA-DCS"7232L0#AAA[#AAA|Nri1/PE501]_08:21:05,02-20-2023',
        dict(sequence=7232, data="#AAA|Nri1/PE501", timestamp=ts("08:21:05,02-20-2023")),
    ),
    (
        '27330038"SIA-DCS"7232L0#AAA[#AAA|Nri1/PE501]_08:21:16,02-20-2023',
        dict(sequence=7232, timestamp=ts("08:21:16,02-20-2023")),
    ),
    (
        '0EBD0037"SIA-DCS"3048L0#AAA[#AAA|Nri2/JC12]_12:58:23,09-15-2021',
        dict(sequence=3048, data="#AAA|Nri2/JC12"),
    ),
    ('28300037"SIA-DCS"3052L0#AAA[#AAA|Nri2/JC12]_13:16:33,09-15-2021', dict(sequence=3052)),
    # B2 Sigma S PRO
    ('D3440015"NULL"0000L0#008312[]', dict(account="008312")),
    # B2 Hikvision: UTF-8 x-data (quirk Q9)
    (
        'B2C20046"ADM-CID"0008L0#777[#777|1401 02 501][SУлица]_09:15:28,07-03-2025',
        dict(
            token="ADM-CID",
            sequence=8,
            account="777",
            data="#777|1401 02 501",
            extended=(("S", "Улица"),),
            timestamp=ts("09:15:28,07-03-2025"),
            quirks=("utf8_text",),
        ),
    ),
    # B2 Dahua
    (
        'DABA003F"ADM-CID"0062L0#B12345[#B12345|1602 00 000]_17:23:51,09-18-2023',
        dict(account="B12345", data="#B12345|1602 00 000"),
    ),
    (
        '2DE1004C"ADM-CID"0056L0#123456[#123456|1406 01 000][RLivingRoom]_17:22:02,09-18-2023',
        dict(sequence=56, extended=(("R", "LivingRoom"),)),
    ),
    (
        '6225004C"ADM-CID"0060L0#123456[#123456|1406 01 000][RLivingRoom]_17:22:58,09-18-2023',
        dict(sequence=60, extended=(("R", "LivingRoom"),)),
    ),
    # B2 Satel (header account differs from data account)
    (
        'D8910037"SIA-DCS"0097L0#ABCD[#0000|Npi0/AT]_11:26:04,03-01-2026',
        dict(account="ABCD", data="#0000|Npi0/AT"),
    ),
    # B2 Lupus: lower-case length (Q4)
    (
        '9B3C004d"SIA-DCS"0047L0#100200[#100200|Nti10:01:00/da08-18-24/RP]_10:01:00,08-18-2024',
        dict(sequence=47, data="#100200|Nti10:01:00/da08-18-24/RP", quirks=("lowercase_hex",)),
    ),
    # B2 NULL with CID-like body
    (
        'CA2F0038"NULL"0000L0#7890[#0000|0000 00 000]_22:13:29,12-29-2022',
        dict(token="NULL", data="#0000|0000 00 000"),
    ),
    # B3 Eldes: decimal length (Q3)
    (
        '57150047"ADM-CID"0247R4F39L4F39#4F39[#4F39|3401 01 057]',
        dict(sequence=247, receiver="4F39", prefix="4F39", account="4F39", quirks=("decimal_length",)),
    ),
    # B3 pysiaalarm case_adm_cid *with* the timestamp its test appended outside the CRC/length:
    # the covered part is intact, the rest is tolerated as trailing garbage (Q10).
    (
        '87CD0037"ADM-CID"9876R579BDFL789ABC#12345A[#12345A|1110 00 129]_14:12:04,09-25-2011',
        dict(data="#12345A|1110 00 129", timestamp=None, quirks=("trailing_garbage",)),
    ),
    # B3 run_re.py
    ('43580023"SIA-DCS"0084L0#AAA[#AAA|Nri1/XC12]', dict(sequence=84, data="#AAA|Nri1/XC12")),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[v[0][:8] for v in VALID])
def test_valid_frame(text: str, expected: dict[str, object]) -> None:
    for raw in (text.encode(), b"\n" + text.encode() + b"\r"):
        msg = decode(raw)
        assert not msg.encrypted
        for name, value in expected.items():
            assert getattr(msg, name) == value, name


def test_adm_unknown_type_built_like_pysiaalarm() -> None:
    msg = decode(frame('"ADM-CID"1234L0#1111[#1111|1999 00 001]'))
    assert (msg.sequence, msg.account, msg.data) == (1234, "1111", "#1111|1999 00 001")


# ---- encrypted vectors (ASCII key AAAAAAAAAAAAAAAA) -----------------------------------

NULL_76D8 = '76D80055"*NULL"0000R0L0#AAAB[B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C44FBB96D476A3E557CAD64D9'
SIA_05BB = (
    '05BB0076"*SIA-DCS"7654L0#1111[C07DA1EB73C617857476EE5D79436CEE5E0084485E79EC56B0D5D1F3F'
    "6E648B278050BBCCBC8FE5DCA7E3C80DBDD4945"
)


def test_encrypted_null_without_pad_separator() -> None:
    msg = decode(NULL_76D8.encode(), ascii_key)
    assert msg == Message(
        token="NULL",
        sequence=0,
        account="AAAB",
        receiver="0",
        prefix="0",
        data="",
        timestamp=ts("18:24:52,07-05-2020"),
        encrypted=True,
        quirks=("no_pad_separator",),
    )


def test_encrypted_sia_05bb() -> None:
    msg = decode(SIA_05BB.encode(), ascii_key)
    assert msg == Message(
        token="SIA-DCS",
        sequence=7654,
        account="1111",
        data="Nri1/WA000",
        timestamp=ts("16:04:02,07-09-2020"),
        encrypted=True,
    )


def test_encode_reproduces_05bb_byte_exact() -> None:
    # The pysiaalarm generator pads with ASCII "0" to a multiple of 16 and then writes "|";
    # here the rest is exactly 32 bytes, so the spec's 16-byte pad gives the same frame.
    msg = Message("SIA-DCS", 7654, "1111", data="Nri1/WA000", timestamp=ts("16:04:02,07-09-2020"))
    assert encode(msg, ASCII_KEY, pad=b"0" * 16) == b"\n" + SIA_05BB.encode() + b"\r"


def test_swissdotnet_plaintext_example_roundtrip() -> None:
    key = Dc09Key.from_hex("ABCD" * 8)
    msg = Message(
        "SIA-DCS",
        1,
        "080027E62A64",
        data="#080027E62A64|NHB0003",
        extended=(("E", "115000"),),
        timestamp=ts("15:12:40,06-22-2015"),
    )
    raw = encode(msg, key, pad=bytes.fromhex("9a10d286c038468952f7ac09"))
    assert raw.count(b"[") == 1 and len(raw.split(b"[")[1]) == 128 + 1  # 64 bytes + CR
    assert decode(raw, lambda _a: [key]) == msg.__class__(**{**msg.__dict__, "encrypted": True})


# ---- invalid frames: (frame, keys, error) ----------------------------------------------

INVALID = [
    # B3 pysiaalarm lines
    ('9618004D"SIA-DCS"7960L0#123456[#123456|Nri1CL0^VX FRONTE ^]_22:40:48,04-11-2021', None, CrcError),
    ('5670004D"SIA-DCS"8070L0#123456[#123456|Nri0KR1^TAST. 001 ^]_13:49:12,04-13-2021', None, CrcError),
    (
        '<x0A>CE110032"SIA-DCS"9876R579BDFL789ABC#12345A[#12345A|NFA129]_14:12:04,09-25-201',
        None,
        FrameFormatError,
    ),
    ('97F90078"SIA-DCS"6002L0#AAA[|Nri2/JC12]_12:58:23,09-15-2021', None, LengthError),
    ('87570078"SIA-DCS"6002L0#AAA[|Nri1/CL501][M0026B9E4268B]_14:12:04,09-25-2019', None, LengthError),
    ('02310052"SIA-DCS"6002L0#1111[|Nri1/RP000][KAAAAAAAAAAAAAAAA]_14:12:04,09-25-2019', None, LengthError),
    (
        '5B090059"SIA-DCS"0004L0#1111[#1111|Nri1/PA501][X006E07.7777777][Y49N06.6666666]_20:45:46,04-22-2021',
        None,
        LengthError,
    ),
    (
        '60AB0078"*SIA-DCS"5994L0#AAA[5AB718E008C616BF16F6468033A11326B0F7546CAB230910BCA10E4DEBA'
        "42283C436E4F8EFF50931070DDE36D5BB5F0C",
        ascii_key,
        LengthError,
    ),
    (
        'D0850078"*ADM-CID"6879R0L0#123F[64F7ADD9BA9377DBF2C014BC709329BEEE345B5F20C60B7EB9D2C6B'
        "8C222666B13D0B4A114B448B0AC555FCC658DB6EE",
        no_key,
        UnknownAccountError,
    ),
    (
        'D0850078"*ADM-CID"6879R0L0#123F[64F7ADD9BA9377DBF2C014BC709329BEEE345B5F20C60B7EB9D2C6B'
        "8C222666B13D0B4A114B448B0AC555FCC658DB6EE",
        None,
        UnknownAccountError,
    ),
    (
        'D0850078"*ADM-CID"6879R0L0#123F[64F7ADD9BA9377DBF2C014BC709329BEEE345B5F20C60B7EB9D2C6B'
        "8C222666B13D0B4A114B448B0AC555FCC658DB6EE",
        ascii_key,
        DecryptError,
    ),
    ("SR0001L0001    006969XX    [ID00000000]", None, FrameFormatError),
    ('E5D50078"SIA-DCS"6002L0#AAA[|Nri1/CL501]_14:12:04,09-25-2019', None, LengthError),
    ('90820051"SIA-DCS"4738R0001L0001[#006969|Nri04/OP001NM]', None, CrcError),
    ('C4160279"SIA-DCS"5268L0#AAA[Nri1/WA000]_08:40:47,07-08-2020', None, CrcError),
    ("this is not a parsable event", None, FrameFormatError),
    (
        '85DF0078"*SIA-DCS"4480L0#EA1984[83F153789366885D5F83DD5A8D19F691DE6602D5D71342E244C040C5'
        "D10D89040444068312750F38DF7E63AD3DE8AD5A",
        ascii_key,
        DecryptError,
    ),
    (
        '85DF0078"*SIA-DCS"4480L0#EA1984[83F153789366885D5F83DD5A8D19F691DE6602D5D71342E244C040C5'
        "D10D89040444068312750F38DF7E63AD3DE8AD5A",
        no_key,
        UnknownAccountError,
    ),
    (
        '68370130"*NULL"6327L0#AAA[9F719719F36B05547CD730D4615FE0A4B5BB7A27A9F500741A07C3F7328FC7A1',
        ascii_key,
        LengthError,
    ),
    ('1908002B"SIA-DCS"0000L0#3080[#3080|Nti19:44/id1/ri4/RP]', None, CrcError),
    # B2 Hikvision copy-paste trap (CRC of the 1401 frame)
    ('B2C20046"ADM-CID"0008L0#777[#777|3401 01 501][SУлица]_09:15:28,07-03-2025', None, CrcError),
    # B7
    ('01fc003g"ACK"0000Rc0ffdL1234#080027E62A64[]_12:10:40,06-22-2015', None, LengthError),
    ("LFQ=600#CRC=C9868A4C470F970426ECDD8F00B761BC##", None, FrameFormatError),
    # one digit changed in a valid frame
    ('54230012"NULL"0001L0#AAA[]', None, CrcError),
    ("", None, FrameFormatError),
    ("\n\r", None, FrameFormatError),
]


@pytest.mark.parametrize(("text", "keys", "error"), INVALID, ids=[v[0][:8] for v in INVALID])
def test_invalid_frame(text: str, keys: object, error: type[Dc09Error]) -> None:
    with pytest.raises(error):
        decode(text.encode(), keys)  # type: ignore[arg-type]


def test_unknown_account_error_names_account() -> None:
    with pytest.raises(UnknownAccountError) as info:
        decode(NULL_76D8.encode(), no_key)
    assert info.value.account == "AAAB"


def test_wrong_hex_key_is_decrypt_error() -> None:
    # Swissdotnet's negative test: key ...ABCD encrypts, key ...ABCE must not decrypt.
    good, bad = Dc09Key.from_hex("ABCD" * 8), Dc09Key.from_hex("ABCD" * 7 + "ABCE")
    msg = Message(
        "ACK", 0, "080027E62A64", receiver="c0ffd", prefix="1234", timestamp=ts("12:10:40,06-22-2015")
    )
    raw = encode(msg, good)
    with pytest.raises(DecryptError):
        decode(raw, lambda _a: [bad])
    assert decode(raw, lambda _a: [bad, good]).receiver == "c0ffd"


# ---- quirks A4.3, synthesized ---------------------------------------------------------

BODY = b'"SIA-DCS"0042L0#1234[#1234|Nri1/BA01]_10:00:00,01-02-2025'


def test_q1_binary_crc() -> None:
    raw = b"\n" + crc16_arc(BODY).to_bytes(2, "big") + f"{len(BODY):04X}".encode() + BODY + b"\r"
    msg = decode(raw)
    assert msg.quirks == ("binary_crc",) and msg.data == "#1234|Nri1/BA01"


def test_q1_binary_crc_with_cr_and_lf_bytes() -> None:
    body = b'"NULL"0000L0#AAA[]'
    for crc in (0x0D0A, 0x0A0D):  # fake CRC: only the layout matters here
        raw = crc.to_bytes(2, "big") + f"{len(body):04X}".encode() + body
        with pytest.raises(CrcError):
            decode(raw)


@pytest.mark.parametrize("length", [len(BODY), len(BODY) + 1])
def test_q2_crc_includes_cr(length: int) -> None:
    crc = crc16_arc(BODY + b"\r")
    raw = b"\n" + f"{crc:04X}{length:04X}".encode() + BODY + b"\r"
    assert decode(raw).quirks == ("crc_includes_cr",)
    assert decode(raw[1:-1]).quirks == ("crc_includes_cr",)  # as the splitter hands it over


def test_q3_decimal_length() -> None:
    raw = f"{crc16_arc(BODY):04X}{len(BODY):04d}".encode() + BODY
    assert decode(raw).quirks == ("decimal_length",)


def test_q4_lowercase_hex_crc() -> None:
    raw = f"{crc16_arc(BODY):04x}{len(BODY):04x}".encode() + BODY
    assert decode(raw).quirks == ("lowercase_hex",)


def test_q4_lowercase_ciphertext() -> None:
    raw = encode(Message("NULL", 0, "AAA", timestamp=ts("10:00:00,01-02-2025")), ASCII_KEY)
    header, cipher = raw[9:-1].split(b"[")
    body = header + b"[" + cipher.lower()
    assert decode(frame(body), ascii_key).quirks == ("lowercase_hex",)


def test_q10_trailing_garbage_inside_frame() -> None:
    good = frame('"ADM-CID"0001L0#12345678[#12345678|1130 00 007]')
    raw = good[:-1] + b"345678[] 2345678[]" + b"\r"
    msg = decode(raw)
    assert msg.quirks == ("trailing_garbage",) and msg.data == "#12345678|1130 00 007"


def test_trailing_nul_after_cr_is_ignored() -> None:
    assert decode(frame('"NULL"0000L0#AAA[]') + b"\x00\x00").account == "AAA"


def test_pysiaalarm_nak_order_and_none_receiver() -> None:
    nak = decode(frame('"NAK"0000L0R0A0[]_10:00:00,01-02-2025'))
    assert (nak.account, nak.receiver, nak.prefix) == ("0", "0", "0")
    assert nak.quirks == ("receiver_after_prefix",)
    assert decode(frame('"NAK"0000R0L0#0[]')).quirks == ("nak_hash_account",)
    ack = decode(frame('"ACK"0001NoneL0#1111[]'))
    assert (ack.receiver, ack.account, ack.quirks) == (None, "1111", ("none_receiver",))


def test_bare_pysiaalarm_reply() -> None:
    msg = decode(b'"NAK"')
    assert (msg.token, msg.quirks) == ("NAK", ("unframed_reply",))


def test_windows_1252_text_is_standard() -> None:
    msg = Message("SIA-DCS", 1, "1234", data="#1234|NBA01", extended=(("R", "Küche"),))
    raw = encode(msg)
    assert b"K\xfcche" in raw
    assert decode(raw) == msg


def test_lowercase_account_and_receiver_echoed() -> None:
    msg = decode(frame('"ACK"0000Rc0ffdL1234#080027e62a64[]'))
    assert (msg.receiver, msg.account, msg.quirks) == ("c0ffd", "080027e62a64", ())


def test_no_prefix_and_no_account() -> None:
    msg = decode(frame('"NULL"0000[]'))
    assert (msg.prefix, msg.account, msg.receiver) == (None, None, None)


def test_nak_marker_only_for_nak() -> None:
    with pytest.raises(FrameFormatError):
        decode(frame('"SIA-DCS"0001L0A12345678[#1234|NRP]'))
    # ...and "L1A" without account is a valid hex prefix
    assert decode(frame('"NULL"0000L1A[]')).prefix == "1A"


def test_encrypted_nak_rejected() -> None:
    with pytest.raises(FrameFormatError):
        decode(frame('"*NAK"0000R0L0A0[00112233445566778899AABBCCDDEEFF'), ascii_key)


@pytest.mark.parametrize(
    "body",
    [
        '"SIA-DCS"001L0#1234[]',  # short sequence
        '"SIA-DCS"0001L0#1234[#1234|NRP',  # no closing bracket
        '"SIA-DCS"0001L0#1234[#1234|NRP]_25:00:00,01-01-2025',  # bad time
        '"SIA-DCS"0001L0#1234[#1234|NRP][]',  # empty x-data block
        '"SIA-DCS"0001L0#1234[#1234|NRP]junk',
        '"*SIA-DCS"0001L0#1234[ABC',  # ciphertext not whole blocks
        '"*SIA-DCS"0001L0#1234[XY112233445566778899AABBCCDDEEFF',
    ],
)
def test_malformed_bodies(body: str) -> None:
    with pytest.raises(FrameFormatError):
        decode(frame(body), ascii_key)
