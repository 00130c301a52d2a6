package io.en57.maven;

import io.en57.Migrator;
import java.util.List;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;

/**
 * {@code mvn en57:migrate}: applies the pending migrations of schema en57 (a no-op when it is up to
 * date; safe when several run at once), and grants the application role its privileges when one is
 * given. Needs no project.
 */
@Mojo(name = "migrate", requiresProject = false, threadSafe = true)
public class MigrateMojo extends DatabaseMojo {

  /** Made by Maven. */
  public MigrateMojo() {}

  @Override
  void run(Migrator migrator) throws MojoFailureException {
    List<String> applied = migrator.migrate();
    if (applied.isEmpty()) {
      getLog().info("Schema " + schemaName() + " is up to date; nothing to do.");
    } else {
      applied.forEach(migration -> getLog().info("Applied " + migration));
    }
    log(migrator.status());
  }
}
