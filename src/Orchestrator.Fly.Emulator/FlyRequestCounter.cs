using System.Collections.Concurrent;

namespace Orchestrator.Fly.Emulator;

/// <summary>
/// How many Fly API requests the emulator received, per Fly OpenAPI operation id (<c>Machines_show</c>,
/// <c>Machines_create</c>, <c>Volumes_extend</c>, ...), so that a test can assert that something made no Fly
/// call. Every request routed to an operation counts, whatever it was answered (refusals by auth, injected
/// faults and rate limits included); the emulator's own <c>/_emulator</c> endpoints and unknown paths do not.
/// </summary>
public sealed class FlyRequestCounter
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>Requests to every operation since the start or the last <see cref="Reset"/>.</summary>
    public int Total => Volatile.Read(ref _total);

    /// <summary>Requests to <paramref name="operationId"/> (e.g. <c>Machines_show</c>); 0 when there were none.</summary>
    public int Count(string operationId)
    {
        ArgumentNullException.ThrowIfNull(operationId);
        return _counts.GetValueOrDefault(operationId);
    }

    /// <summary>The counts of every operation called at least once, by operation id.</summary>
    public IReadOnlyDictionary<string, int> Snapshot() =>
        new SortedDictionary<string, int>(_counts.Where(pair => pair.Value > 0).ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>Starts counting from zero, e.g. after a test's setup.</summary>
    public void Reset()
    {
        _counts.Clear();
        Interlocked.Exchange(ref _total, 0);
    }

    internal void Record(string operationId)
    {
        _counts.AddOrUpdate(operationId, 1, static (_, count) => count + 1);
        Interlocked.Increment(ref _total);
    }
}
