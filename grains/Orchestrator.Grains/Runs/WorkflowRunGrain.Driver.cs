using System.Text.Json.Nodes;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>The driver: walks the definition step by step, one checkpoint per transition, and ends the run.</summary>
internal sealed partial class WorkflowRunGrain
{
    private void EnsureDriving()
    {
        if (!Started || RunStatuses.IsTerminal(S.Status))
        {
            return;
        }

        if (_driver is { IsCompleted: false })
        {
            // A driver that is finishing (e.g. a retry arrived while it wrote the end) goes round once more.
            _driveAgain = true;
            return;
        }

        _driver = DriveAsync();
    }

    private async Task DriveAsync()
    {
        await Task.Yield();
        do
        {
            _driveAgain = false;
            await DriveOnceAsync();
        }
        while (_driveAgain && Started && !RunStatuses.IsTerminal(S.Status));
    }

    private async Task DriveOnceAsync()
    {
        try
        {
            var definition = await DefinitionAsync(CancellationToken.None);
            using var cancel = new CancellationTokenSource();
            _cancel = cancel;
            if (S.CancelRequested)
            {
                await cancel.CancelAsync();
            }

            if (S.Phase == RunPhases.Main)
            {
                await RunStepsAsync(definition.Steps, inFinally: false, cancel.Token);
                S.Phase = RunPhases.Finally;
            }

            if (S.Phase == RunPhases.Finally)
            {
                // Cleanup runs even when the run was cancelled: it gets a token of its own.
                await RunStepsAsync(definition.Finally, inFinally: true, CancellationToken.None);
            }

            await FinishAsync(definition);
        }
        catch (Orleans.Storage.InconsistentStateException exception)
        {
            // Another activation (e.g. one that lived on a silo declared dead while it still wrote) moved the
            // checkpoint on: this copy is stale. Let it go; the reminder activates the run again from the database.
            LogStaleCheckpoint(Key, exception.Message);
            DeactivateOnIdle();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The checkpoint is intact: the next reminder tick (or activation) drives the run again.
            LogDriverFailed(exception, Key);
        }
        finally
        {
            _cancel = null;
        }
    }

    private async Task RunStepsAsync(IReadOnlyList<StepDefinition> steps, bool inFinally, CancellationToken cancellationToken)
    {
        foreach (var step in steps)
        {
            var st = S.Steps[step.Id];
            if (st.Status is StepStatuses.Succeeded or StepStatuses.Failed or StepStatuses.Skipped or StepStatuses.Cancelled)
            {
                continue;
            }

            await RunStepAsync(step, st, inFinally, cancellationToken);
        }
    }

    private async Task RunStepAsync(StepDefinition step, StepState st, bool inFinally, CancellationToken cancellationToken)
    {
        var context = await ContextAsync(step, cancellationToken);
        if (st.Status == StepStatuses.Pending && (cancellationToken.IsCancellationRequested || !ExpressionEvaluator.ShouldRun(step, context, inFinally)))
        {
            st.Status = cancellationToken.IsCancellationRequested ? StepStatuses.Cancelled : StepStatuses.Skipped;
            st.EndedAt = time.GetUtcNow();
            await Emit(cancellationToken.IsCancellationRequested ? RunEventKinds.StepFailed : RunEventKinds.StepSkipped, step.Id, st.Attempt,
                new JsonObject { ["reason"] = cancellationToken.IsCancellationRequested ? "run cancelled" : "condition false" });
            _dirty = true;
            return;
        }

        if (step.Uses == StepTypes.Parallel)
        {
            await StartAttemptAsync(step, st);
            await Task.WhenAll(step.Branches.Select(branch => RunStepsAsync(branch, inFinally, cancellationToken)));
            var failed = step.Branches.SelectMany(b => b).SelectMany(s => s.SelfAndDescendants())
                .Any(s => S.Steps[s.Id] is { Status: StepStatuses.Failed or StepStatuses.Cancelled, Continued: false });
            await EndAttemptAsync(step, st, failed ? "a branch failed" : null, new JsonObject(), cancellationToken);
            return;
        }

        var interruptions = 0;
        while (true)
        {
            if (st.Status is StepStatuses.Pending)
            {
                await StartAttemptAsync(step, st);
            }
            else if (st.Status == StepStatuses.Waiting && st.WakeAt is { } retryAt && st.Error is not null)
            {
                // Backing off before the next attempt (also when the run resumed during the backoff).
                try
                {
                    await WaitUntilAsync(retryAt, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    await CancelStepAsync(step, st);
                    return;
                }

                st.Status = StepStatuses.Pending;
                continue;
            }

            string? error;
            JsonObject outputs;
            try
            {
                using var timeout = step.Timeout is { } limit ? new CancellationTokenSource(limit, time) : new CancellationTokenSource();
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
                var attempt = new StepAttempt(this, step, st, context, IdempotencyKey(step, st));
                try
                {
                    outputs = await executor.ExecuteAsync(attempt, linked.Token);
                    error = null;
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    outputs = [];
                    error = $"timed out after {Duration.Format(step.Timeout!.Value)}";
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await CancelStepAsync(step, st);
                return;
            }
            catch (Exception exception) when (IsInterruption(exception) && ++interruptions <= MaxInterruptions)
            {
                // The silo running part of the step (an SSH session, an instance grain) died: the step did not fail,
                // it was cut off. Run the same attempt again, with the same idempotency key.
                LogInterrupted(Key, step.Id, st.Attempt, exception.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
                continue;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                outputs = [];
                error = exception.Message;
            }

            if (error is null || st.Attempt >= (step.Retry?.MaxAttempts ?? 1) || cancellationToken.IsCancellationRequested)
            {
                await EndAttemptAsync(step, st, error, outputs, cancellationToken);
                return;
            }

            var delay = step.Retry!.DelayBefore(st.Attempt + 1);
            st.Status = StepStatuses.Waiting;
            st.Error = Redact(error);
            st.WakeAt = time.GetUtcNow() + delay;
            await Emit(RunEventKinds.StepRetried, step.Id, st.Attempt, new JsonObject { ["error"] = st.Error, ["delay_ms"] = (long)delay.TotalMilliseconds, ["next_attempt"] = st.Attempt + 1 });
            await CheckpointAsync();
        }
    }

    private async Task CancelStepAsync(StepDefinition step, StepState st)
    {
        st.Status = StepStatuses.Cancelled;
        st.EndedAt = time.GetUtcNow();
        await Emit(RunEventKinds.StepFailed, step.Id, st.Attempt, new JsonObject { ["error"] = "cancelled" });
        // Written with the next transition (the cleanup's start or the run's end).
        _dirty = true;
    }

    private async Task StartAttemptAsync(StepDefinition step, StepState st)
    {
        await BeginAttemptAsync(step, st);
        // The one write of this transition; it also carries the previous step's completion.
        await CheckpointAsync();
    }

    /// <summary>Marks a new attempt running, in memory only: the caller's next checkpoint makes it durable.</summary>
    private async Task BeginAttemptAsync(StepDefinition step, StepState st)
    {
        st.Attempt++;
        st.Status = StepStatuses.Running;
        st.StartedAt = time.GetUtcNow();
        st.EndedAt = null;
        st.WakeAt = null;
        await Emit(RunEventKinds.StepStarted, step.Id, st.Attempt, new JsonObject { ["uses"] = step.Uses, ["idempotency_key"] = IdempotencyKey(step, st) });
    }

    private async Task EndAttemptAsync(StepDefinition step, StepState st, string? error, JsonObject outputs, CancellationToken cancellationToken)
    {
        st.EndedAt = time.GetUtcNow();
        st.WakeAt = null;
        if (error is null)
        {
            st.Status = StepStatuses.Succeeded;
            st.Error = null;
            // Stored masked, as errors are: the secrets themselves are encrypted at rest, so an output that
            // echoes one must not keep it in the clear (later steps see the mask, as every reader does).
            st.OutputsJson = Redact(outputs.ToJsonString());
            await Emit(RunEventKinds.StepCompleted, step.Id, st.Attempt, new JsonObject { ["outputs"] = JsonNode.Parse(Redact(st.OutputsJson)) });
        }
        else
        {
            st.Status = cancellationToken.IsCancellationRequested ? StepStatuses.Cancelled : StepStatuses.Failed;
            st.Error = Redact(error);
            st.Continued = step.ContinueOnError;
            st.OutputsJson = Redact(outputs.ToJsonString());
            await Emit(RunEventKinds.StepFailed, step.Id, st.Attempt, new JsonObject { ["error"] = st.Error, ["continue_on_error"] = step.ContinueOnError });
        }

        metrics.StepEnded(step.Uses, st.Status, st.EndedAt.Value - (st.StartedAt ?? st.EndedAt.Value));

        // Written with the next step's start (or the run's end): one write per transition.
        _dirty = true;
    }

    private async Task FinishAsync(WorkflowDefinition definition)
    {
        var context = await ContextAsync(null, CancellationToken.None);
        var failed = S.Steps.Values.Any(s => s is { Status: StepStatuses.Failed, Continued: false });
        S.Status = S.CancelRequested ? RunStatuses.Cancelled : failed ? RunStatuses.Failed : RunStatuses.Succeeded;
        S.Phase = RunPhases.Done;
        S.EndedAt = time.GetUtcNow();
        if (S.Status == RunStatuses.Succeeded)
        {
            var outputs = new JsonObject();
            foreach (var (name, template) in definition.Outputs)
            {
                outputs[name] = TemplateRenderer.Render(template, context);
            }

            S.OutputsJson = Redact(outputs.ToJsonString());
        }
        else
        {
            var firstFailure = definition.AllSteps().Select(s => (s.Id, State: S.Steps[s.Id])).FirstOrDefault(s => s.State is { Status: StepStatuses.Failed, Continued: false });
            S.Error = S.Status == RunStatuses.Cancelled ? "cancelled" : firstFailure.Id is { } id ? $"step '{id}' failed: {firstFailure.State.Error}" : "failed";
        }

        var kind = S.Status switch
        {
            RunStatuses.Succeeded => RunEventKinds.RunCompleted,
            RunStatuses.Cancelled => RunEventKinds.RunCancelled,
            _ => RunEventKinds.RunFailed,
        };
        await Emit(kind, null, 0, new JsonObject { ["status"] = S.Status, ["error"] = S.Error, ["outputs"] = JsonNode.Parse(Redact(S.OutputsJson)) });
        await CheckpointAsync();
        await events.FlushAsync();
        await IndexAsync();
        if (!RunStatuses.IsTerminal(S.Status))
        {
            // Retried while the end was being written: the retry owns the run (and its reminder) now.
            return;
        }

        metrics.RunEnded(S.Status, S.EndedAt!.Value - S.CreatedAt);
        await UnregisterAsync(ResumeReminder);
        await UnregisterAsync(WakeReminder);
        foreach (var watcher in _watchers)
        {
            watcher.Writer.TryComplete();
        }

        LogFinished(Key, S.Status);
        GrainFactory.GetGrain<Tenants.IRunAdmissionGrain>(_tenant).ReleaseAsync(_runId).Ignore();
        if (S.ParentRunKey is { } parent)
        {
            await GrainFactory.GetGrain<IChildRunGrain>(parent).ChildEndedAsync(_runId);
        }
    }

    private static bool IsInterruption(Exception exception) =>
        exception is OrleansMessageRejectionException or SiloUnavailableException
        || exception.InnerException is OrleansMessageRejectionException or SiloUnavailableException;

    private string IdempotencyKey(StepDefinition step, StepState st) => $"{_runId}.{step.Id}.{st.Attempt}";
}
