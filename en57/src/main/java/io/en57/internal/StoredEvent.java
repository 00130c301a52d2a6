package io.en57.internal;

/** An encoded event at its position in the log. */
public record StoredEvent(long position, EncodedEvent event) {}
