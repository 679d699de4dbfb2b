"""Events, reminders and follow-up nudges."""
