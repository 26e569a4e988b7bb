"""Secret ballots and participation."""
