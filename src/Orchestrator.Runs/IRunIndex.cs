using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// The queryable list of runs, one <see cref="RunSummary"/> per run. It exists because run grains can only be
/// reached by key: listing a tenant's runs (newest first, by status or workflow) needs an index kept beside
/// them, cheap enough to update on every status change and fast with hundreds of thousands of runs.
/// </summary>
public interface IRunIndex
{
    /// <summary>
    /// Inserts or updates a run's summary. The summary with the latest <see cref="RunSummary.UpdatedAt"/> wins
    /// (a later call wins a tie), so an update delivered late never rolls a run back; the first
    /// <see cref="RunSummary.CreatedAt"/> stored is kept. Visible to reads as soon as this completes.
    /// </summary>
    Task UpsertAsync(RunSummary summary, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of <paramref name="tenant"/>'s runs, newest first (created_at, then run id, descending), filtered
    /// by <see cref="RunListQuery.Status"/> and <see cref="RunListQuery.Workflow"/> when given. Pass the page's
    /// <see cref="RunPage.NextCursor"/> back to get the next page; pages are keyset-based, so runs created
    /// meanwhile never shift them. Throws <see cref="InvalidRunCursorException"/> (an
    /// <see cref="ArgumentException"/> naming <c>cursor</c>) for a cursor this index did not make, and
    /// <see cref="ArgumentOutOfRangeException"/> (naming <c>limit</c>) for a limit outside 1..<see cref="RunListQuery.MaxLimit"/>.
    /// </summary>
    Task<RunPage> ListAsync(string tenant, RunListQuery query, CancellationToken cancellationToken = default);

    /// <summary>One run's summary, or null when the tenant has no such run.</summary>
    Task<RunSummary?> GetAsync(string tenant, string runId, CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IRunIndex.ListAsync"/> should return: the page size, where to continue, and filters.</summary>
/// <param name="Limit">Runs per page, 1 to <see cref="MaxLimit"/>.</param>
/// <param name="Cursor">The previous page's <see cref="RunPage.NextCursor"/>; null for the first page.</param>
/// <param name="Status">Only runs in this status (one of <see cref="RunStatuses"/>); null for any.</param>
/// <param name="Workflow">Only runs of this workflow; null for any.</param>
public sealed record RunListQuery(int Limit, string? Cursor = null, string? Status = null, string? Workflow = null)
{
    /// <summary>The largest page a query may ask for.</summary>
    public const int MaxLimit = 1000;

    internal void Validate()
    {
        if (Limit is < 1 or > MaxLimit)
        {
            throw new ArgumentOutOfRangeException("limit", Limit, $"The page size must be between 1 and {MaxLimit}.");
        }

        // PostgreSQL text cannot hold U+0000: no run has such a status or workflow.
        if (Status?.Contains('\0', StringComparison.Ordinal) == true)
        {
            throw new ArgumentException("The status filter must not contain U+0000.", "status");
        }

        if (Workflow?.Contains('\0', StringComparison.Ordinal) == true)
        {
            throw new ArgumentException("The workflow filter must not contain U+0000.", "workflow");
        }
    }
}

/// <summary>One page of runs.</summary>
/// <param name="Items">The runs, newest first.</param>
/// <param name="NextCursor">Opaque cursor of the next page, or null when this is the last page.</param>
public sealed record RunPage(IReadOnlyList<RunSummary> Items, string? NextCursor);

/// <summary>
/// A list cursor that this index did not make (or that was altered). It exists so that the API can answer
/// 400 naming the <c>cursor</c> parameter instead of a 500; <see cref="ArgumentException.ParamName"/> is
/// <c>cursor</c>.
/// </summary>
public sealed class InvalidRunCursorException : ArgumentException
{
    public InvalidRunCursorException()
        : this("The cursor is not one this server made; start again from the first page.")
    {
    }

    public InvalidRunCursorException(string message)
        : base(message, "cursor")
    {
    }

    public InvalidRunCursorException(string message, Exception innerException)
        : base(message, "cursor", innerException)
    {
    }
}
