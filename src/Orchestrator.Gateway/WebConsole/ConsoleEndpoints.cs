using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Status;

namespace Orchestrator.Gateway.WebConsole;

/// <summary>
/// Serves the web console under <c>/ui/</c> (and sends <c>/</c> there): hashed assets cached for a year, the page
/// itself revalidated, each compressed with Brotli or gzip as the browser accepts, under a Content-Security-Policy
/// that allows no inline script and no connection but to this origin. Open to anonymous callers: the console asks
/// for a key and sends it with every API call itself.
/// </summary>
internal static class ConsoleEndpoints
{
    public const string BasePath = "/ui";

    /// <summary>The problem <c>type</c> when this gateway was built without the console.</summary>
    public const string NotBuilt = InstanceProblems.TypeBase + "console-not-built";

    // Styles: CodeMirror and xterm.js set element styles and add style sheets at run time; script stays strict.
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
        + "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    public static IEndpointRouteBuilder MapConsoleEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").AllowAnonymous().ExcludeFromDescription();
        group.MapGet("/", static () => Results.Redirect(BasePath + "/"));
        group.MapGet(BasePath + "/dev-sign-in", DevSignIn);
        group.MapGet(BasePath + "/{**path}", ServeAsync);
        return routes;
    }

    /// <summary>The dev profile's well-known key, to loopback browsers only, as the key itself works only from loopback.</summary>
    private static IResult DevSignIn(HttpContext context, AuthSettings auth)
    {
        context.Response.Headers.CacheControl = "no-store";
        return auth.DevKeyEnabled && context.IsFromLoopback()
            ? TypedResults.Ok(new DevSignInResponse(AuthSettings.DevKey, AuthSettings.DevTenant))
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, type: InstanceProblems.NotFound, title: "No dev sign-in",
                detail: "Only the dev profile signs loopback browsers in by itself; sign in with an API key.");
    }

    private static async Task ServeAsync(HttpContext context, ConsoleAssets assets, string? path)
    {
        if (!assets.Available)
        {
            await MiddlewareProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, NotBuilt, "The console was not built",
                "This gateway was built without the web console (BuildConsole=false, or no Node.js at build time); the API works without it.");
            return;
        }

        // Routing matches /ui and /ui/ alike: only the first is sent to the second, so the page's relative links hold.
        if (!context.Request.Path.Value!.EndsWith('/') && string.IsNullOrEmpty(path))
        {
            context.Response.Redirect(BasePath + "/");
            return;
        }

        path ??= "";
        var asset = assets.Find(path);
        if (asset is null)
        {
            // A console route (/ui/runs/run-1) is the page, which routes itself; a missing file is a 404.
            if (Path.HasExtension(path))
            {
                await MiddlewareProblems.WriteAsync(context, StatusCodes.Status404NotFound, InstanceProblems.NotFound, "No such file",
                    $"The console has no file '{path}'.");
                return;
            }

            asset = assets.Find(ConsoleAssets.IndexPath)!;
        }

        await WriteAsync(context, asset);
    }

    private static async Task WriteAsync(HttpContext context, ConsoleAsset asset)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = asset.Immutable ? "public, max-age=31536000, immutable" : "no-cache";
        headers.ETag = asset.ETag;
        headers.Vary = HeaderNames.AcceptEncoding;
        if (context.Request.Headers.IfNoneMatch is { Count: > 0 } match && match.Contains(asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        var (body, encoding) = Choose(asset, context.Request.Headers.AcceptEncoding);
        response.ContentType = asset.ContentType;
        response.ContentLength = body.Length;
        if (encoding is not null)
        {
            headers.ContentEncoding = encoding;
        }

        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    internal static (byte[] Body, string? Encoding) Choose(ConsoleAsset asset, StringValues acceptEncoding)
    {
        var accepted = StringWithQualityHeaderValue.TryParseList(acceptEncoding, out var list)
            ? list.Where(static v => v.Quality is null or > 0).Select(static v => v.Value.Value).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : [];
        return asset switch
        {
            { Brotli: { } br } when accepted.Contains("br") => (br, "br"),
            { Gzip: { } gz } when accepted.Contains("gzip") => (gz, "gzip"),
            _ => (asset.Identity, null),
        };
    }
}

/// <summary>The dev profile's key and tenant, for the console on this machine.</summary>
internal sealed record DevSignInResponse(string Key, string Tenant);
