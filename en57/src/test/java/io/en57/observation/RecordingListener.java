package io.en57.observation;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what a store reports, with the threads that started and ended each operation. */
final class RecordingListener implements StoreListener {

  record Append(AppendStarted started, AppendEnded ended, String startThread, String endThread) {}

  record Read(ReadEnded ended, String startThread) {}

  final List<Append> appends = new CopyOnWriteArrayList<>();
  final List<Read> reads = new CopyOnWriteArrayList<>();
  final List<GroupWritten> groups = new CopyOnWriteArrayList<>();
  final List<ProjectionBatch> batches = new CopyOnWriteArrayList<>();
  final List<ProjectionFailure> failures = new CopyOnWriteArrayList<>();

  @Override
  public Operation<AppendEnded> appendStarted(AppendStarted append) {
    String startThread = Thread.currentThread().getName();
    return ended ->
        appends.add(new Append(append, ended, startThread, Thread.currentThread().getName()));
  }

  @Override
  public Operation<ReadEnded> readStarted() {
    String startThread = Thread.currentThread().getName();
    return ended -> reads.add(new Read(ended, startThread));
  }

  @Override
  public void groupWritten(GroupWritten group) {
    groups.add(group);
  }

  @Override
  public void projectionBatchApplied(ProjectionBatch batch) {
    batches.add(batch);
  }

  @Override
  public void projectionFailed(ProjectionFailure failure) {
    failures.add(failure);
  }
}
