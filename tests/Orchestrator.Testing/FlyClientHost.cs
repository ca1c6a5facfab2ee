using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Fly;


namespace Orchestrator.Testing;

/// <summary>
/// The client as production wires it (<see cref="FlyServiceCollectionExtensions.AddFlyMachines"/>), pointed at a
/// test server, with every log line captured down to Trace.
/// </summary>
public sealed class FlyClientHost : IAsyncDisposable
{
    public const string Token = "fo1_TestTokenSecretValue1234567890";
    public const string AppName = "test-app";

    private readonly ServiceProvider _services;

    private FlyClientHost(ServiceProvider services, LogCapture logs)
    {
        _services = services;
        Logs = logs;
    }

    public LogCapture Logs { get; }

    public IMachineProvider Provider => _services.GetRequiredService<IMachineProvider>();

    public IServiceProvider Services => _services;

    /// <summary>Test defaults: short backoff and timeouts so failures show in milliseconds, not seconds.</summary>
    public static FlyClientHost Create(Uri baseAddress, Action<IDictionary<string, string?>>? configure = null, TimeProvider? timeProvider = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Fly:BaseAddress"] = baseAddress.ToString(),
            ["Fly:ApiToken"] = Token,
            ["Fly:AppName"] = AppName,
            ["Fly:OrgSlug"] = "personal",
            ["Fly:AttemptTimeout"] = "00:00:05",
            ["Fly:TotalTimeout"] = "00:00:15",
            ["Fly:RetryBaseDelay"] = "00:00:00.010",
            ["Fly:RetryMaxDelay"] = "00:00:00.100",
            ["Fly:MaxRetryAttempts"] = "3",
        };
        configure?.Invoke(settings);

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var logs = new LogCapture();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        if (timeProvider is not null)
        {
            services.AddSingleton(timeProvider);
        }

        services.AddFlyMachines(configuration);
        return new FlyClientHost(services.BuildServiceProvider(validateScopes: true), logs);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
