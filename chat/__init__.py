"""The chat line: crisis chats answered in the same console (issue 18, docs/chat.md)."""
