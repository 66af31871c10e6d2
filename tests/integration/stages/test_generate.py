"""Generation over real HTTP against the fake chat-completions server, faults included."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from conftest import FakeOpenAI, photo, save, use_fake

from curator.config import Project
from curator.errors import CircuitOpen
from curator.stages.generate import generate
from curator.stages.ingest import ingest
from curator.stages.plan import plan
from curator.store.io import read_jsonl


def _setup(project: Project, fake: FakeOpenAI, n_images: int = 4, per_cell: int = 2, **run: object) -> Project:
    for i in range(n_images):
        save(photo(i, size=(64, 48)), project.images_root / f"img{i}.jpg")
    ingest(project, workers=1)
    project = use_fake(project, fake, **run)
    plan(project, criteria=["iqa/type/*", "iqa/severity/*"], per_cell=per_cell, estimate_role=None)
    return project


def test_generate_writes_validated_items_with_provenance(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake)
    s = generate(project)
    items = read_jsonl(project.data / "candidates.jsonl")
    assert s.written == len(items) == 12  # (5 open templates + level) x 2
    for it in items:
        n = len(it["options"])
        assert it["answer"] in "ABCD"[:n] and len(set(it["options"])) == n
        if it["template"] == "level":
            assert it["options"] == ["None", "Slight", "Obvious"]
        if it["template"] == "yes_no":
            assert it["options"] == ["Yes", "No"]
        prov = it["provenance"]
        assert prov["model"] == "fake-generator" and prov["endpoint_host"] == f"127.0.0.1:{fake.port}"
        assert prov["taxonomy"] == "unipercept@1.0.0" and len(prov["prompt_hash"]) == 16
        assert prov["tokens_in"] > 0 and prov["cost"] > 0 and len(prov["cache_key"]) == 64
    assert s.stats.network_requests == 12 and s.stats.cache_hits == 0
    answered = len(fake.log()["answered"])
    again = generate(project)
    assert again.written == 0 and again.already_done == 12
    assert len(fake.log()["answered"]) == answered  # nothing asked twice
    # a rebuilt plan re-runs from the request cache, with no network call
    (project.data / "candidates.jsonl").unlink()
    third = generate(project)
    assert third.written == 12 and third.stats.cache_hits == 12 and third.stats.network_requests == 0


def test_prompt_carries_tagged_criterion_and_image(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n_images=1, per_cell=1)
    fake.rules([{"match": "templates/none", "status": 500}])
    generate(project, limit=1)
    # what reached the server: the tagged criterion and the template in the text, the image as a data URI
    (parts,) = fake.log()["recent"]
    text = parts[0]["text"]
    assert "<IQA><Distortion Severity><Severity Level>" in text or "<IQA><Distortion Type>" in text
    assert "Question template:" in text
    assert parts[1]["type"] == "image_url" and parts[1]["url_head"].startswith("data:image/")


def test_fault_injection(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n_images=8, per_cell=8, concurrency=4, timeout=1.5, max_retries=3)
    fake.rules([
        {"match": "Question template: why", "times": 2, "status": 429, "retry_after": 0.2},
        {"match": "Question template: how", "times": 3, "status": 500},
        {"match": "Question template: what", "times": 1, "delay": 3},
        {"match": "Question template: which", "times": 1, "content": "Sure! ```json\n{\"question\": \"Which"
                  " one?\", \"options\": [\"x\", \"y\",], \"answer\": \"B\", \"rationale\": \"r\"}\n```"},
        {"match": "is not among the 2 options", "times": 1,
         "reply": {"question": "Which is it?", "options": ["a", "b"], "answer": "D", "rationale": "r"}},
        {"match": "Question template: which", "times": 1,
         "reply": {"question": "Which is it?", "options": ["a", "b"], "answer": "D", "rationale": "r"}},
        {"match": "Question template: yes_no", "times": 1, "finish_reason": "length"},
        {"match": "Question template: yes_no", "times": 1, "refusal": "I can't help with that."},
        {"match": "Question template: yes_no", "times": 1, "content": ""},
        {"match": "Question template: level", "times": 1, "content": "{not json at all"},
    ])
    s = generate(project)
    rejects = {r["work_id"]: r for r in read_jsonl(project.data / "generate_rejects.jsonl")}
    reasons = sorted(r["reason"] for r in rejects.values())
    assert reasons == ["empty_reply", "invalid_reply", "refusal", "truncated"]
    bad = next(r for r in rejects.values() if r["reason"] == "invalid_reply")
    assert "not among the 2 options" in bad["detail"] and '"answer": "D"' in bad["raw"]
    assert s.written == 48 - 4
    assert s.stats.retries >= 2 + 3 + 1
    fenced = [it for it in read_jsonl(project.data / "candidates.jsonl") if it["question"] == "Which one?"]
    assert fenced and fenced[0]["options"] == ["x", "y"] and fenced[0]["answer"] == "B"
    # final rejects are not re-asked; nothing else is pending
    fake.rules([])
    before = fake.log()["received"]
    again = generate(project)
    assert again.written == 0 and fake.log()["received"] == before
    # unless asked to retry them
    retry = generate(project, retry_rejects=True)
    assert retry.written == 4


def test_schema_rejection_falls_back_to_tolerant_parsing(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n_images=2, per_cell=1)
    fake.rules([{"match": "", "reject_schema": True}])
    s = generate(project)
    # without a schema the fake answers fenced JSON with chatter around it, as such servers do
    assert s.written == 6 and not s.rejected
    items = read_jsonl(project.data / "candidates.jsonl")
    assert all(it["provenance"]["params"]["structured"] is False for it in items)


def test_wrong_key_opens_the_circuit(project: Project, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _setup(project, fake, n_images=4, per_cell=4, concurrency=2)
    monkeypatch.setenv("FAKE_KEY", "sk-wrong")
    with pytest.raises(CircuitOpen, match="fatal_401") as ei:
        generate(project)
    assert "finished work is saved" in str(ei.value)
    monkeypatch.setenv("FAKE_KEY", "sk-right")
    assert generate(project).written == 24


def test_breaker_after_consecutive_server_errors(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n_images=4, per_cell=4, concurrency=1, max_retries=1)
    y = project.root / "curator.yaml"
    y.write_text(y.read_text().replace("max_retries: 1", "max_retries: 1\n      breaker_threshold: 3\n"
                                                                        "      breaker_seconds: 0"))
    project = Project.load(project.root)
    fake.rules([{"match": "", "status": 503}])
    with pytest.raises(CircuitOpen, match="3 consecutive failed attempts") as ei:
        generate(project)
    # attempts, not requests after their retries, open it: the second request's first attempt is the third
    rejects = read_jsonl(project.data / "generate_rejects.jsonl")
    assert len(rejects) == 2 and not any(r["final"] for r in rejects)
    assert ei.value.summary.unfinished == 24  # two failed, the rest never started: all left to do


def test_budget_stops_cleanly_and_resumes(project: Project, fake: FakeOpenAI) -> None:
    from curator.errors import BudgetExceeded

    project = _setup(project, fake, n_images=6, per_cell=6, concurrency=1)
    with pytest.raises(BudgetExceeded, match="budget") as ei:
        generate(project, max_cost=0.01)  # a request's worst case is ~$0.0024 (768 output tokens at $2/M)
    n1 = len(read_jsonl(project.data / "candidates.jsonl"))
    assert 0 < n1 < 36
    assert ei.value.stats.cost <= 0.01
    s = generate(project)
    assert s.written == 36 - n1
    ids = [it["item_id"] for it in read_jsonl(project.data / "candidates.jsonl")]
    assert len(ids) == len(set(ids)) == 36


def test_batch_file_round_trip(project: Project, fake: FakeOpenAI, tmp_path: Path) -> None:
    from curator.engine.batch import import_results
    from curator.testing.fake_openai import instance

    project = _setup(project, fake, n_images=2, per_cell=2)
    batch = tmp_path / "batch.jsonl"
    s = generate(project, batch_out=str(batch))
    lines = [json.loads(x) for x in batch.read_text().splitlines()]
    assert len(lines) == 12 and all(x["url"] == "/v1/chat/completions" for x in lines)
    body0 = lines[0]["body"]
    img = next(p for p in body0["messages"][0]["content"] if p["type"] == "image_url")["image_url"]["url"]
    assert img.startswith("data:image/jpeg;base64,")
    assert s.written == 0
    out = tmp_path / "results.jsonl"
    with out.open("w") as fh:
        for i, x in enumerate(lines):
            obj = instance(x["body"]["response_format"]["json_schema"]["schema"], i)
            polar = "Question template: yes_no" in json.dumps(x["body"])  # a yes_no item must be a yes/no question
            obj["question"] = "Is it what, which, how or why?" if polar else "What, which, how or why is it?"
            content = json.dumps(obj)
            fh.write(json.dumps({"custom_id": x["custom_id"], "response": {"status_code": 200, "body": {
                "choices": [{"message": {"content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5}}}}) + "\n")
    assert import_results(project, out) == {"imported": 12, "failed": 0, "malformed": 0}
    done = generate(project)
    assert done.written == 12 and done.stats.network_requests == 0 and fake.log()["received"] == 0


def test_iqa_images_are_sent_as_original_bytes(project: Project, tmp_path: Path) -> None:
    from curator.images import make_payload

    jpg = save(photo(1, size=(2400, 1600)), tmp_path / "a.jpg", quality=75)
    p = make_payload(jpg, domain="iqa")
    assert p.transformed == "original" and p.data == jpg.read_bytes()
    assert base64.b64decode(p.data_uri().split(",", 1)[1]) == jpg.read_bytes()
    small = make_payload(jpg, domain="iaa", max_side=512)
    assert small.transformed == "downscaled" and len(small.data) < len(jpg.read_bytes())
    bmp = save(photo(2), tmp_path / "b.bmp", "BMP")
    lossless = make_payload(bmp, domain="ista")
    from io import BytesIO

    from PIL import Image, ImageChops

    assert lossless.mime == "image/png" and lossless.transformed == "lossless_png"
    decoded = Image.open(BytesIO(lossless.data)).convert("RGB")
    assert ImageChops.difference(decoded, Image.open(bmp).convert("RGB")).getbbox() is None


def test_plan_estimates_cost_before_spending(project: Project, fake: FakeOpenAI) -> None:
    for i in range(3):
        save(photo(i, size=(1024, 768)), project.images_root / f"big{i}.jpg")
    ingest(project, workers=1)
    project = use_fake(project, fake)
    s = plan(project, criteria=["iqa/severity/*"], per_cell=3)
    e = s.estimate
    assert e["model"] == "fake-generator" and e["requests"] == 3
    # 1024x768 -> 2x2 tiles of 512 px: 85 + 4*170 = 765 image tokens per request, plus the prompt text
    assert e["input_tokens"] > 3 * 765
    assert e["cost_max"] == pytest.approx(e["input_tokens"] / 1e6 * 1.0 + 3 * 768 / 1e6 * 2.0)
    assert 0 < e["cost_typical"] < e["cost_max"]
    assert fake.log()["received"] == 0  # estimating calls nothing


def test_api_key_never_reaches_disk_or_logs(project: Project, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-SECRET-7f3a9c1e5b"
    monkeypatch.setenv("FAKE_KEY", secret)
    project = _setup(project, fake, n_images=2, per_cell=1)
    fake.rules([{"match": "Question template: why", "times": 1, "status": 500}])
    with caplog.at_level("DEBUG"):
        generate(project)
    assert secret not in caplog.text
    for f in project.root.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f
    for f in project.cache_dir.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f
