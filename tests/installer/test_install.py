"""scripts/install-pi.sh: shellcheck-clean, a dry run that prints every step, idempotent installs."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install-pi.sh"
WACHTER = REPO / ".venv" / "bin" / "wachter"
STEPS = ["OS packages", "system user wachter", "code in /opt/wachter", "config in /etc/wachter",
         "MQTT accounts", "systemd units", "is the site ready", "done"]


def install(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_shellcheck_passes() -> None:
    tool = shutil.which("shellcheck")
    assert tool, "shellcheck is missing: apt-get install -y shellcheck (make os-packages)"
    result = subprocess.run([tool, "--shell=bash", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    result = install("--dry-run", "--root", str(root))
    assert result.returncode == 0, result.stderr
    headers = [line for line in result.stdout.splitlines() if line.startswith("== ")]
    assert [h for h in headers if not any(s in h for s in STEPS)] == []
    assert all(any(s in h for h in headers) for s in STEPS)
    commands = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    for expected in ("+ groupadd", "+ useradd", "python3 -m venv", "keys mqtt", "enable wachter-agent"):
        assert any(expected in c for c in commands), expected
    assert list(root.iterdir()) == []


TOUCHED = ["/etc/wachter", "/opt/wachter", "/var/lib/wachter", "/etc/passwd", "/etc/group",
           "/etc/systemd/system", "/etc/mosquitto", "/etc/mosquitto/conf.d"]


def _looks(paths: list[str]) -> dict[str, tuple[int, int] | None]:
    """(mtime, size) of what an install would change, None when absent."""
    out: dict[str, tuple[int, int] | None] = {}
    for name in paths:
        path = Path(name)
        out[name] = (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None
    return out


def test_dry_run_on_this_machine_changes_nothing() -> None:
    before = _looks(TOUCHED)
    result = install("--dry-run", "--no-packages")
    assert result.returncode == 0, result.stderr
    assert "(dry run)" in result.stdout and "== done" in result.stdout
    assert _looks(TOUCHED) == before


def _tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """mode, owner and content hash of everything but the copied source."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith(("opt/wachter/src", "opt/wachter/docs", "opt/wachter/.venv")):
            continue
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
        out[rel] = (stat.S_IMODE(st.st_mode), st.st_uid, digest)
    return out


def test_installs_twice_in_a_throwaway_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    args = ("--root", str(root), "--no-pip", "--wachter", str(WACHTER))
    first = install(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    tree = _tree(root)
    second = install(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _tree(root) == tree  # nothing changed: no new keys, config kept, same owners and modes
    assert "keeping the existing /etc/wachter/site.yaml" in second.stdout
    # the example site it starts from holds the public demo key and PINs: named, with the fix
    assert "NOT READY" in first.stdout
    assert "alarm_centre.paths[0].key: the public demo DC-09 key" in first.stderr
    assert "wachter keys dc09" in first.stderr and "wachter hash-pin" in first.stderr

    uid = next(int(line.split(":")[2]) for line in (root / "etc/passwd").read_text().splitlines()
               if line.startswith("wachter:"))
    assert tree["var/lib/wachter"][:2] == (0o700, uid)
    assert tree["etc/wachter"][0] == 0o750 and tree["etc/wachter/site.yaml"][0] == 0o640
    assert (root / "opt/wachter/.venv/bin/python").exists()
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert {p.name for p in wants.iterdir()} == {
        "wachter-agent.service", "wachter-gpio.service", "wachter-intercom.service"
    }
    assert (root / "etc/systemd/system/mosquitto.service.d/wachter.conf").exists()
    conf = (root / "etc/mosquitto/conf.d/wachter.conf").read_text()
    assert "password_file /etc/mosquitto/wachter/passwd" in conf  # paths as the Pi will see them
    secrets = [k for k in tree if k.startswith(("etc/wachter/keys/", "etc/mosquitto/wachter/"))]
    assert secrets and all(tree[k][0] in (0o600, 0o700) for k in secrets)
    assert all(tree[k][1] == uid for k in secrets if k.startswith("etc/wachter/keys/clients/"))
