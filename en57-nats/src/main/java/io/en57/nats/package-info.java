/**
 * The relay to NATS JetStream: {@link io.en57.nats.JetStreamRelay} publishes every event of a log
 * (or of a query) to a JetStream stream, in position order, each event once, and checkpoints after
 * the broker acknowledged; the projection runner runs it on one node at a time.
 */
package io.en57.nats;
