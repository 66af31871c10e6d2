"""``curator ingest`` and ``curator synth``: images (found, or made with known distortions) into the images table."""

from curator.stages.ingest.run import IngestSummary, ingest
from curator.stages.ingest.synth import SynthSummary, synth

__all__ = ["IngestSummary", "SynthSummary", "ingest", "synth"]
