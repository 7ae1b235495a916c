"""Calendar files: the record's events as iCalendar (.ics) files a reader's own calendar opens,
built apart from Telegram so that what goes in a file is decided, and tested, in one place."""
