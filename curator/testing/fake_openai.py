"""A small chat-completions server for tests and benchmarks, with scripted replies and faults.

It speaks the OpenAI protocol over real HTTP on 127.0.0.1. Replies are derived from the request's
JSON schema (``response_format``) when there is one, so every stage gets valid, deterministic
answers without scripting; rules posted to ``/admin/rules`` inject faults for matching requests:

    {"match": "substring of the request body", "times": 2,           # optional; default every time
     "model": "fake-a",                                               # optional: only requests for this model
     "status": 429, "retry_after": 1,                                 # an HTTP error ("Retry-After" as given)
     "echo_auth": true,                                               # put the Authorization header in the error
     "delay": 30,                                                     # hang (past the client timeout)
     "content": "not json", "finish_reason": "length", "refusal": "I can't", "reject_schema": true,
     "usage": {"prompt_tokens": -5},                                  # override the usage block
     "body": {"choices": null},                                       # send exactly this body (odd shapes)
     "reply": {...}}                                                  # a fixed JSON reply object

``GET /admin/log`` returns one entry per request answered with 200 (sha256 of the canonical body,
model, time), in ``requests`` every request received (time, status), and in ``recent`` the last
1,000 requests' final message as it arrived (text in full, images as the head of their URL). Run:
``python -m curator.testing.fake_openai --port 0 [--latency 0.1]``; it prints ``PORT <n>`` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import random
import re
import sys
import time
from typing import Any

from aiohttp import web


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def instance(schema: dict[str, Any], seed: int, path: str = "") -> Any:
    """A deterministic value valid under a (small subset of) JSON Schema."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][seed % len(schema["enum"])]
    t = schema.get("type")
    if t == "object":
        obj = {k: instance(v, _h(f"{seed}:{k}"), f"{path}.{k}") for k, v in schema.get("properties", {}).items()}
        if isinstance(obj.get("options"), list) and isinstance(obj.get("answer"), str) and len(obj["answer"]) == 1:
            obj["answer"] = "ABCDEFGH"[seed % len(obj["options"])]  # keep the letter among the options
        return obj
    if t == "array":
        items = schema.get("items", {})
        lo, hi = schema.get("minItems", 1), schema.get("maxItems", schema.get("minItems", 1) + 2)
        n = lo + seed % (hi - lo + 1)
        if items.get("type") == "string" and "enum" not in items:
            return [f"{path.strip('.') or 'item'} {i + 1}" for i in range(n)]
        return [instance(items, seed + i, f"{path}[{i}]") for i in range(n)]
    if t == "integer":
        lo, hi = schema.get("minimum", 0), schema.get("maximum", 100)
        return lo + seed % (hi - lo + 1)
    if t == "number":
        return float(schema.get("minimum", 0)) + (seed % 1000) / 10
    if t == "boolean":
        return bool(seed % 2)
    return f"fake text {path.strip('.') or 'value'} {seed % 97}"


def _parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The last message as it arrived: text parts in full, images as the first bytes of their URL."""
    msgs = body.get("messages") or []
    content = msgs[-1].get("content") if msgs else None
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    out: list[dict[str, Any]] = []
    for part in content or []:
        if part.get("type") == "image_url":
            out.append({"type": "image_url", "url_head": str((part.get("image_url") or {}).get("url", ""))[:40]})
        else:
            out.append({"type": str(part.get("type")), "text": str(part.get("text", ""))})
    return out


class FakeServer:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.rules: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.recent: collections.deque[list[dict[str, Any]]] = collections.deque(maxlen=1000)
        self.received = 0

    def _rule(self, raw: str, model: str = "") -> dict[str, Any] | None:
        for r in self.rules:
            if r.get("match", "") in raw and r.get("times", 1) != 0 and r.get("model", model) == model:
                if "times" in r:
                    r["times"] -= 1
                return r
        return None

    async def chat(self, request: web.Request) -> web.Response:
        raw = await request.text()
        self.received += 1
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "invalid JSON body", "type": "invalid_request_error"}},
                                     status=400)
        if request.headers.get("Authorization", "") == "Bearer sk-wrong":
            return web.json_response({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}},
                                     status=401)
        rule = self._rule(raw, str(body.get("model", ""))) or {}
        self.requests.append({"t": time.time(), "status": int(rule.get("status", 200)), "model": body.get("model")})
        self.recent.append(_parts(body))
        if self.latency:
            await asyncio.sleep(self.latency)
        if rule.get("delay"):
            await asyncio.sleep(float(rule["delay"]))
        if rule.get("status"):
            headers = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else {}
            message = rule.get("message", f"injected {rule['status']}")
            if rule.get("echo_auth"):
                message += f" (you sent {request.headers.get('Authorization', '')})"
            return web.json_response({"error": {"message": message, "type": "injected"}},
                                     status=int(rule["status"]), headers=headers)
        if "body" in rule:
            self.log.append({"key": hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest(),
                             "model": body.get("model"), "t": time.time()})
            return web.json_response(rule["body"])
        rf = body.get("response_format") or {}
        if rule.get("reject_schema") and rf:
            return web.json_response({"error": {"message": "response_format json_schema is not supported"}},
                                     status=400)
        key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if "content" in rule:
            content = rule["content"]
        elif "reply" in rule:
            content = json.dumps(rule["reply"])
        elif rf.get("type") == "json_schema":
            obj = instance(rf["json_schema"]["schema"], _h(key))
            m = re.search(r"Question template: (\w+)", raw)
            if isinstance(obj, dict) and "question" in obj and m:  # a question that fits its template
                stem = {"yes_no": "Is", "level": "What level"}.get(m.group(1), m.group(1).capitalize())
                obj["question"] = f"{stem} fake question {_h(key) % 997}?"
            content = json.dumps(obj)
        else:
            content = self._text_reply(body, key)
        prompt_chars = len(raw)
        msg: dict[str, Any] = {"role": "assistant", "content": content}
        if rule.get("refusal"):
            msg = {"role": "assistant", "content": None, "refusal": rule["refusal"]}
        out = {"id": f"chatcmpl-{key[:12]}", "object": "chat.completion", "created": int(time.time()),
               "model": body.get("model", "fake"),
               "choices": [{"index": 0, "message": msg, "finish_reason": rule.get("finish_reason", "stop")}],
               "usage": rule.get("usage") or {"prompt_tokens": prompt_chars // 4,
                                              "completion_tokens": len(content or "") // 4 + 1,
                                              "total_tokens": prompt_chars // 4 + len(content or "") // 4 + 1}}
        self.log.append({"key": key, "model": body.get("model"), "t": time.time()})
        return web.json_response(out)

    @staticmethod
    def _text_reply(body: dict[str, Any], key: str) -> str:
        """Without a schema: a letter for multiple choice, a number for ratings, else text."""
        last = json.dumps(body.get("messages", [])[-1:])
        m = re.search(r"JSON object with the keys: ([a-z_, ]+)\.", json.dumps(body.get("messages", [])))
        if m:  # a model without structured output: fenced JSON with chatter around it
            tpl = re.search(r"Question template: (\w+)", json.dumps(body.get("messages", [])))
            stem = {"yes_no": "Is", "level": "What level"}.get(tpl.group(1), tpl.group(1).capitalize()) if tpl else "What"
            obj: dict[str, Any] = {"question": f"{stem} fake question {_h(key) % 997}?"}
            keys = [k.strip() for k in m.group(1).split(",")]
            if "options" in keys:
                obj["options"], obj["answer"] = ["first", "second", "third"], "ABC"[_h(key) % 3]
            else:
                obj["answer"] = "Yes" if "yes_no" in (tpl.group(1) if tpl else "") else "Slight"
            obj["rationale"] = "because"
            return "Here is the item:\n```json\n" + json.dumps(obj, indent=1) + "\n```"
        if "multiple-choice" in last or "Only reply with the letter" in last:
            return "ABCD"[_h(key) % 4]
        if "score between 0 and 100" in last:
            return str(_h(key) % 101)
        return "fake reply"

    async def set_rules(self, request: web.Request) -> web.Response:
        self.rules = await request.json()
        return web.json_response({"rules": len(self.rules)})

    async def get_log(self, request: web.Request) -> web.Response:
        return web.json_response({"answered": self.log, "received": self.received, "requests": self.requests,
                                  "recent": list(self.recent)})

    async def reset(self, request: web.Request) -> web.Response:
        self.rules, self.log, self.requests, self.received = [], [], [], 0
        self.recent.clear()
        return web.json_response({"ok": True})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake-vlm", "object": "model"}]})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=512 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/admin/rules", self.set_rules)
        app.router.add_get("/admin/log", self.get_log)
        app.router.add_post("/admin/reset", self.reset)
        return app


async def _serve(port: int, latency: float) -> None:
    runner = web.AppRunner(FakeServer(latency).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    real = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {real}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    a = ap.parse_args()
    random.seed(0)
    try:
        asyncio.run(_serve(a.port, a.latency))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
