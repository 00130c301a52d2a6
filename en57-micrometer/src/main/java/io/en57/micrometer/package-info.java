/**
 * Micrometer metrics and observations of an En57 store: {@link
 * io.en57.micrometer.MicrometerListener}, set as the store's listener, times appends and reads as
 * Micrometer observations (so a tracer makes spans of them, and a meter handler timers) and keeps
 * meters of group commits and projections.
 */
package io.en57.micrometer;
