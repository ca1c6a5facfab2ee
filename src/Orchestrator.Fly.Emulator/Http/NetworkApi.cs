using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Backend;
using Microsoft.Extensions.Options;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary><c>/v1/apps/{app}/ip_assignments</c> and <c>/v1/platform/regions</c>.</summary>
internal static class NetworkApi
{
    public static RouteGroupBuilder MapNetworkApi(this RouteGroupBuilder v1)
    {
        var ips = v1.MapGroup("/apps/{app_name}/ip_assignments").WithTags("IPs");
        ips.MapGet("/", List).WithName("IPAssignments_list");
        ips.MapPost("/", AssignAsync).WithName("IPAssignments_create");
        ips.MapDelete("/{ip}", Release).WithName("IPAssignments_delete");
        v1.MapGet("/platform/regions", Regions).WithTags("Platform").WithName("Platform_regions");
        return v1;
    }

    private static Results<Ok<IpAssignmentListResponse>, JsonHttpResult<object>> List([FromRoute(Name = "app_name")] string appName, FlyBackend backend) =>
        FlyResults.Ok(backend.ListIps(appName));

    private static async Task<Results<Ok<IpAssignmentView>, JsonHttpResult<object>>> AssignAsync(
        [FromRoute(Name = "app_name")] string appName, HttpContext context, FlyBackend backend)
    {
        var body = await FlyJson.ReadAsync<IpAssignmentRequest>(context.Request, "main.assignIPRequest", whenEmpty: null, context.RequestAborted);
        return FlyResults.Ok(body.IsSuccess ? backend.AssignIp(appName, body.Value!) : body.Failure!);
    }

    private static Results<NoContent, JsonHttpResult<object>> Release([FromRoute(Name = "app_name")] string appName, string ip, FlyBackend backend) =>
        FlyResults.NoContent(backend.ReleaseIp(appName, ip));

    private static Ok<RegionListResponse> Regions(IOptions<FlyEmulatorOptions> options) =>
        TypedResults.Ok(new RegionListResponse(
            options.Value.DefaultRegion,
            FlyRegions.All.Select(r => new RegionView(r.Code, r.Name, r.GatewayAvailable, Deprecated: false, RequiresPaidPlan: false)).ToList()));
}
