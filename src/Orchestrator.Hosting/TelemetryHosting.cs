using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orchestrator.Telemetry;

namespace Orchestrator.Hosting;

/// <summary>
/// Logs, traces and metrics of a host (the silo or the standalone gateway); see the README's Telemetry section.
/// </summary>
public static class TelemetryHosting
{
    /// <summary>Setting it turns the OTLP exporter on, for traces, metrics and logs; unset, nothing is exported.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string SdkDisabledVariable = "OTEL_SDK_DISABLED";
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";
    public const string ConsoleFormatterKey = "Logging:Console:FormatterName";

    /// <summary>UTC, ISO 8601 with milliseconds; the trailing Z holds because the formatter is told to use UTC.</summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Every ActivitySource a trace of ours is made of.</summary>
    public static readonly IReadOnlyList<string> TraceSources =
    [
        OrchestratorTelemetry.Name,
        "Microsoft.Orleans.Runtime",
        "Microsoft.Orleans.Application",
        // HttpClient's own spans (.NET 9 and later): the Fly Machines API calls.
        "System.Net.Http",
    ];

    /// <summary>Every Meter exported: ours, Orleans' (grain calls among them), ASP.NET Core's requests, HttpClient's.</summary>
    public static readonly IReadOnlyList<string> Meters =
    [
        OrchestratorTelemetry.Name,
        "Microsoft.Orleans",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "System.Net.Http",
    ];

    /// <summary>
    /// Console logs as JSON lines when <paramref name="jsonLogsByDefault"/> (the durable profiles) or when
    /// <c>Logging:Console:FormatterName</c> says <c>json</c>; the tracing sources, instrumentation and meters for
    /// any OpenTelemetry provider of the host; and the OTLP exporter when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// </summary>
    public static IHostApplicationBuilder AddOrchestratorTelemetry(this IHostApplicationBuilder builder, string serviceName, bool jsonLogsByDefault)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ConfigureConsoleLogs(builder, jsonLogsByDefault);
        var services = builder.Services;
        services.AddOrchestratorMetrics();

        // What to trace and measure is registered whether or not a provider exists: without one these are
        // callbacks nobody calls. A host (or a test) that adds a provider gets exactly this wiring.
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing
            .AddSource([.. TraceSources])
            .AddAspNetCoreInstrumentation(o => o.RecordException = false));
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddMeter([.. Meters]));

        if (IsOtlpEnabled(builder.Configuration))
        {
            services.AddOpenTelemetry()
                .ConfigureResource(resource =>
                {
                    // OTEL_SERVICE_NAME, when set, is read by the SDK and wins.
                    if (string.IsNullOrEmpty(builder.Configuration[ServiceNameVariable]))
                    {
                        resource.AddService(serviceName);
                    }
                })
                .WithTracing()
                .WithMetrics()
                .UseOtlpExporter();
        }

        return builder;
    }

    public static bool IsOtlpEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable])
        && !string.Equals(configuration[SdkDisabledVariable], "true", StringComparison.OrdinalIgnoreCase);

    private static void ConfigureConsoleLogs(IHostApplicationBuilder builder, bool jsonByDefault)
    {
        var configured = builder.Configuration[ConsoleFormatterKey];
        if (configured is null && jsonByDefault)
        {
            builder.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName = ConsoleFormatterNames.Json);
        }

        // Not left to Logging:Console:FormatterOptions, which the simple formatter's local-time settings share: a
        // JSON line always has a UTC ISO timestamp and the scopes (the request id among them).
        builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = TimestampFormat;
        });
    }
}
