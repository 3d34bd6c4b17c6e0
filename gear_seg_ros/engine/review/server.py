"""The review page's local server (stdlib http.server, loopback only): the static page, a JSON API, photos, masks.

GET  /                          the page (static/index.html; app.js, app.css beside it, no network assets)
GET  /api/state                 records, questions and decisions (data.ReviewData.state)
GET  /api/masks/<image_id>      the image's masks: id, description, colour, box (no pixels)
GET  /api/image/<image_id>      the photo
GET  /api/mask/<image_id>/<id>  one mask as a transparent PNG
POST /api/decision              {"question_id", "status"?, "text"?}: saved (atomically) before the reply
"""
from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import unquote, urlsplit

from gear_seg_ros.engine.review.data import ReviewData, ReviewError

log = logging.getLogger("gear_seg.review")
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/static/app.css": ("app.css", "text/css; charset=utf-8")}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
MAX_BODY = 1 << 20


def static_file(name: str) -> bytes:
    return resources.files("gear_seg_ros.engine.review").joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    data: ReviewData  # set on the subclass made by make_server
    server_version = "gear-seg-review"

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s %s", self.address_string(), fmt % args)

    def _send(self, status: int, body: bytes, ctype: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=60" if cache else "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, doc) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _host_ok(self) -> bool:
        """Refuses requests addressed to another host name (DNS rebinding from a web page in the same browser)."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        if host in LOOPBACK_HOSTS:
            return True
        self._json(HTTPStatus.FORBIDDEN, {"error": f"host {host!r} refused: open http://127.0.0.1:PORT/"})
        return False

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        path = urlsplit(self.path).path
        try:
            if path in STATIC:
                name, ctype = STATIC[path]
                self._send(HTTPStatus.OK, static_file(name), ctype)
            elif path == "/api/state":
                self._json(HTTPStatus.OK, self.data.state())
            elif path.startswith("/api/masks/"):
                self._json(HTTPStatus.OK, self.data.masks(unquote(path[len("/api/masks/"):])))
            elif path.startswith("/api/image/"):
                body, ctype = self.data.image(unquote(path[len("/api/image/"):]))
                self._send(HTTPStatus.OK, body, ctype, cache=True)
            elif path.startswith("/api/mask/"):
                image_id, _, mask_id = unquote(path[len("/api/mask/"):]).rpartition("/")
                if not mask_id.removesuffix(".png").isdigit():
                    raise ReviewError(f"bad mask path {path!r}; expected /api/mask/<image_id>/<mask id>.png")
                self._send(HTTPStatus.OK, self.data.mask_png(image_id, int(mask_id.removesuffix(".png"))),
                           "image/png")
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})
        except ReviewError as exc:
            self._json(HTTPStatus.NOT_FOUND, {"error": str(exc)})

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        if urlsplit(self.path).path != "/api/decision":
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"a JSON body of 1..{MAX_BODY} bytes is expected"})
            return
        try:
            payload = json.loads(self.rfile.read(length))
            self._json(HTTPStatus.OK, self.data.decide(payload))
        except (ValueError, ReviewError) as exc:  # JSONDecodeError is a ValueError
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except OSError as exc:  # the folder became unwritable: the page shows it and keeps the decision unsaved
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"could not save: {exc}"})


def make_server(data: ReviewData, port: int = 8765) -> ThreadingHTTPServer:
    """Bound to 127.0.0.1 only; port 0 picks a free one (server.server_address[1])."""
    handler = type("ReviewHandler", (_Handler,), {"data": data})
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        from gear_seg_ros.errors import GearSegError

        raise GearSegError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pass another --port, or 0 "
                           f"for any free one") from None
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="review-server", daemon=True)
    thread.start()
    return thread
