using System.Globalization;
using System.Text.Json.Serialization;

namespace Orchestrator.Fly.Emulator.Api;

/// <summary>Fly's usual error envelope: <c>{"error":"..."}</c>, sometimes with a <c>status</c> code such as <c>name_taken</c>.</summary>
internal sealed record ErrorBody(string Error, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status = null);

/// <summary>The envelope the lease endpoints use instead: <c>{"status":"error","message":"...","code":"..."}</c>.</summary>
internal sealed record LeaseErrorBody(string Status, string Message, string Code);

/// <summary>A refused call: the HTTP status and the body Fly would send with it.</summary>
internal sealed record FlyFailure(int StatusCode, object Body)
{
    public static FlyFailure Error(int statusCode, string message, string? status = null) => new(statusCode, new ErrorBody(message, status));

    /// <summary>The body's message, for an exception that carries the failure outside HTTP.</summary>
    public string Message => Body is ErrorBody error ? error.Error : Body.ToString() ?? "";
}

/// <summary>The messages of the fixtures (and of the reference where no fixture exists), in one place.</summary>
internal static class FlyErrors
{
    public static readonly FlyFailure Unauthenticated = FlyFailure.Error(401, "Authenticate: token validation error");
    public static readonly FlyFailure AppNotFound = FlyFailure.Error(404, "app not found");
    public static readonly FlyFailure MachineNotFound = FlyFailure.Error(404, "machine not found");
    public static readonly FlyFailure VolumeNotFound = FlyFailure.Error(404, "volume not found");
    public static readonly FlyFailure NameTaken = FlyFailure.Error(422, "Validation failed: Name has already been taken", "name_taken");
    public static readonly FlyFailure StartWhileReplacing = FlyFailure.Error(412, "failed_precondition: machine getting replaced, refusing to start");
    public static readonly FlyFailure WaitStoppedNeedsInstance = FlyFailure.Error(400, "instance_id required when waiting for stopped machine");
    public static readonly FlyFailure RouteNotFound = FlyFailure.Error(404, "not found");
    public static readonly FlyFailure LeaseNotFound = new(404, new LeaseErrorBody("error", "lease not found", "not_found"));

    public static FlyFailure BadRequest(string message) => FlyFailure.Error(400, message);

    public static FlyFailure InvalidArgument(string message) => FlyFailure.Error(400, "invalid_argument: " + message);

    /// <summary>Validation of a machine or volume (region, guest size): Fly answers these with 422.</summary>
    public static FlyFailure Unprocessable(string message) => FlyFailure.Error(422, message);

    public static FlyFailure FailedPrecondition(string message) => FlyFailure.Error(412, "failed_precondition: " + message);

    public static FlyFailure UnableFromState(string action, string state) =>
        FailedPrecondition($"unable to {action} machine from current state: '{state}'");

    public static FlyFailure WaitTimeout(string desired, string current) =>
        FlyFailure.Error(408, $"deadline_exceeded: machine failed to reach desired state, {desired}, currently {current}");

    public static FlyFailure LeaseHeldForWrite(string machineId, string owner, DateTimeOffset expiresAt) =>
        FlyFailure.Error(409, string.Create(
            CultureInfo.InvariantCulture,
            $"aborted: machine ID {machineId} lease currently held by {owner}, expires at {expiresAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}"));

    public static FlyFailure LeaseConflict(string machineId, string owner, DateTimeOffset expiresAt) =>
        new(409, new LeaseErrorBody(
            "error",
            string.Create(CultureInfo.InvariantCulture, $"machine ID {machineId} lease currently held by {owner}, expires at {expiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} +0000 UTC"),
            "invalid"));

    public static FlyFailure VolumeBound(string machineId) =>
        FailedPrecondition($"volume is currently bound to machine: {machineId}");

    public static FlyFailure RateLimited() => FlyFailure.Error(429, "rate limit exceeded");
}
