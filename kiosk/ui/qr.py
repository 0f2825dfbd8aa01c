"""The QR code as a pygame Surface, fast enough to show within a few ms of the order's URL.

Why this way: the `qrcode` package spends ~1.5 ms per URL in pure Python (bit buffer, RS via
polynomial objects, per-module placement), on the UI thread and holding the GIL against the
sale worker. We encode exactly our case ourselves: one byte-mode segment, ECC M, fixed mask 2
(any mask is valid and every reader tries all). Per version, a cached template borrowed from
qrcode itself (function patterns, format/version info, quiet zone, and mask 2 applied to zero
data) plus the data modules' flat indices in qrcode's placement order; encoding is then Python
int arithmetic for the bit stream, table-driven Reed-Solomon on ints, and flipping the template
where a codeword bit is 1. Invariant: the matrix equals qrcode's (make(fit=True), same options)
bit for bit; tests check it. The Surface is built from the flat bytes as an 8-bit paletted image
(1 = black, 0 = white) and scaled by a whole number, nearest-neighbour, so modules stay crisp.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import pygame
import qrcode
from qrcode import base, util
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE_MODULES = 4
MASK_PATTERN = 2
_BITS = bytes.maketrans(b"01", b"\x00\x01")
_PALETTE = [(255, 255, 255), (0, 0, 0)]  # index 0 light, 1 dark


@dataclass(frozen=True, slots=True)
class QrModules:
    """The bordered matrix, row-major, one byte per module (1 = dark)."""

    side: int
    flat: bytearray

    def rows(self) -> list[list[bool]]:
        s, flat = self.side, self.flat
        return [[v == 1 for v in flat[i : i + s]] for i in range(0, s * s, s)]


class _Capture(qrcode.QRCode):  # type: ignore[misc]
    """qrcode that stops before data placement: keeps the function patterns and format info."""

    def map_data(self, data: list[int], mask_pattern: int) -> None:
        self.captured = [list(row) for row in self.modules]


@cache
def _template(version: int) -> tuple[bytes, tuple[int, ...]]:
    """(bordered flat matrix with mask applied to zero data, data indices in placement order)."""
    code = _Capture(
        version=version, error_correction=ERROR_CORRECT_M, border=0, mask_pattern=MASK_PATTERN
    )
    code.add_data(b"", optimize=0)
    code.make(fit=False)
    modules: list[list[bool | None]] = code.captured
    n, q = len(modules), QUIET_ZONE_MODULES
    side = n + 2 * q
    flat = bytearray(side * side)
    mask = util.mask_func(MASK_PATTERN)
    positions: list[int] = []
    # mirror qrcode's map_data traversal: column pairs right to left, zig-zag up and down
    upward = True
    for right in range(n - 1, 0, -2):
        col = right - 1 if right <= 6 else right
        for row in range(n - 1, -1, -1) if upward else range(n):
            for c in (col, col - 1):
                if modules[row][c] is None:
                    positions.append((row + q) * side + c + q)
        upward = not upward
    for row in range(n):
        for c in range(n):
            value = modules[row][c]
            dark = mask(row, c) if value is None else value
            flat[(row + q) * side + c + q] = 1 if dark else 0
    return bytes(flat), tuple(positions)


@cache
def _blocks(version: int) -> tuple[tuple[int, int], ...]:
    return tuple(
        (b.data_count, b.total_count - b.data_count)
        for b in base.rs_blocks(version, ERROR_CORRECT_M)
    )


def _capacity(version: int) -> int:
    return sum(d for d, _ in _blocks(version))


@cache
def _rs_table(ec: int) -> tuple[int, ...]:
    """For each feedback byte f: f * generator (without its leading 1), as an ec-byte int."""
    exp, log = base.EXP_TABLE, base.LOG_TABLE
    gen = [1]
    for i in range(ec):  # multiply by (x - a^i)
        nxt = [*gen, 0]
        for j, g in enumerate(gen):
            if g:
                nxt[j + 1] ^= exp[(log[g] + i) % 255]
        gen = nxt
    table = [0]
    for f in range(1, 256):
        coeffs = bytes(exp[(log[f] + log[g]) % 255] if g else 0 for g in gen[1:])
        table.append(int.from_bytes(coeffs, "big"))
    return tuple(table)


def _ecc(block: bytes, ec: int) -> bytes:
    table, shift, mask = _rs_table(ec), 8 * (ec - 1), (1 << 8 * ec) - 1
    rem = 0
    for byte in block:
        rem = ((rem << 8) & mask) ^ table[(rem >> shift) ^ byte]
    return rem.to_bytes(ec, "big")


def _codewords(data: bytes, version: int) -> bytes:
    """Byte-mode bit stream, terminator, pad bytes, RS per block, interleaved like qrcode."""
    count_bits = 8 if version < 10 else 16
    capacity = _capacity(version)
    nbits = 4 + count_bits + 8 * len(data)
    value = (((4 << count_bits) | len(data)) << 8 * len(data)) | int.from_bytes(data, "big")
    tail = min(capacity * 8 - nbits, 4)
    tail += -(nbits + tail) % 8
    body = (value << tail).to_bytes((nbits + tail) // 8, "big")
    fill = capacity - len(body)
    body += (b"\xec\x11" * (fill // 2 + 1))[:fill]
    dc: list[bytes] = []
    ecs: list[bytes] = []
    offset = 0
    for data_count, ec in _blocks(version):
        dc.append(body[offset : offset + data_count])
        ecs.append(_ecc(dc[-1], ec))
        offset += data_count
    if len(dc) == 1:
        return dc[0] + ecs[0]
    out = bytearray()
    for group in (dc, ecs):
        for column in itertools.zip_longest(*group):
            out.extend(b for b in column if b is not None)
    return bytes(out)


def _version_for(length: int) -> int:
    for version in range(1, 41):
        if 4 + (8 if version < 10 else 16) + 8 * length <= 8 * _capacity(version):
            return version
    raise ValueError(f"QR data too long: {length} bytes (byte mode, ECC M holds at most 2331)")


WARM_VERSIONS = 10  # URLs up to 213 bytes; PayPay's are about 50


@cache
def warm_encoder() -> None:
    """Build the templates and Reed-Solomon tables of the usual versions (about 2 ms each), so
    no customer's QR pays for them; the loop calls this while idle, and it runs once."""
    for version in range(1, WARM_VERSIONS + 1):
        _template(version)
        for _, ec in _blocks(version):
            _rs_table(ec)


def qr_modules(data: str | bytes) -> QrModules:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    version = _version_for(len(raw))
    template, positions = _template(version)
    flat = bytearray(template)
    words = _codewords(raw, version)
    bits = format(int.from_bytes(words, "big"), f"0{8 * len(words)}b").encode().translate(_BITS)
    for index in itertools.compress(positions, bits):
        flat[index] ^= 1
    return QrModules(version * 4 + 17 + 2 * QUIET_ZONE_MODULES, flat)


def qr_matrix(data: str | bytes) -> list[list[bool]]:
    """The bordered matrix as rows of booleans (True = dark), as qrcode's get_matrix()."""
    return qr_modules(data).rows()


def matrix_surface(modules: QrModules) -> pygame.Surface:
    """One pixel per module, black on white: 8-bit paletted straight from the module bytes, then
    in the display's format when there is one, so scaling and blitting are plain copies
    (converting the small image is ~4 us; converting the scaled one costs ~0.5 ms)."""
    side = modules.side
    small = pygame.image.frombytes(bytes(modules.flat), (side, side), "P")
    small.set_palette(_PALETTE)
    return small.convert() if pygame.display.get_surface() is not None else small


def scaled_side(small: pygame.Surface, max_side_px: int) -> int:
    """The largest whole-number multiple of the code's width that fits in max_side_px."""
    n = small.get_width()
    return n * max(1, max_side_px // n)


class QrCache:
    """The code of the current order: its modules are built once per URL (ahead of time, while
    the sale is journaled) and drawn scaled straight into the screen, so showing it costs one
    pass over its pixels (no 3 MB intermediate surface to allocate and copy)."""

    def __init__(self) -> None:
        self._url: str | None = None
        self._small: pygame.Surface | None = None

    def prepare(self, url: str) -> pygame.Surface:
        """The code of `url`, one pixel per module (built on the first call for a URL)."""
        if url != self._url or self._small is None:
            self._url, self._small = url, matrix_surface(qr_modules(url))
        return self._small

    def draw(
        self, surface: pygame.Surface, url: str, max_side_px: int, center: tuple[int, int]
    ) -> pygame.Rect:
        """Draw the code of `url`, as large as fits in max_side_px, centred; returns its rect."""
        small = self.prepare(url)
        if (small.get_bitsize(), small.get_masks()) != (surface.get_bitsize(), surface.get_masks()):
            small = self._small = small.convert(surface)  # scaling needs one pixel format
        side = scaled_side(small, max_side_px)
        rect = pygame.Rect(0, 0, side, side)
        rect.center = center
        pygame.transform.scale(small, rect.size, surface.subsurface(rect))
        return rect
