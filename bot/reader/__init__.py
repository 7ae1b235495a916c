"""What each reader gets in their own language and clock: the chat's choice of both
(preferences), dates and times as their language writes them and in their zone (dates), and the
record's words in their language where translated (wording)."""
