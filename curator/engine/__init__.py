"""The one LLM engine every model-calling stage uses (describe, generate, judge, blind, eval)."""

from curator.engine.client import Engine, Request, Result, RunStats

__all__ = ["Engine", "Request", "Result", "RunStats"]
