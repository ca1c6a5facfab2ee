using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Runs;
using Orchestrator.Gateway.Status;
using Orchestrator.Gateway.Telemetry;
using Orchestrator.Gateway.Workflows;

namespace Orchestrator.Gateway;

/// <summary>Composition of the HTTP API, shared by the standalone gateway and the silo that co-hosts it.</summary>
public static class GatewayExtensions
{
    /// <summary>Registers the services the endpoints need. The host adds the Orleans client or silo itself.</summary>
    public static IServiceCollection AddOrchestratorGateway(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ProblemDetailsOptions>, RequestIdProblemDetails>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster", tags: [HealthEndpoints.ReadyTag]);
        return services;
    }

    /// <summary>The middleware the API needs, in order: request ids, problem details for failures, then WebSockets for shells.</summary>
    public static IApplicationBuilder UseOrchestratorGateway(this IApplicationBuilder app)
    {
        // First: every response, the exception handler's and the 400 for a bad id included, carries the id.
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Pings keep idle shells open through proxies (Fly's closes idle connections after 60 s).
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        return app;
    }

    /// <summary>Maps every endpoint group of the HTTP API.</summary>
    public static IEndpointRouteBuilder MapOrchestratorGateway(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthEndpoints();
        routes.MapVersionEndpoints();
        routes.MapInstanceEndpoints();
        routes.MapExecEndpoints();
        routes.MapWorkflowEndpoints();
        routes.MapRunEndpoints();
        return routes;
    }
}
