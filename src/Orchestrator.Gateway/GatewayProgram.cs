using Orchestrator.Hosting;
using Orleans.Configuration;

namespace Orchestrator.Gateway;

/// <summary>
/// The standalone gateway: the HTTP API as an Orleans client of a cluster whose silos it finds
/// through the PostgreSQL membership table (or the localhost cluster of a dev-profile silo).
/// </summary>
public static class GatewayProgram
{
    public const string ProcessName = "orchestrator-gateway";

    public static Task<int> Main(string[] args) =>
        StartupFailure.RunAsync(ProcessName, async () =>
        {
            var app = Build(args);
            await app.RunAsync();
        });

    /// <summary>Builds the gateway; throws <see cref="StartupFailureException"/> for bad settings.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var problems = new List<ConfigurationProblem>();
        var cluster = ClusterSettings.Read(builder.Configuration, problems);
        var gatewayPort = HostPorts.Read(builder.Configuration, "Orchestrator:GatewayPort", 30000, problems);
        // Without a database the gateway joins a dev-profile silo on this machine: the dev profile's rules apply.
        var auth = Auth.AuthSettings.Read(builder.Configuration, devProfile: !cluster.UsesPostgres, problems);
        var limits = Limits.HttpLimitSettings.Read(builder.Configuration, problems);
        if (problems.Count > 0)
        {
            throw StartupFailureException.FromProblems(problems);
        }

        if (builder.Configuration["urls"] is null)
        {
            builder.WebHost.UseUrls(cluster.UsesPostgres ? "http://0.0.0.0:8081" : "http://127.0.0.1:8081");
        }

        builder.AddOrchestratorTelemetry(ProcessName, jsonLogsByDefault: cluster.UsesPostgres);
        builder.UseOrleansClient(client =>
        {
            client.AddActivityPropagation();
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ServiceId));
            if (cluster.ConnectionString is { } connectionString)
            {
                client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (ClusterSettings.AdoNetInvariant, connectionString));
            }
            else
            {
                client.UseLocalhostClustering(gatewayPort, cluster.ServiceId, cluster.ClusterId);
            }
        });
        builder.Services.AddOrchestratorGateway(auth, limits);

        var app = builder.Build();
        app.UseOrchestratorGateway();
        app.MapOrchestratorGateway();
        return app;
    }
}
