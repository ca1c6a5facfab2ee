using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Workflows;
using Orchestrator.Runs;
using Orchestrator.Workflows;
using Orleans.Concurrency;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// A durable run. One driver task walks the definition (main steps, then <c>finally</c>), checkpointing once per
/// step transition; calls (status, cancel, signal) interleave with it. While the run is live a reminder ticks, so
/// when the silo dies another one activates the grain and the driver continues from the checkpoint: completed
/// steps are not repeated, the step in flight runs again with the same attempt and so the same idempotency key.
/// The class is split by concern: Commands (start, cancel, signal, retry), Driver (walking the steps), Waits
/// (timers, reminders, signals, child runs), Events, Checkpoint, Secrets, Views, and StepHost (what a step's
/// executor may ask of the run).
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

    /// <summary>Signals with distinct names a run keeps before a step waits for them.</summary>
    internal const int MaxPendingSignals = 32;

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

    // The status the run index last got from this activation: it is told again only when the listed status changes.
    private string? _indexedStatus;

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

    private void ThrowIfMissing()
    {
        if (!Started)
        {
            throw new RunNotFoundException($"Run '{_runId}' does not exist.");
        }
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

