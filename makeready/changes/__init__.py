"""Change requests (ECOs): raised by a brand or a coordinator, decided, implemented as a new spec revision."""
