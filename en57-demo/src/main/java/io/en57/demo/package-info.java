/**
 * The En57 demo: students racing for the last seats of a course, kept consistent by append
 * conditions instead of locks. Run it with {@code ./mvnw -q -DskipTests package exec:java -pl
 * en57-demo -am}; see {@link io.en57.demo.CourseBookingDemo}.
 */
package io.en57.demo;
