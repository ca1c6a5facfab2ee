using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orchestrator.Fly.Http;
using Orchestrator.Telemetry;
using Refit;

namespace Orchestrator.Fly;

public static class FlyServiceCollectionExtensions
{
    /// <summary>The name of the HttpClient (and of its resilience pipeline) that talks to Fly.</summary>
    public const string HttpClientName = "fly-machines";

    /// <summary>
    /// Registers <see cref="IMachineProvider"/> over the Fly Machines API: options from the <c>Fly</c> section of
    /// <paramref name="configuration"/> (validated at start), the Refit client with its auth, rate limiter and
    /// resilience pipeline. Pass the root configuration: the token may come from <c>FLY_API_TOKEN</c> at its top.
    /// </summary>
    public static IServiceCollection AddFlyMachines(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<FlyOptions>()
            .Bind(configuration.GetSection(FlyOptions.SectionName))
            .PostConfigure(options =>
            {
                if (string.IsNullOrWhiteSpace(options.ApiToken))
                {
                    options.ApiToken = configuration[FlyOptions.ApiTokenVariable] ?? "";
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FlyOptions>, FlyOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FlyOptions>, FlyOptionsConsistencyValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFlyRateLimiter, FlyRateLimiter>();
        services.TryAddSingleton<FlyErrorFactory>();
        services.TryAddTransient<FlyTransportErrorHandler>();
        services.TryAddTransient<FlyAuthHandler>();
        services.AddOrchestratorMetrics();
        services.TryAddTransient<FlyTelemetryHandler>();

        var client = services
            .AddRefitGeneratedClient<IFlyMachinesApi>(CreateRefitSettings, HttpClientName)
            .ConfigureHttpClient(static (sp, http) =>
            {
                http.BaseAddress = sp.GetRequiredService<IOptions<FlyOptions>>().Value.BaseAddress;
                // The resilience pipeline owns every timeout; a wait call may legitimately hold for 60 s.
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.DefaultRequestHeaders.UserAgent.ParseAdd("Orchestrator.Fly/" + typeof(FlyServiceCollectionExtensions).Assembly.GetName().Version);
            })
            // Outermost: one span and one measurement per call, around the retries and the error mapping.
            .AddHttpMessageHandler<FlyTelemetryHandler>()
            .AddHttpMessageHandler<FlyTransportErrorHandler>()
            // Before the resilience handler: the header is set once and every retry is a copy of that request.
            .AddHttpMessageHandler<FlyAuthHandler>();
        client.AddResilienceHandler(FlyResiliencePipeline.Name, static (pipeline, context) => FlyResiliencePipeline.Configure(pipeline, context.ServiceProvider));

        services.TryAddTransient<IMachineProvider, FlyMachineProvider>();
        return services;
    }

    private static RefitSettings CreateRefitSettings(IServiceProvider services)
    {
        var errors = services.GetRequiredService<FlyErrorFactory>();
        var settings = RefitSettings.ForJsonContext(FlyJsonContext.Default);
        settings.ExceptionFactory = errors.FromResponseAsync;
        settings.DeserializationExceptionFactory = (response, exception) => ValueTask.FromResult<Exception?>(errors.FromDeserialization(response, exception));
        settings.TransportExceptionFactory = errors.FromTransport;
        return settings;
    }
}
