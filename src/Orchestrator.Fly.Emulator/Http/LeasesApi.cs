using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Backend;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary>A machine's lease and metadata endpoints.</summary>
internal static class LeasesApi
{
    public static RouteGroupBuilder MapLeasesAndMetadata(this RouteGroupBuilder machines)
    {
        machines.MapPost("/{machine_id}/lease", AcquireAsync).WithName("Machines_create_lease");
        machines.MapGet("/{machine_id}/lease", Show).WithName("Machines_show_lease");
        machines.MapDelete("/{machine_id}/lease", Release).WithName("Machines_release_lease");
        machines.MapGet("/{machine_id}/metadata", ShowMetadata).WithName("Machines_show_metadata");
        machines.MapPut("/{machine_id}/metadata", ReplaceMetadataAsync).WithName("Machines_replace_metadata");
        machines.MapPatch("/{machine_id}/metadata", MergeMetadataAsync).WithName("Machines_patch_metadata");
        machines.MapGet("/{machine_id}/metadata/{key}", ShowMetadataKey).WithName("Machines_show_metadata_key");
        machines.MapPost("/{machine_id}/metadata/{key}", SetMetadataAsync).WithName("Machines_update_metadata");
        machines.MapDelete("/{machine_id}/metadata/{key}", DeleteMetadata).WithName("Machines_delete_metadata");
        return machines;
    }

    /// <summary>The ttl comes in the body (docs) or as <c>?ttl=N</c> with no body (fly-go).</summary>
    private static async Task<Results<Created<LeaseResponse>, JsonHttpResult<object>>> AcquireAsync(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = MachinesApi.NonceHeader)] string? nonce,
        [FromQuery] string? ttl,
        HttpContext context,
        FlyBackend backend)
    {
        int? queryTtl = null;
        if (!string.IsNullOrEmpty(ttl))
        {
            if (!int.TryParse(ttl, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
            {
                return FlyResults.Error(FlyErrors.InvalidArgument($"ttl \"{ttl}\" is not a number of seconds"));
            }

            queryTtl = parsed;
        }

        var body = await FlyJson.ReadAsync(context.Request, "main.createLeaseRequest", whenEmpty: new LeaseRequest(null, null), context.RequestAborted);
        if (!body.IsSuccess)
        {
            return FlyResults.Error(body.Failure!);
        }

        var outcome = backend.AcquireLease(appName, machineId, body.Value!.Ttl ?? queryTtl, body.Value.Description, RequestItems.Owner(context), nonce);
        return outcome.Failure is { } failure ? FlyResults.Error(failure) : TypedResults.Created((string?)null, outcome.Value!);
    }

    private static Results<Ok<LeaseResponse>, JsonHttpResult<object>> Show(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "machine_id")] string machineId, FlyBackend backend) =>
        FlyResults.Ok(backend.GetLease(appName, machineId));

    private static Results<Ok<LeaseReleaseResponse>, JsonHttpResult<object>> Release(
        [FromRoute(Name = "app_name")] string appName,
        [FromRoute(Name = "machine_id")] string machineId,
        [FromHeader(Name = MachinesApi.NonceHeader)] string? nonce,
        FlyBackend backend) =>
        backend.ReleaseLease(appName, machineId, nonce) is { } failure
            ? FlyResults.Error(failure)
            : TypedResults.Ok(new LeaseReleaseResponse("success", OkResponse.True));

    private static Results<Ok<IReadOnlyDictionary<string, string>>, JsonHttpResult<object>> ShowMetadata(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "machine_id")] string machineId, FlyBackend backend) =>
        FlyResults.Ok(backend.GetMetadata(appName, machineId));

    private static Results<Ok<MetadataValueResponse>, JsonHttpResult<object>> ShowMetadataKey(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "machine_id")] string machineId, string key, FlyBackend backend) =>
        FlyResults.Ok(backend.GetMetadataValue(appName, machineId, key));

    private static async Task<Results<NoContent, JsonHttpResult<object>>> SetMetadataAsync(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "machine_id")] string machineId, string key, HttpContext context, FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<MetadataValueRequest>(context.Request, "main.upsertMetadataKeyRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.NoContent(body.IsSuccess ? backend.SetMetadata(appName, machineId, key, body.Value!.Value) : body.Failure);
    }

    private static Results<NoContent, JsonHttpResult<object>> DeleteMetadata(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "machine_id")] string machineId, string key, FlyBackend backend) =>
        FlyResults.NoContent(backend.DeleteMetadata(appName, machineId, key));

    private static Task<Results<NoContent, JsonHttpResult<object>>> ReplaceMetadataAsync(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "machine_id")] string machineId, HttpContext context, FlyBackend backend) =>
        WriteMetadataAsync(appName, machineId, context, backend, merge: false);

    private static Task<Results<NoContent, JsonHttpResult<object>>> MergeMetadataAsync(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "machine_id")] string machineId, HttpContext context, FlyBackend backend) =>
        WriteMetadataAsync(appName, machineId, context, backend, merge: true);

    private static async Task<Results<NoContent, JsonHttpResult<object>>> WriteMetadataAsync(
        string appName, string machineId, HttpContext context, FlyBackend backend, bool merge)
    {
        var body = await FlyJson.ReadAsync<MetadataReplaceRequest>(context.Request, "main.updateMetadataRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.NoContent(body.IsSuccess ? backend.ReplaceMetadata(appName, machineId, body.Value!, merge) : body.Failure);
    }
}
