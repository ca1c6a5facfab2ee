using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Sessions;

/// <summary>
/// A named terminal session: its program runs in tmux on the machine, this grain keeps what the API shows. It holds
/// no connection of its own (tmux commands go through <see cref="ITerminalMachine"/>, attached terminals through the
/// gateway's own SSH session grains), so losing the silo that hosted it loses nothing: the next call activates it
/// elsewhere from storage and finds the tmux session where it was. Not reentrant: every call is one short tmux
/// command, and one at a time keeps the stored state in step. The environment is passed to tmux and never stored.
/// </summary>
internal sealed partial class TerminalSessionGrain(
    [PersistentState("terminal-session", StorageNames.Orchestrator)] IPersistentState<TerminalSessionState> state,
    ITerminalMachine machine,
    TimeProvider time,
    ILogger<TerminalSessionGrain> logger) : Grain, ITerminalSessionGrain, IRemindable
{
    private const string IdleReminder = "idle";

    private static readonly TimeSpan MinIdleCheckPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxIdleCheckPeriod = TimeSpan.FromHours(1);

    private string _tenant = "";
    private string _instanceId = "";
    private string _sessionId = "";

    private TerminalSessionState State => state.State;

    private bool Exists => State.CreatedAt is not null && !State.Deleted;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _instanceId, _sessionId) = SshSessionKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<TerminalSessionInfo> CreateAsync(TerminalSessionSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (TerminalSessionRules.Validate(spec) is [var first, ..])
        {
            throw new InstanceValidationException(first.Field, $"{first.Field} {first.Problem}");
        }

        if (Exists)
        {
            return Info(attached: 0);
        }

        await machine.CreateAsync(_tenant, _instanceId, _sessionId, spec, cancellationToken);
        var now = time.GetUtcNow();
        State.Name = spec.Name ?? _sessionId;
        State.Command = spec.Command;
        State.Cwd = spec.Cwd;
        State.CreatedAt = now;
        State.LastActivityAt = now;
        State.Status = TerminalSessionStatus.Running;
        (State.ExitCode, State.EndedReason, State.EndedAt, State.Deleted) = (null, null, null, false);
        await WriteAsync();
        await GrainFactory.GetGrain<ITerminalSessionListGrain>(InstanceKey.Format(_tenant, _instanceId)).AddAsync(_sessionId);
        await WatchIdleAsync();
        LogCreated(_tenant, _instanceId, _sessionId, spec.Command ?? "(login shell)");
        return Info(attached: 0);
    }

    public async Task<TerminalSessionInfo> GetAsync(CancellationToken cancellationToken)
    {
        EnsureExists();
        var attached = await RefreshAsync(cancellationToken);
        return Info(attached);
    }

    public async Task<TerminalSessionInfo> RenameAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TerminalSessionRules.ValidateName(name) is { } problem)
        {
            throw new InstanceValidationException("name", $"name {problem}");
        }

        EnsureExists();
        State.Name = name;
        await WriteAsync();
        return await GetAsync(cancellationToken);
    }

    public async Task DeleteAsync(CancellationToken cancellationToken)
    {
        EnsureExists();
        await machine.KillAsync(_tenant, _instanceId, _sessionId, cancellationToken);
        State.Deleted = true;
        await WriteAsync();
        await GrainFactory.GetGrain<ITerminalSessionListGrain>(InstanceKey.Format(_tenant, _instanceId)).RemoveAsync(_sessionId);
        await StopWatchingIdleAsync();
        LogDeleted(_tenant, _instanceId, _sessionId);
    }

    public async Task<TerminalScreen> GetScreenAsync(int scrollback, CancellationToken cancellationToken)
    {
        if (TerminalSessionRules.ValidateScrollback(scrollback) is { } problem)
        {
            throw new InstanceValidationException("scrollback", $"scrollback {problem}");
        }

        EnsureExists();
        return await machine.CaptureAsync(_tenant, _instanceId, _sessionId, scrollback, cancellationToken)
            ?? throw Ended();
    }

    public async Task SendInputAsync(TerminalInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (TerminalSessionRules.Validate(input) is { } problem)
        {
            throw new InstanceValidationException(problem.Field, $"{problem.Field} {problem.Problem}");
        }

        EnsureExists();
        await RefreshAsync(cancellationToken);
        if (State.Status != TerminalSessionStatus.Running || !await machine.SendAsync(_tenant, _instanceId, _sessionId, input, cancellationToken))
        {
            throw Ended();
        }

        await TouchAsync();
    }

    public async Task<string> GetAttachCommandAsync(bool viewOnly, CancellationToken cancellationToken)
    {
        EnsureExists();
        await RefreshAsync(cancellationToken);
        if (State.Status == TerminalSessionStatus.Ended)
        {
            throw Ended();
        }

        if (!viewOnly)
        {
            await TouchAsync();
        }

        return TmuxCommands.Attach(_sessionId, viewOnly);
    }

    public async Task<TerminalSessionInfo> ProbeExitAsync(CancellationToken cancellationToken)
    {
        EnsureExists();
        var attached = await RefreshAsync(cancellationToken, waitForExitStatus: true);
        return Info(attached);
    }

    public async Task RedrawAsync(CancellationToken cancellationToken)
    {
        EnsureExists();
        if (!await machine.RedrawAsync(_tenant, _instanceId, _sessionId, cancellationToken))
        {
            throw Ended();
        }
    }

    public async Task<TerminalSessionInfo?> CheckIdleAsync(CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            await StopWatchingIdleAsync();
            return null;
        }

        var attached = await RefreshAsync(cancellationToken);
        var timeout = (await GrainFactory.GetGrain<ITenantGrain>(_tenant).GetQuotasAsync()).SessionIdleTimeout;
        if (State.Status != TerminalSessionStatus.Running)
        {
            await StopWatchingIdleAsync();
        }
        else if (timeout is { } limit && attached == 0 && time.GetUtcNow() - State.LastActivityAt > limit)
        {
            await machine.KillAsync(_tenant, _instanceId, _sessionId, cancellationToken);
            await EndAsync(TerminalSessionEndReasons.Idle);
            await StopWatchingIdleAsync();
            LogEndedIdle(_tenant, _instanceId, _sessionId, limit);
        }

        return Info(attached);
    }

    Task IRemindable.ReceiveReminder(string reminderName, TickStatus status) =>
        reminderName == IdleReminder ? CheckIdleAsync(CancellationToken.None) : Task.CompletedTask;

    /// <summary>Reads the session from tmux into the state; returns the clients attached.</summary>
    private async Task<int> RefreshAsync(CancellationToken cancellationToken, bool waitForExitStatus = false)
    {
        if (State.Status != TerminalSessionStatus.Running)
        {
            return 0;
        }

        var probe = waitForExitStatus
            ? await machine.ProbeExitAsync(_tenant, _instanceId, _sessionId, cancellationToken)
            : await machine.ProbeAsync(_tenant, _instanceId, _sessionId, cancellationToken);
        if (probe is null)
        {
            // Killed from outside or the machine restarted: its program is gone.
            await EndAsync(TerminalSessionEndReasons.Lost);
            return 0;
        }

        var changed = false;
        if (probe.Activity is { } activity && activity > State.LastActivityAt)
        {
            State.LastActivityAt = activity;
            changed = true;
        }

        // tmux can report the pane dead a moment before it has the exit status: the session stays running until it does,
        // so an exited session always carries its code.
        if (probe is { Dead: true, ExitCode: not null })
        {
            State.Status = TerminalSessionStatus.Exited;
            State.ExitCode = probe.ExitCode;
            State.EndedAt = time.GetUtcNow();
            changed = true;
        }

        if (changed)
        {
            await WriteAsync();
        }

        return probe.Attached;
    }

    private async Task EndAsync(string reason)
    {
        State.Status = TerminalSessionStatus.Ended;
        State.EndedReason = reason;
        State.EndedAt = time.GetUtcNow();
        await WriteAsync();
    }

    private async Task TouchAsync()
    {
        State.LastActivityAt = time.GetUtcNow();
        await WriteAsync();
    }

    /// <summary>A reminder, not a timer: the idle check must happen with nobody calling and after the silo that held the grain died.</summary>
    private async Task WatchIdleAsync()
    {
        if ((await GrainFactory.GetGrain<ITenantGrain>(_tenant).GetQuotasAsync()).SessionIdleTimeout is { } timeout)
        {
            var period = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 2, MinIdleCheckPeriod.Ticks, MaxIdleCheckPeriod.Ticks));
            await this.RegisterOrUpdateReminder(IdleReminder, period, period);
        }
    }

    private async Task StopWatchingIdleAsync()
    {
        if (await this.GetReminder(IdleReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private Task WriteAsync() => state.WriteStateAsync();

    private void EnsureExists()
    {
        if (!Exists)
        {
            throw new TerminalSessionNotFoundException($"Instance '{_instanceId}' has no session '{_sessionId}'.");
        }
    }

    private TerminalSessionEndedException Ended() =>
        new(State.Status == TerminalSessionStatus.Exited
            ? $"Session '{_sessionId}' exited with code {State.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}; it takes no input."
            : $"Session '{_sessionId}' was ended ({State.EndedReason ?? TerminalSessionEndReasons.Lost}); it takes no input.");

    private TerminalSessionInfo Info(int attached) => new(
        _sessionId,
        State.Name,
        State.Status,
        State.Command,
        State.Cwd,
        State.CreatedAt ?? time.GetUtcNow(),
        State.LastActivityAt,
        attached,
        State.ExitCode,
        State.EndedReason,
        State.EndedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}, instance {Instance}: session {Session} started ({Command})")]
    private partial void LogCreated(string tenant, string instance, string session, string command);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}, instance {Instance}: session {Session} deleted")]
    private partial void LogDeleted(string tenant, string instance, string session);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}, instance {Instance}: session {Session} ended after being idle longer than {Timeout}")]
    private partial void LogEndedIdle(string tenant, string instance, string session, TimeSpan timeout);
}

/// <summary>What a terminal session grain stores (JSON in the grain storage; no environment, which may hold secrets).</summary>
[GenerateSerializer, Alias("orchestrator.TerminalSessionState")]
internal sealed class TerminalSessionState
{
    [Id(0)] public string Name { get; set; } = "";

    [Id(1)] public string? Command { get; set; }

    [Id(2)] public string? Cwd { get; set; }

    /// <summary>Null until created.</summary>
    [Id(3)] public DateTimeOffset? CreatedAt { get; set; }

    [Id(4)] public DateTimeOffset LastActivityAt { get; set; }

    [Id(5)] public string Status { get; set; } = TerminalSessionStatus.Running;

    [Id(6)] public int? ExitCode { get; set; }

    [Id(7)] public string? EndedReason { get; set; }

    [Id(8)] public DateTimeOffset? EndedAt { get; set; }

    [Id(9)] public bool Deleted { get; set; }
}

/// <summary>The session ids of one instance, in the order they were created.</summary>
internal sealed class TerminalSessionListGrain(
    [PersistentState("terminal-sessions", StorageNames.Orchestrator)] IPersistentState<TerminalSessionListState> state) : Grain, ITerminalSessionListGrain
{
    public async Task AddAsync(string sessionId)
    {
        if (!state.State.Sessions.Contains(sessionId))
        {
            state.State.Sessions.Add(sessionId);
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string sessionId)
    {
        if (state.State.Sessions.Remove(sessionId))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Sessions]);
}

[GenerateSerializer, Alias("orchestrator.TerminalSessionListState")]
internal sealed class TerminalSessionListState
{
    [Id(0)] public List<string> Sessions { get; set; } = [];
}
