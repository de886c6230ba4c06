"""Access: API keys, the roles they grant and the company a key may be limited to."""
