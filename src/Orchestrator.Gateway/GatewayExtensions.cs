using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Runs;
using Orchestrator.Gateway.Status;
using Orchestrator.Gateway.Tenants;
using Orchestrator.Gateway.Workflows;

namespace Orchestrator.Gateway;

/// <summary>Composition of the HTTP API, shared by the standalone gateway and the silo that co-hosts it.</summary>
public static class GatewayExtensions
{
    /// <summary>Registers the services the endpoints need. The host adds the Orleans client or silo itself.</summary>
    public static IServiceCollection AddOrchestratorGateway(this IServiceCollection services, AuthSettings auth)
    {
        ArgumentNullException.ThrowIfNull(auth);
        services.AddProblemDetails();
        services.AddExceptionHandler<ClusterExceptionHandler>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(auth);
        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster", tags: [HealthEndpoints.ReadyTag]);
        services.AddOrchestratorApiReference();

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
                || (auth.DevKeyEnabled && context.Resource is HttpContext http && http.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address))));
        return services;
    }

    /// <summary>
    /// The middleware the API needs, in order: problem details for failures, WebSockets for shells,
    /// then routing, authentication and authorization.
    /// </summary>
    public static IApplicationBuilder UseOrchestratorGateway(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Pings keep idle shells open through proxies (Fly's closes idle connections after 60 s).
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>Maps every endpoint group of the HTTP API.</summary>
    public static IEndpointRouteBuilder MapOrchestratorGateway(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthEndpoints();
        routes.MapOrchestratorApiReference();
        routes.MapVersionEndpoints().RequireAuthorization(Callers.AnyKeyPolicy);
        routes.MapTenantEndpoints();
        routes.MapInstanceEndpoints().RequireAuthorization(Callers.TenantPolicy);
        routes.MapExecEndpoints().RequireAuthorization(Callers.TenantPolicy);
        routes.MapWorkflowEndpoints().RequireAuthorization(Callers.TenantPolicy);
        routes.MapRunEndpoints().RequireAuthorization(Callers.TenantPolicy);
        return routes;
    }
}
