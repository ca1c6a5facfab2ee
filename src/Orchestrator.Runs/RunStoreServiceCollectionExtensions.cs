using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Orchestrator.Runs;

/// <summary>Registers the run stores: one call picks PostgreSQL or memory, as the runtime profile does.</summary>
public static class RunStoreServiceCollectionExtensions
{
    /// <summary>Service key of the <see cref="NpgsqlDataSource"/> the PostgreSQL run stores share.</summary>
    public const string DataSourceKey = "orchestrator-runs";

    /// <summary>
    /// Registers <see cref="IRunEventStore"/> and <see cref="IRunIndex"/> as singletons (and, on PostgreSQL,
    /// <see cref="PostgresRunStateStore"/> for the run checkpoints and <see cref="Instances.IInstanceList"/>, whose
    /// in-memory counterpart is the instance index grain's own state): on PostgreSQL when
    /// <paramref name="connectionString"/> is given (the schema comes from the migrations the silo applies at
    /// start), in memory otherwise. The event store's writer starts with the store and a hosted service flushes
    /// it when the host stops; disposing the container writes whatever is still queued.
    /// </summary>
    public static IServiceCollection AddRunStores(
        this IServiceCollection services, string? connectionString, Action<RunEventStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        var options = services.AddOptions<RunEventStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            services.AddSingleton<IRunEventStore>(sp => new InMemoryRunEventStore(
                sp.GetRequiredService<IOptions<RunEventStoreOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<InMemoryRunEventStore>>()));
            services.AddSingleton<IRunIndex, InMemoryRunIndex>();
        }
        else
        {
            // Created before the stores, so the container disposes it after them (the last flush needs it). The
            // stores keep no session state on a connection (no DISCARD ALL when one goes back to the pool), and run
            // the same few statements over and over (prepared: PostgreSQL parses and plans each once per connection).
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true, MaxAutoPrepare = 10, AutoPrepareMinUsages = 2 };
            services.AddKeyedSingleton(DataSourceKey, (sp, _) => new NpgsqlDataSourceBuilder(builder.ConnectionString)
                .UseLoggerFactory(sp.GetService<ILoggerFactory>())
                .Build());
            services.AddSingleton(sp => new PostgresRunStateStore(sp.GetRequiredKeyedService<NpgsqlDataSource>(DataSourceKey)));
            services.AddSingleton<IRunEventStore>(sp => new PostgresRunEventStore(
                sp.GetRequiredKeyedService<NpgsqlDataSource>(DataSourceKey),
                sp.GetRequiredService<IOptions<RunEventStoreOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<PostgresRunEventStore>>()));
            services.AddSingleton<IRunIndex>(sp => new PostgresRunIndex(sp.GetRequiredKeyedService<NpgsqlDataSource>(DataSourceKey)));
            services.AddSingleton<Instances.IInstanceList>(sp => new Instances.PostgresInstanceList(sp.GetRequiredKeyedService<NpgsqlDataSource>(DataSourceKey)));
        }

        services.AddHostedService<RunEventStoreShutdown>();
        return services;
    }
}

/// <summary>
/// Flushes the run event store when the host stops, so that a clean shutdown loses no queued events even
/// if the container is never disposed. Events appended later (grains deactivating after this) are written
/// when the container disposes the store.
/// </summary>
internal sealed partial class RunEventStoreShutdown(IRunEventStore store, ILogger<RunEventStoreShutdown> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogFlushCut();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host shutdown timeout reached before the run event queue was flushed; disposal writes the rest")]
    private partial void LogFlushCut();
}
