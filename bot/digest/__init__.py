"""The digest engine: when reminders and summaries fall due, how they are planned into the
ledger, their words, and how they are sent."""
