namespace Orchestrator.Runs;

/// <summary>
/// Tuning of the shared batch writer behind <see cref="IRunEventStore"/>. The defaults suit a silo; tests
/// shrink them to reach the limits quickly.
/// </summary>
public sealed class RunEventStoreOptions
{
    /// <summary>A batch is written as soon as it holds this many events. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// How long the writer waits for more events when a batch is not full and nobody is flushing.
    /// Default 5 ms; zero writes whatever is queued at once.
    /// </summary>
    public TimeSpan FlushDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Events (and pending flushes) the queue holds before <see cref="IRunEventStore.AppendAsync"/> waits.
    /// With the batch in flight, at most <see cref="QueueCapacity"/> + <see cref="BatchSize"/> events are held
    /// in memory. Default 10,000.
    /// </summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>First wait after a failed batch write; doubled per failure up to <see cref="MaxRetryDelay"/>. Default 100 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between retries of a failed batch write. Default 5 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long disposal keeps writing what is queued before it gives up (and logs how many events were
    /// lost). Default 30 s.
    /// </summary>
    public TimeSpan DisposeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueCapacity, 1, nameof(QueueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(FlushDelay, TimeSpan.Zero, nameof(FlushDelay));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryDelay, TimeSpan.Zero, nameof(RetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryDelay, RetryDelay, nameof(MaxRetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(DisposeTimeout, TimeSpan.Zero, nameof(DisposeTimeout));
    }
}

/// <summary>
/// What the batch writer has done so far; exists so that operators (and tests) can see that batching
/// batches and whether the queue is backing up.
/// </summary>
/// <param name="BatchesWritten">Batches written successfully (one statement each, retries not counted).</param>
/// <param name="EventsWritten">Events in those batches, duplicates included.</param>
/// <param name="LargestBatch">The most events one batch held.</param>
/// <param name="FailedWrites">Batch writes that failed and were retried.</param>
/// <param name="Queued">Events and flushes waiting in the queue now.</param>
public sealed record RunEventWriterStatistics(long BatchesWritten, long EventsWritten, int LargestBatch, long FailedWrites, int Queued)
{
    /// <summary>Average events per batch (0 before the first batch).</summary>
    public double AverageBatchSize => BatchesWritten == 0 ? 0 : (double)EventsWritten / BatchesWritten;
}
