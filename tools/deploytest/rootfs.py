"""A minimal Debian 12 root file system for the booted-systemd install test, made once with
debootstrap and cached.

Why a cache keyed by a hash: debootstrap takes a minute or more and downloads ~200 MB; the tree
only changes when the package list (install.sh's own list plus what a Pi image has: systemd,
sudo, git), the suite, the mirror or this file's setup changes, so all of those make the key.
The tree is never booted itself: each run boots a throwaway overlay (or copy) of it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUITE = "bookworm"
CACHE = Path(os.environ.get("KIOSK_DEPLOY_CACHE", "/var/cache/kiosk-deploy-test"))
# What a Raspberry Pi OS Lite image has that a minbase debootstrap lacks, for the admin's steps.
IMAGE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "sudo", "git", "procps", "util-linux")
ADMIN = "pi"  # uid 1000, in group sudo, like the image's first user
SETUP_VERSION = "2"  # bump when setup() changes
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=1 rootfstype=ext4 rootwait\n"


def install_packages(install_sh: Path) -> tuple[str, ...]:
    """The PACKAGES=( ... ) list of install.sh, so the rootfs has what the installer wants and
    the test's install does not depend on apt at run time (install.sh then says '= packages')."""
    text = install_sh.read_text(encoding="utf-8")
    found = re.search(r"^PACKAGES=\((.*?)\)", text, re.S | re.M)
    if found is None:
        raise RuntimeError(f"no PACKAGES=(...) in {install_sh}")
    return tuple(found.group(1).split())


def host_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The host's Debian mirror (reachable by the rule of this machine), from sources.list or
    the deb822 debian.sources."""
    for path in [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in (r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", r"^URIs:\s*(\S+)"):
            for match in re.finditer(pattern, text, re.M):
                if "security" not in match.group(1):
                    return match.group(1)
    return "http://deb.debian.org/debian"


def cache_key(packages: tuple[str, ...], mirror: str) -> str:
    text = "\n".join([SUITE, mirror, SETUP_VERSION, *sorted(packages)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def cache_lock() -> Iterator[None]:
    """One builder at a time: several engineers (or CI jobs) may share the machine's cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_rootfs(install_sh: Path) -> tuple[Path, bool]:
    """(the cached tree, whether it was built just now)."""
    with cache_lock():
        return _ensure_rootfs(install_sh)


def _ensure_rootfs(install_sh: Path) -> tuple[Path, bool]:
    packages = tuple(sorted(set(install_packages(install_sh)) | set(IMAGE_PACKAGES)))
    mirror = host_mirror()
    tree = CACHE / f"rootfs-{cache_key(packages, mirror)}"
    if (tree / ".complete").exists():
        return tree, False
    CACHE.mkdir(parents=True, exist_ok=True)
    building = tree.with_name(tree.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE,
         str(building), mirror],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    setup(building)
    (building / ".complete").write_text(" ".join(packages) + "\n")
    shutil.rmtree(tree, ignore_errors=True)
    building.rename(tree)
    return tree, True


def setup(tree: Path) -> None:
    """What Raspberry Pi Imager leaves: a hostname, an admin user with sudo, cmdline.txt."""
    (tree / "etc/hostname").write_text("kiosk-pi\n")
    chroot = ["chroot", str(tree)]
    subprocess.run([*chroot, "useradd", "--create-home", "--uid", "1000", "--shell",
                    "/bin/bash", "--groups", "sudo", ADMIN], check=True)  # fmt: skip
    sudoers = tree / "etc/sudoers.d/010_pi-nopasswd"
    sudoers.write_text(f"{ADMIN} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    firmware = tree / "boot/firmware"
    firmware.mkdir(parents=True, exist_ok=True)
    (firmware / "cmdline.txt").write_text(CMDLINE)
    subprocess.run([*chroot, "apt-get", "clean"], check=True)
