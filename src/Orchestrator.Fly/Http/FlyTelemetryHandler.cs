using System.Diagnostics;
using Orchestrator.Telemetry;

namespace Orchestrator.Fly.Http;

/// <summary>
/// The outermost handler of the Fly client: one <c>fly {category}</c> span and one measurement per call, whatever
/// the retries below it did. The HttpClient's own spans (one per attempt) become children of this one.
/// </summary>
internal sealed class FlyTelemetryHandler(OrchestratorMetrics metrics, TimeProvider time) : DelegatingHandler
{
    internal const string Ok = "ok";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var category = request.RequestUri is { } uri ? FlyCallCategory.For(request.Method, uri) : FlyCallCategory.Other;
        using var activity = OrchestratorTelemetry.Source.StartActivity(OrchestratorTelemetry.FlyCallSpan, ActivityKind.Internal);
        if (activity is not null)
        {
            activity.DisplayName = "fly " + category;
            activity.SetTag("fly.category", category);
            activity.SetTag("http.request.method", request.Method.Method);
        }

        var started = time.GetTimestamp();
        var outcome = "error";
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            outcome = response.IsSuccessStatusCode ? Ok : Outcome(FlyErrorFactory.Classify(status, null, null).Category);
            activity?.SetTag("http.response.status_code", status);
            if (!response.IsSuccessStatusCode)
            {
                activity?.SetStatus(ActivityStatusCode.Error, outcome);
            }

            return response;
        }
        catch (FlyApiException ex)
        {
            outcome = Outcome(ex.Category);
            activity?.SetStatus(ActivityStatusCode.Error, outcome);
            throw;
        }
        catch (OperationCanceledException)
        {
            outcome = "cancelled";
            throw;
        }
        finally
        {
            metrics.FlyCallEnded(category, outcome, time.GetElapsedTime(started));
        }
    }

    internal static string Outcome(FlyErrorCategory category) => category switch
    {
        FlyErrorCategory.Authentication => "authentication",
        FlyErrorCategory.NotFound => "not_found",
        FlyErrorCategory.Conflict => "conflict",
        FlyErrorCategory.Capacity => "capacity",
        FlyErrorCategory.RateLimited => "rate_limited",
        FlyErrorCategory.Validation => "validation",
        FlyErrorCategory.Timeout => "timeout",
        _ => "server",
    };
}

/// <summary>
/// The category of a Machines API call in spans and metrics: <c>{resource}.{action}</c>, for example
/// <c>machines.create</c>, <c>machines.get</c>, <c>machines.wait</c> or <c>apps.delete</c>. Built from the route
/// with ids left out, so the set stays as small as the API the client uses.
/// </summary>
internal static class FlyCallCategory
{
    public const string Other = "other";

    public static string For(HttpMethod method, Uri uri)
    {
        var path = uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString.Split('?', 2)[0];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // The base address may carry a prefix (an emulator mounted under a path): start after "v1".
        var parts = segments.AsSpan(Array.IndexOf(segments, "v1") + 1);
        if (parts.Length == 0 || parts[0] != "apps")
        {
            return Other;
        }

        return parts.Length switch
        {
            1 => "apps." + (method == HttpMethod.Post ? "create" : "list"),
            2 => "apps." + ItemVerb(method),
            3 => parts[2] + "." + (method == HttpMethod.Post ? "create" : "list"),
            4 => parts[2] + "." + ItemVerb(method),
            // A sub-resource or action of one item: machines.start, machines.wait, machines.lease, ...
            _ => parts[2] + "." + parts[4] + (method == HttpMethod.Delete ? ".delete" : method == HttpMethod.Put ? ".update" : ""),
        };
    }

    private static string ItemVerb(HttpMethod method) =>
        method == HttpMethod.Get ? "get"
        : method == HttpMethod.Delete ? "delete"
        : "update";
}
