using Orchestrator.Grains.Runs;
using Orchestrator.Runs;

namespace Orchestrator.Grains.Tenants;

/// <summary>
/// Silo-internal: admits a tenant's new runs (keyed by the tenant id) while fewer than its
/// <see cref="TenantQuotas.MaxConcurrentRuns"/> are live, child runs included. Every run grain asks it when it
/// starts, whoever starts it (the API, an Orleans client, a parent run). One activation per tenant decides in
/// turn, so two starts racing for the last slot cannot both get it.
/// </summary>
[Alias("orchestrator.IRunAdmissionGrain")]
internal interface IRunAdmissionGrain : IGrainWithStringKey
{
    /// <summary>Admits <paramref name="runId"/>; a run already live or just admitted is admitted again for free.</summary>
    /// <exception cref="QuotaExceededException">The tenant already has its maximum of live runs.</exception>
    [Alias("Admit")]
    Task AdmitAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The run ended: its place is free now, not only at the next read of the index.</summary>
    [Alias("Release"), Orleans.Concurrency.OneWay]
    Task ReleaseAsync(string runId);
}

/// <summary>
/// Counts a tenant's live runs from the run index and remembers what it admitted since, so a run
/// admitted a moment ago counts before its first index row is written. The index is read at most
/// every few seconds: runs only leave the live set between reads, so an older read plus the runs
/// admitted since can only overcount, and an overcount at the limit is checked again against a
/// fresh read before a start is refused. Not persisted: after a restart the index is the truth.
/// </summary>
internal sealed class RunAdmissionGrain(IRunIndex index, TimeProvider time) : Grain, IRunAdmissionGrain
{
    private static readonly TimeSpan RecentWindow = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReadEvery = TimeSpan.FromSeconds(5);
    private static readonly string[] LiveStatuses = [RunStatuses.Pending, RunStatuses.Running, RunStatuses.Waiting];

    private readonly Dictionary<string, DateTimeOffset> _recent = new(StringComparer.Ordinal);
    private HashSet<string> _live = new(StringComparer.Ordinal);
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;
    private int _limit;

    private string Tenant => this.GetPrimaryKeyString();

    public async Task AdmitAsync(string runId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var stale in _recent.Where(r => now - r.Value > RecentWindow).Select(r => r.Key).ToList())
        {
            _recent.Remove(stale);
        }

        var fresh = false;
        if (now - _readAt > ReadEvery)
        {
            await ReadAsync(now, cancellationToken);
            fresh = true;
        }

        if (_recent.ContainsKey(runId) || _live.Contains(runId))
        {
            return;
        }

        if (Count() >= _limit && !fresh)
        {
            await ReadAsync(now, cancellationToken);
        }

        var count = Count();
        if (count >= _limit)
        {
            throw new QuotaExceededException(
                QuotaExceededException.MaxConcurrentRuns,
                _limit,
                $"Tenant '{Tenant}' already has {count} live runs (its max_concurrent_runs is {_limit}); wait for one to finish or cancel one.");
        }

        _recent[runId] = now;
    }

    public Task ReleaseAsync(string runId)
    {
        _recent.Remove(runId);
        _live.Remove(runId);
        return Task.CompletedTask;
    }

    private int Count() => _live.Count + _recent.Keys.Count(id => !_live.Contains(id));

    private async Task ReadAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        _limit = (await GrainFactory.GetGrain<ITenantGrain>(Tenant).GetQuotasAsync()).MaxConcurrentRuns ?? int.MaxValue;
        _live = await LiveRunsAsync(_limit + _recent.Count + 1, cancellationToken);
        _readAt = now;
    }

    /// <summary>Up to about <paramref name="enough"/> ids of live runs: past the limit the exact count does not matter.</summary>
    private async Task<HashSet<string>> LiveRunsAsync(int enough, CancellationToken cancellationToken)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var status in LiveStatuses)
        {
            string? cursor = null;
            do
            {
                var page = await index.ListAsync(Tenant, new RunListQuery(RunListQuery.MaxLimit, cursor, status), cancellationToken);
                live.UnionWith(page.Items.Select(r => r.RunId));
                cursor = page.NextCursor;
            }
            while (cursor is not null && live.Count < enough);
        }

        return live;
    }
}
