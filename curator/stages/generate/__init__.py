"""``curator generate``: a generator (a model, or the synthetic answer key) writes QA candidates for the plan."""

from curator.stages.generate.replies import strip_enumerator, validate_reply
from curator.stages.generate.run import GenerateSummary, generate

__all__ = ["GenerateSummary", "generate", "strip_enumerator", "validate_reply"]
