"""Tallies, statistics and frozen results."""
