package io.en57.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/** Runs tasks on threads of their own and collects their results in task order. */
public final class Concurrently {

  private Concurrently() {}

  /** The tasks' results in order; the first task that threw makes this throw its exception. */
  public static <T> List<T> run(ExecutorService threads, List<? extends Callable<T>> tasks)
      throws Exception {
    var results = new ArrayList<T>();
    for (Future<T> future : threads.invokeAll(tasks)) {
      results.add(future.get());
    }
    return results;
  }
}
