using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>Checks, normalisation and paging shared by both run indexes, so that they answer alike.</summary>
internal static class RunSummaryRules
{
    /// <summary>Refuses summaries the database would refuse; times in UTC, whole microseconds.</summary>
    public static RunSummary Normalize(RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        RunEventRules.RequireText(summary.Tenant, "Tenant");
        RunEventRules.RequireText(summary.RunId, "RunId");
        RunEventRules.RequireText(summary.Workflow, "Workflow");
        RunEventRules.RequireText(summary.Status, "Status");
        return summary with
        {
            CreatedAt = RunEventRules.Truncate(summary.CreatedAt),
            UpdatedAt = RunEventRules.Truncate(summary.UpdatedAt),
        };
    }

    /// <summary>
    /// Cuts <paramref name="rows"/> (up to limit + 1, in list order) to a page; the extra row only says there is
    /// a next page, whose cursor is the position of the page's last run.
    /// </summary>
    public static RunPage ToPage(List<RunSummary> rows, int limit)
    {
        if (rows.Count <= limit)
        {
            return new RunPage(rows, null);
        }

        rows.RemoveRange(limit, rows.Count - limit);
        var last = rows[^1];
        return new RunPage(rows, RunCursor.Encode(last.CreatedAt, last.RunId));
    }

    /// <summary>The list order: created_at descending, then run id descending (ordinal, like collation "C").</summary>
    public static int CompareNewestFirst(RunSummary x, RunSummary y)
    {
        var byCreated = y.CreatedAt.UtcTicks.CompareTo(x.CreatedAt.UtcTicks);
        return byCreated != 0 ? byCreated : string.CompareOrdinal(y.RunId, x.RunId);
    }
}
