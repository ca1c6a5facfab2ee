using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Silo.Tests;

/// <summary>A dev-profile silo on free loopback ports, logging into <paramref name="Log"/>, with a client that uses the dev key.</summary>
internal sealed record DevSilo(WebApplication App, HttpClient Http, LogCapture Log) : IAsyncDisposable
{
    public static async Task<DevSilo> StartAsync(LogCapture log, params string[] extraArgs)
    {
        var app = SiloApplication.Build(
            ["--urls=http://127.0.0.1:0", $"--Orchestrator:SiloPort={LoopbackPort.Free()}", $"--Orchestrator:GatewayPort={LoopbackPort.Free()}", .. extraArgs],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(log);
            });
        await SiloApplication.StartAsync(app);
        var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(ApiKeys.Dev);
        return new DevSilo(app, http, log);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
