"""A small OpenAI-compatible chat-completions server for the ``llm`` family's tests, on loopback, answering by
rules: a label by a character of the text (or, for a text with 照例, the last demonstration's answer), entities and relations from a table (some not in the text, some of a
foreign type), and on purpose malformed JSON, 429 and 500 answers, slow answers, no structured output."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENTITIES = {  # a word in the text -> what the model names for it
    "阿司匹林": [{"text": "阿司匹林", "type": "drug"}, {"text": "头痛", "type": "symptom"},
             {"text": "布洛芬", "type": "drug"},        # not in the text: a hallucinated span
             {"text": "头痛", "type": "organ"}],         # a type the project does not have
    "两次头痛": [{"text": "头痛", "type": "symptom"}, {"text": "头痛", "type": "symptom"}],
}
RELATIONS = {
    "贩卖": ([{"text": "薛某某", "type": "Nh"}, {"text": "赵某某", "type": "Nh"}, {"text": "甲基苯丙胺", "type": "NDR"}],
           [{"head": 0, "tail": 1, "type": "sell_drugs_to"}, {"head": 0, "tail": 2, "type": "traffic_in"},
            {"head": 2, "tail": 0, "type": "traffic_in"},    # the schema forbids NDR -> Nh: dropped
            {"head": 0, "tail": 7, "type": "traffic_in"}]),  # no entity 7: dropped
}


class Rules:
    """What the server does; the tests read ``requests`` (each one's body and headers) and ``seen``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.seen: Counter = Counter()
        self.structured = True  # False: a 400 for a request with response_format
        self.lock = threading.Lock()

    def answer(self, body: dict, headers) -> tuple[int, dict, dict]:
        """``(status, headers, JSON)`` for one request."""
        with self.lock:
            self.requests.append({"body": body, "authorization": headers.get("Authorization")})
            text = body["messages"][-1]["content"]
            self.seen[text] += 1
            count = self.seen[text]
        system = body["messages"][0]["content"]
        if "response_format" in body and not self.structured:
            return 400, {}, {"error": {"message": "response_format is not supported"}}
        if "忙" in text and count == 1:
            return 429, {"Retry-After": "0"}, {"error": {"message": "rate limited"}}
        if "挂" in text:
            return 500, {}, {"error": {"message": "internal error"}}
        if "慢" in text:
            time.sleep(1.5)
        shown = [m["content"] for m in body["messages"] if m["role"] == "assistant"]
        if "总是坏" in text or ("格式坏" in text and count == 1):
            content = "好的，我认为 {label: 没有引号"
        elif "拿不准" in text:  # a sample (seed N) agrees with the temperature-0 answer when N is even
            content = json.dumps({"label": "negative" if body.get("seed", 0) % 2 else "positive"})
        elif "照例" in text:  # answers as the demonstration next to the question did (none: a guess)
            content = shown[-1] if shown else json.dumps({"label": "negative"})
        elif "两段文本" in system:
            content = json.dumps({"label": "match" if "借呗" in text and "花呗" in text else "no_match"})
        elif "关系" in system:
            found = next((v for k, v in RELATIONS.items() if k in text), ([], []))
            content = json.dumps({"entities": found[0], "relations": found[1]}, ensure_ascii=False)
        elif "实体" in system:
            found = next((v for k, v in ENTITIES.items() if k in text), [])
            content = "```json\n" + json.dumps({"entities": found}, ensure_ascii=False) + "\n```"
        else:
            reason = "因为" + ("菜的味道很好，服务也很周到，价格也公道，" * 4 if "长理由" in text else "")
            content = json.dumps({"label": "positive" if "好" in text else "negative", "reason": reason},
                                 ensure_ascii=False)
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        if "确定" in text:
            choice["logprobs"] = {"content": [{"token": "a", "logprob": -0.1}, {"token": "b", "logprob": -0.3}]}
        return 200, {}, {"choices": [choice], "usage": {"prompt_tokens": 30, "completion_tokens": 8}}


def serve(rules: Rules):
    """Start the server on a free loopback port in a thread; returns ``(server, base URL ending /v1)``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
            status, headers, answer = rules.answer(body, self.headers)
            data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
