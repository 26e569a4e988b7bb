"""Rectification items and their plans."""
