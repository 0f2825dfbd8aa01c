#!/usr/bin/env bash
# Install (or update) the PayPay QR kiosk on Raspberry Pi OS Lite 64-bit (Bookworm).
#
#   sudo systemd/install.sh [--dry-run] [--with-simulator] [--no-start] [--release NAME]
#   sudo systemd/install.sh --rollback
#
# Idempotent: every step first checks whether it is already done and prints "= ..." if so,
# "+ ..." for what it does. --dry-run prints the same lines and changes nothing; --root DIR
# (with --dry-run only) inspects a copy of a system under DIR instead of /, for tests.
#
# Layout: each release is a venv with the source beside it in /opt/kiosk/releases/NAME;
# /opt/kiosk/current points at the running one and /opt/kiosk/previous at the one before,
# so a rollback is one symlink swap and a restart.
set -euo pipefail

DRY_RUN=0
ROOT=""
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WITH_SIMULATOR=0
START=1
ROLLBACK=0
RELEASE=""
USER_NAME=kiosk
GROUPS_WANTED=(video render input audio gpio)
VT=7
APP=/opt/kiosk
PACKAGES=(python3 python3-venv python3-pip kbd ca-certificates sqlite3 systemd-timesyncd
  libgbm1 libdrm2 libegl1 libgles2 libudev1 libasound2)

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT="${2:?--root needs a directory}"; shift ;;
    --source) SOURCE="${2:?--source needs a directory}"; shift ;;
    --release) RELEASE="${2:?--release needs a name}"; shift ;;
    --with-simulator) WITH_SIMULATOR=1 ;;
    --no-start) START=0 ;;
    --rollback) ROLLBACK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

ROOT="${ROOT%/}"
[[ -z "$ROOT" || $DRY_RUN -eq 1 ]] || die "--root is only for --dry-run (it inspects, never changes)"
[[ $DRY_RUN -eq 1 || $EUID -eq 0 ]] || die "run as root: sudo $0 $*"

# One line per action. "+" does something (or would, in a dry run), "=" is already done,
# "!" needs the operator's attention.
act() {
  local shown=() arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then shown+=("$arg"); else shown+=("'$arg'"); fi
  done
  printf '+ %s\n' "${shown[*]}"
  if ((DRY_RUN == 0)); then "$@"; fi
}
done_already() { printf '= %s\n' "$*"; }
attention() { printf '! %s\n' "$*"; }

has_user() { grep -q "^$1:" "$ROOT/etc/passwd" 2>/dev/null; }
group_line() { grep "^$1:" "$ROOT/etc/group" 2>/dev/null || true; }
pkg_installed() {
  dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status}' "$1" 2>/dev/null |
    grep -q "install ok installed"
}

check_platform() {
  local codename=""
  if [[ -r "$ROOT/etc/os-release" ]]; then
    codename="$(. "$ROOT/etc/os-release" && printf '%s' "${VERSION_CODENAME:-}")"
  fi
  if [[ "$codename" == bookworm ]]; then
    done_already "platform: Debian/Raspberry Pi OS bookworm"
  else
    attention "platform: expected Raspberry Pi OS bookworm, found '${codename:-unknown}'; continuing"
  fi
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
  if ((${#missing[@]} == 0)); then
    done_already "packages: all installed"
    return
  fi
  act apt-get update -qq
  act env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

create_user() {
  if has_user "$USER_NAME"; then
    done_already "user $USER_NAME exists"
  else
    act useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home \
      --shell /usr/sbin/nologin --comment "PayPay QR kiosk" "$USER_NAME"
  fi
  local group line
  for group in "${GROUPS_WANTED[@]}"; do
    line="$(group_line "$group")"
    if [[ -z "$line" && $DRY_RUN -eq 0 ]] && ! getent group "$group" >/dev/null; then
      attention "group $group does not exist here; skipped"
    elif [[ ",${line##*:}," == *",$USER_NAME,"* ]]; then
      done_already "user $USER_NAME in group $group"
    else
      act usermod --append --groups "$group" "$USER_NAME"
    fi
  done
}

make_dir() { # mode owner:group path
  if [[ -d "$ROOT$3" ]]; then
    done_already "directory $3"
  else
    act install -d -m "$1" -o "${2%%:*}" -g "${2##*:}" "$3"
  fi
}

create_directories() {
  make_dir 0755 root:root /etc/kiosk
  make_dir 0700 root:root /etc/kiosk/credentials
  make_dir 0755 root:root "$APP/releases"
}

release_name() {
  local version hash
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$SOURCE/pyproject.toml" | head -n1)"
  hash="$(git -C "$SOURCE" rev-parse --short=10 HEAD 2>/dev/null || printf 'local')"
  printf '%s-%s' "${version:-0}" "$hash"
}

install_release() {
  local name="${RELEASE:-$(release_name)}"
  local dir="$APP/releases/$name"
  if [[ -x "$ROOT$dir/bin/kiosk" ]]; then
    done_already "release $name installed in $dir"
  else
    local parts=() part
    for part in kiosk assets config pyproject.toml README.md; do
      if [[ -e "$SOURCE/$part" ]]; then parts+=("$SOURCE/$part"); fi
    done
    act mkdir -p "$dir/app"
    act cp -a "${parts[@]}" "$dir/app/"
    act python3 -m venv "$dir"
    act "$dir/bin/pip" install --quiet --no-cache-dir --editable "$dir/app[gpio]"
  fi
  local current
  current="$(readlink "$ROOT$APP/current" 2>/dev/null || true)"
  if [[ "$current" == "$dir" ]]; then
    done_already "current release is $name"
  else
    if [[ -n "$current" ]]; then act ln -sfn "$current" "$APP/previous"; fi
    act ln -sfn "$dir" "$APP/current"
  fi
}

install_config() {
  if [[ -e "$ROOT/etc/kiosk/kiosk.toml" ]]; then
    done_already "kept existing /etc/kiosk/kiosk.toml"
  else
    act install -m 0640 -o root -g "$USER_NAME" "$SOURCE/kiosk/assets/kiosk.example.toml" \
      /etc/kiosk/kiosk.toml
  fi
}

disable_console_blanking() {
  local cmdline=""
  for candidate in /boot/firmware/cmdline.txt /boot/cmdline.txt; do
    if [[ -f "$ROOT$candidate" ]]; then cmdline="$candidate"; break; fi
  done
  if [[ -z "$cmdline" ]]; then
    attention "no cmdline.txt found: add consoleblank=0 to the kernel command line yourself"
  elif grep -qE '(^| )consoleblank=0( |$)' "$ROOT$cmdline"; then
    done_already "console blanking off (consoleblank=0 in $cmdline)"
  else
    # cmdline.txt is one line: drop any other consoleblank=, append ours (reboot to apply)
    act sed -i -E '1 s/ ?consoleblank=[0-9]+//; 1 s/$/ consoleblank=0/' "$cmdline"
  fi
}

unit_link() { # unit target: is it enabled for that target?
  [[ -e "$ROOT/etc/systemd/system/$2.wants/$1" || -L "$ROOT/etc/systemd/system/$2.wants/$1" ]]
}

disable_getty() {
  local unit
  for unit in "getty@tty$VT.service" "autovt@tty$VT.service"; do
    if [[ "$(readlink "$ROOT/etc/systemd/system/$unit" 2>/dev/null)" == /dev/null ]]; then
      done_already "$unit masked (no login prompt on the kiosk's VT)"
    else
      act systemctl mask "$unit"
    fi
  done
}

install_units() {
  local unit changed=0
  for unit in kiosk.service kiosk-simulator.service; do
    if cmp -s "$SOURCE/systemd/$unit" "$ROOT/etc/systemd/system/$unit"; then
      done_already "unit $unit up to date"
    else
      act install -m 0644 "$SOURCE/systemd/$unit" "/etc/systemd/system/$unit"
      changed=1
    fi
  done
  if ((changed)); then act systemctl daemon-reload; fi
  enable_unit kiosk.service multi-user.target
  enable_unit systemd-timesyncd.service sysinit.target
  enable_unit systemd-time-wait-sync.service sysinit.target
  if ((WITH_SIMULATOR)); then enable_unit kiosk-simulator.service multi-user.target; fi
}

enable_unit() {
  if unit_link "$1" "$2"; then
    done_already "$1 enabled"
  else
    act systemctl enable "$1"
  fi
}

rollback() {
  local previous
  previous="$(readlink "$ROOT$APP/previous" 2>/dev/null || true)"
  [[ -n "$previous" ]] || die "no previous release to roll back to ($APP/previous is missing)"
  local current
  current="$(readlink "$ROOT$APP/current" 2>/dev/null || true)"
  act ln -sfn "$previous" "$APP/current"
  if [[ -n "$current" ]]; then act ln -sfn "$current" "$APP/previous"; fi
  act systemctl restart kiosk.service
}

main() {
  if ((DRY_RUN)); then
    printf 'dry run: nothing will be changed (root: %s)\n' "${ROOT:-/}"
  fi
  if ((ROLLBACK)); then
    rollback
    return
  fi
  [[ -f "$SOURCE/pyproject.toml" && -f "$SOURCE/systemd/kiosk.service" ]] ||
    die "$SOURCE is not a kiosk source tree (pass --source DIR)"
  check_platform
  install_packages
  create_user
  create_directories
  install_release
  install_config
  disable_console_blanking
  disable_getty
  install_units
  if ((START)); then act systemctl restart kiosk.service; fi
  printf 'done. Next: put PayPay credentials in /etc/kiosk/credentials (see the README), edit\n'
  printf '/etc/kiosk/kiosk.toml, then: sudo kiosk check-config && sudo kiosk doctor\n'
}

main
