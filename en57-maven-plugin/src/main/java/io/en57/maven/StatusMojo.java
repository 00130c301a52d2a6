package io.en57.maven;

import io.en57.MigrationStatus;
import io.en57.Migrator;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;

/**
 * {@code mvn en57:status}: logs the state of schema en57, its versions and pending migrations,
 * without changing anything. Fails the build when the database needs a person (partial,
 * unversioned, ahead, a changed migration, or an application role without its privileges); a fresh
 * or pending database does not fail it. Needs no project.
 */
@Mojo(name = "status", requiresProject = false, threadSafe = true)
public class StatusMojo extends DatabaseMojo {

  /** Made by Maven. */
  public StatusMojo() {}

  @Override
  void run(Migrator migrator) throws MojoFailureException {
    MigrationStatus status = migrator.status();
    log(status);
    if (inTrouble(status)) {
      throw new MojoFailureException(
          "schema en57 needs attention: "
              + status.warning().orElse("see the application role's privileges above"));
    }
  }
}
