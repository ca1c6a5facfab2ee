using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Orchestrator.Gateway.Status;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Gateway.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> (or HTTP Basic with the key as the password,
/// for browsers opening the dashboard). A tenant key is checked by its tenant's grain on every
/// request, so a revoked key stops working at once on every gateway.
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    AuthSettings settings,
    IClusterClient cluster) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Unauthorized = Instances.InstanceProblems.TypeBase + "unauthorized";
    public const string Forbidden = Instances.InstanceProblems.TypeBase + "forbidden";
    private const string FailureItem = "orchestrator.auth-failure";

    /// <summary>The WebSocket subprotocol a browser offers beside <c>bearer.&lt;key&gt;</c> (it cannot send headers).</summary>
    public const string WebSocketProtocol = "orchestrator";

    private const string WebSocketKeyPrefix = "bearer.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return WebSocketKey() is { } offered ? await CheckAsync(offered) : AuthenticateResult.NoResult();
        }

        if (headers.Count > 1)
        {
            return Fail("more than one Authorization header was sent");
        }

        if (ReadKey(headers[0]!) is not { } key)
        {
            return Fail("the Authorization header must be 'Bearer <API key>'");
        }

        return await CheckAsync(key);
    }

    private async Task<AuthenticateResult> CheckAsync(string key)
    {
        if (settings.IsAdminKey(key))
        {
            return Success(new Claim(ClaimTypes.Role, Callers.AdminRole), new Claim(Callers.KeyClaim, "admin"));
        }

        if (settings.DevKeyEnabled && key == AuthSettings.DevKey)
        {
            return Context.IsFromLoopback()
                ? Success(new Claim(Callers.TenantClaim, AuthSettings.DevTenant), new Claim(Callers.KeyClaim, AuthSettings.DevKey))
                : Fail("the dev key works only from this machine (loopback)");
        }

        if (!ApiKeyToken.TryParse(key, out var token))
        {
            return Fail("the API key is malformed");
        }

        var check = await cluster.GetGrain<ITenantGrain>(token.Tenant).AuthenticateAsync(token.KeyId, token.Secret);
        if (check != ApiKeyCheck.Valid)
        {
            LogRejectedKey(Logger, token.Prefix, check);
        }

        return check switch
        {
            ApiKeyCheck.Valid => Success(new Claim(Callers.TenantClaim, token.Tenant), new Claim(Callers.KeyClaim, token.KeyId)),
            ApiKeyCheck.Expired => Fail("the API key has expired"),
            ApiKeyCheck.Revoked => Fail("the API key was revoked"),
            _ => Fail("the API key is not valid"),
        };
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = Context.Items[FailureItem] as string;
        var bearer = failure is null
            ? "Bearer realm=\"orchestrator\""
            : $"Bearer realm=\"orchestrator\", error=\"invalid_token\", error_description=\"{failure}\"";
        Response.Headers.Append("WWW-Authenticate", bearer);
        if (Request.Path.StartsWithSegments("/dashboard"))
        {
            // Lets a browser ask for the admin key (as the password) instead of showing a bare 401.
            Response.Headers.Append("WWW-Authenticate", "Basic realm=\"Orchestrator dashboard\", charset=\"UTF-8\"");
        }

        await MiddlewareProblems.WriteAsync(
            Context,
            StatusCodes.Status401Unauthorized,
            Unauthorized,
            "Authentication required",
            failure is null ? "Send 'Authorization: Bearer <API key>'." : $"Authentication failed: {failure}.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        MiddlewareProblems.WriteAsync(
            Context,
            StatusCodes.Status403Forbidden,
            Forbidden,
            "This key may not call this endpoint",
            Context.User.IsInRole(Callers.AdminRole)
                ? "The admin key manages tenants and keys; call this endpoint with a tenant's API key."
                : "This endpoint needs the admin key.");

    private static string? ReadKey(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var key = header["Bearer ".Length..].Trim();
            return key.Length is > 0 and <= 512 ? key : null;
        }

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var encoded = header["Basic ".Length..].Trim();
            if (encoded.Length > 1024)
            {
                return null;
            }

            var buffer = new byte[encoded.Length];
            if (!Convert.TryFromBase64String(encoded, buffer, out var written))
            {
                return null;
            }

            // Basic is "user:password"; the user name is ignored and the password is the key.
            var pair = Encoding.UTF8.GetString(buffer, 0, written);
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && colon < pair.Length - 1 ? pair[(colon + 1)..] : null;
        }

        return null;
    }

    /// <summary>The key a WebSocket upgrade offers as the subprotocol <c>bearer.&lt;key&gt;</c>, if any.</summary>
    private string? WebSocketKey()
    {
        if (!Context.WebSockets.IsWebSocketRequest)
        {
            return null;
        }

        var offered = Context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault(p => p.StartsWith(WebSocketKeyPrefix, StringComparison.Ordinal));
        return offered is { Length: > 7 and <= 512 } ? offered[WebSocketKeyPrefix.Length..] : null;
    }

    private static AuthenticateResult Success(params Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));

    private AuthenticateResult Fail(string reason)
    {
        Context.Items[FailureItem] = reason;
        return AuthenticateResult.Fail(reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyPrefix} refused: {Check}")]
    private static partial void LogRejectedKey(ILogger logger, string keyPrefix, ApiKeyCheck check);
}
