package io.en57;

import java.util.List;
import java.util.Objects;

/**
 * Whether the application's database role holds exactly what a store needs in schema {@code en57}:
 * USAGE on the schema, SELECT on its tables and EXECUTE on its functions, and nothing that would
 * let it write around the append function or rewrite history. Reported by {@link Migrator#status()}
 * for a migrator {@link Migrator#withApplicationRole with an application role}.
 *
 * @param role the role's name
 * @param missing what the role lacks, for example {@code EXECUTE on function en57.append(...)}
 * @param excess what the role holds or is and should not, for example {@code INSERT on table
 *     en57.events} or {@code owns schema en57}
 */
public record ApplicationRoleStatus(String role, List<String> missing, List<String> excess) {

  /** Validates and copies. */
  public ApplicationRoleStatus {
    Objects.requireNonNull(role, "role must not be null");
    missing = List.copyOf(Objects.requireNonNull(missing, "missing must not be null"));
    excess = List.copyOf(Objects.requireNonNull(excess, "excess must not be null"));
  }

  /** Whether the role holds exactly what it needs. */
  public boolean inPlace() {
    return missing.isEmpty() && excess.isEmpty();
  }
}
