"""Telling people things: email now (rendered from templates/email/, sent by SMTP or written to the outbox)."""
