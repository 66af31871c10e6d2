"""Human refinement in Label Studio: serve, push, pull/merge, agreement, status."""
