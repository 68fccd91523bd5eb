"""Account health: a quantitative scorecard, qualitative risk from flags, bands, review triggers, backtests."""
