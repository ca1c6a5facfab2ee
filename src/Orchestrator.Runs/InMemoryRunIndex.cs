using System.Collections.Concurrent;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// <see cref="IRunIndex"/> in process memory, for the dev profile and tests: nothing survives a restart. It
/// exists so that the API lists runs without a database, with the same order, cursors, filters and
/// latest-update-wins rule as <see cref="PostgresRunIndex"/>. Each tenant's runs are kept sorted, so a page
/// costs a seek plus the rows it reads. Thread-safe.
/// </summary>
public sealed class InMemoryRunIndex : IRunIndex
{
    private static readonly IComparer<RunSummary> NewestFirst = Comparer<RunSummary>.Create(RunSummaryRules.CompareNewestFirst);

    private readonly ConcurrentDictionary<string, TenantRuns> _tenants = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task UpsertAsync(RunSummary summary, CancellationToken cancellationToken = default)
    {
        summary = RunSummaryRules.Normalize(summary);
        _tenants.GetOrAdd(summary.Tenant, static _ => new TenantRuns()).Upsert(summary);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<RunPage> ListAsync(string tenant, RunListQuery query, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(tenant, nameof(tenant));
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        RunCursor? cursor = query.Cursor is null ? null : RunCursor.Decode(query.Cursor);
        var rows = _tenants.TryGetValue(tenant, out var runs) ? runs.List(query, cursor) : [];
        return Task.FromResult(RunSummaryRules.ToPage(rows, query.Limit));
    }

    /// <inheritdoc />
    public Task<RunSummary?> GetAsync(string tenant, string runId, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(tenant, nameof(tenant));
        RunEventRules.RequireText(runId, nameof(runId));
        return Task.FromResult(_tenants.TryGetValue(tenant, out var runs) ? runs.Get(runId) : null);
    }

    private sealed class TenantRuns
    {
        private readonly Dictionary<string, RunSummary> _byId = new(StringComparer.Ordinal);
        private readonly SortedSet<RunSummary> _ordered = new(NewestFirst);
        private readonly Lock _lock = new();

        public RunSummary? Get(string runId)
        {
            lock (_lock)
            {
                return _byId.GetValueOrDefault(runId);
            }
        }

        public void Upsert(RunSummary summary)
        {
            lock (_lock)
            {
                if (_byId.TryGetValue(summary.RunId, out var existing))
                {
                    if (existing.UpdatedAt > summary.UpdatedAt)
                    {
                        return; // a late, older update
                    }

                    // The order key (created_at, run_id) of a stored run never changes.
                    summary = summary with { CreatedAt = existing.CreatedAt };
                    _ordered.Remove(existing);
                }

                _byId[summary.RunId] = summary;
                _ordered.Add(summary);
            }
        }

        public List<RunSummary> List(RunListQuery query, RunCursor? cursor)
        {
            lock (_lock)
            {
                IEnumerable<RunSummary> candidates = _ordered;
                if (cursor is { } after)
                {
                    if (_ordered.Count == 0)
                    {
                        return [];
                    }

                    var probe = new RunSummary("", after.RunId, "", 0, "", after.CreatedAt, after.CreatedAt);
                    if (NewestFirst.Compare(probe, _ordered.Max!) >= 0)
                    {
                        return [];
                    }

                    candidates = _ordered.GetViewBetween(probe, _ordered.Max!).SkipWhile(s => NewestFirst.Compare(s, probe) <= 0);
                }

                var rows = new List<RunSummary>(Math.Min(query.Limit + 1, _ordered.Count));
                foreach (var summary in candidates)
                {
                    if ((query.Status is null || string.Equals(summary.Status, query.Status, StringComparison.Ordinal))
                        && (query.Workflow is null || string.Equals(summary.Workflow, query.Workflow, StringComparison.Ordinal)))
                    {
                        rows.Add(summary);
                        if (rows.Count > query.Limit)
                        {
                            break;
                        }
                    }
                }

                return rows;
            }
        }
    }
}
