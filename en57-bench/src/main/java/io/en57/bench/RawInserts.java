package io.en57.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/**
 * The raw baselines' writes: rows exactly as {@code en57.append} stores them (an event row with its
 * tags array, one {@code event_tags} row per tag, into the same tables and indexes), but with no
 * lock and no condition, positions assigned by the caller, ids UUIDv7 as the library makes them. A
 * batch is one multi-row statement for the events and one for the tags, combined in one statement
 * so that it costs one round trip and one commit on an auto-commit connection, as an append does.
 */
final class RawInserts {

  private RawInserts() {}

  /** An event row: data is JSON text. */
  record Row(UUID id, String type, String data, String... tags) {}

  /** Inserts {@code rows} at positions {@code first, first + 1, ...}: one statement, one commit. */
  static void insert(Connection connection, long first, List<Row> rows) throws SQLException {
    int tagCount = rows.stream().mapToInt(r -> r.tags().length).sum();
    try (PreparedStatement insert = connection.prepareStatement(sql(rows.size(), tagCount))) {
      int p = 1;
      for (int i = 0; i < rows.size(); i++) {
        Row row = rows.get(i);
        insert.setLong(p++, first + i);
        insert.setObject(p++, row.id());
        insert.setString(p++, row.type());
        insert.setString(p++, row.data());
        insert.setArray(p++, connection.createArrayOf("text", row.tags()));
      }
      for (int i = 0; i < rows.size(); i++) {
        for (String tag : rows.get(i).tags()) {
          insert.setString(p++, tag);
          insert.setLong(p++, first + i);
        }
      }
      insert.executeUpdate();
    }
  }

  private static String sql(int events, int tags) {
    var sql = new StringBuilder();
    if (tags > 0) {
      sql.append("WITH stored AS (");
    }
    sql.append("INSERT INTO en57.events (position, id, type, data, tags) VALUES ");
    for (int i = 0; i < events; i++) {
      sql.append(i == 0 ? "" : ", ").append("(?, ?, ?, ?::jsonb, ?)");
    }
    if (tags > 0) {
      sql.append(") INSERT INTO en57.event_tags (tag, position) VALUES ");
      for (int i = 0; i < tags; i++) {
        sql.append(i == 0 ? "" : ", ").append("(?, ?)");
      }
    }
    return sql.toString();
  }
}
