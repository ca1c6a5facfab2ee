using Orchestrator.Database;
using Orchestrator.Fly;
using Orchestrator.Gateway;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Silo.Health;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// Builds and starts the silo process: the Orleans silo for the chosen profile, the co-hosted HTTP
/// gateway, health checks and the dashboard. Tests use the same two steps as <see cref="SiloProgram"/>.
/// </summary>
public static partial class SiloApplication
{
    public const string DevUrl = "http://127.0.0.1:8080";
    public const string ServerUrl = "http://0.0.0.0:8080";
    public const string FlyUrl = "http://[::]:8080";

    /// <summary>Builds the host; throws <see cref="StartupFailureException"/> for bad settings.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<ISiloBuilder>? configureSilo = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var settings = SiloSettings.Read(builder.Configuration);

        if (builder.Configuration["urls"] is null)
        {
            builder.WebHost.UseUrls(settings.Profile switch
            {
                SiloProfile.Dev => DevUrl,
                SiloProfile.Fly => FlyUrl,
                _ => ServerUrl,
            });
        }

        var machines = MachineSettings.Read(builder.Configuration, settings.Profile);
        if (machines.Backend == MachineBackend.EmbeddedEmulator)
        {
            // Any token passes the emulator; the app is created at start when missing.
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"{FlyOptions.SectionName}:BaseAddress"] = machines.EmulatorUrl!.ToString(),
                [MachineSettings.FlyApiTokenKey] = Fly.Emulator.FlyEmulator.DefaultToken,
                [MachineSettings.FlyAppNameKey] = machines.AppName,
            });
        }

        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(machines);
        builder.Services.AddSingleton(TimeProvider.System);
        if (machines.Backend == MachineBackend.EmbeddedEmulator)
        {
            // Before UseOrleans: hosted services start in registration order and stop in reverse.
            builder.Services.AddSingleton(EmbeddedFlyEmulator.ReadOptions(builder.Configuration, machines));
            builder.Services.AddSingleton<MachinePrerequisites>();
            builder.Services.AddSingleton<Grains.Instances.IMachineAvailability>(sp => sp.GetRequiredService<MachinePrerequisites>());
            builder.Services.AddSingleton<EmbeddedFlyEmulator>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<EmbeddedFlyEmulator>());
        }

        builder.AddOrchestratorTelemetry("orchestrator-silo", jsonLogsByDefault: settings.Profile != SiloProfile.Dev);
        builder.Services.AddOrchestratorGrains(builder.Configuration, machines.EncryptionKey);
        builder.UseOrleans(silo =>
        {
            ConfigureSilo(silo, settings);
            ConfigureFailover(silo, builder.Configuration);
            configureSilo?.Invoke(silo);
        });

        builder.Services.AddOrchestratorGateway(settings.Auth, settings.Limits);
        var health = builder.Services.AddHealthChecks()
            .AddCheck<SiloHealthCheck>("silo", tags: [Gateway.Status.HealthEndpoints.ReadyTag]);
        if (settings.Cluster.ConnectionString is { } connectionString)
        {
            health.AddCheck("database", new DatabaseHealthCheck(connectionString), tags: [Gateway.Status.HealthEndpoints.ReadyTag]);
            builder.Services.AddSingleton(sp => new SchemaMigrator(connectionString, sp.GetRequiredService<ILogger<SchemaMigrator>>(), sp.GetRequiredService<TimeProvider>()));
            builder.Services.AddSingleton<DatabaseStartup>();
        }

        var app = builder.Build();
        app.UseOrchestratorGateway();
        app.MapOrchestratorGateway();
        // The dashboard is a UI, not part of the API: kept out of the OpenAPI document.
        app.MapOrleansDashboard("/dashboard").RequireAuthorization(Gateway.Auth.Callers.DashboardPolicy).ExcludeFromDescription();
        return app;
    }

    /// <summary>Prepares the database (postgres and fly profiles), then starts the silo and the HTTP server.</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        var settings = app.Services.GetRequiredService<SiloSettings>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SiloApplication).FullName!);
        if (settings.Profile == SiloProfile.Dev)
        {
            LogDevProfile(logger);
            LogDevKey(logger, Gateway.Auth.AuthSettings.DevKey, Gateway.Auth.AuthSettings.DevTenant, settings.Auth.HasAdminKey);
        }
        else
        {
            LogDurableProfile(logger, settings.Profile, settings.Cluster.ClusterId, settings.Region);
            await app.Services.GetRequiredService<DatabaseStartup>().MigrateAsync(cancellationToken);
        }

        var machines = app.Services.GetRequiredService<MachineSettings>();
        LogEncryptionKey(logger, machines.EncryptionKeySource);
        await app.StartAsync(cancellationToken);
        await EnsureFlyAppAsync(app.Services, machines, logger, cancellationToken);
        LogStarted(logger, app.Urls);
    }

    /// <summary>Instances live in one Fly app: create it when it is missing, and say which Machines API is in use.</summary>
    private static async Task EnsureFlyAppAsync(IServiceProvider services, MachineSettings machines, ILogger logger, CancellationToken cancellationToken)
    {
        var fly = services.GetRequiredService<IMachineProvider>();
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<FlyOptions>>().Value;
        if (machines.Backend == MachineBackend.EmbeddedEmulator)
        {
            LogEmbeddedEmulator(logger, options.BaseAddress, options.AppName);
        }
        else
        {
            LogRealFly(logger, options.BaseAddress, options.AppName, options.OrgSlug);
        }

        try
        {
            await fly.GetAppAsync(options.AppName, cancellationToken);
        }
        catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.NotFound)
        {
            await fly.CreateAppAsync(options.AppName, cancellationToken: cancellationToken);
            LogFlyAppCreated(logger, options.AppName);
        }
    }

    /// <summary>
    /// How fast a dead silo's work moves: Orleans' membership probes (<c>Orleans:Membership:*</c>, e.g. ProbeTimeout,
    /// NumMissedProbesLimit, NumVotesForDeathDeclaration) and the run reminders' period
    /// (<c>Orchestrator:Workflows:ResumePeriod</c>; below Orleans' one-minute floor it lowers the floor with it).
    /// </summary>
    private static void ConfigureFailover(ISiloBuilder silo, ConfigurationManager configuration)
    {
        silo.Configure<ClusterMembershipOptions>(configuration.GetSection("Orleans:Membership"));
        if (configuration.GetValue<TimeSpan?>($"{Grains.Runs.WorkflowOptions.SectionName}:ResumePeriod") is { } resume && resume < TimeSpan.FromMinutes(1))
        {
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = resume);
        }
    }

    private static void ConfigureSilo(ISiloBuilder silo, SiloSettings settings)
    {
        var cluster = settings.Cluster;
        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ServiceId));
        if (settings.SiloName is { } name)
        {
            silo.Configure<SiloOptions>(o => o.SiloName = name);
        }

        // Grain-call spans join the caller's trace; lines grains write name the request that called them.
        silo.AddActivityPropagation();
        silo.AddIncomingGrainCallFilter<RequestIdGrainCallFilter>();

        silo.UseSiloMetadata(new Dictionary<string, string>
        {
            ["region"] = settings.Region,
            ["profile"] = settings.Profile.ToString().ToLowerInvariant(),
        });

        if (settings.Profile == SiloProfile.Dev)
        {
            silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, primarySiloEndpoint: null, cluster.ServiceId, cluster.ClusterId);
            silo.AddMemoryGrainStorage(StorageNames.Orchestrator);
            silo.AddMemoryGrainStorage(Grains.Runs.RunStateGrainStorage.Name);
            silo.UseInMemoryReminderService();
        }
        else
        {
            // Orleans' providers keep no session state on their connections, so Npgsql's DISCARD ALL on every return
            // to the pool is a wasted round trip per query (about two per workflow step).
            var connectionString = new Npgsql.NpgsqlConnectionStringBuilder(cluster.ConnectionString!) { NoResetOnClose = true }.ConnectionString;
            silo.Configure<EndpointOptions>(o =>
            {
                o.SiloPort = settings.SiloPort;
                o.GatewayPort = settings.GatewayPort;
                if (settings.AdvertisedAddress is { } advertised)
                {
                    o.AdvertisedIPAddress = advertised;
                }

                // Listen on every interface (IPv6 any is dual-stack on Linux), advertise the one address peers use.
                o.SiloListeningEndpoint = new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Any, settings.SiloPort);
                o.GatewayListeningEndpoint = new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Any, settings.GatewayPort);
            });
            silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (ClusterSettings.AdoNetInvariant, connectionString));
            // Grain state is written once per workflow step with the same few statements: prepared, PostgreSQL
            // neither parses nor plans them again (that was about a third of its time per step).
            var storageConnectionString = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 10, AutoPrepareMinUsages = 2 }.ConnectionString;
            silo.AddAdoNetGrainStorage(StorageNames.Orchestrator, options => options.Configure<IServiceProvider>((o, services) =>
            {
                (o.Invariant, o.ConnectionString) = (ClusterSettings.AdoNetInvariant, storageConnectionString);
                o.GrainStorageSerializer = new Grains.Runs.RunStateStorageSerializer(
                    services.GetRequiredService<Orleans.Serialization.Serializer>(), services.GetRequiredService<Orleans.Storage.IGrainStorageSerializer>());
            }));
            // Run checkpoints: batched across runs (one commit for all that arrive together), read from the store above until moved.
            silo.Services.AddKeyedSingleton<Orleans.Storage.IGrainStorage>(Grains.Runs.RunStateGrainStorage.Name, (services, _) => new Grains.Runs.RunStateGrainStorage(
                services.GetRequiredService<Orchestrator.Runs.PostgresRunStateStore>(),
                services.GetRequiredService<Orleans.Serialization.Serializer>(),
                services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Orchestrator)));
            silo.UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (ClusterSettings.AdoNetInvariant, connectionString));
        }

        silo.AddDashboard();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DEV PROFILE: grain state and reminders are kept IN MEMORY and are lost when this process stops. Set ConnectionStrings__Orchestrator to a PostgreSQL database for durable state.")]
    private static partial void LogDevProfile(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DEV PROFILE: requests from this machine may authenticate with 'Authorization: Bearer {DevKey}' as tenant '{DevTenant}' without setup (admin key configured: {HasAdminKey}). Every other profile requires Orchestrator__Auth__AdminKey and tenant keys.")]
    private static partial void LogDevKey(ILogger logger, string devKey, string devTenant, bool hasAdminKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "Profile {Profile}: cluster {ClusterId}, region {Region}; state, reminders and membership on PostgreSQL")]
    private static partial void LogDurableProfile(ILogger logger, SiloProfile profile, string clusterId, string region);

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance SSH private keys are encrypted at rest with the AES-256-GCM key from {Source}")]
    private static partial void LogEncryptionKey(ILogger logger, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machines: the embedded Fly emulator at {BaseAddress}, app {AppName} (set FLY_API_TOKEN and Fly__AppName for real Fly)")]
    private static partial void LogEmbeddedEmulator(ILogger logger, Uri baseAddress, string appName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machines: the Fly Machines API at {BaseAddress}, app {AppName} in organisation {OrgSlug}")]
    private static partial void LogRealFly(ILogger logger, Uri baseAddress, string appName, string orgSlug);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fly app {AppName} created")]
    private static partial void LogFlyAppCreated(ILogger logger, string appName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Orchestrator silo serving HTTP on {Urls}: dashboard at /dashboard/, readiness at /health/ready")]
    private static partial void LogStarted(ILogger logger, ICollection<string> urls);
}
