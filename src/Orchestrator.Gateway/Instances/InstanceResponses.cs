using System.Text.Json.Serialization;
using Orchestrator.Grains.Instances;

namespace Orchestrator.Gateway.Instances;

/// <summary>An instance as the API shows it (snake_case on the wire).</summary>
public sealed record InstanceResponse(
    string Id,
    string Name,
    string Region,
    InstanceSizeResponse Size,
    string? Image,
    string DesiredState,
    string State,
    string? MachineId,
    string? PrivateIp,
    string? VolumeId,
    string? VolumePath,
    int? VolumeSizeGb,
    IReadOnlyList<string> Ips,
    string SshPublicKey,
    string? HostKeyPinned,
    string? SshHostKeyFingerprint,
    InstanceErrorResponse? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static InstanceResponse From(InstanceSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var resolved = InstanceSpecRules.Resolve(s.Size);
        return new InstanceResponse(
            s.Id, s.Name, s.Region,
            new InstanceSizeResponse(s.Size.Preset, resolved?.Cpus, resolved?.MemoryMb, resolved?.CpuKind),
            s.Image, s.DesiredState, s.ObservedState, s.MachineId, s.PrivateIp, s.VolumeId, s.VolumePath, s.VolumeSizeGb, s.Ips,
            s.SshPublicKey, s.HostKeyPinned, s.HostKeyFingerprint, InstanceErrorResponse.From(s.Error, s.LastError, s.UpdatedAt), s.CreatedAt, s.UpdatedAt);
    }
}

/// <summary>Why an instance is not where it was asked to be.</summary>
/// <param name="Code">Stable: machine-start-failed, machine-exited, fly-error.</param>
/// <param name="Message">What happened, in Fly's or the machine's words.</param>
/// <param name="At">When it happened.</param>
/// <param name="FlyRequestId">Fly's request id of the failed call, when a Fly call failed.</param>
// Multi-word names are spelled out: the document's snake_case pass does not reach these nested records.
public sealed record InstanceErrorResponse(string Code, string Message, DateTimeOffset At, [property: JsonPropertyName("fly_request_id")] string? FlyRequestId)
{
    /// <summary>From the structured error, else from a message recorded before errors had a code.</summary>
    public static InstanceErrorResponse? From(InstanceError? error, string? legacyMessage, DateTimeOffset legacyAt) => error is not null
        ? new InstanceErrorResponse(error.Code, error.Message, error.At, error.FlyRequestId)
        : legacyMessage is null ? null : new InstanceErrorResponse(InstanceErrorCodes.FlyError, legacyMessage, legacyAt, null);
}

/// <summary>A page of lifecycle events, oldest first.</summary>
public sealed record InstanceEventListResponse(IReadOnlyList<InstanceEventResponse> Items, string? NextCursor, long FirstSequence)
{
    public static InstanceEventListResponse From(InstanceEventPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        return new(
            page.Items.Select(InstanceEventResponse.From).ToList(),
            page.NextCursor?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            page.FirstSequence);
    }
}

/// <summary>One lifecycle event: what, when, who asked, and Fly's machine event or error behind it.</summary>
public sealed record InstanceEventResponse(
    long Sequence,
    DateTimeOffset At,
    string Kind,
    string Message,
    InstanceActorResponse? Actor,
    InstanceMachineEventResponse? MachineEvent,
    InstanceErrorResponse? Error)
{
    public static InstanceEventResponse From(InstanceEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(
            e.Sequence, e.At, e.Kind, e.Message,
            e.Actor is { } a ? new InstanceActorResponse(a.RequestId, a.RunId, a.StepId) : null,
            e.Machine is { } m ? new InstanceMachineEventResponse(m.Type, m.Status, m.Source, m.At, m.ExitCode, m.Signal, m.OomKilled, m.Error) : null,
            InstanceErrorResponse.From(e.Error, legacyMessage: null, e.At));
    }
}

/// <summary>Who asked: the API request (its X-Request-Id), or a workflow run and its step.</summary>
public sealed record InstanceActorResponse(string? RequestId, string? RunId, string? StepId);

/// <summary>Fly's machine event: type (launch, start, exit, ...), status, source (user or flyd), exit code.</summary>
public sealed record InstanceMachineEventResponse(
    string? Type,
    string? Status,
    string? Source,
    DateTimeOffset? At,
    [property: JsonPropertyName("exit_code")] int? ExitCode,
    int? Signal,
    [property: JsonPropertyName("oom_killed")] bool? OomKilled,
    string? Error);

public sealed record InstanceSizeResponse(string? Preset, int? Cpus, int? MemoryMb, string? CpuKind);

public sealed record InstanceListResponse(IReadOnlyList<InstanceResponse> Items, string? NextCursor);
