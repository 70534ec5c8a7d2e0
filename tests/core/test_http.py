"""The kernel's outbound transport (``Http11Transport``) against real sockets: keep-alive reuse,
the three ways a body is framed, streaming as it arrives, uploads of unknown length, TLS, timeouts,
broken connections, a connection the server closed while idle, and abandoned bodies giving their
slot back. Upstream error bodies are read down to their message, however the service nests it."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from tls import self_signed

from stack_core.http import Http11Transport, error_message

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One request: its request line, headers (lower-cased names) and body (either framing)."""
    head = await reader.readuntil(b"\r\n\r\n")
    line, *lines = head[:-4].split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in lines)}
    if b"content-length" in headers:
        return line, headers, await reader.readexactly(int(headers[b"content-length"]))
    body = b""
    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
        body += (await reader.readexactly(size + 2))[:-2]
    await reader.readexactly(2)
    return line, headers, body


def reply(body: bytes, *extra: bytes) -> bytes:
    return b"\r\n".join([b"HTTP/1.1 200 OK", b"Content-Length: %d" % len(body), *extra, b"", body])


class Server:
    """A TCP server running ``handler`` per connection, counting connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler, self.connections = handler, 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self, tls: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[tuple[Server, str]]]]:
    servers: list[Server] = []

    async def start(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[Server, str]:
        server = Server(handler)
        servers.append(server)
        return server, await server.start(tls)

    yield start
    for server in servers:
        server.server.close()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers each request with its request line, then its body."""
    while True:
        line, _, body = await read_request(reader)
        writer.write(reply(line + b"|" + body))
        await writer.drain()


async def test_sequential_requests_share_one_connection_and_bodies_arrive_whole(serve) -> None:
    server, url = await serve(echo)
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        for n in range(5):
            answer = await client.post(f"{url}/v1/x?n={n}", content=b"body %d" % n)
            assert answer.status_code == 200
            assert answer.content == b"POST /v1/x?n=%d HTTP/1.1|body %d" % (n, n)
    assert server.connections == 1


async def test_an_upload_of_unknown_length_is_sent_chunked(serve) -> None:
    _, url = await serve(echo)

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one ", b"", b"two ", b"three"):
            yield part

    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        answer = await client.post(f"{url}/up", content=parts())
    assert answer.content == b"POST /up HTTP/1.1|one two three"


async def test_a_chunked_body_streams_as_it_arrives_and_the_connection_is_reused(serve) -> None:
    more = asyncio.Event()

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nfirst\r\n")
            await more.wait()
            writer.write(b"6\r\nsecond\r\n0\r\nTrailer: t\r\n\r\n")
            more.clear()

    server, url = await serve(chunked)
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        for _ in range(2):
            async with client.stream("GET", f"{url}/sse") as answer:
                chunks = answer.aiter_bytes()
                assert await anext(chunks) == b"first"  # before the rest is sent
                more.set()
                assert [c async for c in chunks] == [b"second"]
    assert server.connections == 1


async def test_a_body_to_the_end_of_the_connection_is_read_and_the_connection_not_reused(serve) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nall of it")
        await writer.drain()

    server, url = await serve(until_close)
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        assert [(await client.get(f"{url}/")).content for _ in range(2)] == [b"all of it"] * 2
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_replaced(serve) -> None:
    async def one_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply(b"ok"))  # keep-alive announced, then closed anyway
        await writer.drain()

    server, url = await serve(one_each)
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        for _ in range(3):
            assert (await client.post(f"{url}/", content=b"x")).content == b"ok"
            await asyncio.sleep(0.05)
    assert server.connections == 3


async def test_a_request_the_server_dropped_on_a_reused_connection_is_sent_again(serve) -> None:
    """The race the pool can not see: the server closes the connection just as the next request
    goes out on it, answering nothing; the request goes again on a new connection."""

    async def drops_the_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply(b"first"))
        await writer.drain()
        await read_request(reader)  # closed unanswered

    async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply(b"again"))
        await writer.drain()

    handlers = iter([drops_the_second, answers])
    server, url = await serve(lambda reader, writer: next(handlers)(reader, writer))
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        assert (await client.post(url, content=b"1")).content == b"first"
        assert (await client.post(url, content=b"2")).content == b"again"

        async def upload() -> AsyncIterator[bytes]:
            yield b"not replayable"

        handlers = iter([drops_the_second])
        assert (await client.post(url, content=b"3")).content == b"first"
        with pytest.raises(httpx.RemoteProtocolError, match="closed the connection"):
            await client.post(url, content=upload())
    assert server.connections == 3


async def test_failures_are_httpx_errors(serve) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        await writer.drain()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    _, slow_url = await serve(silent)
    _, short_url = await serve(short)
    _, garbage_url = await serve(garbage)
    dead = Server(echo)
    dead_url = await dead.start()
    dead.server.close()
    await dead.server.wait_closed()
    async with httpx.AsyncClient(transport=Http11Transport(), timeout=httpx.Timeout(0.3)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(slow_url)
        with pytest.raises(httpx.RemoteProtocolError, match="91 bytes before the end"):
            await client.get(short_url)
        with pytest.raises(httpx.RemoteProtocolError, match="not an HTTP status line"):
            await client.get(garbage_url)
        with pytest.raises(httpx.ConnectError):
            await client.get(dead_url)


async def test_an_abandoned_body_gives_its_slot_back(serve) -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"4\r\ndata\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)

    _, url = await serve(endless)
    _, echo_url = await serve(echo)
    async with httpx.AsyncClient(transport=Http11Transport(max_connections=1)) as client:
        async with client.stream("GET", url) as answer:
            assert await anext(answer.aiter_bytes()) == b"data"
        task = asyncio.create_task(client.get(url))  # cancelled mid-body
        await asyncio.sleep(0.1)
        task.cancel()
        answer = await asyncio.wait_for(client.post(echo_url, content=b"next"), 5)  # the one slot is free
        assert answer.content.endswith(b"|next")


async def test_tls_with_a_ca_file_and_without_verification(serve, tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    _, url = await serve(echo, context)
    for verify in (str(certfile), False):
        async with httpx.AsyncClient(transport=Http11Transport(verify=verify)) as client:
            assert (await client.post(url, content=b"secret")).content == b"POST / HTTP/1.1|secret"
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.post(url, content=b"secret")


async def test_send_answers_without_httpx_objects_and_decodes_gzip(serve) -> None:
    async def compressed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, headers, body = await read_request(reader)
            packed = gzip.compress(line + b"|" + headers[b"x-extra"] + b"|" + body)
            writer.write(reply(packed, b"Content-Encoding: gzip", b"Content-Type: application/json"))
            await writer.drain()

    server, url = await serve(compressed)
    transport = Http11Transport()
    for n in range(2):
        answer = await transport.send(b"POST", httpx.URL(f"{url}/v1/a"), [(b"X-Extra", b"e")], b"%d" % n, {})
        assert answer.status == 200 and answer.header(b"content-type") == "application/json"
        assert await answer.read() == b"POST /v1/a HTTP/1.1|e|%d" % n
    await transport.aclose()
    assert server.connections == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"error": {"message": "model x not found", "type": "invalid_request_error"}}',
            "model x not found",
        ),
        (b'{"detail": {"error": "Unauthorized: missing or invalid API key."}}', "Unauthorized: missing"),
        (b'{"type": "ErrorResponse", "error": {"code": "RATE_LIMITED", "detail": "Slow down"}}', "Slow down"),
        (b'{"error": "overloaded"}', "overloaded"),
        (b'{"status": "bad"}', "{'status': 'bad'}"),
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
    ],
)
def test_error_message_finds_the_innermost_message(body: bytes, message: str) -> None:
    assert error_message(body).startswith(message)
