package io.en57.bench;

import java.sql.SQLException;

/**
 * Fills template databases in bulk, with rows exactly as {@code en57.append} writes them (explicit
 * positions from 1, the tags array on the event row plus one {@code event_tags} row per tag), then
 * vacuums and analyzes them, as a store that has settled would be.
 */
final class Seeds {

  static final String COURSE_DEFINED = "CourseDefined";
  static final String SUBSCRIBED = "StudentSubscribedToCourse";
  static final String UNSUBSCRIBED = "StudentUnsubscribedFromCourse";

  /** Seats per seeded course: large enough that the decision loop rarely finds a course full. */
  static final int CAPACITY = 1_000;

  private Seeds() {}

  /**
   * The original's seed: {@code events} events of type {@code event_benchmarked} with empty data,
   * each with one random tag {@code writer:<8 hex digits>}.
   */
  static void writers(Database database, int events) throws SQLException {
    database.execute(
        "INSERT INTO en57.events (position, id, type, data, tags)"
            + " SELECT g, gen_random_uuid(), '"
            + AppendWorkloads.TYPE
            + "', '{}'::jsonb,"
            + " ARRAY['writer:' || substr(md5(random()::text), 1, 8)]"
            + " FROM generate_series(1, "
            + events
            + ") g");
    database.execute(
        "INSERT INTO en57.event_tags (tag, position) SELECT tags[1], position FROM en57.events");
    settle(database);
  }

  /** Courses in the seed: each has 10 events tagged {@code course:c<n>}. */
  static int courses(int events) {
    return events / 10;
  }

  /**
   * Students in the seed: each has 18 events tagged {@code student:s<n>}, 10 of them of type {@link
   * #SUBSCRIBED}.
   */
  static int students(int events) {
    return events / 20;
  }

  /**
   * A course-subscription log of {@code events} events (a multiple of 20). Event k (from 0) belongs
   * to course {@code k % courses} and student {@code k % students}; the first {@code courses}
   * events define the courses (tag {@code course:c<n>}), the others subscribe or unsubscribe a
   * student (tags {@code course:c<n>} and {@code student:s<n>}), alternating in blocks of {@code
   * courses} events. Data is about 80 bytes of JSON.
   */
  static void courses(Database database, int events) throws SQLException {
    if (events % 20 != 0) {
      throw new IllegalArgumentException("the course seed needs a multiple of 20 events");
    }
    int courses = courses(events);
    int students = students(events);
    database.execute(
        "INSERT INTO en57.events (position, id, type, data, tags)"
            + " SELECT k + 1, gen_random_uuid(),"
            + " CASE WHEN block = 0 THEN '"
            + COURSE_DEFINED
            + "' WHEN block % 2 = 1 THEN '"
            + SUBSCRIBED
            + "' ELSE '"
            + UNSUBSCRIBED
            + "' END,"
            + " CASE WHEN block = 0 THEN jsonb_build_object('courseId', 'c' || c,"
            + "   'title', 'Course ' || c, 'capacity', "
            + CAPACITY
            + ")"
            + " ELSE jsonb_build_object('courseId', 'c' || c, 'studentId', 's' || s,"
            + "   'at', to_char(timestamp '2026-01-01' + k * interval '1 second',"
            + "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) END,"
            + " CASE WHEN block = 0 THEN ARRAY['course:c' || c]"
            + " ELSE ARRAY['course:c' || c, 'student:s' || s] END"
            + " FROM (SELECT k, k % "
            + courses
            + " AS c, k % "
            + students
            + " AS s, k / "
            + courses
            + " AS block FROM generate_series(0, "
            + (events - 1)
            + ") k) seed");
    database.execute(
        "INSERT INTO en57.event_tags (tag, position)"
            + " SELECT t.tag, e.position FROM en57.events e, unnest(e.tags) AS t(tag)");
    settle(database);
  }

  private static void settle(Database database) throws SQLException {
    database.execute("VACUUM ANALYZE en57.events");
    database.execute("VACUUM ANALYZE en57.event_tags");
  }
}
