using Microsoft.Extensions.Options;

namespace Orchestrator.Fly.Http;

/// <summary>
/// Puts the API token on every request. A token configured as <c>FlyV1 fm2_...</c> (the form the dashboard
/// hands out for macaroons) is sent as it is; any other token goes as <c>Bearer &lt;token&gt;</c>.
/// </summary>
internal sealed class FlyAuthHandler(IOptions<FlyOptions> options) : DelegatingHandler
{
    private const string FlyV1Scheme = "FlyV1 ";
    private const string BearerScheme = "Bearer ";

    private readonly string _headerValue = HeaderValue(options.Value.ApiToken);

    internal static string HeaderValue(string token)
    {
        token = token.Trim();
        if (token.StartsWith(FlyV1Scheme, StringComparison.Ordinal))
        {
            return token;
        }

        // A token pasted with its scheme must not become "Bearer Bearer ...".
        if (token.StartsWith(BearerScheme, StringComparison.OrdinalIgnoreCase))
        {
            token = token[BearerScheme.Length..].TrimStart();
        }

        return BearerScheme + token;
    }

    /// <summary>The secret parts of a token (without scheme, each comma-joined macaroon alone), for redaction.</summary>
    internal static string[] SecretParts(string token)
    {
        var value = HeaderValue(token);
        var credential = value[(value.IndexOf(' ', StringComparison.Ordinal) + 1)..];
        return [.. new[] { token.Trim(), credential }
            .Concat(credential.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Where(part => part.Length >= 8)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(part => part.Length)];
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Remove("Authorization");
        // Without validation: comma-joined macaroons are not a valid AuthenticationHeaderValue parameter.
        request.Headers.TryAddWithoutValidation("Authorization", _headerValue);
        return base.SendAsync(request, cancellationToken);
    }
}
