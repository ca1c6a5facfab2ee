using System.ComponentModel;
using System.Text.Json;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Grains.Instances;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// An instance's resources after create: <c>PATCH /api/instances/{id}</c> resizes the machine and
/// <c>POST /api/instances/{id}/volume/extend</c> grows its volume. Bodies are read by hand, like the create body,
/// so that every error names its field and unknown fields are refused.
/// </summary>
public static class InstanceResourceEndpoints
{
    private static readonly HashSet<string> ResizeFields = ["size"];
    private static readonly HashSet<string> ExtendFields = ["size_gb"];

    public static RouteGroupBuilder MapInstanceResourceEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/instances").WithTags("Instances");
        api.MapPatch("/{id}", ResizeAsync).WithName("ResizeInstance")
            .WithSummary("Resize an instance")
            .WithDescription(
                "Gives the instance's machine another size: a preset or {cpus, memory_mb, cpu_kind}. The machine's config is "
                + "updated under a Fly machine lease and Fly restarts the machine with the new size (a stopped machine stays "
                + "stopped); the answer is 202 with the instance, whose state follows the restart. The current size again "
                + "changes nothing. Another holder of the machine's lease is 409.")
            .WithPathParameter("id", "The instance's name.")
            .WithRequestBody(typeof(ResizeInstanceRequest), "The new size.", required: true, "application/json")
            .Produces<InstanceResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The instance's URL, to poll.")
            .ProducesProblems(400, 404, 409, 422, 429, 502, 503);
        api.MapPost("/{id}/volume/extend", ExtendVolumeAsync).WithName("ExtendInstanceVolume")
            .WithSummary("Grow an instance's volume")
            .WithDescription(
                "Grows the instance's volume to size_gb, which must be greater than its size now (volumes never shrink: 400) "
                + "and at most 500. An instance without a volume is 409. The answer is the instance with its new volume_size_gb.")
            .WithPathParameter("id", "The instance's name.")
            .WithRequestBody(typeof(ExtendInstanceVolumeRequest), "The volume's new size.", required: true, "application/json")
            .Produces<InstanceResponse>()
            .ProducesProblems(400, 404, 409, 422, 429, 502, 503);
        return api;
    }

    internal static async Task<IResult> ResizeAsync(string id, HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            return InstanceProblems.Invalid("id", idProblem);
        }

        var (body, bodyProblem) = await ReadObjectAsync(request, ResizeFields, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        if (!body.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind == JsonValueKind.Null)
        {
            return InstanceProblems.Invalid("size", "is required: a preset such as 'shared-cpu-2x', or {cpus, memory_mb, cpu_kind}");
        }

        if (!InstanceRequestParser.TryParseSize(sizeElement, out var size, out var problem))
        {
            return InstanceProblems.Invalid(problem!.Value.Field, problem.Value.Problem);
        }

        if (InstanceSpecRules.ValidateSize(size) is { } sizeProblem)
        {
            return InstanceProblems.Invalid(sizeProblem.Field, sizeProblem.Problem);
        }

        return await InstanceEndpoints.CallAsync(async () =>
            InstanceEndpoints.Accepted($"/api/instances/{id}", await InstanceEndpoints.Grain(cluster, request.HttpContext.User, id).ResizeAsync(size!, cancellationToken)));
    }

    internal static async Task<IResult> ExtendVolumeAsync(string id, HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            return InstanceProblems.Invalid("id", idProblem);
        }

        var (body, bodyProblem) = await ReadObjectAsync(request, ExtendFields, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        if (!InstanceRequestParser.TryInt(body, "size_gb", "size_gb", out var sizeGb, out var problem))
        {
            return InstanceProblems.Invalid(problem!.Value.Item1, problem.Value.Item2);
        }

        if (sizeGb is not { } gb)
        {
            return InstanceProblems.Invalid("size_gb", "is required: the volume's new size in GB");
        }

        if (gb is < 1 or > InstanceSpecRules.MaxVolumeSizeGb)
        {
            return InstanceProblems.Invalid("size_gb", $"must be from 1 to {InstanceSpecRules.MaxVolumeSizeGb}");
        }

        return await InstanceEndpoints.CallAsync(async () =>
            TypedResults.Json(InstanceResponse.From(await InstanceEndpoints.Grain(cluster, request.HttpContext.User, id).ExtendVolumeAsync(gb, cancellationToken)), InstanceEndpoints.Json));
    }

    /// <summary>The body as a JSON object with only <paramref name="known"/> members, or the problem naming what is wrong.</summary>
    private static async Task<(JsonElement Body, IResult? Problem)> ReadObjectAsync(HttpRequest request, IReadOnlySet<string> known, CancellationToken cancellationToken)
    {
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, InstanceEndpoints.Json, cancellationToken);
        }
        catch (JsonException ex)
        {
            return (default, InstanceProblems.Invalid("body", $"is not valid JSON: {ex.Message}"));
        }

        if (JsonBodyText.FindUnreadable(body) is { } unreadable)
        {
            return (default, JsonBodyText.Problem(unreadable));
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return (default, InstanceProblems.Invalid("body", "must be a JSON object"));
        }

        return InstanceRequestParser.UnknownField(body, "", known) is { } unknown
            ? (default, InstanceProblems.Invalid(unknown.Field, unknown.Problem))
            : (body, null);
    }
}

// The handlers above read their bodies by hand; these records only describe them to the OpenAPI document.

/// <summary>The body of <c>PATCH /api/instances/{id}</c>.</summary>
[OpenApi.RefusesUnknownMembers]
public sealed record ResizeInstanceRequest(
    [property: Description("The new size: a preset name (shared-cpu-{1,2,4,6,8}x or performance-{1,2,4,6,8,10,12,14,16}x) or an explicit {cpus, memory_mb, cpu_kind}.")]
    InstanceSizeRequest Size);

/// <summary>The body of <c>POST /api/instances/{id}/volume/extend</c>.</summary>
[OpenApi.RefusesUnknownMembers]
public sealed record ExtendInstanceVolumeRequest(
    [property: System.ComponentModel.DataAnnotations.Range(2, 500)]
    [property: Description("The volume's new size in GB: greater than its size now (volumes never shrink), at most 500.")]
    int SizeGb);
