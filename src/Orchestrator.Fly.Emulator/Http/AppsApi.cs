using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Backend;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary><c>/v1/apps</c>: create, show, list by organisation, delete.</summary>
internal static class AppsApi
{
    public static RouteGroupBuilder MapAppsApi(this RouteGroupBuilder v1)
    {
        var apps = v1.MapGroup("/apps").WithTags("Apps");
        apps.MapPost("/", CreateAsync).WithName("Apps_create");
        apps.MapGet("/", List).WithName("Apps_list");
        apps.MapGet("/{app_name}", Show).WithName("Apps_show");
        apps.MapDelete("/{app_name}", Delete).WithName("Apps_delete");
        return v1;
    }

    private static async Task<Results<Created<CreateAppResponse>, JsonHttpResult<object>>> CreateAsync(
        HttpRequest request, FlyBackend backend, CancellationToken cancellationToken)
    {
        var body = await FlyJson.ReadAsync<CreateAppRequest>(request, "main.createAppRequest", whenEmpty: null, cancellationToken);
        var outcome = body.IsSuccess ? backend.CreateApp(body.Value!) : body.Failure!;
        return outcome.Failure is { } failure ? FlyResults.Error(failure) : TypedResults.Created((string?)null, outcome.Value!);
    }

    private static Results<Ok<AppListResponse>, JsonHttpResult<object>> List([FromQuery(Name = "org_slug")] string? orgSlug, FlyBackend backend) =>
        FlyResults.Ok(backend.ListApps(orgSlug));

    private static Results<Ok<AppView>, JsonHttpResult<object>> Show([FromRoute(Name = "app_name")] string appName, FlyBackend backend) =>
        FlyResults.Ok(backend.GetApp(appName));

    private static Results<Accepted, JsonHttpResult<object>> Delete(
        [FromRoute(Name = "app_name")] string appName, [FromQuery] string? force, FlyBackend backend) =>
        backend.DeleteApp(appName, FlyResults.Flag(force)) is { } failure ? FlyResults.Error(failure) : TypedResults.Accepted((string?)null);
}
