using Orchestrator.Grains.Runs;
using Orchestrator.Runs;

namespace Orchestrator.Grains.Tenants;

/// <summary>
/// Counts a tenant's live runs from the run index and remembers what it admitted recently, so a run
/// admitted a moment ago counts before its first index row is written. Not persisted: after a restart
/// the index alone is the truth, and it already holds every run that got further than admission.
/// </summary>
internal sealed class RunAdmissionGrain(IRunIndex index, TimeProvider time) : Grain, IRunAdmissionGrain
{
    private static readonly TimeSpan RecentWindow = TimeSpan.FromSeconds(30);
    private static readonly string[] LiveStatuses = [RunStatuses.Pending, RunStatuses.Running, RunStatuses.Waiting];

    private readonly Dictionary<string, DateTimeOffset> _recent = new(StringComparer.Ordinal);

    private string Tenant => this.GetPrimaryKeyString();

    public async Task AdmitAsync(string runId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var stale in _recent.Where(r => now - r.Value > RecentWindow).Select(r => r.Key).ToList())
        {
            _recent.Remove(stale);
        }

        if (_recent.ContainsKey(runId))
        {
            return;
        }

        var limit = (await GrainFactory.GetGrain<ITenantGrain>(Tenant).GetQuotasAsync()).MaxConcurrentRuns ?? int.MaxValue;
        var live = await LiveRunsAsync(limit + _recent.Count + 1, cancellationToken);
        if (live.Contains(runId))
        {
            return;
        }

        live.UnionWith(_recent.Keys);
        if (live.Count >= limit)
        {
            throw new QuotaExceededException(
                QuotaExceededException.MaxConcurrentRuns,
                limit,
                $"Tenant '{Tenant}' already has {live.Count} live runs (its max_concurrent_runs is {limit}); wait for one to finish or cancel one.");
        }

        _recent[runId] = now;
    }

    /// <summary>Up to <paramref name="enough"/> ids of live runs: past the limit the exact count does not matter.</summary>
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
