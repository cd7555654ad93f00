"""An incident's life: status transitions, tier changes and merges, by people or by signals."""
