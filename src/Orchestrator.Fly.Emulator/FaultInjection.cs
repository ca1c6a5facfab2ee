namespace Orchestrator.Fly.Emulator;

/// <summary>What a fault does once it fires.</summary>
public enum FaultMode
{
    /// <summary>The call is not carried out; the caller gets <see cref="FaultRule.Status"/>.</summary>
    Fail,

    /// <summary>The call is carried out, then the caller gets <see cref="FaultRule.Status"/> anyway: the ambiguous failure (a create that answers 408 but made the machine).</summary>
    AfterSuccess,
}

/// <summary>
/// One fault: which calls it hits, how often, and what it does to them. Calls are named by the Fly
/// OpenAPI operation id (<c>Machines_create</c>, <c>Machines_start</c>, <c>Volumes_create</c>, ...);
/// a trailing <c>*</c> matches a prefix (<c>Machines_*</c>) and <c>*</c> alone every Fly call.
/// </summary>
public sealed record FaultRule
{
    public string Target { get; init; } = "*";

    /// <summary>Chance from 0 to 1 that a matching call meets this fault.</summary>
    public double Rate { get; init; } = 1;

    /// <summary>HTTP status the caller gets (e.g. 500, 502, 503, 429, 408); null for latency only.</summary>
    public int? Status { get; init; }

    public FaultMode Mode { get; init; } = FaultMode.Fail;

    /// <summary>Added before the call is handled (and before any failure).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Fire at most this many times, then stay inert; null for no limit.</summary>
    public int? Times { get; init; }

    /// <summary>The <c>error</c> text of the body; null for a default per status.</summary>
    public string? Message { get; init; }

    /// <summary>Fly's machine-readable <c>status</c> in the body, e.g. <c>insufficient_capacity</c>.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>Seeds this rule's dice; null derives a seed from <see cref="FlyEmulatorOptions.Seed"/> and the rule's position.</summary>
    public int? Seed { get; init; }

    /// <summary>Every matching call fails with <paramref name="status"/> (a share <paramref name="rate"/> of them).</summary>
    public static FaultRule Failing(string target, int status, double rate = 1) => new() { Target = target, Status = status, Rate = rate };

    /// <summary>The call happens but answers 408, as a create that timed out between flaps and flyd.</summary>
    public static FaultRule SucceedThenTimeout(string target = "Machines_create") =>
        new() { Target = target, Status = 408, Mode = FaultMode.AfterSuccess };

    public static FaultRule Slow(string target, TimeSpan latency) => new() { Target = target, Latency = latency };
}

/// <summary>A rule as installed, with how often it has fired.</summary>
public sealed record FaultRuleState(string Id, FaultRule Rule, int Fired);

/// <summary>
/// Makes machine starts fail inside the machine, not at the API: the start call (or create, update, restart,
/// or an automatic restart) is accepted as usual, then the start of every machine whose name begins with
/// <paramref name="MachineNamePrefix"/> fails, the machine goes to <c>failed</c>, and its newest event is
/// an <c>exit</c> event whose <c>request.error</c> is <paramref name="Reason"/> and whose
/// <c>request.exit_event.exit_code</c> is <see cref="ExitCode"/>, as Fly records a launch that failed.
/// The machine's sandbox is not started. Install with <see cref="FaultInjection.AddStartFault"/>, or
/// <c>POST /_emulator/start-faults</c> with <c>{"machine_name_prefix":"p-","reason":"...","exit_code":1,"times":1}</c>.
/// </summary>
/// <param name="MachineNamePrefix">Machines whose name starts with this (ordinal); empty for every machine.</param>
/// <param name="Reason">The error the exit event carries, e.g. <c>failed to pull image: not found</c>.</param>
public sealed record StartFault(string MachineNamePrefix, string Reason)
{
    /// <summary>The exit code the exit event carries; non-zero, as for a launch that failed.</summary>
    public int ExitCode { get; init; } = 1;

    /// <summary>Fail at most this many starts, then stay inert; null for no limit.</summary>
    public int? Times { get; init; }
}

/// <summary>A start fault as installed, with how many starts it has failed.</summary>
public sealed record StartFaultState(string Id, StartFault Fault, int Fired);

/// <summary>
/// The emulator's faults, changeable while it runs (from tests, or through <c>/_emulator/faults</c>).
/// With a seed, the same sequence of calls meets the same faults on every run.
/// </summary>
public sealed class FaultInjection
{
    private readonly Lock _sync = new();
    private readonly List<ActiveFault> _faults = [];
    private readonly List<ActiveStartFault> _startFaults = [];
    private readonly int? _seed;
    private int _added;

    internal FaultInjection(int? seed)
    {
        _seed = seed;
    }

    public IReadOnlyList<FaultRuleState> Rules
    {
        get
        {
            lock (_sync)
            {
                return _faults.Select(f => new FaultRuleState(f.Id, f.Rule, f.Fired)).ToList();
            }
        }
    }

    /// <summary>Installs <paramref name="rule"/> after the others (the first failing rule decides); returns its id.</summary>
    public string Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (string.IsNullOrWhiteSpace(rule.Target))
        {
            throw new ArgumentException("A fault needs a target: an operation id, a prefix ending in *, or *.", nameof(rule));
        }

        if (!double.IsFinite(rule.Rate) || rule.Rate is < 0 or > 1)
        {
            throw new ArgumentException($"Rate must be from 0 to 1 (got {rule.Rate}).", nameof(rule));
        }

        if (rule.Status is < 400 or > 599)
        {
            throw new ArgumentException($"Status must be an HTTP error status from 400 to 599 (got {rule.Status}).", nameof(rule));
        }

        if (rule.Latency < TimeSpan.Zero || rule.Latency > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"Latency must be from 0 to 5 minutes (got {rule.Latency}).", nameof(rule));
        }

        if (rule.Times is < 1)
        {
            throw new ArgumentException($"Times must be at least 1 when set (got {rule.Times}).", nameof(rule));
        }

        if (rule.Mode == FaultMode.AfterSuccess && rule.Status is null)
        {
            throw new ArgumentException("An after-success fault needs the status the caller gets.", nameof(rule));
        }

        lock (_sync)
        {
            _added++;
            var seed = rule.Seed ?? (_seed is { } baseSeed ? unchecked((baseSeed * 7919) + _added) : Random.Shared.Next());
            var fault = new ActiveFault($"fault-{_added}", rule, new Random(seed));
            _faults.Add(fault);
            return fault.Id;
        }
    }

    /// <summary>The installed <see cref="StartFault"/>s, in the order they are tried.</summary>
    public IReadOnlyList<StartFaultState> StartFaults
    {
        get
        {
            lock (_sync)
            {
                return _startFaults.Select(f => new StartFaultState(f.Id, f.Fault, f.Fired)).ToList();
            }
        }
    }

    /// <summary>Installs <paramref name="fault"/> after the other start faults (the first matching one decides); returns its id.</summary>
    /// <exception cref="ArgumentException">The reason is empty, the exit code is 0 or the limit is below 1.</exception>
    public string AddStartFault(StartFault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        ArgumentNullException.ThrowIfNull(fault.MachineNamePrefix, nameof(fault));
        if (string.IsNullOrWhiteSpace(fault.Reason))
        {
            throw new ArgumentException("A start fault needs the reason its exit event carries.", nameof(fault));
        }

        if (fault.ExitCode == 0)
        {
            throw new ArgumentException("A failed start exits with a non-zero code (got 0).", nameof(fault));
        }

        if (fault.Times is < 1)
        {
            throw new ArgumentException($"Times must be at least 1 when set (got {fault.Times}).", nameof(fault));
        }

        lock (_sync)
        {
            _added++;
            var active = new ActiveStartFault($"fault-{_added}", fault);
            _startFaults.Add(active);
            return active.Id;
        }
    }

    /// <summary>Removes the fault or start fault with this id.</summary>
    public bool Remove(string id)
    {
        lock (_sync)
        {
            return _faults.RemoveAll(f => f.Id == id) + _startFaults.RemoveAll(f => f.Id == id) > 0;
        }
    }

    /// <summary>Removes every fault and start fault.</summary>
    public void Clear()
    {
        lock (_sync)
        {
            _faults.Clear();
            _startFaults.Clear();
        }
    }

    /// <summary>The start fault that fails this start of <paramref name="machineName"/>, if one does (it counts as fired).</summary>
    internal StartFault? DecideStart(string machineName)
    {
        lock (_sync)
        {
            foreach (var active in _startFaults)
            {
                if (machineName.StartsWith(active.Fault.MachineNamePrefix, StringComparison.Ordinal)
                    && !(active.Fault.Times is { } times && active.Fired >= times))
                {
                    active.Fired++;
                    return active.Fault;
                }
            }

            return null;
        }
    }

    /// <summary>Rolls every matching rule's dice for one call to <paramref name="operation"/>.</summary>
    internal FaultDecision Decide(string operation)
    {
        lock (_sync)
        {
            var latency = TimeSpan.Zero;
            FaultRule? failure = null;
            foreach (var fault in _faults)
            {
                if (!Matches(fault.Rule.Target, operation) || (fault.Rule.Times is { } times && fault.Fired >= times))
                {
                    continue;
                }

                // Every matching rule rolls, fired or not, so one rule's outcome never shifts another's sequence.
                var fires = fault.Random.NextDouble() < fault.Rule.Rate;
                if (!fires || (fault.Rule.Status is not null && failure is not null))
                {
                    continue;
                }

                fault.Fired++;
                latency += fault.Rule.Latency;
                if (fault.Rule.Status is not null)
                {
                    failure = fault.Rule;
                }
            }

            return new FaultDecision(latency, failure);
        }
    }

    private static bool Matches(string target, string operation) =>
        target == "*"
        || string.Equals(target, operation, StringComparison.OrdinalIgnoreCase)
        || (target.EndsWith('*') && operation.StartsWith(target[..^1], StringComparison.OrdinalIgnoreCase));

    private sealed class ActiveStartFault(string id, StartFault fault)
    {
        public string Id { get; } = id;

        public StartFault Fault { get; } = fault;

        public int Fired { get; set; }
    }

    private sealed class ActiveFault(string id, FaultRule rule, Random random)
    {
        public string Id { get; } = id;

        public FaultRule Rule { get; } = rule;

        public Random Random { get; } = random;

        public int Fired { get; set; }
    }
}

internal sealed record FaultDecision(TimeSpan Latency, FaultRule? Failure);
