"""Campaigns: lifecycle, electorate and the duty report."""
