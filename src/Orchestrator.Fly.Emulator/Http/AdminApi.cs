using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Backend;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary>
/// The emulator's own endpoints under <c>/_emulator</c> (no auth, no faults, no rate limits, not counted): faults
/// and failing starts can be set by a test in another process, a machine's sandbox located and its main process
/// killed, and the Fly requests served counted.
/// </summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/_emulator").WithTags("Emulator").WithMetadata(new EmulatorAdminEndpoint());
        admin.MapGet("/health", () => TypedResults.Ok(OkResponse.True));
        admin.MapGet("/faults", ListFaults);
        admin.MapPost("/faults", AddFaultAsync);
        admin.MapDelete("/faults", ClearFaults);
        admin.MapDelete("/faults/{id}", RemoveFault);
        admin.MapGet("/start-faults", ListStartFaults);
        admin.MapPost("/start-faults", AddStartFaultAsync);
        admin.MapDelete("/start-faults", ClearStartFaults);
        admin.MapGet("/machines/{machine_id}", Machine);
        admin.MapPost("/machines/{machine_id}/kill", KillAsync);
        admin.MapGet("/requests", Requests);
        admin.MapDelete("/requests", ResetRequests);
        return routes;
    }

    private static Ok<IReadOnlyList<FaultView>> ListFaults(FaultInjection faults) =>
        TypedResults.Ok<IReadOnlyList<FaultView>>(faults.Rules.Select(FaultView.From).ToList());

    private static async Task<Results<Created<FaultView>, JsonHttpResult<object>>> AddFaultAsync(HttpContext context, FaultInjection faults)
    {
        var body = await FlyJson.ReadAsync<FaultRequest>(context.Request, "emulator.faultRule", whenEmpty: null, context.RequestAborted);
        if (!body.IsSuccess)
        {
            return FlyResults.Error(body.Failure!);
        }

        var request = body.Value!;
        FaultMode mode;
        switch (request.Mode)
        {
            case null or "" or "fail":
                mode = FaultMode.Fail;
                break;
            case "after_success":
                mode = FaultMode.AfterSuccess;
                break;
            default:
                return FlyResults.Error(FlyErrors.InvalidArgument($"mode \"{request.Mode}\" is not one of fail, after_success"));
        }

        var rule = new FaultRule
        {
            Target = request.Target ?? "*",
            Rate = request.Rate ?? 1,
            Status = request.Status,
            Mode = mode,
            Latency = TimeSpan.FromMilliseconds(request.LatencyMs ?? 0),
            Times = request.Times,
            Message = request.Message,
            ErrorCode = request.ErrorCode,
            Seed = request.Seed,
        };
        try
        {
            var id = faults.Add(rule);
            return TypedResults.Created($"/_emulator/faults/{id}", FaultView.From(new FaultRuleState(id, rule, 0)));
        }
        catch (ArgumentException ex)
        {
            return FlyResults.Error(FlyErrors.InvalidArgument(ex.Message));
        }
    }

    private static NoContent ClearFaults(FaultInjection faults)
    {
        faults.Clear();
        return TypedResults.NoContent();
    }

    private static Results<NoContent, JsonHttpResult<object>> RemoveFault(string id, FaultInjection faults) =>
        faults.Remove(id) ? TypedResults.NoContent() : FlyResults.Error(FlyFailure.Error(404, $"fault {id} not found"));

    private static Ok<IReadOnlyList<StartFaultView>> ListStartFaults(FaultInjection faults) =>
        TypedResults.Ok<IReadOnlyList<StartFaultView>>(faults.StartFaults.Select(StartFaultView.From).ToList());

    private static async Task<Results<Created<StartFaultView>, JsonHttpResult<object>>> AddStartFaultAsync(HttpContext context, FaultInjection faults)
    {
        var body = await FlyJson.ReadAsync<StartFaultRequest>(context.Request, "emulator.startFault", whenEmpty: null, context.RequestAborted);
        if (!body.IsSuccess)
        {
            return FlyResults.Error(body.Failure!);
        }

        var request = body.Value!;
        var fault = new StartFault(request.MachineNamePrefix ?? "", request.Reason ?? "") { ExitCode = request.ExitCode ?? 1, Times = request.Times };
        try
        {
            var id = faults.AddStartFault(fault);
            return TypedResults.Created($"/_emulator/faults/{id}", StartFaultView.From(new StartFaultState(id, fault, 0)));
        }
        catch (ArgumentException ex)
        {
            return FlyResults.Error(FlyErrors.InvalidArgument(ex.Message));
        }
    }

    private static NoContent ClearStartFaults(FaultInjection faults)
    {
        foreach (var fault in faults.StartFaults)
        {
            faults.Remove(fault.Id);
        }

        return TypedResults.NoContent();
    }

    /// <summary><c>POST /_emulator/machines/{id}/kill</c>, body optional: <c>{"signal":9}</c> or <c>{"signal":"SIGTERM"}</c>; answers once the exit is recorded.</summary>
    private static async Task<Results<Ok<OkResponse>, JsonHttpResult<object>>> KillAsync(
        [Microsoft.AspNetCore.Mvc.FromRoute(Name = "machine_id")] string machineId, HttpContext context, FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync(context.Request, "emulator.kill", whenEmpty: new KillRequest(null), context.RequestAborted);
        if (!body.IsSuccess)
        {
            return FlyResults.Error(body.Failure!);
        }

        var signal = FlyBackend.ParseSignal(body.Value!.Signal, defaultSignal: 9);
        if (!signal.IsSuccess)
        {
            return FlyResults.Error(signal.Failure!);
        }

        var failure = await backend.KillMainProcessAsync(machineId, signal.Value, FlyEmulator.KillTimeout, context.RequestAborted);
        return failure is null ? TypedResults.Ok(OkResponse.True) : FlyResults.Error(failure);
    }

    private static Ok<RequestCountView> Requests(FlyRequestCounter counter) => TypedResults.Ok(new RequestCountView(counter.Total, counter.Snapshot()));

    private static NoContent ResetRequests(FlyRequestCounter counter)
    {
        counter.Reset();
        return TypedResults.NoContent();
    }

    private static Results<Ok<RuntimeMachineView>, JsonHttpResult<object>> Machine(
        [Microsoft.AspNetCore.Mvc.FromRoute(Name = "machine_id")] string machineId, FlyBackend backend) =>
        backend.GetRuntime(machineId) is { } view ? TypedResults.Ok(view) : FlyResults.Error(FlyErrors.MachineNotFound);
}

/// <summary>
/// <c>POST /_emulator/faults</c> body, e.g. <c>{"target":"Machines_create","status":408,"mode":"after_success","times":1}</c>
/// or <c>{"target":"Machines_*","rate":0.2,"status":503,"latency_ms":250}</c>.
/// </summary>
internal sealed record FaultRequest(
    string? Target,
    double? Rate,
    int? Status,
    string? Mode,
    int? LatencyMs,
    int? Times,
    string? Message,
    [property: JsonPropertyName("error_status")] string? ErrorCode,
    int? Seed);

internal sealed record FaultView(string Id, string Target, double Rate, int? Status, string Mode, double LatencyMs, int? Times, int Fired)
{
    public static FaultView From(FaultRuleState state) => new(
        state.Id,
        state.Rule.Target,
        state.Rule.Rate,
        state.Rule.Status,
        state.Rule.Mode == FaultMode.AfterSuccess ? "after_success" : "fail",
        state.Rule.Latency.TotalMilliseconds,
        state.Rule.Times,
        state.Fired);
}

/// <summary><c>POST /_emulator/start-faults</c> body, e.g. <c>{"machine_name_prefix":"p-","reason":"image not found","exit_code":1,"times":1}</c>.</summary>
internal sealed record StartFaultRequest(string? MachineNamePrefix, string? Reason, int? ExitCode, int? Times);

internal sealed record StartFaultView(string Id, string MachineNamePrefix, string Reason, int ExitCode, int? Times, int Fired)
{
    public static StartFaultView From(StartFaultState state) =>
        new(state.Id, state.Fault.MachineNamePrefix, state.Fault.Reason, state.Fault.ExitCode, state.Fault.Times, state.Fired);
}

/// <summary><c>signal</c>: a name (<c>SIGKILL</c>) or a number; SIGKILL when absent.</summary>
internal sealed record KillRequest(System.Text.Json.JsonElement? Signal);

/// <summary><c>GET /_emulator/requests</c>: <c>{"total":3,"operations":{"Machines_show":2,"Machines_create":1}}</c>.</summary>
internal sealed record RequestCountView(int Total, IReadOnlyDictionary<string, int> Operations);
