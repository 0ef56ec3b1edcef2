"""Messages to clients: personal drafts from templates (channels and the outbox come later)."""
