using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// The durable, append-only log of every workflow run. It exists so that a run's history survives silo
/// crashes and can be replayed to watchers, without the run grain paying one database round trip per
/// event: appends are queued and written in shared batches across all runs.
/// </summary>
/// <remarks>
/// <para>Durability is deferred: <see cref="AppendAsync"/> returns once the event is queued, and the event is
/// durable shortly after (milliseconds). <see cref="FlushAsync"/> waits until everything appended before it
/// is durable; call it before a checkpoint or reply that must not get ahead of the log.</para>
/// <para>Reads (<see cref="ReadAsync"/>, <see cref="GetLastSequenceAsync"/>) see written events only, not
/// queued ones. A caller that needs to read its own appends calls <see cref="FlushAsync"/> first.</para>
/// <para>Appends are idempotent on (<see cref="RunEvent.RunKey"/>, <see cref="RunEvent.Sequence"/>): a
/// second append of a sequence already stored is ignored (the first one stays), so re-appending after a
/// crash is harmless.</para>
/// <para>Disposing writes what is still queued (bounded by
/// <see cref="RunEventStoreOptions.DisposeTimeout"/>).</para>
/// </remarks>
public interface IRunEventStore : IAsyncDisposable
{
    /// <summary>
    /// Queues <paramref name="runEvent"/> for the next batch. Waits (never drops) while the queue is full,
    /// which happens only when the database falls behind. Throws <see cref="ArgumentException"/> for an
    /// event that could never be stored (empty key or kind, sequence below 1, data not a JSON object) and
    /// <see cref="ObjectDisposedException"/> after disposal.
    /// </summary>
    ValueTask AppendAsync(RunEvent runEvent, CancellationToken cancellationToken = default);

    /// <summary>Completes when every event appended before this call is durable (readable).</summary>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> events of one run with a sequence above <paramref name="afterSequence"/>,
    /// in sequence order. <see cref="RunEvent.At"/> comes back in UTC, truncated to microseconds.
    /// Sees written events only (see <see cref="FlushAsync"/>).
    /// </summary>
    Task<IReadOnlyList<RunEvent>> ReadAsync(string runKey, long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The highest written sequence of a run, 0 when it has none. After a crash the run grain resumes
    /// numbering from the larger of its checkpoint and this.
    /// </summary>
    Task<long> GetLastSequenceAsync(string runKey, CancellationToken cancellationToken = default);
}
