#!/usr/bin/env bash
# Install Wachter in a home on Raspberry Pi OS (bookworm). Safe to run again: every step checks
# what is already there, keeps the installer's config, keys and state, and only adds what is
# missing. See docs/installation.md.
#
#   sudo scripts/install-pi.sh                 install on this Pi
#   scripts/install-pi.sh --dry-run            print every step, change nothing
#   scripts/install-pi.sh --root DIR           install into a throwaway root (tests, images)
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install-pi.sh [--dry-run] [--root DIR] [--no-packages] [--no-pip] [--source DIR]
                     [--wachter PATH]

  --dry-run      print every step and command without changing anything
  --root DIR     install into DIR instead of / (no apt, no service start; systemctl --root)
  --no-packages  skip apt-get (OS packages already there, or an image being built)
  --no-pip       make the virtual environment but do not install Python packages into it
  --source DIR   the Wachter source tree (default: the one this script lives in)
  --wachter PATH the wachter command for the keys step (default: the new venv's)
EOF
}

DRY_RUN=0
ROOT=""
NO_PACKAGES=0
NO_PIP=0
WACHTER=""
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT="${2:?--root needs a directory}"; shift ;;
    --no-packages) NO_PACKAGES=1 ;;
    --no-pip) NO_PIP=1 ;;
    --source) SOURCE="${2:?--source needs a directory}"; shift ;;
    --wachter) WACHTER="${2:?--wachter needs a path}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$ROOT" ]; then
  ROOT="$(mkdir -p "$ROOT" && cd "$ROOT" && pwd)"
  NO_PACKAGES=1
fi

USER_NAME=wachter
OPT="$ROOT/opt/wachter"
VENV="$OPT/.venv"
WACHTER="${WACHTER:-$VENV/bin/wachter}"
ETC="$ROOT/etc/wachter"
STATE="$ROOT/var/lib/wachter"
UNITS="$ROOT/etc/systemd/system"
MOSQUITTO_ETC="$ROOT/etc/mosquitto"
PACKAGES=(python3 python3-venv python3-dev mosquitto mosquitto-clients libgpiod2 ca-certificates)

step() { printf '\n== %s\n' "$*"; }
run() {
  printf '+ %s\n' "$*"
  if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}
note() { printf '   %s\n' "$*"; }

# --- who exists: the live system, or the files of the throwaway root ----------------------------
has_group() {
  [ "$1" = root ] && return 0
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; else getent group "$1" >/dev/null; fi
}
has_user() {
  [ "$1" = root ] && return 0
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/passwd" 2>/dev/null; else id -u "$1" >/dev/null 2>&1; fi
}
numeric_id() {  # numeric_id passwd|group NAME: numeric id, so chown works for users of the root
  if [ "$2" = root ]; then echo 0
  elif [ -n "$ROOT" ]; then awk -F: -v n="$2" '$1 == n { print $3 }' "$ROOT/etc/$1"
  elif [ "$1" = passwd ]; then id -u "$2"
  else getent group "$2" | cut -d: -f3
  fi
}
PREFIX=()
prefix_files() {
  if [ -n "$ROOT" ]; then
    PREFIX=(--prefix "$ROOT")
    run mkdir -p "$ROOT/etc"
    for f in passwd group shadow gshadow; do
      [ -e "$ROOT/etc/$f" ] || run touch "$ROOT/etc/$f"
    done
  fi
}
owner() {  # owner USER GROUP PATH...: chown by number when both exist (in a dry run: print only)
  local user="$1" group="$2"; shift 2
  if [ "$DRY_RUN" = 1 ] && ! has_user "$user"; then run chown "$user:$group" "$@"; return; fi
  if has_user "$user" && has_group "$group"; then
    run chown "$(numeric_id passwd "$user"):$(numeric_id group "$group")" "$@"
  else
    note "no user $user here; leaving the owner of $* as it is"
  fi
}

# --- steps ----------------------------------------------------------------------------------------
os_packages() {
  step "OS packages: ${PACKAGES[*]}"
  if [ "$NO_PACKAGES" = 1 ]; then note "skipped (--no-packages or --root)"; return; fi
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" = 0 ]; then note "all installed"; return; fi
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

users() {
  step "system user $USER_NAME (groups gpio and video exist for the drivers' units)"
  prefix_files
  for g in "$USER_NAME" gpio video; do
    has_group "$g" || run groupadd "${PREFIX[@]}" --system "$g"
  done
  if has_user "$USER_NAME"; then
    note "user $USER_NAME exists"
  else
    run useradd "${PREFIX[@]}" --system --gid "$USER_NAME" --no-create-home \
      --home-dir /var/lib/wachter --shell /usr/sbin/nologin "$USER_NAME"
  fi
}

code() {
  step "code in /opt/wachter and a virtual environment in /opt/wachter/.venv"
  run mkdir -p "$OPT/src"
  run cp -a "$SOURCE/pyproject.toml" "$SOURCE/README.md" "$OPT/src/"
  for d in protocol config drivers agent receiver simulator wachter docs; do
    [ -d "$SOURCE/$d" ] || continue
    run rm -rf "$OPT/src/$d"
    run cp -a "$SOURCE/$d" "$OPT/src/$d"
    run find "$OPT/src/$d" -name __pycache__ -prune -exec rm -rf {} +
  done
  run rm -rf "$OPT/docs"
  run cp -a "$SOURCE/docs" "$OPT/docs"
  if [ -x "$VENV/bin/python" ]; then
    note "virtual environment exists"
  else
    # system site packages: Raspberry Pi OS ships lgpio (python3-lgpio) for the Pi 5's GPIO
    run python3 -m venv --system-site-packages "$VENV"
  fi
  if [ "$NO_PIP" = 1 ]; then note "Python packages skipped (--no-pip)"; return; fi
  run "$VENV/bin/pip" install -q --upgrade pip
  run "$VENV/bin/pip" install -q "$OPT/src"
}

config_and_state() {
  step "config in /etc/wachter (root:$USER_NAME 0750), state in /var/lib/wachter (0700)"
  run mkdir -p "$ETC" "$STATE"
  run chmod 0750 "$ETC"
  run chmod 0700 "$STATE"
  owner root "$USER_NAME" "$ETC"
  owner "$USER_NAME" "$USER_NAME" "$STATE"
  if [ -e "$ETC/site.yaml" ]; then
    note "keeping the existing /etc/wachter/site.yaml"
  else
    run install -m 0640 "$SOURCE/config/examples/site.yaml" "$ETC/site.yaml"
    owner root "$USER_NAME" "$ETC/site.yaml"
    note "EDIT /etc/wachter/site.yaml (devices, keys, PIN hashes), then: wachter check /etc/wachter/site.yaml"
  fi
}

keys() {
  step "MQTT accounts, ACL and TLS certificates (wachter keys mqtt)"
  if [ ! -x "$WACHTER" ] && [ "$DRY_RUN" = 0 ]; then
    note "no $WACHTER (--no-pip); run this step again after installing the packages"
    return
  fi
  local in_root=()
  if [ -n "$ROOT" ]; then in_root=(--root "$ROOT"); fi
  # paths as the installed system sees them; --root puts the files under the throwaway root
  run "$WACHTER" keys mqtt --config "$ETC/site.yaml" --out /etc/wachter/keys \
    --broker-dir /etc/mosquitto/wachter "${in_root[@]}" \
    --host localhost --host "$(hostname)" --host 127.0.0.1
  owner "$USER_NAME" "$USER_NAME" -R "$ETC/keys/clients"
  owner mosquitto mosquitto -R "$MOSQUITTO_ETC/wachter"
  if [ -e "$ETC/doorbell.token" ]; then
    note "keeping the intercom's doorbell token"
  else
    run sh -c "umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > '$ETC/doorbell.token'"
    owner "$USER_NAME" "$USER_NAME" "$ETC/doorbell.token"
    note "the intercom's action URL token is in /etc/wachter/doorbell.token"
  fi
  run mkdir -p "$MOSQUITTO_ETC/conf.d"
  run install -m 0644 "$MOSQUITTO_ETC/wachter/wachter.conf" "$MOSQUITTO_ETC/conf.d/wachter.conf"
}

units() {
  step "systemd units and the mosquitto drop-in, enabled"
  run mkdir -p "$UNITS/mosquitto.service.d"
  for unit in "$SOURCE"/systemd/wachter-*.service; do
    run install -m 0644 "$unit" "$UNITS/$(basename "$unit")"
  done
  run install -m 0644 "$SOURCE/systemd/mosquitto.service.d/wachter.conf" "$UNITS/mosquitto.service.d/wachter.conf"
  local enable=(wachter-agent.service wachter-gpio.service)
  grep -q 'type: intercom' "$ETC/site.yaml" 2>/dev/null && enable+=(wachter-intercom.service)
  grep -q 'zigbee:' "$ETC/site.yaml" 2>/dev/null && enable+=(wachter-zigbee2mqtt.service)
  if [ -n "$ROOT" ]; then
    run systemctl --root="$ROOT" enable "${enable[@]}"
  else
    run systemctl daemon-reload
    run systemctl enable "${enable[@]}" mosquitto.service
    note "start: systemctl restart mosquitto && systemctl start ${enable[*]}"
  fi
}

verdict() {
  step "is the site ready? (wachter check /etc/wachter/site.yaml)"
  if [ "$DRY_RUN" = 1 ] || [ ! -x "$WACHTER" ]; then
    note "run: wachter check /etc/wachter/site.yaml"
    return
  fi
  # the example's DC-09 key and PINs are public: the agent refuses them until they are replaced
  if "$WACHTER" check "$ETC/site.yaml"; then
    note "the site is ready to start"
  else
    note "NOT READY: the agent will refuse to start until /etc/wachter/site.yaml is fixed as listed above"
  fi
}

main() {
  if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "run as root (sudo), or use --dry-run / --root DIR" >&2
    exit 1
  fi
  echo "Wachter install from $SOURCE into ${ROOT:-/}$([ "$DRY_RUN" = 1 ] && echo ' (dry run)')"
  os_packages
  users
  code
  config_and_state
  keys
  units
  verdict
  step "done"
}

main
