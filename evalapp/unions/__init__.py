"""The union tree and its member rosters."""
