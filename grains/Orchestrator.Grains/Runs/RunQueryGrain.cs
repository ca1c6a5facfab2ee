using Orchestrator.Runs;
using Orleans.Concurrency;

namespace Orchestrator.Grains.Runs;

/// <summary>Lists runs from the run index in whichever silo takes the call; a standalone gateway needs no database of its own.</summary>
[StatelessWorker]
internal sealed class RunQueryGrain(IRunIndex index) : Grain, IRunQueryGrain
{
    public async Task<RunListPage> ListAsync(string tenant, int limit, string? cursor, string? status, string? workflow, CancellationToken cancellationToken)
    {
        try
        {
            var page = await index.ListAsync(tenant, new RunListQuery(limit, cursor, status, workflow), cancellationToken);
            return new RunListPage(page.Items, page.NextCursor);
        }
        catch (InvalidRunCursorException ex)
        {
            throw new RunCursorException(ex.Message);
        }
    }
}
