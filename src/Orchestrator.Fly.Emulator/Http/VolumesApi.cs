using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Backend;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary><c>/v1/apps/{app}/volumes</c>: volumes and their snapshots.</summary>
internal static class VolumesApi
{
    public static RouteGroupBuilder MapVolumesApi(this RouteGroupBuilder v1)
    {
        var volumes = v1.MapGroup("/apps/{app_name}/volumes").WithTags("Volumes");
        volumes.MapPost("/", CreateAsync).WithName("Volumes_create");
        volumes.MapGet("/", List).WithName("Volumes_list");
        volumes.MapGet("/{volume_id}", Show).WithName("Volumes_get_by_id");
        volumes.MapPut("/{volume_id}", UpdateAsync).WithName("Volumes_update");
        volumes.MapDelete("/{volume_id}", Delete).WithName("Volume_delete");
        volumes.MapPut("/{volume_id}/extend", ExtendAsync).WithName("Volumes_extend");
        volumes.MapGet("/{volume_id}/snapshots", ListSnapshots).WithName("Volumes_list_snapshots");
        volumes.MapPost("/{volume_id}/snapshots", CreateSnapshot).WithName("createVolumeSnapshot");
        return v1;
    }

    private static async Task<Results<Ok<VolumeView>, JsonHttpResult<object>>> CreateAsync(
        [FromRoute(Name = "app_name")] string appName, HttpContext context, FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<CreateVolumeRequest>(context.Request, "main.createVolumeRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.Ok(body.IsSuccess ? backend.CreateVolume(appName, body.Value!) : body.Failure!);
    }

    private static Results<Ok<IReadOnlyList<VolumeView>>, JsonHttpResult<object>> List([FromRoute(Name = "app_name")] string appName, FlyBackend backend) =>
        FlyResults.Ok(backend.ListVolumes(appName));

    private static Results<Ok<VolumeView>, JsonHttpResult<object>> Show(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "volume_id")] string volumeId, FlyBackend backend) =>
        FlyResults.Ok(backend.GetVolume(appName, volumeId));

    private static async Task<Results<Ok<VolumeView>, JsonHttpResult<object>>> UpdateAsync(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "volume_id")] string volumeId, HttpContext context, FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<UpdateVolumeRequest>(context.Request, "main.updateVolumeRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.Ok(body.IsSuccess ? backend.UpdateVolume(appName, volumeId, body.Value!) : body.Failure!);
    }

    private static Results<Ok<VolumeView>, JsonHttpResult<object>> Delete(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "volume_id")] string volumeId, FlyBackend backend) =>
        FlyResults.Ok(backend.DeleteVolume(appName, volumeId));

    private static async Task<Results<Ok<ExtendVolumeResponse>, JsonHttpResult<object>>> ExtendAsync(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "volume_id")] string volumeId, HttpContext context, FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<ExtendVolumeRequest>(context.Request, "main.extendVolumeRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.Ok(body.IsSuccess ? backend.ExtendVolume(appName, volumeId, body.Value!) : body.Failure!);
    }

    private static Results<Ok<IReadOnlyList<SnapshotView>>, JsonHttpResult<object>> ListSnapshots(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "volume_id")] string volumeId, FlyBackend backend) =>
        FlyResults.Ok(backend.ListSnapshots(appName, volumeId));

    private static Results<Ok<SnapshotCreateResponse>, JsonHttpResult<object>> CreateSnapshot(
        [FromRoute(Name = "app_name")] string appName, [FromRoute(Name = "volume_id")] string volumeId, FlyBackend backend) =>
        FlyResults.Ok(backend.CreateSnapshot(appName, volumeId));
}
