using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Console;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The production silo in this process on the dev profile (localhost clustering, state and reminders in memory),
/// its HTTP gateway on real Kestrel at a free loopback port, creating machines on the benchmark's own emulator.
/// Disposing it destroys, through the API, every instance it created, then stops the silo.
/// </summary>
internal sealed class ApiSilo : IAsyncDisposable
{
    public const string AppName = "exec-bench-api";

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, bool> _instances = new(StringComparer.Ordinal);
    private readonly byte[] _execTrue = JsonSerializer.SerializeToUtf8Bytes(new { command = "true" });

    private ApiSilo(WebApplication app)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(90) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Gateway.Auth.AuthSettings.DevKey);
    }

    public HttpClient Http { get; }

    public static async Task<ApiSilo> StartAsync(FlyEmulator emulator)
    {
        var app = SiloApplication.Build(
            [
                "--urls=http://127.0.0.1:0",
                $"--Orchestrator:SiloPort={LoopbackPort.Free()}",
                $"--Orchestrator:GatewayPort={LoopbackPort.Free()}",
                $"--Orchestrator:Secrets:EncryptionKey={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
                $"--FLY_API_TOKEN={emulator.ApiToken}",
                $"--Fly:BaseAddress={emulator.BaseAddress}",
                $"--Fly:AppName={AppName}",
                "--Fly:RateLimitScale=20",
                "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
                // Provider-specific, so it wins over the Logging section of any appsettings.json: errors only.
                builder.Logging.AddFilter<ConsoleLoggerProvider>(null, LogLevel.Error);
                // The dev profile always points the Fly client at its embedded emulator (which then starts idle and
                // holds no machine): aim the client at ours, whose sandboxes this process watches and disposes.
                builder.Services.PostConfigure<FlyOptions>(o =>
                {
                    o.BaseAddress = emulator.BaseAddress;
                    o.ApiToken = emulator.ApiToken;
                    o.AppName = AppName;
                });
            });
        try
        {
            await SiloApplication.StartAsync(app);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new ApiSilo(app);
    }

    /// <summary><c>POST /api/instances?wait=started</c>; a 202 (still starting) is followed until the instance is started.</summary>
    public async Task CreateStartedAsync(string name, CancellationToken cancellationToken = default)
    {
        _instances[name] = true;
        using var created = await Http.PostAsJsonAsync("/api/instances?wait=started", new { name, region = "ams", size = "shared-cpu-1x" }, cancellationToken);
        var body = await created.Content.ReadAsStringAsync(cancellationToken);
        if (created.StatusCode == HttpStatusCode.Created)
        {
            return;
        }

        if (created.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"create {name}: {(int)created.StatusCode} {body}");
        }

        var clock = Stopwatch.StartNew();
        while (State(body) != "started")
        {
            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"instance {name} not started after {StartTimeout.TotalSeconds:0} s: {body}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            body = await Http.GetStringAsync(new Uri($"/api/instances/{name}", UriKind.Relative), cancellationToken);
        }
    }

    /// <summary>
    /// <c>POST /api/instances/{name}/exec</c> of <c>true</c>, the NDJSON response read to its last line. Returns the
    /// time until the response headers arrived (the machine accepted the command) and the exit code.
    /// </summary>
    public async Task<(TimeSpan Headers, int ExitCode)> ExecTrueAsync(string name, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        var content = new ByteArrayContent(_execTrue);
        content.Headers.ContentType = JsonType;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/instances/{name}/exec", UriKind.Relative)) { Content = content };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var headers = Stopwatch.GetElapsedTime(start);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"exec on {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        int? exitCode = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            using var item = JsonDocument.Parse(line);
            if (item.RootElement.TryGetProperty("exit_code", out var exit))
            {
                exitCode = exit.ValueKind == JsonValueKind.Number ? exit.GetInt32() : -1;
            }
            else if (item.RootElement.TryGetProperty("error", out _))
            {
                throw new InvalidOperationException($"exec on {name} failed mid-stream: {line}");
            }
        }

        return (headers, exitCode ?? throw new InvalidOperationException($"exec on {name}: the stream ended without an exit line"));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Task.WhenAll(_instances.Keys.Select(async name =>
            {
                using var deleted = await Http.DeleteAsync(new Uri($"/api/instances/{name}", UriKind.Relative));
                if (!deleted.IsSuccessStatusCode && deleted.StatusCode != HttpStatusCode.NotFound)
                {
                    var problem = await deleted.Content.ReadAsStringAsync();
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"destroy {name}: {(int)deleted.StatusCode} {problem}"));
                }
            }));
        }
        finally
        {
            Http.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static string? State(string body)
    {
        using var instance = JsonDocument.Parse(body);
        return instance.RootElement.TryGetProperty("state", out var state) ? state.GetString() : null;
    }
}
