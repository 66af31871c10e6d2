"""The definition taxonomy: Domain → Category → Criterion, with scales and lexicons.

Everything downstream (planning, prompts, checks, sampling, the labeling config, the dataset card)
reads criteria from here, so validation is strict and every problem is reported as ``file:line``.
"""

from curator.taxonomy.load import load_taxonomy, shipped_taxonomy_path
from curator.taxonomy.model import (
    MAX_OPTIONS,
    TEMPLATES,
    Category,
    Criterion,
    Domain,
    Level,
    Lexicon,
    Scale,
    Taxonomy,
)

__all__ = ["MAX_OPTIONS", "TEMPLATES", "Category", "Criterion", "Domain", "Level", "Lexicon", "Scale", "Taxonomy",
           "load_taxonomy", "shipped_taxonomy_path"]
