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
/// The emulator's faults, changeable while it runs (from tests, or through <c>/_emulator/faults</c>).
/// With a seed, the same sequence of calls meets the same faults on every run.
/// </summary>
public sealed class FaultInjection
{
    private readonly Lock _sync = new();
    private readonly List<ActiveFault> _faults = [];
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

    public bool Remove(string id)
    {
        lock (_sync)
        {
            return _faults.RemoveAll(f => f.Id == id) > 0;
        }
    }

    public void Clear()
    {
        lock (_sync)
        {
            _faults.Clear();
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

    private sealed class ActiveFault(string id, FaultRule rule, Random random)
    {
        public string Id { get; } = id;

        public FaultRule Rule { get; } = rule;

        public Random Random { get; } = random;

        public int Fired { get; set; }
    }
}

internal sealed record FaultDecision(TimeSpan Latency, FaultRule? Failure);
