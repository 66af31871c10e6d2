"""Labeling configs and task payloads, generated from the taxonomy and the item type."""

from __future__ import annotations

import base64
import mimetypes
from html import escape
from pathlib import Path
from typing import Any

from curator.records import LETTERS, options_text
from curator.taxonomy import Taxonomy

VERDICTS = ("accept", "accept_with_edits", "reject")
ISSUES = ("ambiguous_question", "multiple_correct", "no_correct_option", "answerable_without_image",
          "image_unclear", "off_criterion", "unsafe_content")

VQA_CONFIG = """<View>
  <Header value="$review_note"/>
  <Header value="Criterion"/>
  <Text name="criterion" value="$criterion_text"/>
  <Image name="image" value="$image" maxWidth="720px" zoom="true"/>
  <Header value="Question"/>
  <Text name="question" value="$question"/>
  <Text name="options" value="$options_text"/>
  <Header value="Model's answer and rationale"/>
  <Text name="model_answer" value="$model_answer_text"/>
  <Header value="1. Verdict"/>
  <Choices name="verdict" toName="image" choice="single-radio" required="true" showInline="true">
    {verdicts}
  </Choices>
  <Header value="2. Correct option"/>
  <Choices name="correct_option" toName="image" choice="single-radio" showInline="true" value="$option_letters"/>
  <Header value="3. Edit the question / options (one option per line)"/>
  <TextArea name="question_edit" toName="image" editable="true" maxSubmissions="1" rows="2"/>
  <TextArea name="options_edit" toName="image" editable="true" maxSubmissions="1" rows="4"/>
  <Header value="4. Difficulty (1 easy - 5 hard) and reasons"/>
  <Rating name="difficulty" toName="image" maxRating="5"/>
  <Choices name="issues" toName="image" choice="multiple" showInline="true">
    {issues}
  </Choices>
  <Header value="5. Comment"/>
  <TextArea name="comment" toName="image" rows="2" maxSubmissions="1"/>
</View>"""

VR_CONFIG = """<View>
  <Image name="image" value="$image" maxWidth="720px" zoom="true"/>
  <Header value="$prompt"/>
  <Text name="model_rating" value="$model_rating"/>
  <Rating name="rating" toName="image" maxRating="5" required="true"/>
  <Header value="Score 0-100 (optional, finer than the stars)"/>
  <Number name="score" toName="image" min="0" max="100" step="1"/>
  <TextArea name="comment" toName="image" rows="2" maxSubmissions="1"/>
</View>"""


def vqa_config() -> str:
    """The VQA refinement view. The correct-option control is filled from each task's own letters
    (Label Studio's dynamic choices), so a 2-option item offers A and B only — a "C" there used to
    become a dispute."""
    def ch(values: tuple[str, ...] | str) -> str:
        return "".join(f'<Choice value="{v}"/>' for v in values)

    return VQA_CONFIG.format(verdicts=ch(VERDICTS), issues=ch(ISSUES))


def instructions(tax: Taxonomy, criteria: list[str]) -> str:
    """Project-level guidelines: the definition of every criterion in the push, as HTML."""
    rows = []
    for path in sorted(set(criteria)):
        c = tax.get(path)
        rows.append(f"<li><b>{escape(tax.tagged(c))}</b>: {escape(c.definition)}</li>")
    return ("<p>Accept an item that is correct as written; accept with edits after fixing the question, the options"
            " or the correct option; reject it with a reason otherwise.</p><ul>" + "".join(rows) + "</ul>")


def image_ref(path: Path, rel: str, mode: str, url_base: str = "") -> str:
    """How a task points at its image: local-file serving, a URL under ``url_base``, or inline."""
    if mode == "local":
        return f"/data/local-files/?d={rel}"
    if mode == "url":
        return f"{url_base.rstrip('/')}/{rel}"
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def vqa_task(item: dict[str, Any], tax: Taxonomy, image: str) -> dict[str, Any]:
    """One task: our item id in ``data.ext_id`` and the model's answer as a prediction."""
    c = tax.get(item["criterion"])
    opts = list(item["options"])
    otext = options_text(opts)
    judge = item.get("judge_mean")
    score = float(judge) / 5 if judge is not None and judge == judge else None
    pred: dict[str, Any] = {"model_version": str(item.get("generator", "model")),
            "result": [
                {"from_name": "correct_option", "to_name": "image", "type": "choices",
                 "value": {"choices": [item["answer"]]}},
                {"from_name": "question_edit", "to_name": "image", "type": "textarea",
                 "value": {"text": [item["question"]]}},
                {"from_name": "options_edit", "to_name": "image", "type": "textarea",
                 "value": {"text": ["\n".join(opts)]}}]}
    if score is not None:
        pred["score"] = score
    return {"data": {"ext_id": item["item_id"], "image": image, "criterion": c.path,
                     "criterion_text": f"{tax.tagged(c)} {c.definition}", "template": item["template"],
                     "question": item["question"], "options_text": otext, "options": opts,
                     "option_letters": [{"value": lt} for lt in LETTERS[:len(opts)]],
                     "model_answer": item["answer"],
                     "model_answer_text": f"{item['answer']}. {opts[LETTERS.index(item['answer'])]} — "
                                          f"{item.get('rationale', '')}",
                     "priority": float(item.get("priority") or 0.0), "review_note": str(item.get("review_note") or "")},
            "predictions": [pred]}


def vr_task(row: dict[str, Any], image: str, prompt: str) -> dict[str, Any]:
    norm: Any = row.get("score_norm")
    has = norm is not None and norm == norm
    data = {"ext_id": row["item_id"], "image": image, "prompt": prompt,
            "model_rating": f"current label: {norm:.1f} / 100" if has else "no label yet"}
    preds = []
    if has:
        preds = [{"model_version": "label", "result": [
            {"from_name": "score", "to_name": "image", "type": "number", "value": {"number": round(float(norm))}},
            {"from_name": "rating", "to_name": "image", "type": "rating",
             "value": {"rating": max(1, min(5, 1 + int(float(norm) // 20)))}}]}]
    return {"data": data, "predictions": preds}
