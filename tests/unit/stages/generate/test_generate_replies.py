"""How a generator's reply becomes an item: meaning kept, bad shapes rejected with a reason."""

from __future__ import annotations

import pytest

from curator.stages.generate import strip_enumerator, validate_reply

SEVERITY = ["None", "Slight", "Obvious"]


def test_level_answer_is_read_against_the_models_own_option_order() -> None:
    reply = {"question": "How severe is the blur?", "options": ["Obvious", "Slight", "None"], "answer": "A",
             "rationale": "edges are smeared"}
    _q, opts, letter, _ = validate_reply(reply, "level", SEVERITY)
    assert opts == SEVERITY and opts[ord(letter) - 65] == "Obvious"


def test_level_answer_given_as_text_maps_onto_the_scale() -> None:
    reply = {"question": "What is the level of noise?", "options": ["slight", "obvious", "none"], "answer": "None"}
    _, opts, letter, _ = validate_reply(reply, "level", SEVERITY)
    assert opts[ord(letter) - 65] == "None"


def test_yes_no_with_reversed_options_keeps_the_meaning() -> None:
    reply = {"question": "Is there visible noise?", "options": ["No", "Yes"], "answer": "A"}
    _, opts, letter, _ = validate_reply(reply, "yes_no", None)
    assert opts == ["Yes", "No"] and letter == "B"


@pytest.mark.parametrize(("template", "reply", "why"), [
    ("yes_no", {"question": "Is it blurred?", "options": [f"opt {i}" for i in range(10)], "answer": "A"}, "options"),
    ("yes_no", {"question": "Pick the distortion that is present.", "answer": "Yes"}, "Yes or No"),
    ("yes_no", {"question": "Is there blur?", "options": ["Yes", "No", "Maybe"], "answer": "A"}, "options"),
    ("level", {"question": "How severe is it?", "options": ["None", "Slight", "Strong"], "answer": "C"}, "options"),
    ("level", {"question": "Is the blur obvious?", "answer": "Obvious"}, "level"),
    ("level", {"question": "How severe is it?", "answer": "Extreme"}, "neither"),
])
def test_replies_that_do_not_fit_the_template_are_rejected_with_a_reason(template: str, reply: dict, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        validate_reply(reply, template, SEVERITY)


@pytest.mark.parametrize(("raw", "pos", "want"), [
    ("A. the top half", 0, "the top half"), ("(b) the left half", 1, "the left half"),
    ("C) the centre", 2, "the centre"), ("4. the bottom", 3, "the bottom"),
    ("e.g. the top half", 4, "e.g. the top half"),      # not an enumerator: no space after "e."
    ("B. the top half", 0, "B. the top half"),          # an enumerator for another position is text
    ("A man in a hat", 0, "A man in a hat"),            # a word, not an enumerator
    ("a) noise", 0, "noise"),
])
def test_enumerators_are_stripped_only_where_they_match_the_position(raw: str, pos: int, want: str) -> None:
    assert strip_enumerator(raw, pos) == want


def test_open_template_keeps_option_text_that_looks_like_a_prefix() -> None:
    reply = {"question": "Which region is affected?", "answer": "A",
             "options": ["e.g. the top half", "the bottom half", "the left half", "the right half"]}
    _, opts, letter, _ = validate_reply(reply, "which", None)
    assert opts[0] == "e.g. the top half" and letter == "A"
