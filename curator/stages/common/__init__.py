"""Pieces several stages share (prompt building, answer keys, file formats, decision rules).

Stages never import each other; what two of them need lives here or in the store.
"""
