using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Workflows;
using Orchestrator.Runs;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;
using Orleans.Concurrency;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// A durable run. One driver task walks the definition (main steps, then <c>finally</c>), checkpointing once per
/// step transition; calls (status, cancel, signal) interleave with it. While the run is live a reminder ticks, so
/// when the silo dies another one activates the grain and the driver continues from the checkpoint: completed
/// steps are not repeated, the step in flight runs again with the same attempt and so the same idempotency key.
/// </summary>
[Reentrant]
internal sealed partial class WorkflowRunGrain(
    [PersistentState("run", RunStateGrainStorage.Name)] IPersistentState<RunState> state,
    IRunEventStore events,
    IRunIndex index,
    StepExecutor executor,
    WorkflowDefinitionCache definitions,
    InstanceSecretProtector secrets,
    IOptions<WorkflowOptions> options,
    TimeProvider time,
    Telemetry.OrchestratorMetrics metrics,
    ILogger<WorkflowRunGrain> logger) : Grain, IWorkflowRunGrain, IChildRunGrain, IRemindable
{
    private const string ResumeReminder = "resume";
    private const string WakeReminder = "wake";
    private const int LiveBuffer = 1024;

    // Where the parsed run inputs are kept among the parsed step outputs: no step id is empty.
    private const string RunInputsKey = "";

    // Bounds how often one attempt is re-run because a silo under it died, so a step that kills its silo cannot loop forever.
    private const int MaxInterruptions = 5;

    private readonly List<Channel<RunEvent>> _watchers = [];
    private readonly Dictionary<string, TaskCompletionSource<string>> _signalWaiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _childWaiters = new(StringComparer.Ordinal);
    private readonly List<(DateTimeOffset At, TaskCompletionSource Done)> _longWaits = [];
    private string _tenant = "";
    private string _runId = "";
    private Task? _driver;
    private bool _driveAgain;
    private bool _resumed;
    private readonly Dictionary<string, IGrainReminder> _reminders = new(StringComparer.Ordinal);
    private CancellationTokenSource? _cancel;
    private WorkflowDefinition? _definition;
    private IReadOnlyDictionary<string, string>? _secrets;
    private Dictionary<string, WorkflowValue> _secretInputs = [];
    private Task? _writing;
    private bool _dirty;

    // Parsed inputs (under RunInputsKey) and step outputs, with the JSON they came from.
    private readonly Dictionary<string, (string Json, Dictionary<string, WorkflowValue> Values)> _parsed = new(StringComparer.Ordinal);
    private HashSet<string>? _secretInputNames;

    private RunState S => state.State;

    private string Key => this.GetPrimaryKeyString();

    private WorkflowOptions Options => options.Value;

    private bool Started => S.Status.Length > 0;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _runId) = InstanceKey.Parse(Key);
        // Reminders of an earlier activation are not known here; they are looked up when they are removed.
        _resumed = Started;
        if (Started && !RunStatuses.IsTerminal(S.Status))
        {
            S.Sequence = Math.Max(S.Sequence, await events.GetLastSequenceAsync(Key, cancellationToken));
            LogResuming(Key, S.Status);
            EnsureDriving();
        }
    }

    public Task<RunView> StartAsync(RunStartRequest request, CancellationToken cancellationToken) =>
        StartAsync(request, parentRunId: null, depth: 0, cancellationToken);

    Task<RunView> IChildRunGrain.StartChildAsync(RunStartRequest request, string parentRunId, int depth, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(parentRunId);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        return StartAsync(request, parentRunId, depth, cancellationToken);
    }

    /// <summary>
    /// Starts the run once: admitted under the tenant's live-run quota and, for a child, its nesting depth (a
    /// workflow that starts itself ends at the depth limit instead of spawning runs without end).
    /// </summary>
    private async Task<RunView> StartAsync(RunStartRequest request, string? parentRunId, int depth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hash = HashRequest(request, parentRunId);
        if (Started)
        {
            return S.RequestHash == hash
                ? await ViewAsync(cancellationToken)
                : throw new RunConflictException($"Run '{_runId}' was already started with another request.");
        }

        if (depth > 0)
        {
            var maxDepth = (await GrainFactory.GetGrain<Tenants.ITenantGrain>(_tenant).GetQuotasAsync()).MaxRunDepth ?? int.MaxValue;
            if (depth > maxDepth)
            {
                throw new Tenants.QuotaExceededException(
                    Tenants.QuotaExceededException.MaxRunDepth,
                    maxDepth,
                    $"Run '{parentRunId}' is at depth {depth - 1}, and tenant '{_tenant}' allows runs to nest {maxDepth} deep (its max_run_depth): the child run was not started.");
            }
        }


        var version = await GrainFactory.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(_tenant, request.Workflow)).GetAsync(request.Version, cancellationToken)
            ?? throw new WorkflowNotFoundException(request.Version is { } v
                ? $"Workflow '{request.Workflow}' has no version {v}."
                : $"There is no workflow '{request.Workflow}'.");
        var definition = definitions.Get(version);
        var given = ParseInputs(request.InputsJson);
        var inputs = WorkflowInputs.Resolve(definition, given, out var inputErrors);
        if (inputErrors is [var first, ..])
        {
            throw new RunInputException(first.Path, first.Message);
        }

        // Admitted once the request is known to be good, so a refused start never holds a place.
        await GrainFactory.GetGrain<Tenants.IRunAdmissionGrain>(_tenant).AdmitAsync(_runId, cancellationToken);
        if (Started)
        {
            // Another start interleaved while the definition loaded.
            return S.RequestHash == hash ? await ViewAsync(cancellationToken) : throw new RunConflictException($"Run '{_runId}' was already started with another request.");
        }

        var now = time.GetUtcNow();
        S.Status = RunStatuses.Running;
        S.Workflow = request.Workflow;
        S.Version = version.Version;
        S.BuiltIn = version.BuiltIn;
        // Secret inputs are kept encrypted, like the secrets: the state in PostgreSQL holds them masked.
        _secretInputs = inputs.Where(p => definition.Inputs.TryGetValue(p.Key, out var input) && input.Secret).ToDictionary(StringComparer.Ordinal);
        S.InputsJson = new JsonObject(inputs.Select(p => KeyValuePair.Create(p.Key, _secretInputs.ContainsKey(p.Key) ? JsonValue.Create(Redactor.Mask) : p.Value.ToJsonNode()))).ToJsonString();
        S.SecretInputsProtected = _secretInputs.Count > 0
            ? secrets.Protect(Encoding.UTF8.GetBytes(new JsonObject(_secretInputs.Select(p => KeyValuePair.Create(p.Key, p.Value.ToJsonNode()))).ToJsonString()), Key)
            : null;
        S.SecretsProtected = request.Secrets is { Count: > 0 } given2
            ? secrets.Protect(JsonSerializer.SerializeToUtf8Bytes(given2), Key)
            : null;
        S.RequestHash = hash;
        // Always within the run's own tenant: a parent is named by its run id, never by a grain key.
        S.ParentRunKey = parentRunId is null ? null : InstanceKey.Format(_tenant, parentRunId);
        S.Depth = depth;
        S.CreatedAt = now;
        S.UpdatedAt = now;
        S.Phase = RunPhases.Main;
        _definition = definition;
        _secrets = request.Secrets;
        foreach (var step in definition.AllSteps())
        {
            S.Steps[step.Id] = new StepState();
        }

        await Emit(RunEventKinds.RunStarted, null, 0, new JsonObject { ["workflow"] = S.Workflow, ["version"] = S.Version });
        if (definition.Steps is [{ If: null } firstStep, ..] && firstStep.Uses != StepTypes.Parallel)
        {
            // A first step without a condition always runs: its start rides on the run's first checkpoint, so
            // starting a run costs no write of its own. The driver finds it running and carries out that attempt.
            await BeginAttemptAsync(firstStep, S.Steps[firstStep.Id]);
        }

        _reminders[ResumeReminder] = await this.RegisterOrUpdateReminder(ResumeReminder, Options.ResumePeriod, Options.ResumePeriod, cancellationToken);
        await CheckpointAsync();
        await index.UpsertAsync(Summary(), cancellationToken);
        LogStarted(Key, S.Workflow, S.Version);
        EnsureDriving();
        return await ViewAsync(cancellationToken);
    }

    public async Task<RunView?> GetAsync(CancellationToken cancellationToken) => Started ? await ViewAsync(cancellationToken) : null;

    public async Task<RunView> CancelAsync(CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (RunStatuses.IsTerminal(S.Status) || S.CancelRequested)
        {
            return await ViewAsync(cancellationToken);
        }

        S.CancelRequested = true;
        await Emit(RunEventKinds.RunCancelled, null, 0, new JsonObject { ["phase"] = S.Phase });
        await CheckpointAsync();
        if (_cancel is { } cancel)
        {
            await cancel.CancelAsync();
        }

        EnsureDriving();
        return await ViewAsync(cancellationToken);
    }

    public async Task<RunView> SignalAsync(string name, string payloadJson, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfMissing();
        if (RunStatuses.IsTerminal(S.Status))
        {
            throw new RunConflictException($"Run '{_runId}' has ended ({S.Status}); it takes no more signals.");
        }

        var payload = JsonNode.Parse(payloadJson)?.ToJsonString() ?? "null";
        await Emit(RunEventKinds.RunSignalled, null, 0, new JsonObject { ["name"] = name, ["payload"] = JsonNode.Parse(payload) });
        if (_signalWaiters.Remove(name, out var waiter))
        {
            waiter.TrySetResult(payload);
        }
        else
        {
            S.Signals[name] = payload;
            await CheckpointAsync();
        }

        return await ViewAsync(cancellationToken);
    }

    public async Task<RunView> RetryAsync(CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (S.Status != RunStatuses.Failed)
        {
            throw new RunConflictException($"Run '{_runId}' is {S.Status}; only a failed run can be retried.");
        }

        var definition = await DefinitionAsync(cancellationToken);
        foreach (var step in definition.AllSteps())
        {
            var st = S.Steps[step.Id];
            var finallyStep = definition.Finally.SelectMany(f => f.SelfAndDescendants()).Any(f => f.Id == step.Id);
            if (finallyStep || st.Status is StepStatuses.Failed or StepStatuses.Skipped or StepStatuses.Cancelled && !st.Continued)
            {
                // Completed steps keep their outputs; what failed, what was skipped because of it, and the cleanup run again.
                S.Steps[step.Id] = new StepState { Attempt = finallyStep ? 0 : st.Attempt };
            }
        }

        S.Status = RunStatuses.Running;
        S.Phase = RunPhases.Main;
        S.Error = null;
        S.EndedAt = null;
        await Emit(RunEventKinds.RunResumed, null, 0, new JsonObject { ["reason"] = "retry" });
        _reminders[ResumeReminder] = await this.RegisterOrUpdateReminder(ResumeReminder, Options.ResumePeriod, Options.ResumePeriod, cancellationToken);
        await CheckpointAsync();
        await index.UpsertAsync(Summary(), cancellationToken);
        EnsureDriving();
        return await ViewAsync(cancellationToken);
    }

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

    Task IChildRunGrain.ChildEndedAsync(string childRunId, CancellationToken cancellationToken)
    {
        if (_childWaiters.Remove(childRunId, out var waiter))
        {
            waiter.TrySetResult();
        }

        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!Started || RunStatuses.IsTerminal(S.Status))
        {
            await UnregisterAsync(reminderName);
            return;
        }

        if (reminderName == WakeReminder)
        {
            WakeDueWaits();
            await ScheduleWakeAsync();
        }

        EnsureDriving();
    }

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
        await index.UpsertAsync(Summary());
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

    /// <summary>Waits on a timer when short, on a reminder when long: a reminder also wakes a run whose silo died meanwhile.</summary>
    internal async Task WaitUntilAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var remaining = at - time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        if (remaining <= Options.TimerWaitLimit)
        {
            await Task.Delay(remaining, time, cancellationToken);
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _longWaits.Add((at, done));
        await ScheduleWakeAsync();
        await done.Task.WaitAsync(cancellationToken);
    }

    internal async Task<string> WaitForSignalAsync(string name, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        if (S.Signals.Remove(name, out var stored))
        {
            return stored;
        }

        var waiter = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _signalWaiters[name] = waiter;
        try
        {
            if (deadline is { } at)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var timeout = WaitUntilAsync(at, stop.Token);
                if (await Task.WhenAny(waiter.Task, timeout) != waiter.Task)
                {
                    await timeout;
                    throw new TimeoutException($"no signal '{name}' arrived by {at:u}");
                }

                await stop.CancelAsync();
                await timeout.ContinueWith(static _ => { }, TaskScheduler.Current);
            }

            return await waiter.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            _signalWaiters.Remove(name);
        }
    }

    internal async Task WaitForChildAsync(string childRunId, IWorkflowRunGrain child, CancellationToken cancellationToken)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _childWaiters[childRunId] = ended;
        try
        {
            // The child may have ended while this run was not listening (e.g. during a failover).
            while (await child.GetAsync(cancellationToken) is { } view && !RunStatuses.IsTerminal(view.Status))
            {
                await Task.WhenAny(ended.Task, Task.Delay(Options.ResumePeriod, time, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            _childWaiters.Remove(childRunId);
        }
    }

    internal async Task SetWaitingAsync(StepState st, DateTimeOffset? wakeAt)
    {
        st.Status = StepStatuses.Waiting;
        st.WakeAt = wakeAt;
        await CheckpointAsync();
    }

    /// <summary>Records a chunk of a step's output, already masked by a redactor of <see cref="CreateOutputRedactor"/>.</summary>
    internal async Task EmitOutputAsync(StepDefinition step, int attempt, string stream, string maskedText)
    {
        await Emit(RunEventKinds.StepOutput, step.Id, attempt, new JsonObject { ["stream"] = stream, ["data"] = maskedText });
    }

    /// <summary>
    /// Masks the secrets in one output stream chunk by chunk: masking each chunk alone would miss a secret cut in two.
    /// The step's context, and so the run's redactor, exists before any step runs.
    /// </summary>
    internal StreamRedactor CreateOutputRedactor() => (_secretRedactor ?? new Redactor([])).CreateStream();

    internal string RunKey => Key;

    internal string Tenant => _tenant;

    internal string RunId => _runId;

    /// <summary>How deep this run is nested: 0 when started from outside.</summary>
    internal int Depth => S.Depth;

    internal IReadOnlyDictionary<string, string> Secrets => _secrets ?? new Dictionary<string, string>();

    internal IGrainFactory Grains => GrainFactory;

    internal string Redact(string text) => _secretRedactor?.Redact(text) ?? text;

    private Redactor? _secretRedactor;

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

    /// <summary>Writes the checkpoint; concurrent callers (parallel branches) share one write.</summary>
    private async Task CheckpointAsync()
    {
        _dirty = true;
        while (_dirty)
        {
            if (_writing is { } inFlight)
            {
                await inFlight;
                continue;
            }

            _dirty = false;
            S.UpdatedAt = time.GetUtcNow();
            _writing = state.WriteStateAsync();
            try
            {
                await _writing;
            }
            finally
            {
                _writing = null;
            }
        }
    }

    private async Task<ExpressionContext> ContextAsync(StepDefinition? step, CancellationToken cancellationToken)
    {
        var definition = await DefinitionAsync(cancellationToken);
        var inputs = Parsed(RunInputsKey, S.InputsJson);
        if (_secretInputs.Count > 0)
        {
            // The parsed inputs are cached and hold the masks that are stored; the context gets the values.
            inputs = new Dictionary<string, WorkflowValue>(inputs, StringComparer.Ordinal);
            foreach (var (name, value) in _secretInputs)
            {
                inputs[name] = value;
            }
        }

        var steps = new Dictionary<string, StepResult>(StringComparer.Ordinal);
        foreach (var (id, st) in S.Steps)
        {
            var outputs = Parsed(id, st.OutputsJson);
            steps[id] = new StepResult(
                st.Status switch
                {
                    StepStatuses.Succeeded => StepStatus.Succeeded,
                    StepStatuses.Failed when st.Continued => StepStatus.FailedAndContinued,
                    StepStatuses.Failed => StepStatus.Failed,
                    StepStatuses.Skipped => StepStatus.Skipped,
                    StepStatuses.Cancelled => StepStatus.Cancelled,
                    StepStatuses.Running or StepStatuses.Waiting => StepStatus.Running,
                    _ => StepStatus.Pending,
                },
                outputs);
        }

        var context = new ExpressionContext
        {
            RunId = _runId,
            WorkflowName = S.Workflow,
            Inputs = inputs,
            SecretInputs = _secretInputNames ??= definition.Inputs.Where(i => i.Value.Secret).Select(i => i.Key).ToHashSet(StringComparer.Ordinal),
            Secrets = Secrets,
            Steps = steps,
            IsCancelled = S.CancelRequested,
        };
        _secretRedactor ??= context.CreateRedactor();
        if (step is not null && StepTypes.Find(step.Uses)?.TargetsInstance == true && step.With.TryGetValue("instance", out var instanceValue))
        {
            var instanceId = TemplateRenderer.RenderValue(instanceValue, context).ToText();
            if (InstanceSpecRules.ValidateName(instanceId) is null
                && await GrainFactory.GetGrain<IInstanceGrain>(InstanceKey.Format(_tenant, instanceId)).GetAsync(cancellationToken) is { } snapshot)
            {
                context = context with
                {
                    Instance = new InstanceInfo(snapshot.Id, snapshot.Name, snapshot.Region, snapshot.PrivateIp, snapshot.Ips.FirstOrDefault(ip => ip != snapshot.PrivateIp)),
                };
            }
        }

        return context;
    }

    private async Task<WorkflowDefinition> DefinitionAsync(CancellationToken cancellationToken)
    {
        if (_definition is not null)
        {
            return _definition;
        }

        // A built-in run reads the template itself: the tenant's workflow of the same name has its own version 1.
        var version = S.BuiltIn
            ? WorkflowDefinitionGrain.BuiltInVersion(S.Workflow) ?? throw new WorkflowNotFoundException($"Built-in workflow '{S.Workflow}' is gone.")
            : await GrainFactory.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(_tenant, S.Workflow)).GetAsync(S.Version, cancellationToken)
                ?? throw new WorkflowNotFoundException($"Workflow '{S.Workflow}' version {S.Version} is gone.");
        _definition = definitions.Get(version);
        _secrets = S.SecretsProtected is { } protectedSecrets
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(secrets.Unprotect(protectedSecrets, Key))
            : new Dictionary<string, string>();
        _secretInputs = S.SecretInputsProtected is { } protectedInputs
            ? ParseInputs(Encoding.UTF8.GetString(secrets.Unprotect(protectedInputs, Key)))
            : [];
        return _definition;
    }

    /// <summary>
    /// The run's inputs or a step's outputs as values. Every step's context reads them all, so each JSON document is
    /// parsed once per activation and again only when it changes (values are immutable and so are shared).
    /// </summary>
    private Dictionary<string, WorkflowValue> Parsed(string key, string json)
    {
        if (_parsed.TryGetValue(key, out var known) && string.Equals(known.Json, json, StringComparison.Ordinal))
        {
            return known.Values;
        }

        var values = ParseInputs(json);
        _parsed[key] = (json, values);
        return values;
    }

    private static Dictionary<string, WorkflowValue> ParseInputs(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
        }
        catch (JsonException ex)
        {
            throw new RunInputException("inputs", $"inputs is not valid JSON: {ex.Message}");
        }

        if (node is not JsonObject map)
        {
            throw new RunInputException("inputs", "inputs must be a JSON object");
        }

        return map.ToDictionary(p => p.Key, p => WorkflowValue.FromJsonNode(p.Value), StringComparer.Ordinal);
    }

    private static bool IsInterruption(Exception exception) =>
        exception is OrleansMessageRejectionException or SiloUnavailableException
        || exception.InnerException is OrleansMessageRejectionException or SiloUnavailableException;

    private string IdempotencyKey(StepDefinition step, StepState st) => $"{_runId}.{step.Id}.{st.Attempt}";

    private void ThrowIfMissing()
    {
        if (!Started)
        {
            throw new RunNotFoundException($"Run '{_runId}' does not exist.");
        }
    }

    private void WakeDueWaits()
    {
        var now = time.GetUtcNow();
        foreach (var wait in _longWaits.Where(w => w.At <= now).ToList())
        {
            _longWaits.Remove(wait);
            wait.Done.TrySetResult();
        }
    }

    private async Task ScheduleWakeAsync()
    {
        _longWaits.RemoveAll(w => w.Done.Task.IsCompleted);
        if (_longWaits.Count == 0)
        {
            await UnregisterAsync(WakeReminder);
            return;
        }

        var due = _longWaits.Min(w => w.At) - time.GetUtcNow();
        _reminders[WakeReminder] = await this.RegisterOrUpdateReminder(WakeReminder, due < TimeSpan.Zero ? TimeSpan.Zero : due, Options.ResumePeriod);
    }

    private async Task UnregisterAsync(string name)
    {
        // Reminders registered by this activation are known; only an activation that resumed a run has to look.
        var reminder = _reminders.Remove(name, out var known) ? known : _resumed ? await this.GetReminder(name) : null;
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private RunSummary Summary() => new(_tenant, _runId, S.Workflow, S.Version, S.Status, S.CreatedAt, S.UpdatedAt);

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
            S.Status == RunStatuses.Running && S.Steps.Values.Any(s => s.Status == StepStatuses.Waiting) && !S.Steps.Values.Any(s => s.Status == StepStatuses.Running)
                ? RunStatuses.Waiting
                : S.Status,
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

    private static string HashRequest(RunStartRequest request, string? parentRunId)
    {
        var text = new StringBuilder()
            .Append(request.Workflow).Append('\n')
            .Append(request.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n')
            .Append(JsonNode.Parse(string.IsNullOrWhiteSpace(request.InputsJson) ? "{}" : request.InputsJson)?.ToJsonString()).Append('\n')
            .Append(parentRunId).Append('\n');
        foreach (var (name, value) in (request.Secrets ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(name).Append('=').Append(value).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {Run}: started workflow {Workflow} version {Version}")]
    private partial void LogStarted(string run, string workflow, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {Run}: resuming ({Status})")]
    private partial void LogResuming(string run, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {Run}: {Status}")]
    private partial void LogFinished(string run, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {Run}: step {Step} attempt {Attempt} was cut off ({Reason}); running it again")]
    private partial void LogInterrupted(string run, string step, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {Run}: its checkpoint was written elsewhere ({Reason}); reloading it")]
    private partial void LogStaleCheckpoint(string run, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {Run}: the driver stopped; the run resumes at the next reminder tick")]
    private partial void LogDriverFailed(Exception exception, string run);
}

/// <summary>One attempt of one step, as the executor sees it.</summary>
internal sealed record StepAttempt(WorkflowRunGrain Run, StepDefinition Step, StepState State, ExpressionContext Context, string IdempotencyKey);
