namespace Orchestrator.Grains.Runs;

/// <summary>What callers read: the run view, masked, and the summary kept in the run index.</summary>
internal sealed partial class WorkflowRunGrain
{
    public async Task<RunView?> GetAsync(CancellationToken cancellationToken) => Started ? await ViewAsync(cancellationToken) : null;

    /// <summary>
    /// Tells the run index the run's summary when the status it lists changed since it was last told: at start, at
    /// the end, and when the run starts or stops waiting, so a list (and its status filter) says what a read says.
    /// </summary>
    private async Task IndexAsync(CancellationToken cancellationToken = default)
    {
        var summary = new RunSummary(_tenant, _runId, S.Workflow, S.Version, ListedStatus(), S.CreatedAt, S.UpdatedAt);
        if (summary.Status == _indexedStatus)
        {
            return;
        }

        await index.UpsertAsync(summary, cancellationToken);
        _indexedStatus = summary.Status;
    }

    /// <summary>A running run whose only live steps wait (for a signal or a timer) reads as waiting.</summary>
    private string ListedStatus() =>
        S.Status == RunStatuses.Running && S.Steps.Values.Any(s => s.Status == StepStatuses.Waiting) && !S.Steps.Values.Any(s => s.Status == StepStatuses.Running)
            ? RunStatuses.Waiting
            : S.Status;

    /// <summary>
    /// The view, masked. The redactor is otherwise made when a step is first rendered, so a view answered
    /// before that (the start's own answer, or a read after reactivation) would show secret inputs in the clear.
    /// </summary>
    private async Task<RunView> ViewAsync(CancellationToken cancellationToken)
    {
        if (_secretRedactor is null)
        {
            await ContextAsync(step: null, cancellationToken);
        }

        return View();
    }

    private RunView View()
    {
        var definition = _definition;
        var order = definition?.AllSteps().Select(s => s.Id).ToList() ?? [.. S.Steps.Keys];
        var finallyIds = definition?.Finally.SelectMany(f => f.SelfAndDescendants()).Select(s => s.Id).ToHashSet(StringComparer.Ordinal) ?? [];
        var uses = definition?.AllSteps().ToDictionary(s => s.Id, s => s.Uses, StringComparer.Ordinal) ?? [];
        return new RunView(
            _runId,
            S.Workflow,
            S.Version,
            ListedStatus(),
            Redact(S.InputsJson),
            [.. order.Where(S.Steps.ContainsKey).Select(id =>
            {
                var st = S.Steps[id];
                return new StepView(id, uses.GetValueOrDefault(id, ""), st.Status, st.Attempt, st.StartedAt, st.EndedAt, Redact(st.OutputsJson), st.Error, finallyIds.Contains(id));
            })],
            Redact(S.OutputsJson),
            S.Error,
            S.CreatedAt,
            S.UpdatedAt,
            S.EndedAt,
            S.Sequence);
    }
}
