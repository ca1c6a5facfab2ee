namespace Orchestrator.Grains.Runs;

/// <summary>
/// Silo-internal: how a run's <c>workflow</c> step starts its child and how the child reports its end. Not in the
/// abstractions, so an outside caller can neither attach a run to another run nor wake a parent.
/// </summary>
[Alias("orchestrator.IChildRunGrain")]
internal interface IChildRunGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts this run as the child of <paramref name="parentRunId"/> (same tenant) at <paramref name="depth"/> (the
    /// parent's plus one), admitted under the tenant's quotas like any run.
    /// </summary>
    /// <exception cref="Tenants.QuotaExceededException">Too many live runs, or deeper than the tenant's max_run_depth.</exception>
    [Alias("StartChild")]
    Task<RunView> StartChildAsync(RunStartRequest request, string parentRunId, int depth, CancellationToken cancellationToken = default);

    /// <summary>A child run reports its end to its parent's <c>workflow</c> step.</summary>
    [Alias("ChildEnded"), Orleans.Concurrency.AlwaysInterleave]
    Task ChildEndedAsync(string childRunId, CancellationToken cancellationToken = default);
}
