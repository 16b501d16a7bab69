"""The ``llm`` family on the shared sets against an OpenAI-compatible endpoint, or bertanno's own overhead per
item against a loopback server that answers at once.

    python -m benchmarks.llm --url http://127.0.0.1:11434/v1 --model qwen2.5:7b [--datasets …] [--test 200]
    python -m benchmarks.llm --loopback          # bertanno's overhead: prompt, request, parse, offsets
    python -m benchmarks.llm … --pools 0,500     # zero-shot, then few-shot from 500 training examples

For each set of ``--datasets``: the first ``--test`` examples of its test split (shuffled with seed 1, as the
quality suite does), pre-annotated through the family as a project's ``m001`` is (one request per item,
``--concurrency`` at a time, no cache), scored with the task's metrics; hallucinated spans (named entities not in
the text or of a foreign type, dropped) and unanswered items counted; seconds per item. The scores are a model's
only when run against a real one; with ``--loopback`` an in-process server answers every request at once with an
empty but valid answer, so the seconds are bertanno's own per item (the scores then mean nothing and are not
written). ``--pools``: for each N, a row with the first N examples of the training split (shuffled with seed 1) as
the version's demonstrations, as ``train --family llm`` keeps a project's decisions (0: zero-shot, as ``m001``);
each item is shown the 4 most similar. Writes ``benchmarks/results/llm.json`` (``llm_loopback.json`` with ``--loopback``).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.common import write_rows


def loopback_server():
    """An endpoint on loopback that answers every chat completion at once with a valid, empty answer (the first
    label, no entities) and the prompt's estimated tokens as its usage; returns ``(server, URL)``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
            properties = schema.get("properties", {})
            answer = {"entities": [], "relations": []} if "entities" in properties else {
                "label": (properties.get("label", {}).get("enum") or [""])[0]}
            from bertanno.plugins.builtin.llm_family import estimated_tokens

            usage = {"prompt_tokens": sum(estimated_tokens(m["content"]) for m in body["messages"]),
                     "completion_tokens": estimated_tokens(json.dumps(answer))}  # estimated: no tokenizer here
            data = json.dumps({"choices": [{"message": {"content": json.dumps(answer)}}], "usage": usage}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:11434/v1")
    parser.add_argument("--model", default="qwen2.5:7b")
    parser.add_argument("--datasets", default="chnsenticorp,afqmc,chineseblue_cmedqaner,cail2021_xxcq")
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--loopback", action="store_true")
    parser.add_argument("--pools", default="0", help="comma-separated demonstration pool sizes (0: zero-shot)")
    args = parser.parse_args(argv)

    from benchmarks.datasets import load
    from bertanno.core.plugins import get_plugins
    from bertanno.plugins.builtin.llm_family import ChatClient, Demonstrations, LlmModel, check_url

    plugins = get_plugins()
    server = None
    if args.loopback:
        server, args.url = loopback_server()
        args.model = "loopback"
    url = check_url(args.url)
    rows = []
    for name in args.datasets.split(","):
        data = load(name)
        task = plugins.task(data.task, labels=data.labels)
        test, train = list(data.test), list(data.train)
        random.Random(1).shuffle(test)
        random.Random(1).shuffle(train)
        test = test[:args.test]
        for pool in (int(n) for n in args.pools.split(",")):
            with tempfile.TemporaryDirectory() as folder:
                client = ChatClient(url, args.model, cache=Path(folder) / "cache.jsonl")
                model = LlmModel(task, client, args.concurrency, Demonstrations(task, train[:pool]) if pool else None)
                started = time.perf_counter()
                predictions, stats = model.predict(test)
                seconds = time.perf_counter() - started
            row = {"dataset": name, "task": data.task, "items": len(test), "model": args.model,
                   "demonstrations": min(pool, len(train)), "seconds_per_item": round(seconds / max(len(test), 1), 5),
                   "unanswered": stats.unanswered, "hallucinated_or_foreign_spans": stats.unaligned,
                   "tokens_per_item": round(stats.tokens / max(len(test), 1), 1), "concurrency": args.concurrency}
            if not args.loopback:
                payloads = [task.no_answer() if p.payload is None else p.payload for p in predictions]
                row["scores"] = {k: round(v, 4) for k, v in task.metrics([e.payload for e in test], payloads).items()
                                 if "/" not in k}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    if server is not None:
        server.shutdown()
    return write_rows("llm_loopback" if args.loopback else "llm", "benchmarks.llm", argv, 1, rows)


if __name__ == "__main__":
    main()
