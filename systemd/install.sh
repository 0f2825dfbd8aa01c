#!/usr/bin/env bash
# Install, update or roll back the PayPay QR kiosk on Raspberry Pi OS Lite 64-bit (Bookworm).
#
#   sudo systemd/install.sh [--dry-run] [--wheelhouse DIR] [--fleet] [--with-simulator] [--no-start]
#   sudo systemd/install.sh --rollback
#
# Idempotent: every step first checks whether it is already done and prints "= ..." if so,
# "+ ..." for what it does. --dry-run prints the same lines and changes nothing; --root DIR
# (with --dry-run only) inspects a copy of a system under DIR instead of /, for tests.
# --wheelhouse DIR installs offline from wheels made by `make wheelhouse`. Exits 0 only when
# kiosk.service is running (unless --no-start). --fleet adds the fleet extra (MQTT reporting).
#
# Layout: each release is a venv with a root-owned copy of the source in
# /opt/kiosk/releases/<version>-g<commit> (or <version>-s<source hash> without git or with
# local changes); /opt/kiosk/current points at the running one and /opt/kiosk/previous at the
# one before, so a rollback is one symlink swap and a restart. Versions come from
# requirements.lock, so every kiosk of a fleet runs the same ones.
set -euo pipefail
umask 022

DRY_RUN=0
ROOT=""
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WITH_SIMULATOR=0
START=1
ROLLBACK=0
RELEASE=""
WHEELHOUSE=""
EXTRAS=gpio
USER_NAME=kiosk
GROUPS_WANTED=(video render input audio gpio)
GROUPS_OF_UNIT=(video render input audio) # kiosk.service's SupplementaryGroups: must exist
VT=7
APP=/opt/kiosk
COMMAND_LINK=/usr/local/bin/kiosk
SMOKE='import kiosk.cli, kiosk.resources as r; r.example_config(); (r.assets_dir() / r.FONT_FILE).stat()'
# kmsdrm on a Pi: Mesa's DRI drivers (vc4/v3d), GBM and EGL/GLES; kbd for chvt
PACKAGES=(python3 python3-venv python3-pip kbd ca-certificates sqlite3 systemd-timesyncd
  libgbm1 libdrm2 libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libudev1 libasound2)
# boot quietly: kernel messages on tty3, no logo or cursor, no console blanking
CMDLINE_WANTED=(consoleblank=0 quiet loglevel=3 logo.nologo vt.global_cursor_default=0)

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
    --wheelhouse) WHEELHOUSE="$(cd "${2:?--wheelhouse needs a directory}" && pwd)"; shift ;;
    --fleet) EXTRAS=gpio,fleet ;;
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
  ACTED=1
  if ((DRY_RUN == 0)); then "$@"; fi
}
ACTED=0
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
  for group in "${GROUPS_OF_UNIT[@]}"; do # udev makes them; a system without udev may lack one
    if [[ -z "$(group_line "$group")" ]]; then act groupadd --system "$group"; fi
  done
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
  make_dir 0755 root:root /etc/kiosk/images # catalogue pictures: operator content, kept
  make_dir 0755 root:root "$APP"
  make_dir 0755 root:root "$APP/releases"
}

# The files a release is made of, relative to the source (no venv, caches or VCS data).
release_files() {
  (cd "$SOURCE" && find kiosk pyproject.toml requirements.lock README.md LICENSE \
    -type d \( -name __pycache__ -o -name '*.egg-info' \) -prune -o -type f -print |
    LC_ALL=C sort)
}

source_hash() {
  (cd "$SOURCE" && release_files | tr '\n' '\0' | xargs -0 sha256sum | sha256sum | cut -c1-10)
}

release_name() {
  local version commit=""
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$SOURCE/pyproject.toml" | head -n1)"
  # safe.directory: root may read the admin's clone (git refuses "dubious ownership" otherwise)
  # and --no-optional-locks: root must not rewrite the admin's .git/index
  local git=(git --no-optional-locks -c safe.directory="$SOURCE" -C "$SOURCE")
  if "${git[@]}" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
    [[ -z "$("${git[@]}" status --porcelain -- kiosk pyproject.toml requirements.lock)" ]]; then
    commit="$("${git[@]}" rev-parse --short=10 HEAD)"
  fi
  local extras="" # a release with other extras is another release
  if [[ "$EXTRAS" != gpio ]]; then extras="-${EXTRAS#gpio,}"; fi
  if [[ -n "$commit" ]]; then
    printf '%s-g%s%s' "${version:-0}" "$commit" "$extras"
  else
    printf '%s-s%s%s' "${version:-0}" "$(source_hash)" "$extras" # no git, or local changes
  fi
}

copy_source() { # dir: the release's own copy, owned by root whoever owns the source
  printf '+ copy %s files from %s to %s/app (owner root, mode 0644/0755)\n' \
    "$(release_files | wc -l)" "$SOURCE" "$1"
  ACTED=1
  ((DRY_RUN == 0)) || return 0
  install -d -m 0755 "$1/app"
  (cd "$SOURCE" && release_files | tar -cf - --no-recursion --owner=0 --group=0 \
    --mode=u=rwX,go=rX -T -) | tar -xf - --no-same-owner -C "$1/app"
}

build_release() { # dir: a venv owned by root, the source copied beside it, pinned versions
  local dir="$1" pip=("$1/bin/pip" install --quiet --disable-pip-version-check)
  if [[ -n "$WHEELHOUSE" ]]; then pip+=(--no-index --find-links "$WHEELHOUSE"); fi
  if [[ -e "$ROOT$dir" ]]; then act rm -rf "$dir"; fi # an unfinished earlier attempt
  copy_source "$dir"
  act python3 -m venv "$dir"
  # the build backend and every dependency at the versions in requirements.lock
  act "${pip[@]}" --constraint "$dir/app/requirements.lock" setuptools
  act "${pip[@]}" --no-build-isolation --constraint "$dir/app/requirements.lock" "$dir/app[$EXTRAS]"
  act "$dir/bin/pip" check --disable-pip-version-check
  # it imports, and its package data (font, example config) is there
  act "$dir/bin/python" -c "$SMOKE"
  act touch "$dir/.complete"
}

install_release() {
  local name="${RELEASE:-$(release_name)}"
  local dir="$APP/releases/$name"
  if [[ -e "$ROOT$dir/.complete" ]]; then
    done_already "release $name installed in $dir"
  else
    build_release "$dir"
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

link_command() { # `kiosk` on every PATH, root's and sudo's secure_path included
  if [[ "$(readlink "$ROOT$COMMAND_LINK" 2>/dev/null)" == "$APP/current/bin/kiosk" ]]; then
    done_already "$COMMAND_LINK -> $APP/current/bin/kiosk"
  else
    act ln -sfn "$APP/current/bin/kiosk" "$COMMAND_LINK"
  fi
}

quiet_boot() {
  local cmdline="" candidate param changed=0
  for candidate in /boot/firmware/cmdline.txt /boot/cmdline.txt; do
    if [[ -f "$ROOT$candidate" ]]; then cmdline="$candidate"; break; fi
  done
  if [[ -z "$cmdline" ]]; then
    attention "no cmdline.txt found: add ${CMDLINE_WANTED[*]} to the kernel command line and move console=tty1 to tty3 yourself"
    return
  fi
  # cmdline.txt is one line: replace a parameter's other value, or append it (reboot to apply)
  for param in "${CMDLINE_WANTED[@]}"; do
    if ! grep -qE "(^| )${param//./\\.}( |$)" "$ROOT$cmdline"; then
      act sed -i -E "1 s/ ?${param%%=*}(=[^ ]*)?( |$)/\\2/; 1 s/$/ $param/" "$cmdline"
      changed=1
    fi
  done
  if grep -qE '(^| )console=tty1( |$)' "$ROOT$cmdline"; then
    act sed -i -E '1 s/(^| )console=tty1( |$)/\1console=tty3\2/' "$cmdline"
    changed=1
  fi
  if ((changed == 0)); then
    done_already "quiet boot in $cmdline (${CMDLINE_WANTED[*]}, kernel console not on tty1)"
  fi
}

unit_link() { # unit target: is it enabled for that target?
  [[ -e "$ROOT/etc/systemd/system/$2.wants/$1" || -L "$ROOT/etc/systemd/system/$2.wants/$1" ]]
}

hide_logins() {
  local unit
  for unit in "getty@tty$VT.service" "autovt@tty$VT.service"; do
    if [[ "$(readlink "$ROOT/etc/systemd/system/$unit" 2>/dev/null)" == /dev/null ]]; then
      done_already "$unit masked (no login prompt on the kiosk's VT)"
    else
      act systemctl mask "$unit"
    fi
  done
  # no login prompt on tty1 at boot either (Ctrl+Alt+F2 still gives one, and ssh)
  if unit_link getty@tty1.service getty.target; then
    act systemctl disable getty@tty1.service
  else
    done_already "getty@tty1.service disabled (no login prompt before the kiosk draws)"
  fi
}

CHANGED_UNITS=0
CHANGED_MANAGER=0
install_file() { # source target kind(unit|manager)
  if cmp -s "$1" "$ROOT$2"; then
    done_already "$2 up to date"
    return
  fi
  act install -D -m 0644 "$1" "$2"
  if [[ "$3" == manager ]]; then CHANGED_MANAGER=1; else CHANGED_UNITS=1; fi
}

install_units() {
  local etc=/etc/systemd
  install_file "$SOURCE/systemd/kiosk.service" "$etc/system/kiosk.service" unit
  install_file "$SOURCE/systemd/kiosk-simulator.service" "$etc/system/kiosk-simulator.service" unit
  install_file "$SOURCE/systemd/time-wait-sync.conf" \
    "$etc/system/systemd-time-wait-sync.service.d/kiosk.conf" unit
  install_file "$SOURCE/systemd/watchdog.conf" "$etc/system.conf.d/kiosk-watchdog.conf" manager
  if ((CHANGED_MANAGER)); then
    act systemctl daemon-reexec # the hardware watchdog is the manager's setting
  elif ((CHANGED_UNITS)); then
    act systemctl daemon-reload
  fi
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

# Restart (when anything changed, or it is not running), then exit 0 only if the kiosk is still
# running a few seconds later without a restart in between.
start_and_check() {
  local restarted=0
  if ((ACTED)) || [[ $DRY_RUN -eq 0 && "$(systemctl is-active kiosk.service)" != active ]]; then
    act systemctl restart kiosk.service || restarted=$? # a failed start is reported below
  else
    done_already "nothing changed; kiosk.service not restarted"
  fi
  ((DRY_RUN == 0)) || return 0
  local restarts
  restarts="$(systemctl show -P NRestarts kiosk.service)"
  sleep 5
  if ((restarted == 0)) && [[ "$(systemctl is-active kiosk.service)" == active &&
    "$(systemctl show -P NRestarts kiosk.service)" == "$restarts" ]]; then
    printf '= kiosk.service is running (%s)\n' "$(readlink "$APP/current")"
    return 0
  fi
  journalctl -u kiosk.service -n 30 --no-pager >&2 || true
  die "kiosk.service is not running; see the log above (journalctl -u kiosk), fix it and run again"
}

rollback() {
  local previous current
  previous="$(readlink "$ROOT$APP/previous" 2>/dev/null || true)"
  [[ -n "$previous" ]] || die "no previous release to roll back to ($APP/previous is missing)"
  [[ -e "$ROOT$previous/.complete" ]] || die "the previous release $previous is incomplete"
  current="$(readlink "$ROOT$APP/current" 2>/dev/null || true)"
  act ln -sfn "$previous" "$APP/current"
  if [[ -n "$current" ]]; then act ln -sfn "$current" "$APP/previous"; fi
  start_and_check
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
  link_command
  quiet_boot
  hide_logins
  install_units
  if ((START)); then start_and_check; fi
  printf 'done. Next: put PayPay credentials in /etc/kiosk/credentials (see docs/install.md),\n'
  printf 'edit /etc/kiosk/kiosk.toml, then: sudo kiosk check-config && sudo kiosk doctor\n'
}

main
