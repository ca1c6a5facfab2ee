using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Environments;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Limits;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Runs;
using Orchestrator.Gateway.Status;
using Orchestrator.Gateway.Telemetry;
using Orchestrator.Gateway.Tenants;
using Orchestrator.Gateway.WebConsole;
using Orchestrator.Gateway.Workflows;

namespace Orchestrator.Gateway;

/// <summary>Composition of the HTTP API, shared by the standalone gateway and the silo that co-hosts it.</summary>
public static class GatewayExtensions
{
    /// <summary>Registers the services the endpoints need. The host adds the Orleans client or silo itself.</summary>
    public static IServiceCollection AddOrchestratorGateway(this IServiceCollection services, AuthSettings auth, HttpLimitSettings? limits = null)
    {
        ArgumentNullException.ThrowIfNull(auth);
        // Before the framework's writer, which would otherwise be asked first.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, ProblemWriter>());
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddOrchestratorLimits(limits ?? HttpLimitSettings.Default);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(auth);
        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster", tags: [HealthEndpoints.ReadyTag]);
        services.AddOrchestratorApiReference();
        services.TryAddSingleton<ConsoleAssets>();
        services.TryAddSingleton<SessionAttachHub>();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            // Every endpoint needs a key unless it says otherwise, so a new endpoint cannot be left open by accident.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Callers.TenantPolicy, p => p.RequireClaim(Callers.TenantClaim))
            .AddPolicy(Callers.AdminPolicy, p => p.RequireRole(Callers.AdminRole))
            .AddPolicy(Callers.AnyKeyPolicy, p => p.RequireAuthenticatedUser())
            .AddPolicy(Callers.DashboardPolicy, p => p.RequireAssertion(context =>
                context.User.IsInRole(Callers.AdminRole)
                || (auth.DevKeyEnabled && context.Resource is HttpContext http && http.IsFromLoopback())));
        return services;
    }

    /// <summary>
    /// The middleware the API needs, in order: request ids, problem details for failures, WebSockets for
    /// shells, routing, answers for unknown routes, authentication, the per-key rate limiter (after authentication, which names the
    /// key; before authorization, so floods of bad keys are limited too), authorization, request timeouts.
    /// </summary>
    public static IApplicationBuilder UseOrchestratorGateway(this IApplicationBuilder app)
    {
        // First: every response, the exception handler's and the 400 for a bad id included, carries the id.
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Pings keep idle shells open through proxies (Fly's closes idle connections after 60 s).
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        app.UseRouting();
        app.UseMiddleware<UnknownRouteMiddleware>();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseRequestTimeouts();
        return app;
    }

    /// <summary>Maps every endpoint group of the HTTP API.</summary>
    public static IEndpointRouteBuilder MapOrchestratorGateway(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthEndpoints();
        routes.MapOrchestratorApiReference();
        routes.MapConsoleEndpoints();
        routes.MapVersionEndpoints().RequireAuthorization(Callers.AnyKeyPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Other));
        routes.MapTenantEndpoints().WithMetadata(new BodySizeLimit(BodyLimits.Tenants));
        routes.MapInstanceEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Instances));
        routes.MapInstanceResourceEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Instances));
        // Exec output and shells live as long as the command or the WebSocket: no request timeout.
        routes.MapExecEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Exec)).DisableRequestTimeout();
        routes.MapSessionEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Exec)).DisableRequestTimeout();
        routes.MapFileEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(FileEndpoints.MaxUploadBytes)).DisableRequestTimeout();
        routes.MapWorkflowEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Workflows));
        routes.MapRunEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Runs));
        routes.MapSecretEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Secrets));
        routes.MapEnvironmentEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Instances));
        routes.MapGitEndpoints().RequireAuthorization(Callers.TenantPolicy).WithMetadata(new BodySizeLimit(BodyLimits.Instances));
        return routes;
    }
}
