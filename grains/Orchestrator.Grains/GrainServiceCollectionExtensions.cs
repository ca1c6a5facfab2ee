using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestrator.Fly;
using Orchestrator.Grains.Fly;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Runs;
using Orchestrator.Grains.Sessions;
using Orchestrator.Ssh;

namespace Orchestrator.Grains;

public static class GrainServiceCollectionExtensions
{
    /// <summary>
    /// The services Orchestrator's grains need in a silo: the Fly client with a cluster-wide rate limiter, the
    /// instance key factory and the protector of private keys (<paramref name="encryptionKey"/>, 32 bytes).
    /// </summary>
    public static IServiceCollection AddOrchestratorGrains(this IServiceCollection services, IConfiguration configuration, byte[] encryptionKey)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Registered before AddFlyMachines, whose process-local limiter is only a fallback (TryAdd).
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IFlyRateLimiter, ClusterFlyRateLimiter>();
        services.AddFlyMachines(configuration);
        services.AddOptions<InstanceOptions>().Bind(configuration.GetSection(InstanceOptions.SectionName));
        services.AddOptions<InstanceIndexOptions>().Bind(configuration.GetSection(InstanceOptions.SectionName))
            .Validate(o => o.DestroyedRetention > TimeSpan.Zero, "Orchestrator:Instances:DestroyedRetention must be a positive time span, such as 7.00:00:00.")
            .Validate(o => o.PrunePeriod > TimeSpan.Zero, "Orchestrator:Instances:PrunePeriod must be a positive time span, such as 01:00:00.")
            .ValidateOnStart();
        services.AddOptions<Tenants.TenantQuotaOptions>().Bind(configuration.GetSection(Tenants.TenantQuotaOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<Tenants.TenantQuotaOptions>, Tenants.TenantQuotaOptionsValidator>();
        services.TryAddSingleton<IInstanceKeyFactory, Ed25519InstanceKeyFactory>();
        services.TryAddSingleton<IMachineAvailability, AlwaysAvailable>();
        services.AddSingleton(new InstanceSecretProtector(encryptionKey));

        // One pool per silo: every session grain here shares its connection to an instance.
        var ssh = configuration.GetSection(SshSessionOptions.SectionName);
        services.AddOptions<SshSessionOptions>().Bind(ssh).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<SshSessionOptions>, SshSessionOptionsValidator>();
        services.AddOptions<SshPoolOptions>().Bind(ssh);
        services.AddSingleton(sp => new SshConnectionPool(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<SshPoolOptions>>().Value,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SshConnectionPool>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ITerminalMachine, SshTerminalMachine>();

        // Runs: events and the run index on PostgreSQL when the silo has a database, in memory otherwise (dev).
        services.AddRunStores(configuration.GetConnectionString("Orchestrator"));
        services.AddOptions<WorkflowOptions>().Bind(configuration.GetSection(WorkflowOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<WorkflowOptions>, WorkflowOptionsValidator>();
        services.AddSingleton<HttpCheckClients>();
        services.AddSingleton<StepExecutor>();
        services.AddSingleton<Workflows.WorkflowDefinitionCache>();
        return services;
    }
}
