"""The hub's HTTP server: a login, then read-only status pages (and room for more routes).

Why / invariants:
- every page but the login needs a session: a random token in an HttpOnly, SameSite=Strict
  cookie, kept in memory for `session_s` (a hub restart logs everyone out, which is fine);
- the password is checked against a salted PBKDF2 hash from the hub's config, never stored or
  logged in clear; wrong passwords are slowed down (one attempt a second per server);
- GET pages never write the ledger; each request reads it on its own connection;
- `WebApp.add` lets another part of the hub (e.g. the PayPay relay) register its own routes on
  the same server, public or behind the login.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from kiosk.fleet.hub import views
from kiosk.ops.pin import ALGORITHM, ITERATIONS, is_pin_hash, verify_pin

log = logging.getLogger(__name__)
COOKIE = "hub_session"
MIN_PASSWORD = 10


def hash_password(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    """The status page password's hash (same format as the attendant PIN's)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a status page password has at least {MIN_PASSWORD} characters")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    salt_text = base64.b64encode(salt).decode("ascii")
    return f"{ALGORITHM}${iterations}${salt_text}${base64.b64encode(digest).decode('ascii')}"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]

    @property
    def lang(self) -> str:
        lang = self.query.get("lang") or self.cookies.get("lang") or "ja"
        return lang if lang in views.TEXT else "ja"


@dataclass
class Response:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)


Handler = Callable[[Request], Response]


def redirect(to: str) -> Response:
    return Response(303, headers={"Location": to})


class WebApp:
    def __init__(
        self,
        database: str,
        password_hash: str,
        *,
        clock: Callable[[], float] = time.time,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        session_s: float = 12 * 3600,
    ) -> None:
        if not is_pin_hash(password_hash):
            raise ValueError("the status page password hash is not in pbkdf2_sha256$... form")
        self.database = database
        self.password_hash = password_hash
        self.clock = clock
        self.new_token = new_token
        self.session_s = session_s
        self._sessions: dict[str, float] = {}  # token -> expires_at
        self._lock = threading.Lock()
        self._last_wrong = 0.0
        self.routes: list[tuple[str, str, Handler, bool]] = []  # method, prefix, handler, public
        self.add("GET", "/login", self.login_form, public=True)
        self.add("POST", "/login", self.login, public=True)
        self.add("GET", "/logout", self.logout, public=True)
        self.add("GET", "/kiosk/", self.kiosk)
        self.add("GET", "/", self.fleet)

    def add(self, method: str, prefix: str, handler: Handler, *, public: bool = False) -> None:
        """Register a route: the longest matching prefix wins; "/" matches only itself."""
        self.routes.append((method, prefix, handler, public))
        self.routes.sort(key=lambda r: len(r[1]), reverse=True)

    # ---- dispatch ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        for method, prefix, handler, public in self.routes:
            matches = request.path == prefix if prefix == "/" else request.path.startswith(prefix)
            if method != request.method or not matches:
                continue
            if not public and not self._logged_in(request):
                return redirect(f"/login?lang={request.lang}")
            response = handler(request)
            if "lang" in request.query:
                response.cookies.append(f"lang={request.lang}; Path=/; SameSite=Strict")
            return response
        return Response(404, "not found", {"Content-Type": "text/plain; charset=utf-8"})

    def _logged_in(self, request: Request) -> bool:
        token = request.cookies.get(COOKIE, "")
        with self._lock:
            expires = self._sessions.get(token)
            if expires is None or expires < self.clock():
                self._sessions.pop(token, None)
                return False
            return True

    # ---- pages ------------------------------------------------------------------------------

    def login_form(self, request: Request) -> Response:
        return _html(views.login_page(request.lang, "wrong" in request.query))

    def login(self, request: Request) -> Response:
        password = request.form.get("password", "")
        with self._lock:
            wait = self._last_wrong + 1.0 - self.clock()
        if wait > 0:
            time.sleep(min(wait, 1.0))
        if not verify_pin(password, self.password_hash):
            with self._lock:
                self._last_wrong = self.clock()
            log.warning("hub status page: wrong password")
            return redirect(f"/login?lang={request.lang}&wrong=1")
        token = self.new_token()
        with self._lock:
            now = self.clock()
            self._sessions = {t: e for t, e in self._sessions.items() if e > now}
            self._sessions[token] = now + self.session_s
        response = redirect(f"/?lang={request.lang}")
        response.cookies.append(
            f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={int(self.session_s)}"
        )
        return response

    def logout(self, request: Request) -> Response:
        with self._lock:
            self._sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = redirect("/login")
        response.cookies.append(f"{COOKIE}=; Path=/; Max-Age=0")
        return response

    def fleet(self, request: Request) -> Response:
        with psycopg.connect(self.database) as db:
            kiosks = views.fleet_rows(db)
            totals = views.today_totals(db, self.clock())
        return _html(views.fleet_page(request.lang, kiosks, totals))

    def kiosk(self, request: Request) -> Response:
        kiosk = unquote(request.path[len("/kiosk/") :])
        with psycopg.connect(self.database) as db:
            known = db.execute("SELECT 1 FROM kiosks WHERE kiosk=%s", (kiosk,)).fetchone()
            if known is None:
                return Response(404, "no such kiosk", {"Content-Type": "text/plain; charset=utf-8"})
            sales = views.recent_sales(db, kiosk)
            refunds = views.recent_refunds(db, kiosk)
        return _html(views.kiosk_page(request.lang, kiosk, sales, refunds))


def _html(text: str) -> Response:
    return Response(200, text, {"Content-Type": "text/html; charset=utf-8"})


def _parse_cookies(header: str) -> dict[str, str]:
    cookies = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            cookies[name] = value
    return cookies


def _single(values: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in values.items() if v}


class _Handler(BaseHTTPRequestHandler):
    app: WebApp  # set on the subclass made per server

    def do_GET(self) -> None:
        self._serve("GET", {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 10_000:
            self._send(Response(413, "too large"))
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        self._serve("POST", _single(parse_qs(body)))

    def _serve(self, method: str, form: dict[str, str]) -> None:
        url = urlsplit(self.path)
        request = Request(
            method,
            url.path,
            _single(parse_qs(url.query)),
            form,
            _parse_cookies(self.headers.get("Cookie", "")),
        )
        try:
            response = self.app.handle(request)
        except psycopg.Error as exc:
            log.error("hub status page: ledger unavailable error=%s", type(exc).__name__)
            response = Response(503, "the ledger is unavailable; see the hub's log")
        self._send(response)

    def _send(self, response: Response) -> None:
        body = response.body.encode("utf-8")
        self.send_response(response.status)
        headers = {"Content-Type": "text/plain; charset=utf-8", **response.headers}
        headers.update(
            {
                "Content-Length": str(len(body)),
                "Cache-Control": "no-store",
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'",
            }
        )
        for name, value in headers.items():
            self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("hub http %s", format % args)


def serve(app: WebApp, host: str, port: int) -> ThreadingHTTPServer:
    """Start the server on its own thread; `shutdown()` and `server_close()` stop it."""
    handler = type("HubHandler", (_Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="hub-http", daemon=True).start()
    return server
