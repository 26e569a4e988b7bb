"""Demo data: a Jiangmen-like federation with campaigns in every state."""
