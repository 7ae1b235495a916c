"""The Telegram plumbing: requests, retries, pacing, fetching updates, and the messages and buttons
every handler sends."""
