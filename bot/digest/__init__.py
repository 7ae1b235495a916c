"""The digest engine: when reminders and summaries fall due, how they are planned into the
ledger, their words, how they are sent, and the tick that runs it all. It is given what it
needs of the bot (``engine.Engine``) and imports nothing of the handlers or of ``bot.context``."""
