namespace Orchestrator.Grains.Runs;

/// <summary>
/// A run's checkpoint: plain settable members, stored in Orleans' binary format by <see cref="RunStateGrainStorage"/>
/// (older checkpoints may still be JSON until their next write), so the <c>[Id]</c>s are the format: never reuse or
/// renumber one. Written once per step transition; everything a resumed run needs is here or in the immutable workflow version it names.
/// </summary>
[GenerateSerializer, Alias("orchestrator.RunState")]
public sealed class RunState
{
    /// <summary>Empty until started, then one of <see cref="RunStatuses"/>.</summary>
    [Id(0)] public string Status { get; set; } = "";
    [Id(1)] public string Workflow { get; set; } = "";
    [Id(2)] public int Version { get; set; }
    [Id(3)] public string InputsJson { get; set; } = "{}";

    /// <summary>The secrets as AES-GCM ciphertext of their JSON, bound to the run key.</summary>
    [Id(4)] public byte[]? SecretsProtected { get; set; }

    /// <summary>Hash of the start request: the same request again is answered with the run as it is.</summary>
    [Id(5)] public string RequestHash { get; set; } = "";
    [Id(6)] public string? ParentRunKey { get; set; }
    [Id(7)] public Dictionary<string, StepState> Steps { get; set; } = [];
    [Id(8)] public DateTimeOffset CreatedAt { get; set; }
    [Id(9)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(10)] public DateTimeOffset? EndedAt { get; set; }

    /// <summary>The last event sequence number handed out when this checkpoint was written.</summary>
    [Id(11)] public long Sequence { get; set; }
    [Id(12)] public bool CancelRequested { get; set; }

    /// <summary>Signals received and not yet taken by a <c>wait_for_signal</c> step: name to JSON payload.</summary>
    [Id(13)] public Dictionary<string, string> Signals { get; set; } = [];
    [Id(14)] public string? Error { get; set; }
    [Id(15)] public string OutputsJson { get; set; } = "{}";

    /// <summary>Where the run is: main steps, <c>finally</c> steps, or done.</summary>
    [Id(16)] public string Phase { get; set; } = RunPhases.Main;

    /// <summary>
    /// The inputs declared <c>secret</c>, as AES-GCM ciphertext of their JSON bound to the run key;
    /// <see cref="InputsJson"/> holds them masked.
    /// </summary>
    [Id(17)] public byte[]? SecretInputsProtected { get; set; }

    /// <summary>0 for a run started from outside; a child run is one deeper than its parent.</summary>
    [Id(18)] public int Depth { get; set; }

    /// <summary>
    /// The run executes the built-in template <see cref="Workflow"/>, not a tenant's workflow of that name: a tenant
    /// may register its own version 1 later, and a resumed or reread run must never load that instead.
    /// </summary>
    [Id(19)] public bool BuiltIn { get; set; }
}

[GenerateSerializer, Alias("orchestrator.StepState")]
public sealed class StepState
{
    [Id(0)] public string Status { get; set; } = StepStatuses.Pending;

    /// <summary>The current (or last) attempt, from 1; part of the step's idempotency key, so a resumed attempt keeps it.</summary>
    [Id(1)] public int Attempt { get; set; }
    [Id(2)] public DateTimeOffset? StartedAt { get; set; }
    [Id(3)] public DateTimeOffset? EndedAt { get; set; }
    [Id(4)] public string OutputsJson { get; set; } = "{}";
    [Id(5)] public string? Error { get; set; }

    /// <summary>When a waiting step (sleep, retry backoff, signal timeout) wakes, so a resumed run waits only the rest.</summary>
    [Id(6)] public DateTimeOffset? WakeAt { get; set; }

    /// <summary>Failed with <c>continue_on_error</c>: shown as failed, but the run goes on.</summary>
    [Id(7)] public bool Continued { get; set; }
}

public static class RunPhases
{
    public const string Main = "main";
    public const string Finally = "finally";
    public const string Done = "done";
}
