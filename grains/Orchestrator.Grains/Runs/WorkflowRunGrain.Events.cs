using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Orchestrator.Workflows;

namespace Orchestrator.Grains.Runs;

/// <summary>The run's event log: appended on every change, replayed and followed by watchers, and the full output of a step.</summary>
internal sealed partial class WorkflowRunGrain
{
    public async IAsyncEnumerable<RunEvent> WatchAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        // Subscribe before replaying, so nothing appended in between is missed; duplicates are skipped by sequence.
        var live = Channel.CreateBounded<RunEvent>(new BoundedChannelOptions(LiveBuffer) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
        var ended = RunStatuses.IsTerminal(S.Status);
        if (!ended)
        {
            _watchers.Add(live);
        }

        try
        {
            await events.FlushAsync(cancellationToken);
            var last = afterSequence;
            while (true)
            {
                var page = await events.ReadAsync(Key, last, 500, cancellationToken);
                foreach (var item in page)
                {
                    last = item.Sequence;
                    yield return item;
                }

                if (page.Count < 500)
                {
                    break;
                }
            }

            if (ended)
            {
                yield break;
            }

            await foreach (var item in live.Reader.ReadAllAsync(cancellationToken))
            {
                if (item.Sequence <= last)
                {
                    continue;
                }

                if (item.Sequence != last + 1)
                {
                    // A slow watcher overflowed its buffer: end here; it reconnects from its last sequence.
                    yield break;
                }

                last = item.Sequence;
                yield return item;
            }
        }
        finally
        {
            _watchers.Remove(live);
        }
    }

    public async Task<StepOutputView> GetStepOutputAsync(string stepId, CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (!S.Steps.TryGetValue(stepId, out var step))
        {
            throw new RunNotFoundException($"Run '{_runId}' has no step '{stepId}'.");
        }

        await events.FlushAsync(cancellationToken);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        long after = 0;
        while (true)
        {
            var page = await events.ReadAsync(Key, after, 1000, cancellationToken);
            foreach (var item in page)
            {
                after = item.Sequence;
                if (item.Kind == RunEventKinds.StepOutput && item.StepId == stepId && item.Attempt == step.Attempt)
                {
                    var data = JsonNode.Parse(item.Data)!;
                    (data["stream"]?.GetValue<string>() == "stderr" ? stderr : stdout).Append(data["data"]?.GetValue<string>());
                }
            }

            if (page.Count < 1000)
            {
                break;
            }
        }

        return new StepOutputView(stepId, step.Attempt, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Records a chunk of a step's output, already masked by a redactor of <see cref="CreateOutputRedactor"/>.</summary>
    private async Task EmitOutputAsync(StepDefinition step, int attempt, string stream, string maskedText)
    {
        await Emit(RunEventKinds.StepOutput, step.Id, attempt, new JsonObject { ["stream"] = stream, ["data"] = maskedText });
    }

    private async Task Emit(string kind, string? stepId, int attempt, JsonObject data)
    {
        // Microseconds, as the store keeps them: a live event and its replay are equal.
        var now = time.GetUtcNow();
        var item = new RunEvent(Key, ++S.Sequence, now.AddTicks(-(now.UtcTicks % 10)), kind, stepId, attempt, data.ToJsonString());
        await events.AppendAsync(item);
        foreach (var watcher in _watchers)
        {
            watcher.Writer.TryWrite(item);
        }
    }
}
