"""``curator report``: a self-contained static page over a benchmark build (funnel, gallery, validity)."""

from curator.stages.report.build import ReportSummary, report

__all__ = ["ReportSummary", "report"]
