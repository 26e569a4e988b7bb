"""Roster import: officers load members from CSV or XLSX files for a union or a whole subtree."""
