"""Documents for ingestion tests, written by hand (no fixtures on disk), and a local http server
of documents (``Page``s by path; a ``Location`` header makes a redirect; ``declare_length: False``
sends the body without Content-Length, ``delay`` answers late)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def minimal_pdf(*lines: str) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica, written by hand (correct xref offsets)."""
    shown = " T* ".join(f"({line}) Tj" for line in lines)
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@dataclass
class Page:
    body: bytes = b""
    media_type: str = "text/plain"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    declare_length: bool = True
    delay: float = 0.0


class DocumentServer:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = pages.get(self.path, Page(b"not found", status=404))
                time.sleep(page.delay)
                self.send_response(page.status)
                self.send_header("Content-Type", page.media_type)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                if page.declare_length:
                    self.send_header("Content-Length", str(len(page.body)))
                try:
                    self.end_headers()
                    self.wfile.write(page.body)
                except ConnectionError:  # the client gave up (a size or time limit)
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@contextmanager
def serve_documents() -> Iterator[DocumentServer]:
    """A ``DocumentServer`` answering on a thread until the block ends."""
    server = DocumentServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
