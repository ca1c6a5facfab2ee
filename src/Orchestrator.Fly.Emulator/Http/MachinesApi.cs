using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Backend;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary><c>/v1/apps/{app}/machines</c>: the machine lifecycle, wait and events.</summary>
internal static class MachinesApi
{
    public const string NonceHeader = "fly-machine-lease-nonce";
    private const int MaxWaitSeconds = 60;

    public static RouteGroupBuilder MapMachinesApi(this RouteGroupBuilder v1)
    {
        var machines = v1.MapGroup("/apps/{app_name}/machines").WithTags("Machines");
        machines.MapPost("/", CreateAsync).WithName("Machines_create");
        machines.MapGet("/", List).WithName("Machines_list");
        machines.MapGet("/{machine_id}", Show).WithName("Machines_show");
        machines.MapPost("/{machine_id}", UpdateAsync).WithName("Machines_update");
        machines.MapDelete("/{machine_id}", Delete).WithName("Machines_delete");
        machines.MapPost("/{machine_id}/start", Start).WithName("Machines_start");
        machines.MapPost("/{machine_id}/stop", StopAsync).WithName("Machines_stop");
        machines.MapPost("/{machine_id}/restart", Restart).WithName("Machines_restart");
        machines.MapPost("/{machine_id}/suspend", Suspend).WithName("Machines_suspend");
        machines.MapPost("/{machine_id}/signal", SignalAsync).WithName("Machines_signal");
        machines.MapPost("/{machine_id}/cordon", Cordon).WithName("Machines_cordon");
        machines.MapPost("/{machine_id}/uncordon", Uncordon).WithName("Machines_uncordon");
        machines.MapGet("/{machine_id}/wait", WaitAsync).WithName("Machines_wait");
        machines.MapGet("/{machine_id}/events", Events).WithName("Machines_list_events");
        machines.MapPost("/{machine_id}/exec", Exec).WithName("Machines_exec");
        machines.MapLeasesAndMetadata();
        return v1;
    }

    private static async Task<Results<Ok<MachineView>, JsonHttpResult<object>>> CreateAsync(
        [FromRoute(Name = "app_name")] string appName, HttpContext context, FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<MachineRequest>(context.Request, "main.createMachineRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.Ok(body.IsSuccess ? backend.CreateMachine(appName, body.Value!, RequestItems.Owner(context)) : body.Failure!);
    }

    private static Results<Ok<IReadOnlyList<MachineView>>, JsonHttpResult<object>> List(
        [FromRoute(Name = "app_name")] string appName, HttpRequest request, FlyBackend backend)
    {
        var query = request.Query;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in query)
        {
            // The docs' filter: metadata.{key}=value, any number of them, all must match.
            if (key.StartsWith("metadata.", StringComparison.Ordinal) && key.Length > "metadata.".Length)
            {
                metadata[key["metadata.".Length..]] = value.ToString();
            }
        }

        return FlyResults.Ok(backend.ListMachines(
            appName,
            FlyResults.Flag(query["include_deleted"]),
            query["region"],
            query["state"],
            FlyResults.Flag(query["summary"]),
            metadata));
    }

    private static Results<Ok<MachineView>, JsonHttpResult<object>> Show(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromQuery(Name = "include_leases")] string? includeLeases,
        FlyBackend backend) =>
        FlyResults.Ok(backend.GetMachine(appName, machineId, FlyResults.Flag(includeLeases)));

    private static async Task<Results<Ok<MachineView>, JsonHttpResult<object>>> UpdateAsync(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = NonceHeader)] string? nonce,
        HttpContext context,
        FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<MachineRequest>(context.Request, "main.updateMachineRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.Ok(body.IsSuccess ? backend.UpdateMachine(appName, machineId, body.Value!, nonce) : body.Failure!);
    }

    private static Results<Ok<OkResponse>, JsonHttpResult<object>> Delete(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromQuery] string? force,
        [FromQuery] string? kill,
        [FromHeader(Name = NonceHeader)] string? nonce,
        FlyBackend backend) =>
        // fly-go sends kill=true where the docs say force=true; both mean "even if it runs".
        FlyResults.OkTrue(backend.DestroyMachine(appName, machineId, FlyResults.Flag(force) || FlyResults.Flag(kill), nonce));

    private static Results<Ok<StartResponse>, JsonHttpResult<object>> Start(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = NonceHeader)] string? nonce,
        FlyBackend backend) =>
        FlyResults.Ok(backend.StartMachine(appName, machineId, nonce));

    private static async Task<Results<Ok<OkResponse>, JsonHttpResult<object>>> StopAsync(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = NonceHeader)] string? nonce,
        HttpContext context,
        FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync(context.Request, "main.stopRequest", whenEmpty: new StopRequest(null, null), context.RequestAborted);
        return FlyResults.OkTrue(body.IsSuccess ? backend.StopMachine(appName, machineId, body.Value!, nonce) : body.Failure);
    }

    private static Results<Ok<OkResponse>, JsonHttpResult<object>> Restart(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromQuery] string? signal,
        [FromQuery] string? timeout,
        [FromHeader(Name = NonceHeader)] string? nonce,
        FlyBackend backend) =>
        FlyResults.OkTrue(backend.RestartMachine(appName, machineId, signal, timeout, nonce));

    private static Results<Ok<OkResponse>, JsonHttpResult<object>> Suspend(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = NonceHeader)] string? nonce,
        FlyBackend backend) =>
        FlyResults.OkTrue(backend.SuspendMachine(appName, machineId, nonce));

    private static async Task<Results<Ok<OkResponse>, JsonHttpResult<object>>> SignalAsync(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = NonceHeader)] string? nonce,
        HttpContext context,
        FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<SignalRequest>(context.Request, "main.signalRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.OkTrue(body.IsSuccess ? backend.SignalMachine(appName, machineId, body.Value!, nonce) : body.Failure);
    }

    private static Results<Ok<OkResponse>, JsonHttpResult<object>> Cordon(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = NonceHeader)] string? nonce,
        FlyBackend backend) =>
        FlyResults.OkTrue(backend.Cordon(appName, machineId, cordoned: true, nonce));

    private static Results<Ok<OkResponse>, JsonHttpResult<object>> Uncordon(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = NonceHeader)] string? nonce,
        FlyBackend backend) =>
        FlyResults.OkTrue(backend.Cordon(appName, machineId, cordoned: false, nonce));

    /// <summary>
    /// <c>state</c> (default started; repeated or comma-separated), <c>timeout</c> in seconds (1–60, default
    /// 60: the server refuses more), and <c>instance_id</c> (or its newer name <c>version</c>), which
    /// waiting for <c>stopped</c> requires.
    /// </summary>
    private static async Task<Results<Ok<OkResponse>, JsonHttpResult<object>>> WaitAsync(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        HttpContext context,
        FlyBackend backend)
    {
        var query = context.Request.Query;
        var states = query["state"]
            .SelectMany(s => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (states.Count == 0)
        {
            states.Add(MachineStates.Started);
        }

        if (states.FirstOrDefault(s => !MachineStates.Waitable.Contains(s)) is { } unknown)
        {
            return FlyResults.Error(FlyErrors.InvalidArgument($"invalid state \"{unknown}\": want one of {string.Join(", ", MachineStates.Waitable)}"));
        }

        var instanceId = query["instance_id"].FirstOrDefault() ?? query["version"].FirstOrDefault();
        if (states.Contains(MachineStates.Stopped) && string.IsNullOrEmpty(instanceId))
        {
            return FlyResults.Error(FlyErrors.WaitStoppedNeedsInstance);
        }

        var timeout = TimeSpan.FromSeconds(MaxWaitSeconds);
        if (query["timeout"].FirstOrDefault() is { Length: > 0 } text)
        {
            if (!GoDuration.TryParse(text, out timeout) || timeout < TimeSpan.FromSeconds(1) || timeout > TimeSpan.FromSeconds(MaxWaitSeconds))
            {
                return FlyResults.Error(FlyErrors.InvalidArgument(
                    string.Create(CultureInfo.InvariantCulture, $"timeout \"{text}\" must be from 1 to {MaxWaitSeconds} seconds")));
            }
        }

        var failure = await backend.WaitAsync(appName, machineId, states, instanceId, timeout, context.RequestAborted);
        return FlyResults.OkTrue(failure);
    }

    private static Results<Ok<IReadOnlyList<MachineEventView>>, JsonHttpResult<object>> Events(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromQuery] string? limit,
        FlyBackend backend)
    {
        var count = 20;
        if (!string.IsNullOrEmpty(limit) && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 50))
        {
            return FlyResults.Error(FlyErrors.InvalidArgument("limit must be from 1 to 50"));
        }

        return FlyResults.Ok(backend.ListEvents(appName, machineId, count));
    }

    private static JsonHttpResult<object> Exec() =>
        FlyResults.Error(FlyFailure.Error(501, "unimplemented: exec is not available in the emulator; machines are reached over SSH on port 2222"));
}
