package io.en57.internal;

import java.security.SecureRandom;
import java.util.UUID;

/** UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then random bits; sortable by time. */
public final class Uuid7 {

  private static final SecureRandom RANDOM = new SecureRandom();

  private Uuid7() {}

  /** A fresh UUIDv7. */
  public static UUID next() {
    long millis = System.currentTimeMillis();
    long randomHigh = RANDOM.nextLong();
    long randomLow = RANDOM.nextLong();
    long msb = (millis << 16) | 0x7000L | (randomHigh & 0x0FFFL);
    long lsb = (randomLow & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(msb, lsb);
  }
}
