using Orchestrator.Fly;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// The instance's lifecycle events and failure reasons. Requests record what they asked for (with who asked);
/// observations of the machine record where it got to, and when it failed or stopped by itself, why, from Fly's
/// own machine events.
/// </summary>
internal sealed partial class InstanceGrain
{
    /// <summary>How many events an instance keeps: enough for a long life of transitions, small in its checkpoint.</summary>
    internal const int EventsKept = 200;

    private const int MaxEventsPage = 100;

    // Set when an event is recorded outside a write, so that the next refresh persists it.
    private bool _eventsDirty;

    Task<InstanceEventPage> IInstanceGrain.GetEventsAsync(long after, int limit, CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (limit is < 1 or > MaxEventsPage)
        {
            throw new InstanceValidationException("limit", $"limit must be from 1 to {MaxEventsPage}");
        }

        if (after < 0)
        {
            throw new InstanceValidationException("cursor", "cursor must not be negative");
        }

        var events = S.Events;
        var start = events.FindIndex(e => e.Sequence > after);
        var items = start < 0 ? [] : events.Skip(start).Take(limit).ToList();
        var more = start >= 0 && start + items.Count < events.Count;
        var first = events.Count > 0 ? events[0].Sequence : S.LastEventSequence + 1;
        return Task.FromResult(new InstanceEventPage(items, more ? items[^1].Sequence : null, first));
    }

    /// <summary>Adds an event to the state; the caller's next write persists it.</summary>
    private void Record(string kind, string message, InstanceActor? actor, InstanceMachineEvent? machine = null, InstanceError? error = null)
    {
        S.LastEventSequence++;
        S.Events.Add(new InstanceEvent(S.LastEventSequence, time.GetUtcNow(), kind, actor, message, machine, error));
        if (S.Events.Count > EventsKept)
        {
            S.Events.RemoveRange(0, S.Events.Count - EventsKept);
        }

        _eventsDirty = true;
    }

    /// <summary>Records a request's own event, naming who asked (the API request, or the run and its step).</summary>
    private void RecordRequested(string kind, string message) => Record(kind, message, InstanceActor.FromRequestContext());

    private void SetError(InstanceError? error)
    {
        S.Error = error;
        S.LastError = error?.Message;
    }

    private InstanceError FlyError(FlyApiException ex) =>
        new(InstanceErrorCodes.FlyError, ex.FlyMessage ?? ex.Message, time.GetUtcNow(), ex.RequestId);

    /// <summary>
    /// The machine moved from <paramref name="previous"/> to the state just observed: record where it got to, and
    /// when it failed or stopped while it was to run, why (from its newest exit event).
    /// </summary>
    private async Task OnObservedChangeAsync(string previous, FlyMachine machine, CancellationToken cancellationToken)
    {
        var observed = S.ObservedState;
        switch (observed)
        {
            case FlyMachineStates.Started:
                SetError(null);
                Record(InstanceEventKinds.Started, "The machine started.", actor: null, ToEvent(Newest(machine.Events, "start")));
                break;
            case FlyMachineStates.Stopped when S.DesiredState == InstanceStates.Started && previous != FlyMachineStates.Created:
            {
                var exit = await NewestExitAsync(machine, cancellationToken);
                var error = new InstanceError(InstanceErrorCodes.MachineExited, ExitMessage(exit, "The machine stopped by itself"), exit?.Time ?? time.GetUtcNow());
                SetError(error);
                Record(InstanceEventKinds.Stopped, error.Message, actor: null, ToEvent(exit), error);
                LogMachineFailed(Key, observed, error.Message);
                break;
            }

            case FlyMachineStates.Stopped:
                Record(InstanceEventKinds.Stopped, "The machine stopped.", actor: null, ToEvent(Newest(machine.Events, "exit")));
                break;
            case FlyMachineStates.Failed:
            {
                var exit = await NewestExitAsync(machine, cancellationToken);
                var error = new InstanceError(InstanceErrorCodes.MachineStartFailed, ExitMessage(exit, "The machine failed to start"), exit?.Time ?? time.GetUtcNow());
                SetError(error);
                Record(InstanceEventKinds.Failed, error.Message, actor: null, ToEvent(exit), error);
                LogMachineFailed(Key, observed, error.Message);
                break;
            }

            case InstanceStates.Destroyed when S.Phase == InstancePhases.Ready:
                Record(InstanceEventKinds.Destroyed, "The machine was destroyed outside Orchestrator.", actor: null);
                break;
            default:
                break;
        }
    }

    /// <summary>The newest exit event: from the machine as read, else from Fly's event list.</summary>
    private async Task<FlyMachineEvent?> NewestExitAsync(FlyMachine machine, CancellationToken cancellationToken)
    {
        if (Newest(machine.Events, "exit") is { } exit)
        {
            return exit;
        }

        try
        {
            return Newest(await fly.ListMachineEventsAsync(App, machine.Id ?? S.MachineId!, limit: 10, cancellationToken), "exit");
        }
        catch (FlyApiException ex)
        {
            // The reason is a courtesy; the state itself is already known.
            LogRefreshFailed(Key, ex.Message);
            return null;
        }
    }

    private static FlyMachineEvent? Newest(IReadOnlyList<FlyMachineEvent>? events, string type) =>
        events?.Where(e => e.Type == type).MaxBy(e => e.Timestamp ?? 0);

    private static string ExitMessage(FlyMachineEvent? exit, string what)
    {
        if (exit?.Request is not { } request)
        {
            return what + " (Fly recorded no reason).";
        }

        var parts = new List<string>();
        if (request.Error is { Length: > 0 } error)
        {
            parts.Add(error.Trim());
        }

        if (request.ExitEvent is { } exitEvent)
        {
            if (exitEvent.OomKilled == true)
            {
                parts.Add("killed for lack of memory (OOM)");
            }

            if (exitEvent.Signal is > 0 and var signal)
            {
                parts.Add(FormattableString.Invariant($"signal {signal}"));
            }

            if (exitEvent.ExitCode is { } code)
            {
                parts.Add(FormattableString.Invariant($"exit code {code}"));
            }
        }

        return parts.Count == 0 ? what + "." : $"{what}: {string.Join("; ", parts)}.";
    }

    private static InstanceMachineEvent? ToEvent(FlyMachineEvent? e) => e is null
        ? null
        : new InstanceMachineEvent(
            e.Type, e.Status, e.Source, e.Time, e.Request?.ExitEvent?.ExitCode, e.Request?.ExitEvent?.Signal is > 0 and var signal ? signal : null,
            e.Request?.ExitEvent?.OomKilled, e.Request?.Error);
}
