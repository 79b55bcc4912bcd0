"""The site book: imported from the receiver config, edited in the console, exported as YAML.
The config wins only when its entry for a site changed since it was last imported."""

from __future__ import annotations

from pathlib import Path

from config.receiver import Account, ReceiverConfig, Zone
from receiver.audit import AuditLog
from receiver.sitebook import CENTRE_SITE
from tests.receiver.conftest import ACCOUNTS, Desk


def _config(store_url: str, **demo: object) -> ReceiverConfig:
    first = Account.model_validate({**ACCOUNTS[0].model_dump(), **demo})
    return ReceiverConfig(store=store_url, accounts=[first, ACCOUNTS[1]])


async def test_console_edits_stand_until_the_config_entry_changes(desk: Desk, store_url: str) -> None:
    book = desk.desk.book
    zones = [{"zone": 13, "name": "Bedroom window"}]
    assert await book.import_config(_config(store_url, zones=zones)) == ["demo-home"]  # it changed
    entry = await book.get("demo-home")
    edited = entry.model_copy(update={"zones": [Zone(zone=13, name="Master bedroom window")]})
    await book.save("demo-home", edited, "ada", "zones (1)")

    assert await book.import_config(_config(store_url, zones=zones)) == []  # same file: the edit stands
    assert (await book.get("demo-home")).zone("013") == Zone(zone=13, name="Master bedroom window")

    changed = [{"zone": 13, "name": "Bedroom window"}, {"zone": 14, "name": "Study window"}]
    assert await book.import_config(_config(store_url, zones=changed)) == ["demo-home"]  # the file wins
    assert [z.name for z in (await book.get("demo-home")).zones] == ["Bedroom window", "Study window"]
    actions = [(e.who, e.action) for e in reversed(await AuditLog(desk.db).entries(target="site:demo-home"))]
    assert actions == [
        ("config", "site_imported"),
        ("config", "site_imported"),
        ("ada", "site_edited"),
        ("config", "site_imported"),
    ]


async def test_a_site_plan_replaces_the_centres_for_its_response_only(desk: Desk) -> None:
    book = desk.desk.book
    assert (await book.plan("demo-home", "holdup"))[0].text == "Listen in / view camera"  # its own
    assert "fire brigade" in (await book.plan("demo-home", "fire"))[0].text  # the centre's (built in)
    assert (await book.get(CENTRE_SITE)).plans == {}


async def test_the_export_reads_back_as_receiver_config(desk: Desk, store_url: str) -> None:
    from io import StringIO

    from ruamel.yaml import YAML

    await desk.desk.book.import_config(
        _config(store_url, address="Dorpsstraat 1", zones=[{"zone": 2, "name": "Panic button hall"}])
    )
    text = await desk.desk.book.export_yaml(_config(store_url).accounts)
    doc = YAML(typ="safe").load(StringIO(text))
    again = ReceiverConfig.model_validate({"store": store_url, **doc})
    assert again.accounts[0].address == "Dorpsstraat 1"
    assert again.accounts[0].zones == [Zone(zone=2, name="Panic button hall")]
    assert again.accounts[0].plans()["holdup"][0].text == "Listen in / view camera"


def test_a_zone_listed_twice_in_the_receiver_config_names_file_line_and_field(tmp_path: Path) -> None:
    from config.check import check

    text = (Path(__file__).resolve().parents[2] / "config" / "examples" / "receiver.yaml").read_text()
    text = text.replace('- {zone: 14, name: "Study window"', '- {zone: 13, name: "Study window"')
    path = tmp_path / "receiver.yaml"
    path.write_text(text)
    [problem] = check(path)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '{zone: 13, name: "Study window"' in row)
    assert (problem.file, problem.line, problem.field) == (str(path), line, "accounts[0].zones[6].zone")
    assert "zone 13" in problem.message and "keep one entry per zone number" in problem.message
